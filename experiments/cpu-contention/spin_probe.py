# usage: python spin_probe.py   (run it with and without OMP_WAIT_POLICY=PASSIVE in the environment)
# CPU seconds burnt for the same work: 300 x (one 2-thread parallel op + ~1 ms of serial Python),
# as a training step alternates parallel ops with Python (autograd, optimiser, loader)
import os, sys, time
import torch
x = torch.randn(1 << 20)
def serial():
    s = 0
    for i in range(20000):
        s += i
for _ in range(20): x.add_(1.0); serial()
t0, w0 = os.times(), time.perf_counter()
for _ in range(300):
    x.add_(1.0); serial()
t1, w1 = os.times(), time.perf_counter()
cpu = t1.user + t1.system - t0.user - t0.system
print(f"{os.environ.get('OMP_WAIT_POLICY', 'default'):8s} threads {torch.get_num_threads()}: CPU {cpu:.2f} s, wall {w1 - w0:.2f} s")
