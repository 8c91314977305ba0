"""What the reference checks share: bench/check_torchreid.py and bench/check_fastreid_models.py (main environment), and
the scripts they run in the reference environments, bench/torchreid_reference.py and bench/fastreid_reference.py,
which import this file by its folder (it needs nothing but the standard library)."""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def reference_parser(names: dict) -> argparse.ArgumentParser:
    "The reference side's arguments: OUT_DIR, the models (`names`: argparse's keywords for them), --size, --images, --classes."
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("names", nargs="+", **names)
    ap.add_argument("--size", type=int, nargs=2, default=(128, 64))
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--classes", type=int, default=11)
    return ap


def check_parser(doc: str, default_names, fixture_help: str) -> argparse.ArgumentParser:
    "The main side's arguments: --names, --size, --tol, --write-fixture."
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--names", nargs="+", default=default_names)
    ap.add_argument("--size", type=int, nargs=2, default=(128, 64))
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--write-fixture", type=Path, help=fixture_help)
    return ap


def run_reference(env: str, script: str, out: Path, names, size, images: int) -> None:
    "Run bench/`script` in bench/.venv-`env` (made by bench/setup_`env`.sh) for `names`, writing into `out`."
    python = ROOT / "bench" / f".venv-{env}" / "bin" / "python"
    if not python.exists():
        sys.exit(f"{python} not found: run bench/setup_{env}.sh first")
    subprocess.run([str(python), str(ROOT / "bench" / script), str(out), *names,
                    "--size", str(size[0]), str(size[1]), "--images", str(images)], check=True)


def verdict(worst: float, tol: float, size) -> int:
    "Print whether the largest difference is within `tol`; the exit status."
    ok = worst <= tol
    print(f"{'OK' if ok else 'FAILED'}: largest difference {worst:.2e} (tolerance {tol:g}) at {size[0]} x {size[1]}")
    return 0 if ok else 1
