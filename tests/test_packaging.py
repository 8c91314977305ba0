"""`pip install .` gives the exported package and the `amd-reid` console command."""
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_has_package_and_console_script(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    wheel = next(tmp_path.glob("amd_reid-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    modules = sorted(p.name for p in (ROOT / "amd_reid").glob("*.py"))
    for m in modules:
        assert f"amd_reid/{m}" in names, m
    ep = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(ep).decode()
    assert "amd-reid = amd_reid.cli:main" in text
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "Requires-Dist: torch" in meta and "Provides-Extra: gpu" in meta
    assert "Classifier: Development Status :: 3 - Alpha" in meta   # settings.ini: status = 3


def test_sdist_has_package_not_tests(tmp_path):
    r = subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(tmp_path),
                        str(ROOT)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    with tarfile.open(next(tmp_path.glob("amd_reid-*.tar.gz"))) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for f in ("README.md", "LICENSE", "settings.ini", "setup.py", "amd_reid/cli.py", "amd_reid/_modidx.py"):
        assert f in names, f
    assert not any(n.startswith("tests") for n in names), sorted(names)


def test_console_command_lists_subcommands():
    exe = Path(sys.executable).parent / "amd-reid"
    r = subprocess.run([str(exe), "--help"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for cmd in ("stats", "synth", "train-target", "demo"):
        assert cmd in r.stdout
