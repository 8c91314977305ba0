"""The GPU check (bench/gpu_check.py) as a dry run on the CPU, so that it still runs the day a GPU is lent:
every check passes at tiny sizes, DDP goes through torchrun with gloo, faiss-gpu is skipped with a note."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_gpu_check_dry_run(tmp_path: Path):
    out = tmp_path / "gpu_check.json"
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu_check.py"), "--device", "cpu", "--quick",
                        "--out", str(out)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
    res = json.loads(out.read_text())
    assert res["failed"] == [] and res["device"] == "cpu"
    checks = res["checks"]
    assert set(checks) == {"target", "interpreter", "ddp", "explain", "faiss"}
    assert all(c["ok"] for c in checks.values()), checks
    assert checks["target"]["float32"]["img_per_s"] > 0 and checks["interpreter"]["float32"]["img_per_s"] > 0
    assert checks["ddp"]["backend"] == "gloo" and checks["ddp"]["iterations"] == 2
    assert checks["faiss"]["gpu"].startswith("skipped")
