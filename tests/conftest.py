"""Shared fixtures: one tiny trained target + interpreter (toy Market folder, a few iterations), made once per run."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> dict:
    "A toy Market folder and an interpreter checkpoint trained on it for one short epoch: dict(data, ckpt)."
    import torch
    from amd_reid.datasets import make_toy_market
    from amd_reid.interpreter_training import INTERPRETER_PRESETS, train_interpreter
    from amd_reid.training import TARGET_PRESETS, train_target
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("tiny_run")
    data = make_toy_market(root / "toy", n_train=4, n_test=4, images_per_id=4, size=(64, 32), seed=0)
    small = ["epochs=1", "size=64,32", "p=2", "k=2", "warmup_iters=1"]
    train_target(TARGET_PRESETS["cpu_synth_r18"].with_overrides(small), data, root / "target", progress=False)
    train_interpreter(INTERPRETER_PRESETS["cpu_synth_r18"].with_overrides(small), root / "target" / "last.pt", data,
                      root / "interpreter", progress=False)
    return {"data": Path(data), "ckpt": root / "interpreter" / "last.pt"}
