#!/usr/bin/env python
"""Training speed on a busy CPU: a fixed number of `cpu_synth_r18` target training steps (128 x 64,
P x K = 8 x 4, through the real data path of a small Market-format folder) timed alone, then beside a
CPU-bound competitor that this script starts itself and stops afterwards; printed as the slowdown
ratio (seconds per step beside the competitor / alone), for each thread setting in the same run.

Settings (each runs in fresh processes, since OpenMP reads its environment when torch is loaded):
  old      torch's defaults, as before issue 26: one intra-op thread per core, libgomp's default
           waiting (threads spin for a while at the end of every parallel region)
  new      the package's default: `amd_reid.threads.set_cpu_threads()`, as the CLI and the trainers call it
  --explore adds the settings that separate the causes: threads = cores or 1, with spinning or passive
           (sleeping) OpenMP waiting.
The competitor: `train` (default) is another copy of the same training steps under the same setting
(two people running the demo side by side); `spin` is one pure-Python busy loop (one core).
The ideal on 2 cores with one competitor is about 2 / (speed-up of 2 threads over 1), under 2x.

Usage: python bench/bench_contention.py [--quick] [--competitor train|spin] [--explore] [--json out.json]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# name: (environment of the process, whether it calls the package's thread policy, threads it sets itself)
SETTINGS = {
    "old": ({}, False, None),
    "new": ({}, True, None),
}
EXPLORE = {
    "cores+spin": ({}, False, None),                                # = old, named by its parts
    "cores+passive": ({"OMP_WAIT_POLICY": "PASSIVE"}, False, None),
    "1+spin": ({}, False, 1),
    "1+passive": ({"OMP_WAIT_POLICY": "PASSIVE"}, False, 1),
}
# variables that would decide the thread setting behind the script's back
CLEAR = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "MKL_NUM_THREADS", "AMD_REID_THREADS")


def worker(args) -> None:
    "One process of one setting: time `n` training steps (or, as the competitor, train until stopped)."
    env, policy, threads = (SETTINGS | EXPLORE)[args.setting]
    os.environ.update(env)                       # before torch is loaded (the OpenMP runtime reads it then)
    if policy:
        from amd_reid.threads import set_cpu_threads
        set_cpu_threads()
    import torch
    if threads:
        torch.set_num_threads(threads)
    from amd_reid.data import build_train_loader
    from amd_reid.datasets import Market1501
    from amd_reid.engine import autocast_context, autocast_dtype
    from amd_reid.training import TARGET_PRESETS, build_target, target_loss

    torch.manual_seed(0)
    cfg = TARGET_PRESETS["cpu_synth_r18"]
    data = Market1501(args.data)
    loader = build_train_loader(data.train, cfg.size, cfg.p, cfg.k, num_workers=cfg.num_workers, seed=0,
                                flip=cfg.flip, pad=cfg.pad, erasing=cfg.erasing)
    model = build_target(cfg, data.num_train_pids, pretrained=False).train()
    dev = torch.device("cpu")
    dtype = autocast_dtype(cfg, dev)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                           weight_decay=cfg.weight_decay)

    def batches():
        while True:
            yield from loader

    def step(b):                                   # as the trainer's step: forward, loss, backward, Adam
        with autocast_context(dev, dtype):
            out = model(b["img"], b["pid"])
        loss, _ = target_loss(out, b["pid"], cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    it = batches()
    for _ in range(args.warmup):
        step(next(it))
    if args.forever:
        print("ready", flush=True)
        while True:
            step(next(it))
    cpu0, t0 = os.times(), time.perf_counter()
    for _ in range(args.n):
        step(next(it))
    wall, cpu1 = time.perf_counter() - t0, os.times()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    print(json.dumps({"sec_per_step": wall / args.n, "cpu_per_step": cpu / args.n,
                      "threads": torch.get_num_threads(),
                      "wait_policy": os.environ.get("OMP_WAIT_POLICY", "(libgomp default)")}), flush=True)


def _cmd(setting: str, data: Path, n: int, warmup: int, forever: bool = False) -> list[str]:
    return [sys.executable, __file__, "--worker", setting, "--data", str(data), "--n", str(n), "--warmup",
            str(warmup)] + (["--forever"] if forever else [])


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in CLEAR}


def measure(setting: str, data: Path, n: int, warmup: int) -> dict:
    r = subprocess.run(_cmd(setting, data, n, warmup), env=_env(), capture_output=True, text=True, timeout=3600)
    if r.returncode:
        raise RuntimeError(f"the {setting!r} worker failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


SPIN = "while True: pass"


def start_competitor(kind: str, setting: str, data: Path, warmup: int) -> subprocess.Popen:
    "Start the competitor and return once it is busy (a trainer: after its warm-up steps)."
    if kind == "spin":
        return subprocess.Popen([sys.executable, "-c", SPIN], env=_env())
    p = subprocess.Popen(_cmd(setting, data, 1, warmup, forever=True), env=_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if line.strip() != "ready":
        p.kill()
        raise RuntimeError(f"the competitor ({setting}) did not start:\n{p.stderr.read()[-3000:]}")
    return p


def stop(p: subprocess.Popen) -> None:
    p.terminate()
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer steps (a rough number, about a minute)")
    ap.add_argument("--competitor", choices=("train", "spin"), default="train")
    ap.add_argument("--explore", action="store_true", help="also the settings that separate the causes")
    ap.add_argument("--settings", help="comma-separated names to run instead (old, new, and --explore's)")
    ap.add_argument("--json", help="write the results to this file")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=20, help="timed steps per measurement (--quick: 6)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps before (--quick: 2)")
    ap.add_argument("--forever", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        args.setting = args.worker
        return worker(args)

    n, warmup = (6, 2) if args.quick else (args.n, args.warmup)
    names = args.settings.split(",") if args.settings else list(SETTINGS) + (list(EXPLORE) if args.explore else [])
    unknown = [s for s in names if s not in SETTINGS | EXPLORE]
    if unknown:
        sys.exit(f"unknown settings {unknown}; known: {', '.join(SETTINGS | EXPLORE)}")
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{cores} cores, load average {load:.2f} before the run (should be near 0 for a clean number); "
          f"{n} steps after {warmup} warm-up; competitor: {args.competitor}", flush=True)
    from amd_reid.datasets import make_toy_market
    from amd_reid.training import TARGET_PRESETS
    cfg = TARGET_PRESETS["cpu_synth_r18"]
    results = {}
    with tempfile.TemporaryDirectory() as d:
        data = make_toy_market(Path(d) / "m", n_train=cfg.p * 2, n_test=2, images_per_id=cfg.k * 2,
                               size=cfg.size, n_distractors=0, n_junk=0)
        print(f"{'setting':<14s} {'threads':>7s}  {'s/step':>7s}  {'CPU s/step':>10s}", flush=True)
        for name in names:
            alone = measure(name, data, n, warmup)
            print(f"{name:<14s} {alone['threads']:>7d}  {alone['sec_per_step']:7.3f}  {alone['cpu_per_step']:10.3f}"
                  f"   alone", flush=True)
            comp = start_competitor(args.competitor, name, data, warmup)
            try:
                busy = measure(name, data, n, warmup)
            finally:
                stop(comp)
            ratio = busy["sec_per_step"] / alone["sec_per_step"]
            results[name] = {"alone": alone, "busy": busy, "slowdown": ratio}
            print(f"{name:<14s} {busy['threads']:>7d}  {busy['sec_per_step']:7.3f}  {busy['cpu_per_step']:10.3f}"
                  f"   beside the competitor: slowdown {ratio:.2f}x", flush=True)
    if "old" in results and "new" in results:
        print(f"\nslowdown beside one competitor: old {results['old']['slowdown']:.2f}x, "
              f"new {results['new']['slowdown']:.2f}x (goal: at most 2.5x on 2 cores)")
    if args.json:
        Path(args.json).write_text(json.dumps({"cores": cores, "load_before": load, "steps": n,
                                               "competitor": args.competitor, "results": results}, indent=1))


if __name__ == "__main__":
    main()
