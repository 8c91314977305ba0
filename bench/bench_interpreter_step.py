#!/usr/bin/env python
"""Speed of one interpreter training step of the `cpu_synth_r18` preset in float32 and under
bfloat16 autocast (`cpu_bf16`), measured in the same run; the float32 step is the reference.

A step = T's frozen forward (stem to head), the interpreter's own layer3 + layer4, decomposition
head and the 26 attribute embeddings, the attribute-classifier branch, the AMD losses, backward and
Adam, at 128 x 64, batch P x K = 32, random tensors, 2 CPU threads. bfloat16 is only used where the
CPU computes it natively (AVX512-BF16 or AMX); elsewhere the script says so and times float32 twice.

Usage: python bench/bench_interpreter_step.py [--quick] [--threads 2]
"""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_training import step_bench_setup, time_steps  # noqa: E402  (same command line and timing discipline)

from amd_reid.interpreter_training import INTERPRETER_PRESETS, build_interpreter, interpreter_loss
from amd_reid.engine import autocast_context, autocast_dtype, cpu_has_native_bf16
from amd_reid.training import TARGET_PRESETS, build_target


def interpreter_step(cfg, bf16: bool, M: int = 26, num_classes: int = 135):
    "A closure doing one training step of a fresh interpreter (on a fresh random target) on random data."
    torch.manual_seed(0)
    target = build_target(TARGET_PRESETS["cpu_synth_r18"], num_classes, pretrained=False).eval()
    interp = build_interpreter(target, cfg, M).train()
    opt = torch.optim.Adam([p for p in interp.parameters() if p.requires_grad], lr=cfg.lr,
                           weight_decay=cfg.weight_decay)
    B = cfg.p * cfg.k
    x = torch.randn(B, 3, *cfg.size)
    attrs = torch.randint(0, 2, (B, M)).float() * 2 - 1
    attrs = attrs.view(cfg.p, cfg.k, M)[:, :1].expand(cfg.p, cfg.k, M).reshape(B, M)  # identity-level
    pos_ratio = torch.full((M,), 0.3)
    dtype = autocast_dtype(cfg.replace(cpu_bf16=bf16), torch.device("cpu"))

    def step():
        with autocast_context(torch.device("cpu"), dtype):          # as the trainers do
            out = interp(x)
        loss, _ = interpreter_loss(out, attrs, cfg, pos_ratio=pos_ratio)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def main():
    n, warmup, repeats = step_bench_setup(__doc__)
    cfg = INTERPRETER_PRESETS["cpu_synth_r18"]
    native = cpu_has_native_bf16()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU, native bfloat16: {native}")
    t = time_steps({"float32": interpreter_step(cfg, bf16=False), "bfloat16": interpreter_step(cfg, bf16=True)},
                   n, warmup, repeats)
    B = cfg.p * cfg.k
    print(f"\ncpu_synth_r18 interpreter step: ResNet-18 target, {cfg.size[0]}x{cfg.size[1]}, batch {B}, "
          f"classifier branch {'on' if cfg.with_classifier else 'off'}")
    print(f"  float32 (reference)   {1000 * t['float32']:7.1f} ms/step  {B / t['float32']:6.1f} img/s")
    label = "bfloat16 autocast" if native else "float32 (no native bf16)"
    print(f"  {label:<21s} {1000 * t['bfloat16']:7.1f} ms/step  {B / t['bfloat16']:6.1f} img/s   "
          f"speed-up {t['float32'] / t['bfloat16']:.2f}x")
    steps = cfg.epochs * 57  # SynthMarket small, 15 ids held out: 57 P x K batches per epoch
    print(f"  -> the preset's {cfg.epochs} epochs ({steps} steps): ~{steps * t['float32']:.0f} s in float32, "
          f"~{steps * t['bfloat16']:.0f} s {'in bfloat16' if native else 'again'} (data loading adds ~5 %)")


if __name__ == "__main__":
    main()
