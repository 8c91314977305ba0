"""amd-reid's import of torchreid models against torchreid's own classes (torchreid 0.2.5 in bench/.venv-torchreid,
made by bench/setup_torchreid.sh). torchreid builds each model with random weights, saves it as a torchreid checkpoint
and computes its eval-mode features of random images (bench/torchreid_reference.py, in that environment); here
amd_reid.targets.load_torchreid_target reads the checkpoint (the architecture from its tensors) and embeds the same
images. Prints the largest absolute difference per model; exits 1 if one exceeds --tol.

    python bench/check_torchreid.py [--names osnet_x1_0 ...] [--size 128 64] [--tol 1e-4]
    python bench/check_torchreid.py --write-fixture nbs/fixtures/torchreid_osnet_x0_25.pt   # the notebook's fixture
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import torch

from reference_check import ROOT, check_parser, run_reference, verdict

DEFAULT_NAMES = ("osnet_x1_0", "osnet_x0_75", "osnet_x0_5", "osnet_x0_25", "osnet_ibn_x1_0", "resnet18", "resnet34",
                 "resnet50", "resnet50_fc512")


def reference(out: Path, names, size, images: int) -> None:
    run_reference("torchreid", "torchreid_reference.py", out, names, size, images)


def main(argv=None) -> int:
    ap = check_parser(__doc__, DEFAULT_NAMES, "write osnet_x0_25's weights, 2 images and torchreid's features")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from amd_reid.targets import load_torchreid_target, read_torchreid_checkpoint
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        if args.write_fixture:
            reference(d, ["osnet_x0_25"], (64, 32), 2)
            exp = torch.load(d / "osnet_x0_25.expected.pt", weights_only=True)
            sd = read_torchreid_checkpoint(d / "osnet_x0_25.pth.tar-60")
            args.write_fixture.parent.mkdir(parents=True, exist_ok=True)
            torch.save({"state_dict": sd, "images": exp["images"], "embed": exp["embed"],
                        "made_by": "bench/check_torchreid.py --write-fixture (torchreid 0.2.5, random weights)"},
                       args.write_fixture)
            print(f"fixture written to {args.write_fixture} ({args.write_fixture.stat().st_size / 1e6:.2f} MB)")
            args.names = ["osnet_x0_25"]
        t0 = time.time()
        reference(d, args.names, args.size, 4)
        print(f"torchreid's models built and run in {time.time() - t0:.0f} s")
        worst = 0.0
        for name in args.names:
            exp = torch.load(d / f"{name}.expected.pt", weights_only=True)
            model = load_torchreid_target(d / f"{name}.pth.tar-60")
            with torch.no_grad():
                got = model.embed(exp["images"])
            diff = (got - exp["embed"]).abs().max().item()
            worst = max(worst, diff)
            print(f"{name:16s} recognised as {model.name:16s} feature {tuple(got.shape)}  max |ours - torchreid| = "
                  f"{diff:.2e}  (largest |feature| {exp['embed'].abs().max().item():.2f})", flush=True)
            if model.name != name:
                print(f"  {name}: recognised as {model.name}")
                return 1
    return verdict(worst, args.tol, args.size)


if __name__ == "__main__":
    sys.exit(main())
