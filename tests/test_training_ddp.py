"""DDP through torchrun on CPU (gloo): two processes train one model, only rank 0 writes, and a
two-process run killed mid-training resumes exactly; processes that would train in different
precisions all refuse, and so do processes whose output folder another run holds."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from amd_reid.checkpoint import folder_lock, load_checkpoint
from amd_reid.datasets import make_toy_market

SCRIPT = r'''
import os, sys, torch
from pathlib import Path
import amd_reid.training as T
torch.set_num_threads(1)
data, out, mode = sys.argv[1:4]
cfg = T.TargetConfig(size=(64, 32), p=4, k=2, pad=2, depth=18, pretrained=False, classifier="circle",
                     triplet_weight=1.0, lr=1e-3, warmup_iters=2, epochs=2, freeze_backbone_iters=3,
                     ckpt_every=1, eval_every=2, log_every=1, eval_batch_size=16)
if mode == "kill":  # both processes die in the 2nd iteration of epoch 2 (after the epoch-1 checkpoint)
    real, calls = T.target_loss, [0]
    def dying_loss(*a, **kw):
        calls[0] += 1
        if calls[0] == int(os.environ["KILL_AT"]):
            os._exit(3)
        return real(*a, **kw)
    T.target_loss = dying_loss
model, res = T.train_target(cfg, data, out, resume=(mode == "resume"), progress=False)
assert res["world_size"] == 2
torch.save({n: p.detach() for n, p in model.named_parameters()}, Path(out).parent / f"{Path(out).name}.rank{os.environ['RANK']}.params")
'''

TORCHRUN = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")


def _torchrun(script, *args, check=True, extra_env=None, timeout=900):
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(extra_env or {})}
    env.pop("WORLD_SIZE", None)
    cmd = [TORCHRUN, "--standalone", "--nproc_per_node", "2", str(script), *map(str, args)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"torchrun failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}")
    return r


@pytest.mark.skipif(TORCHRUN is None, reason="torchrun not found")
def test_ddp_two_processes_cpu(tmp_path: Path):
    data = make_toy_market(tmp_path / "toy", n_train=8, n_test=3, images_per_id=4, size=(64, 32))
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    _torchrun(script, data, tmp_path / "ddp", "fresh")

    # gradients are averaged: both processes end with the same parameters
    p0 = load_checkpoint(tmp_path / "ddp.rank0.params")["model_state"]
    p1 = load_checkpoint(tmp_path / "ddp.rank1.params")["model_state"]
    for k in p0:
        assert torch.equal(p0[k], p1[k]), k
    # only rank 0 wrote, and the checkpoint holds both processes' RNG states
    names = sorted(f.name for f in (tmp_path / "ddp").iterdir())
    assert names == ["config.json", "epoch_001.config.json", "epoch_001.pt", "epoch_002.config.json",
                     "epoch_002.pt", "last.config.json", "last.pt", "metrics.jsonl", "training_curve.png"]
    ck = load_checkpoint(tmp_path / "ddp" / "last.pt")
    assert len(ck["rng_state"]["ranks"]) == 2 and ck["extra"]["world_size"] == 2
    for k, v in ck["model_state"].items():
        if k in p0:
            assert torch.equal(v, p0[k]), k

    # kill both processes in epoch 2, resume with torchrun: identical to the uninterrupted run
    per_rank = ck["iteration"] // 2  # iterations per epoch (the same on both ranks)
    r = _torchrun(script, data, tmp_path / "killed", "kill", check=False,
                  extra_env={"KILL_AT": str(per_rank + 2)})
    assert r.returncode != 0
    assert load_checkpoint(tmp_path / "killed" / "last.pt")["epoch"] == 1
    _torchrun(script, data, tmp_path / "killed", "resume")
    k0 = load_checkpoint(tmp_path / "killed.rank0.params")["model_state"]
    for k in p0:
        assert torch.equal(p0[k], k0[k]), k


PRECISION_SCRIPT = r'''
import os, sys
import amd_reid.engine as E
import amd_reid.training as T
rank = int(os.environ["RANK"])
E.cpu_has_native_bf16 = lambda: rank == 0        # as if rank 1 ran on a CPU without native bfloat16
cfg = T.TargetConfig(size=(64, 32), p=4, k=2, depth=18, pretrained=False, epochs=1, cpu_bf16=True)
import torch.distributed as dist
callers_group = sys.argv[3] == "callers-group"
if callers_group:                                # a group the script made itself: the trainer must not end it
    dist.init_process_group("gloo")
try:
    T.train_target(cfg, sys.argv[1], sys.argv[2], progress=False)
    print(f"rank {rank}: trained")
except ValueError as e:
    # the trainer left the process group it created (an abandoned gloo group can abort the process at exit)
    print(f"rank {rank}: group left: {not dist.is_initialized()}; refused: {e}", flush=True)
if callers_group and dist.is_initialized():
    dist.destroy_process_group()
'''


def _refusal_setup(tmp_path: Path, script_text: str) -> tuple[Path, Path]:
    "A small toy data set and the torchrun script of a test in which every process must refuse to train."
    script = tmp_path / "refusal.py"
    script.write_text(script_text)
    return make_toy_market(tmp_path / "toy", n_train=4, n_test=2, images_per_id=4, size=(64, 32)), script


@pytest.mark.skipif(TORCHRUN is None, reason="torchrun not found")
def test_ddp_processes_agree_on_precision(tmp_path: Path):
    "Processes that would train in different precisions all stop with the same error (none waits for the others)."
    data, script = _refusal_setup(tmp_path, PRECISION_SCRIPT)
    refusal = "refused: the 2 processes would train in different precisions (bfloat16, float32"
    r = _torchrun(script, data, tmp_path / "run", "own-group", timeout=180)  # a hang (one process waiting) fails fast
    assert r.stdout.count(f"group left: True; {refusal}") == 2, r.stdout + r.stderr
    assert not (tmp_path / "run").exists()                      # nothing written
    r = _torchrun(script, data, tmp_path / "run", "callers-group", timeout=180)
    assert r.stdout.count(f"group left: False; {refusal}") == 2, r.stdout + r.stderr   # the caller's group stays


BUSY_SCRIPT = r'''
import os, sys
import amd_reid.training as T
from amd_reid.checkpoint import FolderInUseError
cfg = T.TargetConfig(size=(64, 32), p=4, k=2, depth=18, pretrained=False, epochs=1)
try:
    T.train_target(cfg, sys.argv[1], sys.argv[2], progress=False)
    print(f"rank {os.environ['RANK']}: trained")
except FolderInUseError as e:
    print(f"rank {os.environ['RANK']}: refused: {e}", flush=True)
'''


@pytest.mark.skipif(TORCHRUN is None, reason="torchrun not found")
def test_ddp_folder_in_use_stops_every_process(tmp_path: Path):
    "A run into a folder another run holds stops at once in every process (none waits for the main one)."
    data, script = _refusal_setup(tmp_path, BUSY_SCRIPT)
    with folder_lock(tmp_path / "run"):                       # this test process is "the other run"
        r = _torchrun(script, data, tmp_path / "run", timeout=180)
    refusal = f"refused: {tmp_path / 'run'} is in use by another run (pid {os.getpid()}"
    assert r.stdout.count(refusal) == 2, r.stdout + r.stderr
    assert list((tmp_path / "run").iterdir()) == []          # nothing written (the holder's .lock left with it)
    (tmp_path / "afile").write_text("")                      # the main process cannot take a file as its folder:
    r = _torchrun(script, data, tmp_path / "afile", check=False, timeout=180)   # both stop, neither waits
    assert r.returncode != 0 and "is a file, not an output folder" in r.stderr, r.stdout + r.stderr
    assert "the main process cannot take the output folder: NotADirectoryError" in r.stderr, r.stderr
