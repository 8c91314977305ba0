"""Every `figures/...` or `experiments/...` path quoted in the notebooks, the README and the docs exists: results
point at tables one can open (figures/ holds what `make demo` writes, experiments/ the variant runs)."""
from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUOTED = re.compile(r"`((?:\.\./)?(?:figures|experiments)/[^`\s*<>]*)`")


def _texts():
    for nb in sorted((ROOT / "nbs").glob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            yield nb, "".join(cell["source"])
    for md in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "experiments").rglob("README.md"))]:
        yield md, md.read_text()


def test_quoted_result_paths_exist():
    missing = []
    for where, text in _texts():
        for path in QUOTED.findall(text):
            rel = path.removeprefix("../")
            if "VARIANT" in rel or rel.endswith("_rerun"):
                continue
            if not (ROOT / rel).exists():
                missing.append(f"{where.relative_to(ROOT)}: {path}")
    assert not missing, "\n".join(missing)


def test_figures_holds_no_variant_folders():
    "figures/ is what `make demo` writes: files, no folders of other runs (those live in experiments/)."
    assert [p.name for p in (ROOT / "figures").iterdir() if p.is_dir()] == []
