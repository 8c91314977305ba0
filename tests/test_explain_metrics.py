"""amd_reid.explain_metrics beyond the notebook's quick checks: many random oracle comparisons
(several M, both float paths, ties, masks) and the
benchmark script in its quick mode."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from amd_reid.explain_metrics import explanation_metrics

ROOT = Path(__file__).resolve().parents[1]


def _oracle(D, qa, ga, valid, overflow=2.0):
    "docs/method.md section 3, one pair at a time (order by (p, index); the descending ranking is its reverse)."
    n, m, M = D.shape
    acc = {k: [] for k in ("pe", "pc", "ae", "ac")}
    dh, dt, sh, st = (np.zeros(M) for _ in range(4))

    def ap(rel, size):
        hits, total = 0, 0.0
        for k, r in enumerate(rel):
            hits += r
            total += r * hits / (k + 1)
        return total / size

    for i in range(n):
        for j in range(m):
            if not valid[i, j]:
                continue
            d = [float(x) for x in D[i, j]]
            tot = sum(d)
            p = [x / tot for x in d] if tot > 0 else [1 / M] * M
            differ = [int(qa[i, k] != ga[j, k]) for k in range(M)]
            nd = sum(differ)
            ns = M - nd
            asc = sorted(range(M), key=lambda k: (p[k], k))
            desc = asc[::-1]
            if nd:
                top = set(desc[:nd])
                acc["pe"].append(sum(differ[k] for k in top) / nd)
                acc["ae"].append(ap([differ[k] for k in desc], nd))
                for k in range(M):
                    dt[k] += differ[k]
                    dh[k] += differ[k] and k in top
            if ns:
                if nd:
                    chosen, rel = set(asc[:ns]), [1 - differ[k] for k in asc]
                else:
                    chosen = {k for k in range(M) if not p[k] > overflow / M}
                    rel = [int(not p[k] > overflow / M) for k in desc]
                acc["pc"].append(sum(1 for k in chosen if not differ[k]) / ns)
                acc["ac"].append(ap(rel, ns))
                for k in range(M):
                    st[k] += 1 - differ[k]
                    sh[k] += (not differ[k]) and k in chosen
    mean = lambda v: float(np.mean(v)) if v else float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        return dict(xprec_e=mean(acc["pe"]), xprec_c=mean(acc["pc"]), xmap_e=mean(acc["ae"]),
                    xmap_c=mean(acc["ac"]), xprec_e_per_attr=np.where(dt > 0, dh / dt, np.nan),
                    xprec_c_per_attr=np.where(st > 0, sh / st, np.nan))


@pytest.mark.parametrize("seed", range(12))
def test_explanation_metrics_equal_oracle(seed):
    rng = np.random.default_rng(seed)
    M = int(rng.choice([1, 2, 3, 7, 26, 40]))
    n, m = int(rng.integers(1, 6)), int(rng.integers(1, 12))
    qa = rng.choice([-1, 1], (n, M))
    ga = rng.choice([-1, 1], (m, M))
    ga[0] = qa[0]                                   # an N_d = 0 pair
    if m > 1:
        ga[1] = -qa[0]                              # an N_s = 0 pair
    D = rng.random((n, m, M)) ** 4
    if seed % 3 == 1:
        D = np.round(D * 3) / 3                     # exact ties and all-zero pairs
    valid = rng.random((n, m)) > 0.3 if seed % 2 else np.ones((n, m), bool)
    ref = _oracle(D, qa, ga, valid)
    for dtype in (np.float64, np.float32):
        got = explanation_metrics(D.astype(dtype), qa, ga, valid=valid, block_pairs=int(rng.integers(1, 20)))
        for k, v in ref.items():
            np.testing.assert_allclose(np.asarray(got[k], float), np.asarray(v, float), atol=1e-6,
                                       equal_nan=True, err_msg=f"{k} ({dtype.__name__}, M={M})")


def test_bench_quick():
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_explain_metrics.py"), "--quick"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "ratio dense / streaming" in r.stdout
    diff = float(r.stdout.split("largest metric difference ")[1].split()[0])
    assert diff < 1e-4, r.stdout
