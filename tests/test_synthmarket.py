"""SynthMarket checks too slow for the notebook: a real `small` generation through the CLI read by
the library's loaders, byte-identical output across fresh interpreters, regions of every image."""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from amd_reid.attributes import MARKET_ATTRIBUTES, load_market_attributes
from amd_reid.datasets import Market1501
from amd_reid.synthmarket import (FOLDERS, PART_INDEX, PRESETS, load_part_labels, load_regions,
                                  make_synthmarket, plan_synthmarket, regions_from_labels)

NAME = re.compile(r"^([-\d]+)_c(\d)s\d_\d{6}_\d{2}\.jpg$")
CLI = Path(sys.executable).parent / "amd-reid"


def _digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    "The small preset, generated once through the command line (`amd-reid synth`)."
    out = tmp_path_factory.mktemp("synth") / "SynthMarket-small"
    cmd = [str(CLI)] if CLI.exists() else [sys.executable, "-c", "from amd_reid.cli import main; raise SystemExit(main())"]
    r = subprocess.run(cmd + ["synth", "--out", str(out), "--preset", "small", "--seed", "0"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


def test_small_counts_match_plan_and_loader(small):
    p, plan = PRESETS["small"], plan_synthmarket("small", 0)
    for folder in FOLDERS:
        names = sorted(x.name for x in (small / folder).iterdir())
        assert names == sorted(plan.name[plan.folder == folder])
        assert all(NAME.match(n) and 1 <= int(NAME.match(n).group(2)) <= 6 for n in names)
    ds = Market1501(small)
    assert len(ds.train) == p.train_images and ds.num_train_pids == p.train_ids
    assert len(ds.query) == p.query_images
    assert len(ds.gallery) == p.gallery_images + p.distractors          # junk dropped
    assert ds.num_cameras == 6
    q = [(r.pid, r.camid) for r in ds.query]
    assert len(set(q)) == len(q)                                        # <= 1 query per identity and camera
    attrs = load_market_attributes(small / "market_attribute.mat")
    assert attrs.shape == (p.train_ids + p.test_ids, len(MARKET_ATTRIBUTES))


def test_market_preset_counts():
    plan = plan_synthmarket("market", 0)
    n = plan.groupby("folder").size().to_dict()
    assert n == {"bounding_box_train": 12936, "query": 3368, "bounding_box_test": 19732}
    test = plan[plan.folder == "bounding_box_test"]
    assert (test.pid == 0).sum() == 2798 and (test.pid == -1).sum() == 3819 and (test.pid > 0).sum() == 13115
    assert plan[plan.folder == "bounding_box_train"].pid.nunique() == 751
    assert plan[plan.folder == "query"].pid.nunique() == 750


def test_regions_of_every_image(small):
    "One label map per image; on every person image without an occluder, every attribute has a region."
    plan = plan_synthmarket("small", 0).set_index("name")
    checked = 0
    for folder in FOLDERS:
        with zipfile.ZipFile(small / "regions" / f"{folder}.npz") as z:
            members = sorted(n[:-4] for n in z.namelist())
        assert members == sorted(x.stem for x in (small / folder).iterdir())
        for stem in members[::5]:
            lab = load_part_labels(small, small / folder / f"{stem}.jpg")
            assert lab.shape == (128, 64) and lab.dtype == np.uint8
            if plan.loc[f"{stem}.jpg", "kind"] == "person" and not (lab == PART_INDEX["occluder"]).any():
                assert regions_from_labels(lab).any(axis=(1, 2)).all(), stem
                checked += 1
    assert checked > 400
    reg = load_regions(small, next((small / "query").iterdir()))
    assert reg.shape == (len(MARKET_ATTRIBUTES), 128, 64) and reg.dtype == bool


def test_same_bytes_in_a_fresh_interpreter(tmp_path):
    "Same seed, same bytes: a new Python process (other hash seed, other pool) writes identical files."
    a = make_synthmarket(tmp_path / "a", "tiny", seed=11, progress=False, workers=1)
    code = ("import sys; from amd_reid.synthmarket import make_synthmarket; "
            "make_synthmarket(sys.argv[1], 'tiny', seed=11, progress=False, workers=2)")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "b")], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONHASHSEED="123"))
    assert r.returncode == 0, r.stderr
    da, db = _digest(a), _digest(tmp_path / "b")
    assert da == db
