#!/usr/bin/env python
"""Benchmark: generation time and disk size of SynthMarket presets.

For each preset (`small`, and `market` unless --quick) it draws the data set with
`make_synthmarket(workers=2)` into a temporary folder and prints the wall time, images per second
and the disk size (bytes of the files, and blocks allocated on this file system). The reference,
measured in the same run: writing the same number of blank 128 x 64 JPEG files from one process —
what the generator would cost if drawing were free and nothing ran in parallel. The ratio
generation / reference says what drawing, light, regions and the .mat add on top of encoding and
writing the files.

    .venv/bin/python bench/bench_synthmarket.py            # small and market (~32k images)
    .venv/bin/python bench/bench_synthmarket.py --quick    # small only
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from amd_reid.synthmarket import FOLDERS, PRESETS, make_synthmarket


def disk_size(root: Path) -> tuple[int, int]:
    "(bytes of all files, bytes of allocated blocks) under `root`."
    files = [p for p in root.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), sum(p.stat().st_blocks * 512 for p in files)


def blank_jpegs(root: Path, n: int) -> float:
    "Seconds to write `n` blank 128 x 64 JPEGs (quality 90) from one process."
    img = Image.fromarray(np.full((128, 64, 3), 128, np.uint8))
    root.mkdir(parents=True)
    t0 = time.perf_counter()
    for i in range(n):
        img.save(root / f"{i:06d}.jpg", quality=90)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small preset only")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    presets = ["small"] if args.quick else ["small", "market"]
    print(f"cpu count {os.cpu_count()}, workers {args.workers}")
    rows = []
    for name in presets:
        p = PRESETS[name]
        with tempfile.TemporaryDirectory() as d:
            t_ref = blank_jpegs(Path(d) / "blank", p.total_images)
            t0 = time.perf_counter()
            root = make_synthmarket(Path(d) / name, name, seed=0, workers=args.workers, progress=False)
            t_gen = time.perf_counter() - t0
            size, blocks = disk_size(root)
            regions, _ = disk_size(root / "regions")
            jpeg = sum(disk_size(root / f)[0] for f in FOLDERS)
        rows.append((name, p.total_images, t_gen, t_ref, size, blocks, jpeg, regions))
        print(f"{name:7s} {p.total_images:6d} images: {t_gen:7.1f} s ({p.total_images / t_gen:6.0f} img/s, "
              f"{args.workers} workers) | reference blank JPEGs {t_ref:6.1f} s ({p.total_images / t_ref:6.0f} img/s, "
              f"1 process) | ratio {t_gen / t_ref:5.2f}x", flush=True)
        print(f"        disk: {size / 2**20:7.1f} MiB in files ({blocks / 2**20:7.1f} MiB allocated); "
              f"JPEGs {jpeg / 2**20:.1f} MiB, regions {regions / 2**20:.1f} MiB "
              f"({regions / p.total_images:.0f} B per image)", flush=True)


if __name__ == "__main__":
    main()
