#!/usr/bin/env python
"""Training throughput of the target model (images/s), against plain torchvision ResNets measured in
the same run at the same input size and batch.

1. `cpu_synth_r18`: one full training step (forward, loss, backward, Adam step) at 128 x 64, P x K =
   the preset's batch, on 2 CPU threads -- on random tensors, and through the real data path (JPEG
   decoding + augmentation of a Market-format folder, `build_train_loader`), in the preset's precision
   (bfloat16 autocast, `cpu_bf16`, on a CPU with native bf16); and the same step in float32.
2. `paper_market_r50`: forward + backward + Adam step on CPU at batch 8, 256 x 128 (AMP is GPU-only).

The reference is torchvision's `resnet18` / `resnet50` with its ImageNet head (1000 classes), plain
cross-entropy, same optimiser. Our target differs by design: last stride 1 (layer4 runs on a 4x
larger map), the BNNeck head and the metric losses, so a ratio below 1 is expected in float32 (the
reference is timed in float32; the bfloat16 row's ratio also contains the precision's speed-up).

Usage: python bench/bench_training.py [--quick] [--threads 2]
"""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision

from amd_reid.data import build_train_loader
from amd_reid.datasets import Market1501, make_toy_market
from amd_reid.engine import autocast_context, autocast_dtype, cpu_has_native_bf16
from amd_reid.training import TARGET_PRESETS, build_target, target_loss


def time_steps(steps: dict, n: int, warmup: int, repeats: int) -> dict:
    """Median seconds per call of each step function over `repeats` timings of `n` calls, after
    `warmup` calls. The steps take turns within every repeat, so that load from other processes on a
    shared machine affects them alike and their ratio stays meaningful."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            t = time.perf_counter()
            for _ in range(n):
                step()
            times[name].append((time.perf_counter() - t) / n)
    return {name: statistics.median(ts) for name, ts in times.items()}


def ours_step(cfg, num_classes: int, batch: int, loader=None):
    """A closure doing one training step of the target on random data (or on `loader`'s batches), under the
    autocast of `training.autocast_dtype` (bfloat16 on a CPU with native bf16 when `cfg.cpu_bf16`)."""
    model = build_target(cfg, num_classes, pretrained=False).train()
    dtype = autocast_dtype(cfg, torch.device("cpu"))
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                           weight_decay=cfg.weight_decay)
    h, w = cfg.size
    x = torch.randn(batch, 3, h, w)
    pids = torch.arange(batch) // cfg.k % num_classes
    it = [iter(loader)] if loader is not None else None

    def step():
        nonlocal x, pids
        if it is not None:
            try:
                b = next(it[0])
            except StopIteration:
                it[0] = iter(loader)
                b = next(it[0])
            x, pids = b["img"], b["pid"]
        with autocast_context(torch.device("cpu"), dtype):          # as the trainers do
            out = model(x, pids)
        loss, _ = target_loss(out, pids, cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def reference_step(depth: int, size, batch: int, lr: float):
    "One training step of plain torchvision ResNet-`depth` (1000-way CE) on random data."
    model = getattr(torchvision.models, f"resnet{depth}")(weights=None).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x, y = torch.randn(batch, 3, *size), torch.randint(0, 1000, (batch,))

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def step_bench_setup(doc: str) -> tuple[int, int, int]:
    """Command line of a step benchmark (`--quick`, `--threads`): sets the thread count, returns the
    (n, warmup, repeats) of `time_steps`."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer iterations (a rough number)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    return (2, 1, 1) if args.quick else (5, 2, 3)


def report(name: str, batch: int, sec: float, ref_sec: float, ref_name: str) -> None:
    ours, ref = batch / sec, batch / ref_sec
    print(f"{name:<44s} {ours:8.1f} img/s   {ref_name}: {ref:8.1f} img/s   ratio {ours / ref:5.2f}", flush=True)


def main():
    n, warmup, repeats = step_bench_setup(__doc__)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")

    # 1. cpu_synth_r18
    cfg = TARGET_PRESETS["cpu_synth_r18"]
    batch = cfg.p * cfg.k
    with tempfile.TemporaryDirectory() as d:
        root = make_toy_market(Path(d) / "m", n_train=cfg.p * 2, n_test=2, images_per_id=cfg.k * 2,
                               size=cfg.size, n_distractors=0, n_junk=0)
        data = Market1501(root)
        loader = build_train_loader(data.train, cfg.size, cfg.p, cfg.k, num_workers=cfg.num_workers,
                                    seed=0, flip=cfg.flip, pad=cfg.pad, erasing=cfg.erasing)
        t = time_steps({"ref": reference_step(18, cfg.size, batch, cfg.lr),
                        "ours": ours_step(cfg, data.num_train_pids, batch),
                        "full": ours_step(cfg, data.num_train_pids, batch, loader),
                        "fp32": ours_step(cfg.replace(cpu_bf16=False), data.num_train_pids, batch)},
                       n, warmup, repeats)
    print(f"\ncpu_synth_r18: ResNet-18 (last stride 1), {cfg.size[0]}x{cfg.size[1]}, batch {batch} "
          f"(P={cfg.p} x K={cfg.k}), step = forward + loss + backward + Adam")
    label = "bfloat16 autocast" if cfg.cpu_bf16 and cpu_has_native_bf16() else "float32"
    report(f"  target step, random tensors ({label}, the preset)", batch, t["ours"], t["ref"], "torchvision resnet18")
    report(f"  target step + JPEG loading (workers={cfg.num_workers})", batch, t["full"], t["ref"],
           "torchvision resnet18")
    print(f"  data loading share of a step: {100 * max(t['full'] - t['ours'], 0) / t['full']:.0f} %")
    report("  target step, random tensors, float32", batch, t["fp32"], t["ref"], "torchvision resnet18")
    print(f"  the preset's precision against float32: {t['fp32'] / t['ours']:.2f}x faster")
    steps = cfg.epochs * 63  # SynthMarket small: 63 P x K batches per epoch (150 identities x 12 images)
    print(f"  -> the preset's {cfg.epochs} epochs ({steps} steps) take ~{steps * t['full'] / 60:.1f} min of "
          f"training at this speed")

    # 2. paper_market_r50, batch 8 on CPU
    cfg = TARGET_PRESETS["paper_market_r50"]
    batch = 8
    t = time_steps({"ref": reference_step(50, cfg.size, batch, cfg.lr),
                    "ours": ours_step(cfg, 751, batch)}, max(1, n // 2), 1, repeats)
    print(f"\npaper_market_r50: ResNet-50 (last stride 1), GeM + BNNeck + circle-softmax (751 ids), "
          f"{cfg.size[0]}x{cfg.size[1]}, batch {batch}, CPU fp32")
    report("  target step, random tensors", batch, t["ours"], t["ref"], "torchvision resnet50")


if __name__ == "__main__":
    main()
