# Does OMP_WAIT_POLICY count when set inside Python? ACTIVE makes idle OpenMP threads spin forever, so
# the process burns CPU while its main thread sleeps -- if the setting reached libgomp.
#   python wait_policy_probe.py none|before|after   (before / after `import torch`)
import os, resource, sys, time
mode = sys.argv[1]
if mode == "before":
    os.environ["OMP_WAIT_POLICY"] = "ACTIVE"
import torch
if mode == "after":
    os.environ["OMP_WAIT_POLICY"] = "ACTIVE"
x = torch.randn(512, 512)
for _ in range(5):
    y = x @ x; z = (x * 2).sum()
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
c0 = cpu(); time.sleep(1.0)
print(mode, f"CPU during a 1 s sleep: {cpu() - c0:.2f} s")
