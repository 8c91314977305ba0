#!/usr/bin/env python
"""The GPU path in one command (at most about 8 minutes on one H100 / H200): what has only ever run on
the CPU -- CUDA, AMP, DDP over NCCL, the explanation evaluation on the GPU, faiss-gpu -- checked and timed.

1. target: `paper_market_r50` training steps (ResNet-50, 256 x 128, batch P x K = 64, pretrained=False:
   no ImageNet weights are needed) under AMP (the trainer's float16 autocast + gradient scaler) against
   the same steps in float32, in the same run: img/s and peak accelerator memory;
2. interpreter: the same for `paper_market_r50`'s interpreter step (T frozen, AMD losses);
3. ddp: a 2-step `train_target` under `torchrun --nproc_per_node N` (N = 2 where 2 GPUs exist, else 1),
   in a process group the script opens with the device's backend (NCCL on CUDA) and checks with an
   all-reduce;
4. explain: `evaluate_explanations` at Market-1501 scale (3,368 x 15,913 x 26 attributes, 2048-d) with
   the distances on the device, against the CPU on a slice of the queries (its time scaled to all);
5. faiss: top-50 of 3,368 x 15,913 2048-d features with faiss-gpu against faiss-cpu (skipped, with a
   note, where faiss has no GPU support).
Writes a JSON (--out) and exits non-zero if any check failed.

`--device cpu --quick` is the dry run the test suite runs (tests/test_gpu_check.py): tiny sizes, gloo
instead of NCCL, faiss-gpu skipped.
Usage: python bench/gpu_check.py [--device cuda] [--quick] [--out gpu_check.json]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_explain_metrics import N_ATTR, N_GALLERY, N_QUERY, DIM, make_data, query_slice  # noqa: E402

from amd_reid.datasets import make_toy_market  # noqa: E402
from amd_reid.explain_metrics import evaluate_explanations  # noqa: E402
from amd_reid.interpreter_training import INTERPRETER_PRESETS, build_interpreter, interpreter_loss  # noqa: E402
from amd_reid.threads import set_cpu_threads  # noqa: E402
from amd_reid.engine import autocast_context, autocast_dtype, grad_scaler, precision_name  # noqa: E402
from amd_reid.training import TARGET_PRESETS, build_target, target_loss  # noqa: E402


def _sync(dev: torch.device) -> None:
    if dev.type != "cpu":
        torch.accelerator.synchronize()


def timed(step, dev: torch.device, n: int, warmup: int) -> dict:
    "Seconds per call of `step` after `warmup` calls, and the peak accelerator memory of the timed calls."
    for _ in range(warmup):
        step()
    _sync(dev)
    if dev.type != "cpu":
        torch.accelerator.reset_peak_memory_stats()
    t = time.perf_counter()
    for _ in range(n):
        step()
    _sync(dev)
    sec = (time.perf_counter() - t) / n
    peak = torch.accelerator.max_memory_allocated() / 2**30 if dev.type != "cpu" else None
    return {"sec_per_step": sec, "peak_mem_gib": peak}


def _train_step(model, params, cfg, dev, amp_dtype, forward_loss):
    "One step as the trainers take it: autocast forward, loss, scaled backward, Adam."
    opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scaler = grad_scaler(amp_dtype, dev)

    def step():
        with autocast_context(dev, amp_dtype):
            out = model()
        loss = forward_loss(out)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    return step


def _precisions(cfg, dev) -> dict:
    "The preset's precision on `dev` (AMP: float16 on an accelerator) and float32, by name."
    amp = autocast_dtype(cfg.replace(amp=True), dev)
    out = {"float32": None}
    if amp is not None:
        out = {precision_name(amp): amp, **out}
    return out


def _steps_report(name: str, batch: int, times: dict) -> dict:
    res = {k: {**v, "img_per_s": batch / v["sec_per_step"]} for k, v in times.items()}
    if len(res) == 2:
        amp, fp32 = list(res)
        res["speedup_amp_vs_float32"] = res[fp32]["sec_per_step"] / res[amp]["sec_per_step"]
    for k, v in res.items():
        if isinstance(v, dict):
            mem = f", peak {v['peak_mem_gib']:.2f} GiB" if v["peak_mem_gib"] is not None else ""
            print(f"  {name} {k:<8s} {v['img_per_s']:8.1f} img/s{mem}", flush=True)
    if "speedup_amp_vs_float32" in res:
        print(f"  {name} AMP / float32: {res['speedup_amp_vs_float32']:.2f}x", flush=True)
    return res


def check_target(dev, quick) -> dict:
    cfg = TARGET_PRESETS["paper_market_r50"].replace(pretrained=False)
    if quick:
        cfg = cfg.replace(size=(64, 32), p=2, k=2, depth=18)
    n_ids, batch = 751, cfg.p * cfg.k
    x = torch.randn(batch, 3, *cfg.size, device=dev)
    pids = (torch.arange(batch, device=dev) // cfg.k) % n_ids
    times = {}
    for name, amp_dtype in _precisions(cfg, dev).items():
        torch.manual_seed(0)
        model = build_target(cfg, n_ids, pretrained=False).to(dev).train()
        params = [p for p in model.parameters() if p.requires_grad]
        step = _train_step(lambda: model(x, pids), params, cfg, dev, amp_dtype,
                           lambda out: target_loss(out, pids, cfg)[0])
        times[name] = timed(step, dev, *((2, 1) if quick else (10, 3)))
        del model, params, step
    return {"size": list(cfg.size), "batch": batch, "depth": cfg.depth, **_steps_report("target", batch, times)}


def check_interpreter(dev, quick) -> dict:
    tcfg = TARGET_PRESETS["paper_market_r50"].replace(pretrained=False)
    cfg = INTERPRETER_PRESETS["paper_market_r50"].replace(pretrained=False, p=16, k=4)
    if quick:
        tcfg, cfg = tcfg.replace(size=(64, 32), depth=18), cfg.replace(size=(64, 32), p=2, k=2, mid_channels=16)
    M, batch = 26, cfg.p * cfg.k
    x = torch.randn(batch, 3, *cfg.size, device=dev)
    attrs = (torch.randint(0, 2, (cfg.p, 1, M), device=dev).float() * 2 - 1).expand(cfg.p, cfg.k, M).reshape(batch, M)
    pos_ratio = torch.full((M,), 0.3, device=dev)
    times = {}
    for name, amp_dtype in _precisions(cfg, dev).items():
        torch.manual_seed(0)
        target = build_target(tcfg, 751, pretrained=False).eval()
        interp = build_interpreter(target, cfg, M).to(dev).train()
        params = [p for p in interp.parameters() if p.requires_grad]
        step = _train_step(lambda: interp(x), params, cfg, dev, amp_dtype,
                           lambda out: interpreter_loss(out, attrs, cfg, pos_ratio=pos_ratio)[0])
        times[name] = timed(step, dev, *((2, 1) if quick else (10, 3)))
        del target, interp, params, step
    return {"size": list(cfg.size), "batch": batch, **_steps_report("interpreter", batch, times)}


DDP_SCRIPT = r'''
import json, os, sys, torch
import torch.distributed as dist
import amd_reid.training as T
from amd_reid.checkpoint import load_checkpoint
data, out, device, quick = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
dev = torch.device(device)
if dev.type != "cpu":
    dev = torch.device(dev.type, int(os.environ["LOCAL_RANK"]))
    torch.accelerator.set_device_index(dev.index)
backend = dist.get_default_backend_for_device(dev)
dist.init_process_group(backend=backend)      # the script's group: the trainer uses it and leaves it open
t = torch.ones(1, device=dev) * (dist.get_rank() + 1)
dist.all_reduce(t)
world = dist.get_world_size()
assert t.item() == world * (world + 1) / 2, t
cfg = T.TargetConfig(size=(64, 32) if quick else (256, 128), p=4, k=2, pad=2, depth=18 if quick else 50,
                     pretrained=False, epochs=1, amp=True, warmup_iters=1, eval_every=1, ckpt_every=1, log_every=1,
                     eval_batch_size=16)
model, res = T.train_target(cfg, data, out, device=dev, progress=False)
ck = load_checkpoint(os.path.join(out, "last.pt")) if dist.get_rank() == 0 else None
if dist.get_rank() == 0:
    print("RESULT " + json.dumps({"backend": backend, "world_size": res["world_size"], "iterations": ck["iteration"],
                                  "precision": str(ck["extra"].get("precision", "")), "mAP": res["metrics"]["mAP"],
                                  "train_seconds": res["train_seconds"]}), flush=True)
dist.destroy_process_group()
'''


def check_ddp(dev, quick, tmp: Path) -> dict:
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    if torchrun is None:
        raise RuntimeError("torchrun not found beside this Python")
    nproc = 2 if dev.type != "cpu" and torch.accelerator.device_count() >= 2 else 1
    data = make_toy_market(tmp / "toy", n_train=8, n_test=3, images_per_id=2, size=(64, 32) if quick else (256, 128))
    script = tmp / "ddp.py"
    script.write_text(DDP_SCRIPT)
    env = {**os.environ}
    env.pop("WORLD_SIZE", None)
    cmd = [torchrun, "--standalone", "--nproc_per_node", str(nproc), str(script), str(data), str(tmp / "run"),
           dev.type, "1" if quick else "0"]
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - t
    if r.returncode:
        raise RuntimeError(f"torchrun failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}")
    res = json.loads(next(line for line in r.stdout.splitlines() if line.startswith("RESULT "))[7:])
    if res["world_size"] != nproc or not res["iterations"] or not math.isfinite(res["mAP"]):
        raise RuntimeError(f"unexpected DDP result {res} (expected world size {nproc}, some iterations, a finite mAP)")
    print(f"  ddp: torchrun --nproc_per_node {nproc}, backend {res['backend']}, {res['iterations']} iterations, "
          f"{wall:.0f} s in all", flush=True)
    return {"nproc_per_node": nproc, "wall_seconds": wall, **res}


def check_explain(dev, quick) -> dict:
    n, m, M, dim = (48, 300, N_ATTR, 64) if quick else (N_QUERY, N_GALLERY, N_ATTR, DIM)
    n_cpu = n if quick else 128
    data = make_data(n, m, M, dim)
    kw = dict(reweight_alphas=(0.5, 1.0), progress=False)
    t = time.perf_counter()
    cpu = evaluate_explanations(**query_slice(data, n_cpu), device="cpu", **kw)
    cpu_sec = (time.perf_counter() - t) * n / n_cpu
    res = {"queries": n, "gallery": m, "attributes": M, "dim": dim, "cpu_queries_timed": n_cpu,
           "cpu_seconds_scaled_to_all": cpu_sec, "cpu_threads": torch.get_num_threads()}
    print(f"  explain: CPU {cpu_sec:.1f} s for {n} x {m} (timed on {n_cpu} queries, scaled)", flush=True)
    if dev.type == "cpu":
        return res
    if dev.type != "cpu":
        torch.accelerator.reset_peak_memory_stats()
    t = time.perf_counter()
    out = evaluate_explanations(**data, device=dev, **kw)
    _sync(dev)
    dev_sec = time.perf_counter() - t
    sliced = evaluate_explanations(**query_slice(data, n_cpu), device=dev, **kw)   # the same numbers as the CPU
    if abs(sliced["adre"] - cpu["adre"]) > 1e-3 * max(1.0, abs(cpu["adre"])):
        raise RuntimeError(f"ADRE on {dev} {sliced['adre']} differs from the CPU's {cpu['adre']}")
    res.update(device_seconds=dev_sec, speedup_vs_cpu=cpu_sec / dev_sec, adre=out["adre"], timing=out["timing"],
               peak_mem_gib=torch.accelerator.max_memory_allocated() / 2**30)
    print(f"  explain: {dev} {dev_sec:.1f} s ({cpu_sec / dev_sec:.1f}x the CPU), ADRE {out['adre']:.3f}", flush=True)
    return res


def check_faiss(dev, quick) -> dict:
    import faiss
    n, m, d, k = (64, 1000, 64, 50) if quick else (N_QUERY, N_GALLERY, DIM, 50)
    rng = np.random.default_rng(0)
    q, g = rng.standard_normal((n, d), dtype=np.float32), rng.standard_normal((m, d), dtype=np.float32)
    index = faiss.IndexFlatL2(d)
    index.add(g)
    t = time.perf_counter()
    dc, ic = index.search(q, k)
    cpu_sec = time.perf_counter() - t
    res = {"queries": n, "gallery": m, "dim": d, "k": k, "cpu_seconds": cpu_sec, "faiss": faiss.__version__}
    print(f"  faiss: CPU top-{k} of {n} x {m} ({d}-d) {cpu_sec:.3f} s", flush=True)
    gpus = getattr(faiss, "get_num_gpus", lambda: 0)()
    if dev.type == "cpu" or gpus == 0 or not hasattr(faiss, "StandardGpuResources"):
        res["gpu"] = (f"skipped: faiss {faiss.__version__} has no GPU support here" if dev.type != "cpu"
                      else "skipped: --device cpu")
        print(f"  faiss: GPU {res['gpu']}", flush=True)
        return res
    gindex = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, faiss.IndexFlatL2(d))
    gindex.add(g)
    gindex.search(q[:8], k)                                    # warm-up
    t = time.perf_counter()
    dg, ig = gindex.search(q, k)
    gpu_sec = time.perf_counter() - t
    same = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(ic, ig)]))
    if same < 0.99 or not np.allclose(dc, dg, rtol=1e-3, atol=1e-2):
        raise RuntimeError(f"faiss-gpu disagrees with faiss-cpu: {same:.3f} of the top-{k} shared")
    res.update(gpu_seconds=gpu_sec, speedup=cpu_sec / gpu_sec, topk_agreement=same)
    print(f"  faiss: GPU {gpu_sec:.3f} s ({cpu_sec / gpu_sec:.1f}x), top-{k} agreement {same:.4f}", flush=True)
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else torch.device("cpu")
    ap.add_argument("--device", default=str(default), help=f"default: {default}")
    ap.add_argument("--quick", action="store_true", help="tiny sizes: the dry run of the test suite")
    ap.add_argument("--out", default="gpu_check.json", help="the results (JSON)")
    ap.add_argument("--only", help="comma-separated checks to run (target, interpreter, ddp, explain, faiss)")
    args = ap.parse_args()
    dev = torch.device(args.device)
    threads = set_cpu_threads()
    info = {"device": str(dev), "quick": args.quick, "torch": torch.__version__, "cpu_threads": threads,
            "accelerators": torch.accelerator.device_count() if dev.type != "cpu" else 0,
            "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else None,
            "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(f"gpu_check on {dev} ({info['device_name'] or 'no accelerator'}), torch {torch.__version__}, "
          f"{threads} CPU threads{', quick' if args.quick else ''}", flush=True)
    names = ["target", "interpreter", "ddp", "explain", "faiss"]
    if args.only:
        names = [s for s in args.only.split(",") if s]
    checks, failed, t_all = {}, [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            print(f"{name}:", flush=True)
            t = time.perf_counter()
            try:
                if name == "ddp":
                    res = check_ddp(dev, args.quick, Path(tmp))
                else:
                    res = {"target": check_target, "interpreter": check_interpreter, "explain": check_explain,
                           "faiss": check_faiss}[name](dev, args.quick)
                checks[name] = {"ok": True, **res}
            except Exception as e:
                traceback.print_exc()
                checks[name] = {"ok": False, "error": f"{type(e).__name__}: {e}"}
                failed.append(name)
            checks[name]["seconds"] = time.perf_counter() - t
            if dev.type != "cpu":
                torch.accelerator.empty_cache()
    info.update(checks=checks, failed=failed, seconds=time.perf_counter() - t_all)
    Path(args.out).write_text(json.dumps(info, indent=1, default=str))
    print(f"{'FAILED: ' + ', '.join(failed) if failed else 'all checks passed'} ({info['seconds']:.0f} s); "
          f"results in {args.out}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
