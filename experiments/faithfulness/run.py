#!/usr/bin/env python
"""The faithfulness study: the suite of chapter 27 for several interpreters of one target (seeds, variants, the
shuffled-attribute sanity check), with the baselines once, on the same counterfactual pairs.

Usage (from the repository root):
  python experiments/faithfulness/run.py --data data/SynthMarket-small \
      --interpreter paper:0=runs/demo/interpreter/last.pt paper:1=runs/faith/paper_s1/last.pt ... \
      --out experiments/faithfulness
Each --interpreter is VARIANT:SEED=CHECKPOINT. Writes, under --out:
  runs.csv      one row per interpreter: the suite's headline for it, and its Table 1 numbers (ADRE, X-mAP_e,
                X-mAP_c, interpreter and target mAP, from the checkpoint's final evaluation)
  summary.csv   per variant: mean and standard deviation over seeds; the baselines' rows beside them
  baselines.csv the baselines' headline (they do not depend on the interpreter)
  per_attribute_<variant>.csv  per attribute, mean over seeds: footprint peak hit and top-1 agreement
"""
import argparse
from pathlib import Path

import pandas as pd
import torch

from amd_reid.faithfulness import BASELINES, run_faithfulness
from amd_reid.interpreter_training import load_interpreter

READOUTS = ("amd", "amd_cells", "amd_evidence")   # one interpreter's rows of run_faithfulness (the rest: baselines)
TABLE1 = {"adre": "ADRE", "xmap_e": "X-mAP_e", "xmap_c": "X-mAP_c", "interpreter.mAP": "interp mAP",
          "target.mAP": "target mAP"}


def table1(interp, data: str) -> dict:
    "ADRE, X-mAP_e / X-mAP_c and the interpreter's and T's mAP (percent) on the test split, as Table 1 computes them."
    from amd_reid.datasets import open_dataset
    from amd_reid.interpreter_training import evaluate_interpreter
    ds = open_dataset(data)
    r = evaluate_interpreter(interp, ds.query, ds.gallery)
    flat = {k: v for k, v in r.items() if isinstance(v, float)}
    flat |= {f"{k}.{kk}": vv for k, v in r.items() if isinstance(v, dict) for kk, vv in v.items()}
    return {v: (float(flat[k]) if k == "adre" else 100 * float(flat[k])) for k, v in TABLE1.items() if k in flat}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/SynthMarket-small")
    ap.add_argument("--interpreter", nargs="+", required=True, help="VARIANT:SEED=CHECKPOINT")
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--out", default="experiments/faithfulness")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, per_attr, baselines = [], {}, None
    for spec in a.interpreter:
        key, path = spec.split("=", 1)
        variant, seed = key.split(":")
        interp, info = load_interpreter(path, "cpu")
        _, ex, rep = run_faithfulness(interp.target, interp, a.data, n_pairs=a.pairs, progress=False,
                                      baselines=() if baselines is not None else BASELINES)
        if baselines is None:
            baselines = rep.headline.drop(index=list(READOUTS))
        m = table1(interp, a.data)
        for readout in READOUTS:
            row = {"variant": variant, "readout": readout, "seed": int(seed), "checkpoint": path,
                   **rep.headline.loc[readout].to_dict(), **m}
            rows.append(row)
            print(f"{key} {readout}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items() if isinstance(v, float)),
                  flush=True)
        per_attr.setdefault(variant, []).append(pd.DataFrame(
            {**{f"footprint_peak_hit:{r}": rep.per_attribute["footprint_peak_hit"][r] for r in READOUTS},
             "top1_agreement": rep.per_attribute["top1_agreement"]["amd"]}))
    runs = pd.DataFrame(rows)
    runs.round(4).to_csv(out / "runs.csv", index=False)
    baselines.round(4).to_csv(out / "baselines.csv")
    num = runs.drop(columns=["seed", "checkpoint"]).groupby(["variant", "readout"])
    summary = pd.concat({"mean": num.mean(), "std": num.std(ddof=1), "seeds": num.size().to_frame("n")}, axis=1)
    summary.round(4).to_csv(out / "summary.csv")
    for variant, frames in per_attr.items():
        pd.concat(frames).groupby(level=0).mean().round(3).to_csv(out / f"per_attribute_{variant}.csv")
    pd.set_option("display.width", 250)
    print(summary.round(3).to_string())
    print(baselines.round(3).to_string())


if __name__ == "__main__":
    main()
