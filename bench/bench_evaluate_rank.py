"""Benchmark: amd_reid.metrics.evaluate_rank against FastReID's Cython evaluator (rank_cy).

On a Market-1501-sized problem (3,368 queries x 15,913 gallery images, 750 identities, 6 cameras,
2,798 distractors) both evaluators run in the same invocation, each in its own subprocess:
ours in the project's .venv, rank_cy in bench/.venv-fastreid (built by bench/setup_fastreid.sh,
which this script runs when the environment is missing). It prints both times (best of --reps),
the ratio, the largest differences of CMC / mAP / mINP (must be <= 1e-6) and our peak memory.

    .venv/bin/python bench/bench_evaluate_rank.py            # full size, reference rank_cy
    .venv/bin/python bench/bench_evaluate_rank.py --quick --reference loop   # seconds, no build

The distance matrix is the Euclidean distance between synthetic embeddings (identity centre +
noise; every distractor its own centre), rank-transformed per row to (rank + 1) / m in float32 so
that no two distances of a row tie: FastReID sorts with numpy's unstable quicksort and we break
ties by gallery index, so only tie-free rows have one right answer for both.

The reference is the compiled rank_cy module itself, `rank_cy.evaluate_cy`, which is exactly what
`fastreid.evaluation.rank.evaluate_rank(..., use_cython=True)` calls; importing it directly keeps
fastreid's package __init__ (torch, its other dependencies, and the `collections.Mapping` shim
Python 3.11 would need) out of the reference environment.

Exit status: 0 when the results agree, 1 when they differ, 2 when the reference is unavailable.
Only numpy and the standard library are imported at the top: the rank_cy worker runs in the
reference venv, which has no torch.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BUILD = BENCH / "_build"
REF_VENV = BENCH / ".venv-fastreid"
RANK_CY_DIR = BUILD / "rank_cy"
_ARRAYS = ("distmat", "q_pids", "g_pids", "q_camids", "g_camids")


# ----------------------------------------------------------------------------- data
def make_problem(seed: int, n_query: int, n_gallery: int, n_ids: int, n_cams: int,
                 n_distractors: int, dim: int = 64, centre_scale: float = 0.7):
    "Market-like synthetic problem: (distmat float32 (n, m), q_pids, g_pids, q_camids, g_camids)."
    rng = np.random.default_rng(seed)
    k_cams = rng.choice(np.arange(2, n_cams + 1), n_ids, p=_cam_count_probs(n_cams))
    cams = [rng.choice(n_cams, k, replace=False) for k in k_cams]
    pairs = np.array([(i + 1, c) for i in range(n_ids) for c in cams[i]])  # (identity, camera)
    if len(pairs) < n_query:
        raise ValueError(f"only {len(pairs)} (identity, camera) pairs for {n_query} queries")
    q = pairs[np.sort(rng.choice(len(pairs), n_query, replace=False))]      # one query per pair
    n_id_images = n_gallery - n_distractors
    if n_id_images < len(pairs):
        raise ValueError(f"gallery of {n_gallery} too small for {len(pairs)} (identity, camera) pairs")
    extra_ids = rng.integers(0, n_ids, n_id_images - len(pairs))
    extra = np.array([(i + 1, rng.choice(cams[i])) for i in extra_ids]).reshape(-1, 2)
    distractors = np.stack([np.zeros(n_distractors, np.int64), rng.integers(0, n_cams, n_distractors)], 1)
    g = np.concatenate([pairs, extra, distractors])[rng.permutation(n_gallery)]
    centres = rng.standard_normal((n_ids + 1, dim)) * centre_scale

    def embed(pids):
        c = centres[pids].copy()
        c[pids == 0] = rng.standard_normal((int((pids == 0).sum()), dim)) * centre_scale
        return c + rng.standard_normal((len(pids), dim)) / np.sqrt(2)

    qf, gf = embed(q[:, 0]), embed(g[:, 0])
    d2 = (qf ** 2).sum(1)[:, None] + (gf ** 2).sum(1)[None] - 2 * qf @ gf.T  # (n, m) float64
    order = np.argsort(d2, axis=1)
    D = np.empty(d2.shape, np.float32)
    np.put_along_axis(D, order, (np.arange(1, n_gallery + 1, dtype=np.float32) / n_gallery)[None], axis=1)
    return D, q[:, 0], g[:, 0], q[:, 1], g[:, 1]


def _cam_count_probs(n_cams: int) -> np.ndarray:
    "Identities seen by more cameras are more common (Market: about 4.5 query cameras per identity)."
    w = np.arange(2, n_cams + 1, dtype=float) ** 2
    return w / w.sum()


# ----------------------------------------------------------------------------- workers
def _status_mb(field: str) -> float:
    "VmRSS (resident now) or VmHWM (peak resident) of this process, MB. ru_maxrss is no use here:"
    # Linux carries it over exec() from the forking parent, which holds the whole problem.
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _run_evaluator(kind: str, data: dict, max_rank: int):
    "Call one evaluator; return (cmc, AP per valid query, INP per valid query)."
    args = (data["distmat"], data["q_pids"], data["g_pids"], data["q_camids"], data["g_camids"])
    if kind == "rank_cy":
        import rank_cy  # compiled by bench/setup_fastreid.sh into bench/_build/rank_cy
        cmc, AP, INP = rank_cy.evaluate_cy(*args, max_rank, False)
        return np.asarray(cmc), np.asarray(AP), np.asarray(INP)
    from amd_reid.metrics import evaluate_rank, evaluate_rank_loop
    r = (evaluate_rank if kind == "ours" else evaluate_rank_loop)(*args, max_rank=max_rank)
    return r["cmc"], r["AP"], r["INP"]


def worker(kind: str, data_path: str, out_path: str, reps: int, max_rank: int) -> None:
    "Time `kind` on the saved problem, measure its memory, save the results."
    if kind == "rank_cy":
        sys.path.insert(0, str(RANK_CY_DIR))
    else:
        sys.path.insert(0, str(ROOT))
    data = {k: np.load(Path(data_path) / f"{k}.npy") for k in _ARRAYS}  # read in place: no temporary copy
    try:  # warm-up on a few queries: imports, caches
        _run_evaluator(kind, {k: v[:8] if k.startswith("q") or k == "distmat" else v for k, v in data.items()}, max_rank)
    except ValueError:
        pass
    import tracemalloc
    rss0 = _status_mb("VmRSS")
    tracemalloc.start()
    cmc, AP, INP = _run_evaluator(kind, data, max_rank)
    traced_peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    maxrss = _status_mb("VmHWM")
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        _run_evaluator(kind, data, max_rank)
        times.append(time.perf_counter() - t0)
    np.savez(out_path, cmc=cmc, AP=AP, INP=INP, times=np.array(times))
    with open(out_path + ".json", "w") as f:
        json.dump(dict(traced_peak_mb=traced_peak, rss_before_mb=rss0, maxrss_mb=maxrss), f)


def _spawn(python: Path | str, kind: str, data_path: Path, reps: int, max_rank: int) -> tuple[dict, dict]:
    out = BUILD / f"evaluate_rank_{kind}.npz"
    cmd = [str(python), str(Path(__file__).resolve()), "--worker", kind, str(data_path), str(out),
           "--reps", str(reps), "--max-rank", str(max_rank)]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    subprocess.run(cmd, check=True, env=env)
    with np.load(out) as z:
        res = {k: z[k] for k in z.files}
    return res, json.loads(Path(str(out) + ".json").read_text())


def _reference_python() -> Path:
    "The python of the rank_cy environment; builds it with bench/setup_fastreid.sh when missing."
    py = REF_VENV / "bin" / "python"
    built = py.exists() and any(RANK_CY_DIR.glob("rank_cy*.so"))
    if not built:
        print("building the FastReID reference environment (bench/setup_fastreid.sh) ...", flush=True)
        r = subprocess.run(["bash", str(BENCH / "setup_fastreid.sh")], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("bench/setup_fastreid.sh failed, rank_cy is unavailable:\n"
                               + (r.stdout + r.stderr)[-3000:])
    return py


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", nargs=3, metavar=("KIND", "DATA", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--reference", choices=("rank_cy", "loop", "none"), default="rank_cy")
    ap.add_argument("--quick", action="store_true", help="a small problem (seconds)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--max-rank", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    if a.worker:
        worker(*a.worker, reps=a.reps, max_rank=a.max_rank)
        return 0

    size = (dict(n_query=250, n_gallery=1500, n_ids=60, n_cams=6, n_distractors=200) if a.quick else
            dict(n_query=3368, n_gallery=15913, n_ids=750, n_cams=6, n_distractors=2798))
    BUILD.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    D, q_pids, g_pids, q_camids, g_camids = make_problem(a.seed, **size)
    data_path = BUILD / "evaluate_rank_problem"
    data_path.mkdir(exist_ok=True)
    for k, v in zip(_ARRAYS, (D, q_pids, g_pids, q_camids, g_camids)):
        np.save(data_path / f"{k}.npy", v)
    print(f"problem: {D.shape[0]} queries x {D.shape[1]} gallery, {size['n_ids']} identities, "
          f"{size['n_cams']} cameras, {size['n_distractors']} distractors, float32, tie-free rows "
          f"({time.perf_counter() - t0:.1f}s to make)", flush=True)

    ref_python = None
    if a.reference == "rank_cy":
        try:
            ref_python = _reference_python()
        except RuntimeError as e:
            print(e)
            return 2
    elif a.reference == "loop":
        ref_python = sys.executable

    ours, ours_mem = _spawn(sys.executable, "ours", data_path, a.reps, a.max_rank)
    t_ours = ours["times"].min()
    print(f"ours (amd_reid.metrics.evaluate_rank): best {t_ours:.3f}s, median {np.median(ours['times']):.3f}s "
          f"of {a.reps}")
    print(f"  memory: peak numpy/Python allocations during the call {ours_mem['traced_peak_mb']:.0f} MB "
          f"(tracemalloc); process peak RSS {ours_mem['maxrss_mb']:.0f} MB, of which "
          f"{ours_mem['rss_before_mb']:.0f} MB before the call (interpreter, torch, distmat "
          f"{D.nbytes / 2 ** 20:.0f} MB)")
    if ref_python is None:
        return 0

    ref, ref_mem = _spawn(ref_python, a.reference, data_path, a.reps if a.reference == "rank_cy" else 1, a.max_rank)
    t_ref = ref["times"].min()
    name = "FastReID rank_cy.evaluate_cy" if a.reference == "rank_cy" else "per-query loop (evaluate_rank_loop)"
    print(f"reference ({name}): best {t_ref:.3f}s, median {np.median(ref['times']):.3f}s "
          f"of {len(ref['times'])}; peak allocations {ref_mem['traced_peak_mb']:.0f} MB (tracemalloc)")
    print(f"ratio ours / reference: {t_ours / t_ref:.3f}  (speed-up {t_ref / t_ours:.1f}x; target <= 0.333)")

    ok = len(ours["AP"]) == len(ref["AP"]) and ours["cmc"].shape == ref["cmc"].shape
    diffs = dict(cmc=np.abs(ours["cmc"] - ref["cmc"]).max() if ok else np.inf,
                 mAP=abs(ours["AP"].mean() - ref["AP"].mean()) if ok else np.inf,
                 mINP=abs(ours["INP"].mean() - ref["INP"].mean()) if ok else np.inf,
                 AP_per_query=np.abs(ours["AP"] - ref["AP"]).max() if ok else np.inf)
    print(f"num_valid: ours {len(ours['AP'])}, reference {len(ref['AP'])}")
    print(f"Rank-1 {ours['cmc'][0]:.4f} Rank-5 {ours['cmc'][4]:.4f} mAP {ours['AP'].mean():.4f} "
          f"mINP {ours['INP'].mean():.4f} (ours)")
    print("largest |ours - reference|: " + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items()))
    same = all(v <= 1e-6 for v in diffs.values())
    print("results identical to 1e-6:", "yes" if same else "NO")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
