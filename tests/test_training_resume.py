"""A training run killed with SIGKILL (no chance to clean up) and resumed from its last checkpoint
ends with exactly the weights of a run that was never interrupted."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from amd_reid.checkpoint import load_checkpoint
from amd_reid.datasets import make_toy_market

SLOW_DOWN = r'''
import time
def slow_down(module, name):  # slow iterations, so that the test can kill the run in the middle of an epoch
    real = getattr(module, name)
    def slow(*a, **kw):
        time.sleep(0.4)
        return real(*a, **kw)
    setattr(module, name, slow)
'''

SCRIPT = SLOW_DOWN + r'''
import sys, torch
import amd_reid.training as T
torch.set_num_threads(1)
data, out, mode = sys.argv[1:4]
cfg = T.TargetConfig(size=(64, 32), p=2, k=2, pad=2, erasing=0.5, depth=18, pretrained=False,
                     classifier="circle", triplet_weight=1.0, lr=1e-3, warmup_iters=3, epochs=3,
                     freeze_backbone_iters=2, ckpt_every=1, eval_every=2, log_every=1, eval_batch_size=16)
if mode == "slow":
    slow_down(T, "target_loss")
T.train_target(cfg, data, out, resume=(mode == "resume"), progress=False)
'''


def _run(script, *args, wait=True):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WORLD_SIZE": "1"}
    cmd = [sys.executable, str(script), *map(str, args)]
    if not wait:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=600)


def _kill_during_epoch_2(script, *args, out: Path):
    "Start `script *args out slow`, SIGKILL it once epoch 2 has started; its last checkpoint is epoch 1's."
    proc = _run(script, *args, out, "slow", wait=False)
    deadline = time.time() + 300
    while not (out / "last.pt").exists():  # wait for the checkpoint of epoch 1 ...
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.time() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    time.sleep(0.5)  # ... and let epoch 2 start
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert load_checkpoint(out / "last.pt")["epoch"] == 1, "the run was not killed during epoch 2"


def test_sigkill_then_resume_is_exact(tmp_path: Path):
    data = make_toy_market(tmp_path / "toy", n_train=4, n_test=3, images_per_id=4, size=(64, 32))
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    _run(script, data, tmp_path / "straight", "fast")

    killed = tmp_path / "killed"
    _kill_during_epoch_2(script, data, out=killed)

    _run(script, data, killed, "resume")
    a, b = load_checkpoint(tmp_path / "straight" / "last.pt"), load_checkpoint(killed / "last.pt")
    assert a["iteration"] == b["iteration"] and a["epoch"] == b["epoch"] == 3
    for k, v in a["model_state"].items():
        assert torch.equal(v, b["model_state"][k]), k
    for i, st in a["optimizer_state"]["state"].items():
        assert torch.equal(st["exp_avg"], b["optimizer_state"]["state"][i]["exp_avg"])
    assert a["metrics"]["history"][-1]["mAP"] == b["metrics"]["history"][-1]["mAP"]


INTERPRETER_SCRIPT = SLOW_DOWN + r'''
import sys, torch
import amd_reid.interpreter_training as I
torch.set_num_threads(1)
target, data, out, mode = sys.argv[1:5]
cfg = I.InterpreterConfig(size=(64, 32), p=2, k=2, pad=2, erasing=0.5, pretrained=False, init_from_target=True,
                          with_classifier=True, lr=1e-4, warmup_iters=3, epochs=3, schedule="cosine",
                          ckpt_every=1, eval_every=2, log_every=1, eval_batch_size=16)
if mode == "slow":
    slow_down(I, "interpreter_loss")
I.train_interpreter(cfg, target, data, out, resume=(mode == "resume"), progress=False)
'''


def test_interpreter_sigkill_then_resume_is_exact(tmp_path: Path):
    "The same for the interpreter: its weights, optimiser and metrics after a resume equal a straight run's."
    data = make_toy_market(tmp_path / "toy", n_train=4, n_test=3, images_per_id=4, size=(64, 32))
    target_script = tmp_path / "target.py"
    target_script.write_text(SCRIPT.replace("epochs=3", "epochs=1"))
    _run(target_script, data, tmp_path / "target", "fast")
    target = tmp_path / "target" / "last.pt"
    script = tmp_path / "interp.py"
    script.write_text(INTERPRETER_SCRIPT)
    _run(script, target, data, tmp_path / "straight", "fast")

    killed = tmp_path / "killed"
    _kill_during_epoch_2(script, target, data, out=killed)

    _run(script, target, data, killed, "resume")
    a, b = load_checkpoint(tmp_path / "straight" / "last.pt"), load_checkpoint(killed / "last.pt")
    assert a["iteration"] == b["iteration"] and a["epoch"] == b["epoch"] == 3
    assert a["model_state"].keys() == b["model_state"].keys()
    for k, v in a["model_state"].items():
        assert torch.equal(v, b["model_state"][k]), k
    for i, st in a["optimizer_state"]["state"].items():
        assert torch.equal(st["exp_avg"], b["optimizer_state"]["state"][i]["exp_avg"])
    metrics = lambda ck: {k: v for k, v in ck["metrics"]["history"][-1].items() if not k.startswith("timing.")}
    assert metrics(a) == metrics(b) and "xmap_c" in metrics(a)
