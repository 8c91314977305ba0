#!/usr/bin/env python
"""Cost per image of explaining a non-ResNet target, against the ResNet-18 demo target in the same run.

For each target -- the demo's ResNet-18 (`cpu_synth_r18`, the reference) and torchreid's OSNets -- at the demo's
128 x 64 input and batch (P x K = 32), in float32 on random data:
1. a target training step (forward, `target_loss`, backward, Adam step);
2. an interpreter training step (`cpu_synth_r18` interpreter preset on that target: its own trunk copied from
   the target's late part, the masks, the metric distillation and attribute prior losses);
3. an explanation: the interpreter's forward pass without gradient (what `build_cache` runs per image).
The steps take turns within every repeat (`bench_training.time_steps`), so that load from other processes
affects them alike. The ratio is the target's time per image over ResNet-18's: at most 1 means it costs no more.

Usage: python bench/bench_targets.py [--quick] [--threads 2]
"""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_training import step_bench_setup, time_steps  # noqa: E402  (same command line and timing discipline)

from amd_reid.interpreter_training import INTERPRETER_PRESETS, build_interpreter, interpreter_loss  # noqa: E402
from amd_reid.training import TARGET_PRESETS, build_target, target_loss  # noqa: E402

TARGETS = {"resnet18 (demo)": "resnet", "osnet_x1_0": "torchreid:osnet_x1_0", "osnet_x0_25": "torchreid:osnet_x0_25"}
M, NUM_CLASSES = 26, 150


def steps_for(arch: str) -> dict:
    "The three step closures of one target: training it, training its interpreter, explaining with it."
    torch.manual_seed(0)
    tcfg = TARGET_PRESETS["cpu_synth_r18"].replace(arch=arch, cpu_bf16=False)
    icfg = INTERPRETER_PRESETS["cpu_synth_r18"].replace(cpu_bf16=False)
    B = tcfg.p * tcfg.k
    x = torch.randn(B, 3, *tcfg.size)
    pids = torch.arange(B) // tcfg.k
    attrs = (torch.randint(0, 2, (tcfg.p, 1, M)).expand(tcfg.p, tcfg.k, M).reshape(B, M) * 2 - 1).float()
    target = build_target(tcfg, NUM_CLASSES, pretrained=False).train()
    t_opt = torch.optim.Adam([p for p in target.parameters() if p.requires_grad], lr=1e-3)
    interp = build_interpreter(build_target(tcfg, NUM_CLASSES, pretrained=False).eval(), icfg, M).train()
    i_opt = torch.optim.Adam([p for p in interp.parameters() if p.requires_grad], lr=1e-3)

    def train_target():
        loss, _ = target_loss(target(x, pids), pids, tcfg)
        t_opt.zero_grad(set_to_none=True); loss.backward(); t_opt.step()

    def train_interpreter():
        loss, _ = interpreter_loss(interp(x), attrs, icfg, pos_ratio=torch.full((M,), 0.3))
        i_opt.zero_grad(set_to_none=True); loss.backward(); i_opt.step()

    def explain():
        with torch.no_grad():
            interp.eval()(x)
        interp.train()
    return {"target training step": train_target, "interpreter training step": train_interpreter,
            "explanation (forward)": explain}


def main():
    n, warmup, repeats = step_bench_setup(__doc__)
    B = TARGET_PRESETS["cpu_synth_r18"].p * TARGET_PRESETS["cpu_synth_r18"].k
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU, float32, 128x64, batch {B}")
    steps = {(t, s): f for t, arch in TARGETS.items() for s, f in steps_for(arch).items()}
    times = time_steps(steps, n, warmup, repeats)
    ref = next(iter(TARGETS))
    for stage in ("target training step", "interpreter training step", "explanation (forward)"):
        print(f"\n{stage}")
        for t in TARGETS:
            ms = 1000 * times[(t, stage)] / B
            print(f"  {t:<18s} {ms:7.2f} ms/image   ratio to {ref}: {times[(t, stage)] / times[(ref, stage)]:5.2f}")


if __name__ == "__main__":
    main()
