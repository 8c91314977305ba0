"""amd-reid's import of FastReID models against FastReID's own classes (fastreid 1.4.0 in bench/.venv-fastreid, made by
bench/setup_fastreid.sh). FastReID builds each variant -- its Baseline: ResNet backbone (IBN-a, non-local blocks) and
EmbeddingHead (average or GeM-P pooling, BNNeck, reduction) -- with random weights, saves it as its checkpointer does and
computes its eval-mode features of random 0-255 images (bench/fastreid_reference.py, in that environment); here
amd_reid.interpreter.target_from_fastreid reads the file (the architecture from its tensors; FastReID 1.x's stem pool)
and embeds the same images, normalised as amd-reid's transforms do. Prints the largest absolute difference per variant;
exits 1 if one exceeds --tol.

    python bench/check_fastreid_models.py [--names bot_R50-ibn ...] [--size 128 64] [--tol 1e-4]
    python bench/check_fastreid_models.py --write-fixture nbs/fixtures/fastreid_models.pt   # the notebook's fixture
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import torch

from reference_check import ROOT, check_parser, run_reference, verdict

DEFAULT_VARIANTS = ("bot_R50-ibn", "sbs_R50-nl", "sbs_R50-ibn-nl-emb256", "bot_R18-ibn-emb128")


def reference(out: Path, variants, size, images: int) -> None:
    run_reference("fastreid", "fastreid_reference.py", out, variants, size, images)


def imported(d: Path, variant: str):
    "amd-reid's import of the variant's file, and its embedding of the reference's images: (model, embed, expected)."
    from amd_reid.data import IMAGENET_MEAN, IMAGENET_STD
    from amd_reid.interpreter import target_from_fastreid
    from amd_reid.targets import read_reid_checkpoint
    exp = torch.load(d / f"{variant}.expected.pt", weights_only=True)
    kind, sd = read_reid_checkpoint(d / f"{variant}.pth")
    assert kind == "fastreid", kind
    pooling = "avg" if exp["config"]["POOL_LAYER"] == "GlobalAvgPool" else None   # no tensor says so: the user does
    model = target_from_fastreid(sd, stem_pool="fastreid", pooling=pooling, source=variant)
    x = (exp["images"] / 255 - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        return model, model.embed(x), exp


def write_fixture(path: Path, variants) -> None:
    "The recipes of the variants' weights, 2 images at 64 x 32 and FastReID's features of them (no weights: ~100 MB)."
    with tempfile.TemporaryDirectory() as d:
        reference(Path(d), variants, (64, 32), 2)
        keep = ("recipe", "seed", "images", "embed", "config")
        fx = {v: {k: torch.load(Path(d) / f"{v}.expected.pt", weights_only=True)[k] for k in keep} for v in variants}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"variants": fx, "made_by": "bench/check_fastreid_models.py --write-fixture (fastreid 1.4.0's Baseline, "
                "weights by bench/fastreid_reference.py's recipe)"}, path)
    print(f"fixture written to {path} ({path.stat().st_size / 1e6:.2f} MB)")


def main(argv=None) -> int:
    ap = check_parser(__doc__, DEFAULT_VARIANTS, "write the variants' recipes, 2 images and FastReID's features")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.write_fixture:
        write_fixture(args.write_fixture, args.names)
    with tempfile.TemporaryDirectory() as d:
        t0 = time.time()
        reference(Path(d), args.names, args.size, 4)
        print(f"FastReID's models built and run in {time.time() - t0:.0f} s")
        worst = 0.0
        for variant in args.names:
            model, got, exp = imported(Path(d), variant)
            diff = (got - exp["embed"]).abs().max().item()
            worst = max(worst, diff)
            print(f"{variant:22s} imported as {model.name}: feature {tuple(got.shape)}  max |ours - FastReID| = "
                  f"{diff:.2e}  (largest |feature| {exp['embed'].abs().max().item():.2f})", flush=True)
    return verdict(worst, args.tol, args.size)


if __name__ == "__main__":
    sys.exit(main())
