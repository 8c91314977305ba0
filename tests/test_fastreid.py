"""amd-reid's import of FastReID models (IBN-a, non-local blocks, GeM-P, the reduction head) against FastReID's own model
classes, where the reference environment exists (bench/setup_fastreid.sh gives bench/.venv-fastreid fastreid 1.4.0 and
torch); without it, every variant of the saved fixture (nbs/fixtures/fastreid_models.pt: the recipe of each variant's
random weights, images and FastReID's features; 20_interpreter checks one of them) is the check every run makes."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_PY = ROOT / "bench" / ".venv-fastreid" / "bin" / "python"
FIXTURE = ROOT / "nbs" / "fixtures" / "fastreid_models.pt"
HAS_REFERENCE = REFERENCE_PY.exists() and any((ROOT / "bench" / ".venv-fastreid").glob("lib/python*/site-packages/torch"))


@pytest.mark.skipif(not HAS_REFERENCE, reason="no FastReID reference environment with torch (bench/setup_fastreid.sh)")
def test_embeddings_equal_fastreids_own_models(reference_check):
    reference_check("check_fastreid_models.py")


def test_fixture_is_small():
    assert FIXTURE.is_file() and FIXTURE.stat().st_size < 1_000_000


@pytest.mark.parametrize("variant", ["bot_R50-ibn", "sbs_R50-nl", "sbs_R50-ibn-nl-emb256", "bot_R18-ibn-emb128"])
def test_fixture_variants(variant):
    from amd_reid.backbones import torch_load_safely
    from amd_reid.data import IMAGENET_MEAN, IMAGENET_STD
    from amd_reid.interpreter import target_from_fastreid
    fx = torch_load_safely(FIXTURE, what="fixture")["variants"][variant]
    g = torch.Generator().manual_seed(fx["seed"])                 # the recipe: one generator, sorted key order
    sd = {key: torch.rand(shape, generator=g) * (hi - lo) + lo for key, shape, lo, hi in fx["recipe"]}
    pooling = "avg" if fx["config"]["POOL_LAYER"] == "GlobalAvgPool" else None
    model = target_from_fastreid(sd, stem_pool="fastreid", pooling=pooling, source=variant)
    x = (fx["images"] / 255 - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        got = model.embed(x)
    assert (got - fx["embed"]).abs().max().item() <= 1e-4, variant
