#!/usr/bin/env python
"""Time of the whole faithfulness suite (chapter 27) on trained models, against a reference measured in the
same run: one forward pass of the interpreter over the same images (the pairs' queries and galleries and every
counterfactual gallery image). Goal (issue: explanations you can check): the suite on the demo's models in at
most 5 minutes on 2 cores.

The suite = drawing the counterfactual set (skipped when cached: `--fresh` draws it again into a temporary
file), T's view of it, AMD's three readouts, the baselines (`BASELINES` of chapter 27) and every
metric, deletion / insertion curves with both fills included.

Usage: python bench/bench_faithfulness.py [--run runs/demo] [--data data/SynthMarket-small] [--pairs 200]
                                          [--fresh] [--quick] [--threads 2]
--quick: a tiny SynthMarket and freshly initialised models (a smoke test of the script, no target figure).
"""
import argparse
import tempfile
import time
from pathlib import Path

import torch

from amd_reid.counterfactuals import counterfactual_set
from amd_reid.faithfulness import run_faithfulness


def models(run: Path):
    from amd_reid.interpreter_training import load_interpreter
    interp, _ = load_interpreter(run / "interpreter" / "last.pt", "cpu")
    return interp.target, interp


def quick_models(size=(128, 64)):
    from amd_reid.interpreter import AMDInterpreter
    from amd_reid.training import TARGET_PRESETS, build_target
    torch.manual_seed(0)
    target = build_target(TARGET_PRESETS["cpu_synth_r18"], 12, pretrained=False).eval()
    interp = AMDInterpreter(target, 26).eval()
    interp.input_size = size
    return target, interp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default="runs/demo")
    ap.add_argument("--data", default="data/SynthMarket-small")
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--fresh", action="store_true", help="draw the counterfactuals again (not from the cache)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    tmp = Path(tempfile.mkdtemp())
    if a.quick:
        from amd_reid.synthmarket import make_synthmarket
        data, pairs = make_synthmarket(tmp / "tiny", "tiny", progress=False), 12
        target, interp = quick_models()
    else:
        data, pairs = Path(a.data), a.pairs
        target, interp = models(Path(a.run))
    cache = tmp / "cf.npz" if a.fresh or a.quick else None
    t0 = time.perf_counter()
    cs = counterfactual_set(data, n_pairs=pairs, seed=0, cache=cache, progress=False)
    t_draw = time.perf_counter() - t0
    # the reference: the interpreter's forward pass over every image the suite looks at
    from amd_reid.faithfulness import _images, _path
    size = tuple(interp.input_size)
    x = torch.cat([_images([_path(Path(data), n) for n in cs.query], size),
                   _images([_path(Path(data), n) for n in cs.gallery], size), _images(list(cs.images), size)])
    t0 = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(x), 64):
            interp(x[i:i + 64])
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    *_, report = run_faithfulness(target, interp, data, n_pairs=pairs, seed=0, progress=False)
    t_suite = time.perf_counter() - t0 + (t_draw if cache is not None else 0.0)
    print(f"{pairs} pairs, {len(cs)} counterfactuals, {len(x)} images; {torch.get_num_threads()} threads")
    print(f"reference: one interpreter forward pass over the images   {t_ref:7.1f} s")
    print(f"drawing the counterfactual set{' (counted)' if cache is not None else ' (cached: not counted)'}"
          f"     {t_draw:7.1f} s")
    print(f"the whole suite ({len(report.headline)} explainers, every metric)             {t_suite:7.1f} s"
          f"   = {t_suite / t_ref:.1f} x the reference")
    if not a.quick:
        print(f"goal: at most 300 s on 2 cores -> {'met' if t_suite <= 300 else 'NOT met'}")
    print(report.headline.round(3).to_string())


if __name__ == "__main__":
    main()
