"""amd_reid.metrics beyond the notebook's quick checks: many more random oracle comparisons,
unusual distance values, a real DataLoader, and the benchmark script in its quick mode."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from amd_reid.metrics import evaluate_rank, evaluate_rank_loop, extract_features, pairwise_distance

ROOT = Path(__file__).resolve().parents[1]


def _problem(rng, n, m, n_ids, n_cams, values):
    q_pids = rng.integers(0, n_ids + 1, n)          # identity 0 may be a query too (matches distractors)
    g_pids = rng.integers(0, n_ids + 1, m)
    if values == "ties":
        D = rng.integers(-2, 3, (n, m)).astype(np.float64)
    elif values == "inf":
        D = rng.choice([-np.inf, 0.0, 1.0, np.inf], (n, m)) + 0.0
        D[:, ::3] = rng.random((n, len(range(0, m, 3))))
    elif values == "int":
        D = rng.integers(0, 5, (n, m))              # integer dtype: converted, ties everywhere
    else:
        D = rng.standard_normal((n, m)).astype(values)
    return D, q_pids, g_pids, rng.integers(0, n_cams, n), rng.integers(0, n_cams, m)


def _assert_same(a, b):
    assert a["num_valid"] == b["num_valid"]
    np.testing.assert_array_equal(a["valid"], b["valid"])
    for k in ("cmc", "AP", "INP"):
        np.testing.assert_allclose(a[k], b[k], rtol=0, atol=1e-12)
    assert abs(a["mAP"] - b["mAP"]) < 1e-12 and abs(a["mINP"] - b["mINP"]) < 1e-12


@pytest.mark.filterwarnings("ignore:evaluate_rank. gallery has")  # galleries shorter than max_rank
@pytest.mark.parametrize("seed,values", [(0, "float32"), (1, "float64"), (2, "ties"), (3, "inf"), (4, "int")])
def test_evaluate_rank_equals_loop(seed, values):
    rng = np.random.default_rng(seed)
    checked = 0
    for _ in range(40):
        args = _problem(rng, int(rng.integers(1, 50)), int(rng.integers(1, 300)),
                        int(rng.integers(1, 20)), int(rng.integers(1, 7)), values)
        max_rank = int(rng.integers(1, 30))
        try:
            ref = evaluate_rank_loop(*args, max_rank=max_rank)
        except ValueError as e:
            assert "no query has a valid match" in str(e)
            with pytest.raises(ValueError, match="no query has a valid match"):
                evaluate_rank(*args, max_rank=max_rank)
            continue
        _assert_same(evaluate_rank(*args, max_rank=max_rank), ref)
        checked += 1
    assert checked >= 20


def test_evaluate_rank_many_images_per_identity():
    "Identities with hundreds of gallery images: the comparison buffer is split over items."
    rng = np.random.default_rng(3)
    n, m = 12, 3000
    g_pids = rng.integers(0, 3, m)
    args = (rng.random((n, m)).astype(np.float32), rng.integers(1, 3, n), g_pids,
            rng.integers(0, 6, n), rng.integers(0, 6, m))
    _assert_same(evaluate_rank(*args), evaluate_rank_loop(*args))


def test_extract_features_with_dataloader():
    class DS(torch.utils.data.Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            return dict(img=torch.full((3, 4, 2), float(i)), pid=i % 3, camid=i % 2, index=i)

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(24, 5))
    loader = torch.utils.data.DataLoader(DS(), batch_size=4)
    feats, pids, camids = extract_features(model, loader, flip=True)
    assert feats.shape == (10, 5) and feats.dtype == torch.float32
    assert pids.tolist() == [i % 3 for i in range(10)] and camids.tolist() == [i % 2 for i in range(10)]
    with torch.no_grad():
        x = torch.stack([DS()[i]["img"] for i in range(10)])
        torch.testing.assert_close(feats, model(x))  # constant images: flipping changes nothing
    r = evaluate_rank(pairwise_distance(feats, feats), pids, pids, camids, camids, max_rank=5)
    assert r["num_valid"] == 10


def test_bench_quick_mode():
    "The benchmark script runs and agrees with the loop reference on its small problem."
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_evaluate_rank.py"), "--quick",
                        "--reference", "loop", "--reps", "1"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "results identical to 1e-6: yes" in r.stdout
