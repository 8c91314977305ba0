"""DukeMTMC-reID end to end on a toy folder: the target and the interpreter train on a folder with
`duke_attribute.mat` (23 attributes, 8 cameras), including an identity whose `top` is unknown (0),
as in the real file's identities 0370 and 0679."""
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from amd_reid.attributes import DUKE_ATTRIBUTES, write_attribute_mat
from amd_reid.datasets import DukeMTMCreID, make_toy_market, open_dataset
from amd_reid.interpreter_training import InterpreterConfig, train_interpreter
from amd_reid.training import TargetConfig, train_target


def make_toy_duke(root: Path) -> Path:
    "A toy Market-layout folder whose attribute file is Duke's, with one unknown value."
    root = make_toy_market(root, n_train=4, n_test=3, images_per_id=4, size=(64, 32))
    (root / "market_attribute.mat").unlink()
    rng = np.random.default_rng(0)
    raw = pd.DataFrame(rng.integers(1, 3, (7, len(DUKE_ATTRIBUTES))), index=range(1, 8), columns=list(DUKE_ATTRIBUTES))
    raw.loc[2, "top"] = 0                                   # unknown, as Duke's train.top of 0370 and 0679
    write_attribute_mat(root / "duke_attribute.mat", "duke_attribute",
                        {"train": raw.loc[1:4], "test": raw.loc[5:7]})
    return root


def test_duke_target_and_interpreter(tmp_path: Path):
    root = make_toy_duke(tmp_path / "duke")
    with pytest.warns(UserWarning, match="top"):
        ds = open_dataset(root)
    assert isinstance(ds, DukeMTMCreID) and len(ds.attribute_names) == 23
    top = DUKE_ATTRIBUTES.index("top")
    assert {int(r.attrs[top]) for r in ds.train if ds.train_pids_original[r.pid] == 2} == {0}

    small = dict(size=(64, 32), p=2, k=2, pad=2, pretrained=False, warmup_iters=1, epochs=1, eval_batch_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                   # the unknown `top` warns at every opening
        target, res = train_target(TargetConfig(**small, depth=18), root, tmp_path / "target", progress=False)
        interp, ires = train_interpreter(InterpreterConfig(**small, init_from_target=True, with_classifier=True),
                                         tmp_path / "target" / "last.pt", root, tmp_path / "interp", progress=False)
    assert target.head.num_classes == 4
    assert interp.num_attributes == 23
    logged = [json.loads(line) for line in (tmp_path / "interp" / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in logged if r.get("kind") == "train"]
    assert losses and all(np.isfinite(losses))  # (how the prior treats the unknown: the loop oracle, 21_amd_losses)
    assert 0 <= ires["metrics"]["xmap_c"] <= 1


def test_duke_pipeline(tmp_path: Path):
    "`run_pipeline` (what `amd-reid reproduce` runs) on a Duke folder: both models, evaluation, table, figures."
    from amd_reid.pipeline import run_pipeline
    root = make_toy_duke(tmp_path / "duke")
    small = ["size=64,32", "p=2", "k=2", "epochs=1", "warmup_iters=1"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_pipeline(root, out=tmp_path / "run", figures=tmp_path / "figs", synth=None, progress=False,
                           holdout=1, target_overrides=small, interpreter_overrides=small)
    assert list(res["table"].index) == ["Target", "Interpreter"]
    assert len(res["evaluation"]["xprec_e_per_attr"]) == 23
    assert set(res["alpha"]) == {"max", "pred"}             # validation identities: none with an unknown value
    for name in ("results.csv", "reweighting.csv", "attribute_scores.png", "rank_list.png", "average_masks.png"):
        assert (tmp_path / "figs" / name).exists(), name
    assert res["probe"] is None                             # no ground-truth regions outside SynthMarket
