"""The sync checks of .ci/check_sync.py catch each way the repository can drift."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def repo(tmp_path):
    for name in ("settings.ini", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    for name in ("nbs", "amd_reid", ".ci"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    return tmp_path


def check(repo: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(repo / ".ci" / "check_sync.py")], capture_output=True, text=True)


def test_clean_copy_passes(repo):
    r = check(repo)
    assert r.returncode == 0, r.stderr


def test_notebook_edited_without_export_fails(repo):
    nb_path = repo / "nbs" / "00_attributes.ipynb"
    nb = json.loads(nb_path.read_text())
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code" and "def describe_attribute" in "".join(c["source"]))
    cell["source"] = "".join(cell["source"]).replace('"Human-readable', '"A human-readable').splitlines(True)
    nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    r = check(repo)
    assert r.returncode == 1
    assert "amd_reid: attributes.py differs" in r.stderr


def test_package_edited_by_hand_fails(repo):
    mod = repo / "amd_reid" / "datasets.py"
    mod.write_text(mod.read_text() + "\n# a hand edit\n")
    r = check(repo)
    assert r.returncode == 1 and "datasets.py differs" in r.stderr


def test_unclean_notebook_fails(repo):
    nb_path = repo / "nbs" / "01_datasets.ipynb"
    nb = json.loads(nb_path.read_text())
    nb["metadata"]["widgets"] = {"state": {}}
    nb_path.write_text(json.dumps(nb, indent=1))
    r = check(repo)
    assert r.returncode == 1 and "nbs: 01_datasets.ipynb differs" in r.stderr


def test_stale_readme_fails(repo):
    (repo / "README.md").write_text((repo / "README.md").read_text() + "\nhand-written line\n")
    r = check(repo)
    assert r.returncode == 1 and "README.md" in r.stderr
