#!/usr/bin/env python
"""Streaming explanation evaluation at Market-1501 scale vs a dense, reference-style evaluation.

Random data with Market's shape: 3,368 queries x 15,913 gallery images x 26 attributes, 2048-d
embeddings, the attribute embeddings stored in float16 (the gallery's: 1.7 GB). In one run:

- `amd_reid.explain_metrics.evaluate_explanations` on all queries (ADRE, X-Precision/X-mAP,
  target / interpreter retrieval, re-weighted retrieval for every alpha and both modes);
- a dense formulation like the authors' release on a slice of queries (default 100):
  materialise the (n_slice, m, M) attribute distances, `argsort` them (and the `argsort` of the
  `argsort` for ranks), and rank the gallery with one full `argsort` per distance matrix;
- the streaming evaluator on the same slice, to check that both give the same numbers.

Time and peak resident memory above the inputs are measured for each and reported per query;
the ratio dense / streaming is the gain. `--scale 0.05` is a quick run (5% of the queries and of
the gallery; `--quick` also shortens the alpha list).
Usage: python bench/bench_explain_metrics.py [--scale 1] [--threads 2] [--alphas reference|0.5,1] [--quick]
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import os
import threading
import time

import numpy as np
import torch

from amd_reid.explain_metrics import REFERENCE_ALPHAS, evaluate_explanations

N_QUERY, N_GALLERY, N_ATTR, DIM = 3368, 15913, 26, 2048
N_IDS, DISTRACTOR_SHARE = 750, 2793 / 15913


# ---------------------------------------------------------------------------------------------
# measurement helpers
def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _release():
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


class PeakRSS:
    "Samples the resident set size every `every` s in a thread; `.peak` is the maximum above the start."
    def __init__(self, every: float = 0.01):
        self.every, self.peak, self._stop = every, 0, threading.Event()

    def __enter__(self):
        _release()
        self.base = _rss()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss() - self.base)
            time.sleep(self.every)

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, _rss() - self.base)


# ---------------------------------------------------------------------------------------------
# random Market-shaped data
def make_data(n: int, m: int, M: int, dim: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)

    def randn_half(*shape, rows=256):  # filled in row blocks: no float32 copy of the whole tensor
        out = torch.empty(shape, dtype=torch.float16)
        for i in range(0, shape[0], rows):
            out[i:i + rows] = torch.randn((min(rows, shape[0] - i), *shape[1:]), generator=g).half()
        return out

    q_attr_emb, g_attr_emb = randn_half(n, M, dim), randn_half(m, M, dim)
    q_emb, g_emb = torch.randn(n, dim, generator=g), torch.randn(m, dim, generator=g)
    ids = np.arange(1, N_IDS + 1)
    id_attrs = np.where(rng.random((N_IDS + 1, M)) < 0.3, 1, -1).astype(np.int8)
    id_attrs[0] = -1  # distractors: all -1
    q_pids = rng.choice(ids, n)
    g_pids = np.where(rng.random(m) < DISTRACTOR_SHARE, 0, rng.choice(ids, m))
    q_camids, g_camids = rng.integers(0, 6, n), rng.integers(0, 6, m)
    g_pred = np.where(rng.random((m, M)) < 0.9, id_attrs[g_pids], -id_attrs[g_pids])  # a 90%-right classifier
    return dict(q_attr_emb=q_attr_emb, g_attr_emb=g_attr_emb, q_emb=q_emb, g_emb=g_emb,
                q_pids=q_pids, g_pids=g_pids, q_camids=q_camids, g_camids=g_camids,
                q_attrs=id_attrs[q_pids], g_attrs=id_attrs[g_pids], g_pred_attrs=g_pred)


def query_slice(data: dict, k: int) -> dict:
    out = dict(data)
    for key in ("q_attr_emb", "q_emb", "q_pids", "q_camids", "q_attrs"):
        out[key] = data[key][:k]
    return out


# ---------------------------------------------------------------------------------------------
# the dense, reference-style formulation (materialise everything, sort everything at once)
def _dense_rank(dist: np.ndarray, qp, gp, qc, gc, max_rank: int) -> dict:
    "FastReID-style evaluation: one full argsort per query row, then CMC / AP / INP from the hits."
    order = np.argsort(dist, axis=1, kind="stable")  # (n, m)
    same = gp[order] == qp[:, None]
    keep = ~(same & (gc[order] == qc[:, None]))
    hits = same & keep
    rank = np.cumsum(keep, 1) - 1  # position among the kept items
    P = hits.sum(1)
    ok = P > 0
    cum = np.cumsum(hits, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        AP = np.where(hits, cum / (rank + 1), 0).sum(1)[ok] / P[ok]
    last = np.where(hits, rank, -1).max(1)
    INP = P[ok] / (last[ok] + 1)
    first = np.where(hits, rank, dist.shape[1]).min(1)[ok]
    cmc = np.cumsum(np.bincount(np.minimum(first, max_rank), minlength=max_rank + 1)[:max_rank]) / ok.sum()
    return dict(cmc=cmc, mAP=float(AP.mean()), mINP=float(INP.mean()), num_valid=int(ok.sum()))


def dense_evaluate(data: dict, alphas, max_rank: int = 50, overflow: float = 2.0) -> dict:
    qae, gae = data["q_attr_emb"].float(), data["g_attr_emb"]
    n, M, _ = qae.shape
    m = gae.shape[0]
    qp, gp, qc, gc = (np.asarray(data[k]) for k in ("q_pids", "g_pids", "q_camids", "g_camids"))
    # one (n, m) distance matrix per attribute, stacked: (n, m, M)
    per_attr = []
    for k in range(M):
        a, b = qae[:, k], gae[:, k].float()
        sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.t()
        per_attr.append(sq.clamp_min(1e-12).sqrt())
    D = torch.stack(per_attr, -1)  # (n, m, M)
    del per_attr
    qf, gf = data["q_emb"].float(), data["g_emb"].float()
    d = ((qf * qf).sum(1)[:, None] + (gf * gf).sum(1)[None, :] - 2 * qf @ gf.t()).clamp_min(1e-12).sqrt()
    keep = torch.from_numpy(~((qp[:, None] == gp[None]) & (qc[:, None] == gc[None]))).float()  # (n, m)
    qa, ga = torch.as_tensor(data["q_attrs"]).float(), torch.as_tensor(data["g_attrs"]).float()
    z = (1 - qa[:, None, :] * ga[None, :, :]) / 2  # (n, m, M) 1 = differs
    nd, ns = z.sum(-1), (1 - z).sum(-1)
    p = D / D.sum(-1, keepdim=True)
    # X-Precision_e / X-mAP_e: sort descending, ranks by argsort of the argsort
    desc = p.argsort(dim=-1, descending=True, stable=True)
    called = (desc.argsort(-1) < nd[..., None]).float()
    prec_e = (called * z).sum(-1) / nd.clamp_min(1)
    rel = z.gather(-1, desc)
    ap_e = (rel.cumsum(-1) / torch.arange(1, M + 1) * rel).sum(-1) / nd.clamp_min(1)
    # X-Precision_c / X-mAP_c, with the N_d = 0 rules
    flat = (nd == 0).float()[..., None]
    over = (p > overflow / M).float() * flat
    asc = p.argsort(dim=-1, stable=True)
    called_c = (asc.argsort(-1) < ns[..., None]).float() - over
    prec_c = (called_c * (1 - z)).sum(-1) / ns.clamp_min(1)
    order_c = (p * (1 - 2 * flat)).argsort(dim=-1, stable=True)  # N_d = 0: descending
    rel_c = (1 - z - over).gather(-1, order_c)
    ap_c = (rel_c.cumsum(-1) / torch.arange(1, M + 1) * rel_c).sum(-1) / ns.clamp_min(1)
    we, wc = keep * (nd > 0), keep * (ns > 0)
    out = dict(xprec_e=float((prec_e * we).sum() / we.sum()), xmap_e=float((ap_e * we).sum() / we.sum()),
               xprec_c=float((prec_c * wc).sum() / wc.sum()), xmap_c=float((ap_c * wc).sum() / wc.sum()))
    d_hat = D.mean(-1)
    out["adre"] = float(100 * (((d - d_hat).abs() / d) * keep).sum() / keep.sum())
    zp = (qa[:, None, :] != torch.as_tensor(data["g_pred_attrs"]).float()[None]).float()
    bs = {"max": p.max(-1).values, "pred": (p * zp).sum(-1)}
    ev = lambda x: _dense_rank(x.numpy(), qp, gp, qc, gc, max_rank)
    out["target"], out["interpreter"] = ev(d), ev(d_hat)
    out["reweight"] = {mode: {a: ev(d * (1 + a * b)) for a in alphas} for mode, b in bs.items()}
    return out


# ---------------------------------------------------------------------------------------------
def _max_diff(a: dict, b: dict) -> float:
    "Largest absolute difference between the metrics two evaluations share."
    diffs = [abs(a[k] - b[k]) for k in ("xprec_e", "xprec_c", "xmap_e", "xmap_c", "adre")]
    rk = lambda x, y: [abs(x["mAP"] - y["mAP"]), abs(x["mINP"] - y["mINP"]), float(np.abs(x["cmc"] - y["cmc"]).max())]
    diffs += rk(a["target"], b["target"]) + rk(a["interpreter"], b["interpreter"])
    for mode in a["reweight"]:
        for al in a["reweight"][mode]:
            diffs += rk(a["reweight"][mode][al], b["reweight"][mode][al])
    return max(diffs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of Market's queries and gallery (1 = full)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=512)
    ap.add_argument("--block", type=int, default=1024)
    ap.add_argument("--alphas", default="reference",
                    help="'reference' (0..1.95 step 0.05, 40 values) or a comma list, e.g. 0.5,1")
    ap.add_argument("--dense-queries", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="= --scale 0.05 --dense-queries 50 --alphas 0.5,1")
    args = ap.parse_args()
    if args.quick:
        args.scale, args.dense_queries, args.alphas = 0.05, 50, "0.5,1"
    torch.set_num_threads(args.threads)
    alphas = REFERENCE_ALPHAS if args.alphas == "reference" else tuple(float(a) for a in args.alphas.split(","))
    n, m = max(1, round(N_QUERY * args.scale)), max(1, round(N_GALLERY * args.scale))
    k = min(args.dense_queries, n)

    print(f"data: {n} queries x {m} gallery x {N_ATTR} attributes, {DIM}-d, attribute embeddings float16; "
          f"{len(alphas)} alphas x 2 re-weighting modes; {args.threads} threads")
    t0 = time.perf_counter()
    data = make_data(n, m, N_ATTR, DIM, args.seed)
    inputs = sum(v.numel() * v.element_size() for v in data.values() if isinstance(v, torch.Tensor))
    print(f"generated in {time.perf_counter() - t0:.0f} s; input embeddings {inputs / 2**30:.2f} GiB "
          f"(gallery attribute embeddings {data['g_attr_emb'].numel() * 2 / 2**30:.2f} GiB)")
    kw = dict(chunk=args.chunk, gallery_block=args.block, reweight_alphas=alphas, threads=args.threads)

    load0 = os.getloadavg()[0]
    with PeakRSS() as mem_s:
        t0, c0 = time.perf_counter(), time.process_time()
        res = evaluate_explanations(**data, **kw)
        t_stream, c_stream = time.perf_counter() - t0, time.process_time() - c0
    small = query_slice(data, k)
    with PeakRSS() as mem_d:
        t0, c0 = time.perf_counter(), time.process_time()
        dense = dense_evaluate(small, alphas)
        t_dense, c_dense = time.perf_counter() - t0, time.process_time() - c0
    res_slice = evaluate_explanations(**small, **kw, progress=False)
    diff = _max_diff(res_slice, dense)

    gib, mib = 2**30, 2**20
    rows = [("streaming (all queries)", n, t_stream, c_stream, mem_s.peak),
            (f"dense, reference-style ({k} queries)", k, t_dense, c_dense, mem_d.peak)]
    print()
    print(f"| {'evaluation':<36} | {'queries':>7} | {'wall s':>8} | {'cpu s':>8} | {'ms/query':>9} "
          f"| {'peak GiB':>8} | {'MiB/query':>9} |")
    print(f"|{'-' * 38}|{'-' * 9}|{'-' * 10}|{'-' * 10}|{'-' * 11}|{'-' * 10}|{'-' * 11}|")
    for name, q, t, cpu, mem in rows:
        print(f"| {name:<36} | {q:>7} | {t:>8.1f} | {cpu:>8.1f} | {1000 * t / q:>9.1f} "
              f"| {mem / gib:>8.2f} | {mem / mib / q:>9.2f} |")
    tr = (t_dense / k) / (t_stream / n)
    mr = (mem_d.peak / k) / max(mem_s.peak / n, 1)
    print(f"| {'ratio dense / streaming, per query':<36} | {'':>7} | {'':>8} | {'':>8} | {tr:>8.1f}x "
          f"| {'':>8} | {mr:>8.0f}x |")
    print(f"\nmachine load (1-min average) at start / end: {load0:.1f} / {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores; 'cpu s' counts all threads of this process")
    dense_full = mem_d.peak / k * N_QUERY / gib
    print(f"\ndense at {N_QUERY} queries would need ~{dense_full:.0f} GiB (extrapolated per query)")
    tm = res["timing"]
    print(f"streaming time split: distances {tm['distances']:.1f} s, explanation statistics "
          f"{tm['explanation']:.1f} s, rankings {tm['ranking']:.1f} s ({2 + 2 * len(alphas)} per query chunk)")
    print(f"streaming vs dense on the {k}-query slice: largest metric difference {diff:.2e}")
    print(f"\nresults (random data, so chance level): X-mAP_e {100 * res['xmap_e']:.2f}, "
          f"X-mAP_c {100 * res['xmap_c']:.2f}, X-Prec_e {100 * res['xprec_e']:.2f}, "
          f"X-Prec_c {100 * res['xprec_c']:.2f}, ADRE {res['adre']:.2f}%, "
          f"interpreter mAP {100 * res['interpreter']['mAP']:.2f}, pairs {res['num_pairs']}")
    if args.scale == 1.0:
        ok_t, ok_m = t_stream <= 300, mem_s.peak <= 2 * gib
        print(f"targets: time <= 300 s: {'yes' if ok_t else 'NO'} ({t_stream:.0f} s); "
              f"peak <= 2 GiB above inputs: {'yes' if ok_m else 'NO'} ({mem_s.peak / gib:.2f} GiB)")


if __name__ == "__main__":
    main()
