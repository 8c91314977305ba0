"""The README's Python snippet runs as written, on a checkpoint the test trains (tests/conftest.py)."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def python_snippets(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_snippet_runs(tiny_run, tmp_path, monkeypatch):
    snippets = python_snippets((ROOT / "README.md").read_text())
    assert len(snippets) == 1, "the README has one Python snippet"
    code = snippets[0]
    assert len(code.strip().splitlines()) <= 5, code
    # the files it names, made from the tiny run: the checkpoint, and two toy images under the names it uses
    paths = re.findall(r'"([^"]+\.(?:pt|pth|jpg|png))"', code)
    images = sorted((tiny_run["data"] / "query").glob("*.jpg"))
    for p in paths:
        dest = tmp_path / p
        dest.parent.mkdir(parents=True, exist_ok=True)
        if p.endswith((".pt", ".pth")):
            shutil.copy(tiny_run["ckpt"], dest)
        elif p.endswith(".jpg"):
            shutil.copy(images[len(list(tmp_path.rglob("*.jpg"))) % len(images)], dest)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    outputs = [p for p in paths if p.endswith(".png")]
    for p in outputs:                                  # what it writes is there
        assert (tmp_path / p).stat().st_size > 0, p
    assert "Explainer" in code


def test_readme_is_short():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 160, len(lines)


def test_readme_results_table_is_the_demos():
    "The results table in the README is `figures/results.md` as `make demo` wrote it (no hand-copied numbers)."
    assert (ROOT / "figures" / "results.md").read_text().strip() in (ROOT / "README.md").read_text()


def test_readme_links_exist():
    "Every relative link and image of the README points to a file or folder of the repository."
    text = (ROOT / "README.md").read_text()
    targets = [t for t in re.findall(r"\]\(([^)#\s]+)\)", text) if not t.startswith(("http:", "https:"))]
    assert targets
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert not missing, missing


def test_readme_faithfulness_table_is_the_demos():
    "The faithfulness table in the README is `figures/faithfulness.csv` as `make demo` wrote it."
    import pandas as pd
    from amd_reid.pipeline import to_markdown
    cols = ["top1_agreement", "rank_corr", "footprint_peak_hit", "footprint_chance", "deletion_auc"]
    table = to_markdown(pd.read_csv(ROOT / "figures" / "faithfulness.csv", index_col=0)[cols], digits=3)
    assert table in (ROOT / "README.md").read_text()
