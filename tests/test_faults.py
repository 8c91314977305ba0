"""Faults and bad input on the command line (issue 22): a user's mistake or an ordinary fault of the machine ends in
one line that names the file or setting and says what to do, with exit code 2, before the work it makes useless,
and changes nothing the user had; no silent wrong number. Each test drives `amd-reid` as a subprocess on one tiny
toy data set. The full-disk and read-only cases mount a small tmpfs (skipped where that is not allowed)."""
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
MAIN = "import sys; from amd_reid.cli import main; sys.exit(main())"
TARGET_SET = ["epochs=1", "size=64,32", "p=2", "k=2", "warmup_iters=1", "freeze_backbone_iters=0", "cpu_bf16=false",
              "eval_batch_size=8"]
INTERP_SET = ["epochs=1", "size=64,32", "p=2", "k=2", "warmup_iters=1", "cpu_bf16=false", "eval_batch_size=8",
              "mid_channels=8"]


def cli(*args, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", "WORLD_SIZE": "1"}
    return subprocess.run([sys.executable, "-c", MAIN, *map(str, args)], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=1800)   # generous: a loaded machine


def user_error(r: subprocess.CompletedProcess, *names: str) -> str:
    "Exit code 2, no traceback, and one error line that names each of `names`: that line."
    assert r.returncode == 2, (r.returncode, r.stderr[-3000:])
    assert "Traceback" not in r.stderr and "DataLoader worker" not in r.stderr, r.stderr[-3000:]
    lines = [line for line in r.stderr.splitlines() if ": error: " in line]
    assert len(lines) == 1, r.stderr[-3000:]
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


def tree(*paths) -> dict:
    "Every file under `paths` with a digest of its bytes (to check that nothing was changed)."
    out = {}
    for p in map(Path, paths):
        for f in sorted(p.rglob("*")) if p.is_dir() else [p]:
            if f.is_file():
                out[str(f)] = hashlib.sha1(f.read_bytes()).hexdigest()
    return out


@contextmanager
def unchanged(*paths):
    before = tree(*paths)
    yield
    assert tree(*paths) == before, "a file the user had was changed"


@contextmanager
def tmpfs(path: Path, size: str, readonly: bool = False):
    "A tmpfs of `size` mounted at `path` (read-only if asked), or the test skipped saying why."
    path.mkdir(parents=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}" + (",ro" if readonly else ""), "tmpfs", str(path)],
                       capture_output=True, text=True) if shutil.which("mount") else None
    if r is None or r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs at {path} ({r.stderr.strip() if r else 'no mount command'}): "
                    f"needs root or CAP_SYS_ADMIN")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    "One tiny toy data set, a target run and an interpreter checkpoint (random weights: written, not trained)."
    import torch
    from amd_reid.attributes import MARKET_ATTRIBUTES
    from amd_reid.checkpoint import save_checkpoint
    from amd_reid.datasets import make_toy_market
    from amd_reid.interpreter_training import INTERPRETER_PRESETS, build_interpreter
    from amd_reid.training import TARGET_PRESETS, build_target, save_imported_target
    root = tmp_path_factory.mktemp("faults")
    data = make_toy_market(root / "toy", n_train=3, n_test=2, images_per_id=3, size=(64, 32))
    torch.manual_seed(0)
    tcfg = TARGET_PRESETS["cpu_synth_r18"].replace(size=(64, 32), pretrained=False)
    target = build_target(tcfg, 3).eval()
    save_imported_target(target, tcfg, root / "target", "a test")
    icfg = INTERPRETER_PRESETS["cpu_synth_r18"].replace(size=(64, 32), mid_channels=8)
    interp = build_interpreter(target, icfg, len(MARKET_ATTRIBUTES), pretrained=False)
    save_checkpoint(root / "interp.pt", model_state=interp.own_state_dict(), epoch=1, iteration=1,
                    config=icfg.to_dict(), metrics={"history": [], "train_seconds": 0.0}, rng_state=None,
                    extra={"target_state": target.state_dict(), "target_config": json.dumps(tcfg.to_dict()),
                           "num_classes": 3, "attribute_names": json.dumps(list(MARKET_ATTRIBUTES))})
    q = sorted((data / "query").iterdir())
    return dict(root=root, data=data, target=root / "target" / "last.pt", interp=root / "interp.pt", a=q[0], b=q[1])


def copy_data(work, name: str) -> Path:
    return Path(shutil.copytree(work["data"], work["root"] / name))


# 1. a user's mistake or an ordinary fault: one line, not a traceback

def test_bad_image_with_loader_workers(work):
    data = copy_data(work, "bad_images")
    for p in (data / "bounding_box_train").iterdir():
        p.write_bytes(b"not an image")
    with unchanged(data):
        r = cli("train-target", "--preset", "cpu_synth_r18", "--data", data, "--out", work["root"] / "bad_images_run",
                "--set", *TARGET_SET, "num_workers=1")
    line = user_error(r, str(data / "bounding_box_train"), "cannot read image")
    assert re.search(r"bounding_box_train/\d{4}_c\d", line), line      # the very file


def test_read_only_output(work, tmp_path):
    with tmpfs(tmp_path / "ro", "1m", readonly=True) as ro, unchanged(work["data"], work["interp"]):
        r = cli("train-target", "--preset", "cpu_synth_r18", "--data", work["data"], "--out", ro / "run",
                "--set", *TARGET_SET)
        user_error(r, str(ro / "run"), "Read-only file system", "choose an output location you can write to")
        r = cli("synth", "--out", ro / "synth", "--preset", "tiny")
        user_error(r, str(ro / "synth"), "Read-only file system")
        r = cli("explain", work["a"], work["b"], "--ckpt", work["interp"], "--out", ro / "x.png")
        user_error(r, f"--out {ro / 'x.png'}", "Read-only file system", "choose an output location")
        assert "distance d" not in r.stdout, "explained before finding it cannot write the figure"
        r = cli("evaluate", "--ckpt", work["interp"], "--data", work["data"], "--out", ro / "x.csv")
        user_error(r, f"--out {ro / 'x.csv'}", "Read-only file system")
        assert "query and" not in r.stdout, "evaluated before finding it cannot write the table"


def test_full_disk_says_how_to_resume(work, tmp_path):
    # a checkpoint of this ResNet-18 with its Adam state is about 140 MB: the first fits in 200 MB, the second not
    args = ["train-target", "--preset", "cpu_synth_r18", "--data", work["data"], "--set", *TARGET_SET, "epochs=2",
            "ckpt_every=1", "eval_every=2"]
    with tmpfs(tmp_path / "disk", "200m") as disk, unchanged(work["data"]):
        r = cli(*args, "--out", disk / "run")
        line = user_error(r, str(disk / "run" / "epoch_002.pt"), "No space left on device",
                          "add --resume to the same command")
        assert (disk / "run" / "epoch_001.pt").is_file() and not list((disk / "run").glob(".*.tmp"))
        subprocess.run(["mount", "-o", "remount,size=400m", str(disk)], check=True)   # space freed
        r = cli(*args, "--out", disk / "run", "--resume")
        assert r.returncode == 0, r.stderr[-3000:]
        assert "target trained" in r.stdout and (disk / "run" / "epoch_002.pt").is_file(), line


def test_decompression_bomb_in_explain(work):
    def chunk(kind, body): return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    bomb = work["root"] / "bomb.png"                     # a header that claims 20000 x 20000 pixels
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0))
                     + chunk(b"IEND", b""))
    with unchanged(bomb, work["interp"]):
        r = cli("explain", bomb, work["b"], "--ckpt", work["interp"], "--out", work["root"] / "bomb_fig.png")
    user_error(r, str(bomb), "too large to open", "crop or shrink")
    assert not (work["root"] / "bomb_fig.png").exists()


def test_mid_channels(work):
    for value in ("0", "-4"):
        r = cli("train-interpreter", "--target", work["target"], "--preset", "cpu_synth_r18", "--data", work["data"],
                "--out", work["root"] / "mid_run", "--set", *INTERP_SET, f"mid_channels={value}")
        user_error(r, f"mid_channels must be an integer >= 1, got {value}")
        assert not (work["root"] / "mid_run").exists()


# 2. no silent wrong result

def test_no_query_with_a_match(work):
    data = copy_data(work, "no_match")
    for p in (data / "bounding_box_test").iterdir():
        if not p.name.startswith(("0000", "-1")):
            p.unlink()                                   # the gallery keeps only distractors and junk
    with unchanged(data, work["interp"]):
        r = cli("evaluate", "--ckpt", work["interp"], "--data", data)
        user_error(r, str(data / "query"), "no query has a valid match")
        assert "0.00" not in r.stdout
        r = cli("train-target", "--preset", "cpu_synth_r18", "--data", data, "--out", work["root"] / "no_match_run",
                "--set", *TARGET_SET)
        user_error(r, str(data / "query"), "no query has a valid match")
        assert not list((work["root"] / "no_match_run").glob("*.pt")) and "epoch" not in r.stdout


def test_sixteen_bit_grayscale_png(work):
    grey = np.asarray(Image.open(work["a"]).convert("L"))
    Image.fromarray(grey).save(work["root"] / "g8.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(work["root"] / "g16.png")   # the same picture in 16 bits
    d = {}
    for name in ("g8", "g16"):
        r = cli("explain", work["root"] / f"{name}.png", work["b"], "--ckpt", work["interp"],
                "--out", work["root"] / f"{name}_fig.png")
        assert r.returncode == 0, r.stderr[-3000:]
        d[name] = float(re.search(r"distance d = ([\d.]+)", r.stdout)[1])
    assert d["g16"] == pytest.approx(d["g8"], rel=1e-4), d


def test_attribute_values_outside_1_2(work):
    from scipy.io import savemat
    from amd_reid.attributes import MARKET_FIELDS, read_attribute_splits
    data = copy_data(work, "wide_values")
    raw = read_attribute_splits(data / "market_attribute.mat", "market_attribute", MARKET_FIELDS)
    for value in (258, 1.6):
        splits = {s: df.astype(np.float64) for s, df in raw.items()}
        splits["train"].loc[splits["train"].index[0], "hat"] = value
        savemat(data / "market_attribute.mat", {"market_attribute": {
            s: {**{f: df[f].to_numpy()[None] for f in df.columns},
                "image_index": np.array([f"{p:04d}" for p in df.index], dtype=object)[None]}
            for s, df in splits.items()}})
        with unchanged(data):
            r = cli("stats", "--data", data)
        user_error(r, str(data / "market_attribute.mat"), "market_attribute.train.hat",
                   f"identity {splits['train'].index[0]} has value {value:g}")


# 3. a setting wrong from the start fails at once

def test_eval_batch_size_zero(work):
    r = cli("train-target", "--preset", "cpu_synth_r18", "--data", work["data"], "--out", work["root"] / "ebs_t",
            "--set", *TARGET_SET, "eval_batch_size=0")
    user_error(r, "eval_batch_size must be an integer >= 1, got 0")
    r = cli("train-interpreter", "--target", work["target"], "--preset", "cpu_synth_r18", "--data", work["data"],
            "--out", work["root"] / "ebs_i", "--set", *INTERP_SET, "eval_batch_size=0")
    user_error(r, "eval_batch_size must be an integer >= 1, got 0")
    assert not (work["root"] / "ebs_t").exists() and not (work["root"] / "ebs_i").exists()


# 4. no misleading message

def test_bad_file_name(work):
    data = copy_data(work, "bad_name")
    bad = data / "bounding_box_train" / "12-3_c1s1_000000_00.jpg"
    shutil.copy(work["a"], bad)
    with unchanged(data):
        r = cli("stats", "--data", data)
    user_error(r, str(bad), "rename or remove it")
    assert "invalid literal" not in r.stderr


def test_pretrained_json_or_code(work):
    import torch
    (work["root"] / "w.json").write_text('{"conv1.weight": [1, 2]}')
    marker = work["root"] / "payload_ran"

    class Payload:
        def __reduce__(self): return (os.system, (f"touch {marker}",))
    torch.save({"conv1.weight": Payload()}, work["root"] / "evil.pt")
    for name, says in (("w.json", "not a PyTorch state dict"), ("evil.pt", "refused to load")):
        with unchanged(work["root"] / name):
            r = cli("train-target", "--preset", "cpu_synth_r18", "--data", work["data"], "--out",
                    work["root"] / f"pre_{name}", "--set", *TARGET_SET, f"pretrained={work['root'] / name}")
        user_error(r, str(work["root"] / name), says)
        assert "weights_only=False" not in r.stderr and not marker.exists(), r.stderr
        assert not list((work["root"] / f"pre_{name}").glob("*.pt"))


def test_synth_seed_and_tiny_preset(work):
    out = work["root"] / "synth_neg"
    r = cli("synth", "--out", out, "--seed", "-1")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "argument --seed: expected a whole number >= 0, got -1" in r.stderr, r.stderr
    assert not out.exists(), "folders were left behind"
    r = cli("synth", "--out", work["root"] / "synth_tiny", "--preset", "tiny")
    assert r.returncode == 0, r.stderr[-3000:]
    assert (work["root"] / "synth_tiny" / "synthmarket.json").is_file()


def test_other_data_sets_attribute_file(work):
    import pandas as pd
    from amd_reid.attributes import DUKE_FIELDS, write_attribute_mat
    data = copy_data(work, "duke_file")
    ones = lambda pids: pd.DataFrame(1, index=pids, columns=list(DUKE_FIELDS)).astype(np.uint8)
    write_attribute_mat(data / "duke_attribute.mat", "duke_attribute", {"train": ones([101, 102]), "test": ones([103])})
    with unchanged(data):
        r = cli("stats", "--data", data)
    user_error(r, str(data / "duke_attribute.mat"), "another data set's", "own data set's attribute file")
    assert "missing_attributes" not in r.stderr
