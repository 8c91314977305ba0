#!/usr/bin/env python
"""Run every benchmark in bench/ one after the other (each prints its own ratio against a reference
measured in the same run). Usage: python bench/run_all.py [--quick]"""
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    quick = ["--quick"] if "--quick" in sys.argv else []
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"\n=== {script.name} ===", flush=True)
        r = subprocess.run([sys.executable, str(script), *quick])
        if r.returncode:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    sys.exit(1 if failed else 0)
