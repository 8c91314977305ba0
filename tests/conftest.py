"""Shared fixtures: one tiny trained target + interpreter (toy Market folder, a few iterations), made once per run;
the runner of the reference checks (bench/check_torchreid.py, bench/check_fastreid_models.py)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def reference_check():
    "Runs a bench/check_*.py comparison with a reference library's own models (1e-4); fails unless it says OK."
    def run(script: str) -> None:
        r = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--tol", "1e-4"],
                           capture_output=True, text=True, cwd=ROOT, timeout=1800)
        assert r.returncode == 0 and "OK: largest difference" in r.stdout, r.stdout + r.stderr
    return run


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
