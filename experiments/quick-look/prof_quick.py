"Per-stage CPU time (process + children) of amd-reid demo --quick."
import sys, time, resource, functools, json
from amd_reid.threads import set_cpu_threads; set_cpu_threads()
import amd_reid.pipeline as P, amd_reid.explain as E, amd_reid.explain_metrics as EM, amd_reid.explainer as X
STAGES = {}
def cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime
def wrap(mod, name, label=None):
    f = getattr(mod, name)
    @functools.wraps(f)
    def g(*a, **k):
        c0, w0 = cpu(), time.perf_counter()
        try: return f(*a, **k)
        finally:
            l = label or name; s = STAGES.setdefault(l, [0., 0., 0])
            s[0] += cpu() - c0; s[1] += time.perf_counter() - w0; s[2] += 1
    setattr(mod, name, g)
for m, n in [(P, "ensure_synthmarket"), (P, "ensure_target"), (P, "ensure_interpreter"), (E, "build_cache"),
             (EM, "evaluate_explanations")]:
    wrap(m, n)
wrap(X.Explainer, "rank_list"); wrap(X.Explainer, "__init__", "Explainer.load"); wrap(X.Explainer, "__call__", "Explainer.pair")
import amd_reid.cli as C
wrap(C, "_quick_explanations", "step4 total")
import amd_reid.explainer as XX
wrap(XX.RankList, "save", "RankList.save"); wrap(XX.Explanation, "save", "pair.save")
c0, w0 = cpu(), time.perf_counter()
C.main(sys.argv[1:])
STAGES["TOTAL"] = [cpu() - c0, time.perf_counter() - w0, 1]
for k, (c, w, n) in STAGES.items(): print(f"{k:24s} cpu {c:7.1f} s  wall {w:7.1f} s  x{n}")
