"""The interpreter trains under torchrun with 2 CPU processes (gloo): gradients are averaged, only
rank 0 writes, and the target is untouched."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from amd_reid.checkpoint import load_checkpoint
from amd_reid.datasets import make_toy_market
from amd_reid.training import TARGET_PRESETS, train_target

SCRIPT = r'''
import os, sys, torch
from pathlib import Path
from amd_reid.interpreter_training import INTERPRETER_PRESETS, train_interpreter
torch.set_num_threads(1)
target, data, out = sys.argv[1:4]
cfg = INTERPRETER_PRESETS["cpu_synth_r18"].replace(size=(64, 32), p=4, k=2, epochs=2, warmup_iters=1,
                                                   ckpt_every=1, log_every=1)
model, res = train_interpreter(cfg, target, data, out, progress=False, evaluate=False)
assert res["world_size"] == 2
# parameters only: BN running statistics are per process between DDP's buffer broadcasts (rank 0's are saved)
params = {n: p.detach() for n, p in model.named_parameters() if not n.startswith("target.")}
torch.save(params, Path(out).parent / f"interp.rank{os.environ['RANK']}.pt")
'''

TORCHRUN = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")


@pytest.mark.skipif(TORCHRUN is None, reason="torchrun not found")
def test_interpreter_ddp_two_processes_cpu(tmp_path: Path):
    data = make_toy_market(tmp_path / "toy", n_train=8, n_test=3, images_per_id=4, size=(64, 32))
    tcfg = TARGET_PRESETS["cpu_synth_r18"].replace(size=(64, 32), p=4, k=2, epochs=1, warmup_iters=1)
    target, _ = train_target(tcfg, data, tmp_path / "target", progress=False)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    r = subprocess.run([TORCHRUN, "--standalone", "--nproc_per_node", "2", str(script),
                        str(tmp_path / "target" / "last.pt"), str(data), str(tmp_path / "ddp")],
                       env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-4000:]
    w0 = torch.load(tmp_path / "interp.rank0.pt", weights_only=True)
    w1 = torch.load(tmp_path / "interp.rank1.pt", weights_only=True)
    for k in w0:
        assert torch.equal(w0[k], w1[k]), k
    ck = load_checkpoint(tmp_path / "ddp" / "last.pt")
    assert ck["extra"]["world_size"] == 2 and len(ck["rng_state"]["ranks"]) == 2
    for k in w0:
        assert torch.equal(ck["model_state"][k], w0[k]), k
    for k, v in ck["extra"]["target_state"].items():   # the target is the one we trained, unchanged
        assert torch.equal(v, before[k]), k
    names = sorted(f.name for f in (tmp_path / "ddp").iterdir())
    assert "last.pt" in names and "epoch_002.pt" in names and not any("rank1" in n for n in names)
