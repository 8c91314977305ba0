#!/usr/bin/env python
"""Cascading parameter randomisation of an interpreter (Adebayo et al.): AMD's headline scores with its
decomposition head, then its layer4, then its layer3 re-initialised. Writes sanity.csv under --out.
Usage: python experiments/faithfulness/sanity.py --ckpt runs/demo/interpreter/last.pt --out experiments/faithfulness"""
import argparse
from pathlib import Path

import torch

from amd_reid.counterfactuals import counterfactual_set
from amd_reid.faithfulness import cascading_randomisation, target_view
from amd_reid.interpreter_training import load_interpreter

ap = argparse.ArgumentParser()
ap.add_argument("--ckpt", default="runs/demo/interpreter/last.pt")
ap.add_argument("--data", default="data/SynthMarket-small")
ap.add_argument("--pairs", type=int, default=200)
ap.add_argument("--out", default="experiments/faithfulness")
a = ap.parse_args()
interp, _ = load_interpreter(a.ckpt, "cpu")
view = target_view(interp.target, counterfactual_set(a.data, a.pairs, 0, progress=False), a.data, tuple(interp.input_size))
table = cascading_randomisation(interp, view)
table.round(4).to_csv(Path(a.out) / "sanity.csv")
print(table[["top1_agreement", "rank_corr", "footprint_peak_hit", "deletion_auc"]].round(3).to_string())
