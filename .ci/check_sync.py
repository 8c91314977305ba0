#!/usr/bin/env python
"""Fail when the package, the notebooks or the README are out of sync.

1. `nbdev_export` of nbs/ must reproduce amd_reid/ exactly (nobody edits the package by hand,
   nobody forgets to export);
2. `nbdev_clean` must not change any notebook (no stray metadata / execution counts);
3. README.md must equal the rendering of nbs/index.ipynb (.ci/readme.py).
Works on a copy in a temporary folder, so the working tree is never touched.
"""
import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _tree(d: Path, pattern: str) -> dict[str, Path]:
    return {str(p.relative_to(d)): p for p in sorted(d.rglob(pattern)) if "__pycache__" not in p.parts
            and ".ipynb_checkpoints" not in p.parts}


def _compare(label: str, ours: dict, theirs: dict) -> list[str]:
    problems = []
    for name in sorted(set(ours) | set(theirs)):
        if name not in theirs:
            problems.append(f"{label}: {name} exists but would not be produced")
        elif name not in ours:
            problems.append(f"{label}: {name} is missing")
        elif not filecmp.cmp(ours[name], theirs[name], shallow=False):
            problems.append(f"{label}: {name} differs")
    return problems


def main() -> int:
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copy(ROOT / "settings.ini", tmp)
        shutil.copytree(ROOT / "nbs", tmp / "nbs", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        shutil.copytree(ROOT / "amd_reid", tmp / "amd_reid", ignore=shutil.ignore_patterns("__pycache__"))
        for p in (tmp / "amd_reid").glob("*.py"):
            if p.name != "__init__.py":
                p.unlink()  # regenerate every module from the notebooks
        for cmd in ("nbdev_export", "nbdev_clean"):
            r = subprocess.run([str(BIN / cmd)], cwd=tmp, capture_output=True, text=True)
            if r.returncode:
                print(f"{cmd} failed:\n{r.stdout}\n{r.stderr}", file=sys.stderr)
                return 1
        problems += [p + "  -> run nbdev_export" for p in
                     _compare("amd_reid", _tree(ROOT / "amd_reid", "*.py"), _tree(tmp / "amd_reid", "*.py"))]
        problems += [p + "  -> run nbdev_clean" for p in
                     _compare("nbs", _tree(ROOT / "nbs", "*.ipynb"), _tree(tmp / "nbs", "*.ipynb"))]
    r = subprocess.run([sys.executable, str(ROOT / ".ci" / "readme.py"), "--check"])
    if r.returncode:
        problems.append("README.md: out of sync with nbs/index.ipynb  -> run make readme")
    for p in problems:
        print(p, file=sys.stderr)
    if not problems:
        print("sync: package, notebooks and README are in sync")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
