"""amd-reid's torchreid import against torchreid's own model classes, where the reference environment exists
(bench/setup_torchreid.sh makes bench/.venv-torchreid); without it the notebook's saved fixture
(nbs/fixtures/torchreid_osnet_x0_25.pt, checked in 14b_targets) is the check every run makes."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_PY = ROOT / "bench" / ".venv-torchreid" / "bin" / "python"


@pytest.mark.skipif(not REFERENCE_PY.exists(), reason="no torchreid reference environment (bench/setup_torchreid.sh)")
def test_embeddings_equal_torchreids_own_models(reference_check):
    reference_check("check_torchreid.py")


def test_fixture_is_small():
    f = ROOT / "nbs" / "fixtures" / "torchreid_osnet_x0_25.pt"
    assert f.is_file() and f.stat().st_size < 2_000_000
