"""The reference side of bench/check_fastreid_models.py; runs inside bench/.venv-fastreid (bench/setup_fastreid.sh),
where torch and fastreid 1.4.0 are installed. For each variant it builds FastReID's own `Baseline` (its ResNet backbone
and EmbeddingHead, from FastReID's config), gives it random weights by a recipe (below), saves it as FastReID's
checkpointer does (`{'model': state_dict, 'iteration': N}`) and saves random 0-255 images with FastReID's eval-mode
features of them (Baseline.forward: pixel normalisation, backbone, head).

The recipe makes the weights reproducible without FastReID: for every tensor of the state dict, in
sorted key order, `torch.rand(shape, generator=g) * (hi - lo) + lo` from one generator seeded with `seed` (integer
tensors, num_batches_tracked, get the range (0, 0): 0). The ranges keep every layer away from the identity (BN and IN affine parameters
and statistics, the non-local blocks' zero-initialised BN, the GeM exponent) and the activations of a random
ResNet-50 finite.

    python bench/fastreid_reference.py OUT_DIR --size H W --images N VARIANT [VARIANT ...]
"""
import math
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from reference_check import reference_parser  # noqa: E402

VARIANTS = {   # name -> FastReID config: MODEL.BACKBONE.* and MODEL.HEADS.*
    "bot_R50-ibn": dict(DEPTH="50x", WITH_IBN=True, WITH_NL=False, POOL_LAYER="GlobalAvgPool", EMBEDDING_DIM=0,
                        CLS_LAYER="Linear"),
    "sbs_R50-nl": dict(DEPTH="50x", WITH_IBN=False, WITH_NL=True, POOL_LAYER="GeneralizedMeanPoolingP",
                       EMBEDDING_DIM=0, CLS_LAYER="CircleSoftmax"),
    "sbs_R50-ibn-nl-emb256": dict(DEPTH="50x", WITH_IBN=True, WITH_NL=True, POOL_LAYER="GeneralizedMeanPoolingP",
                                  EMBEDDING_DIM=256, CLS_LAYER="CircleSoftmax"),
    "bot_R18-ibn-emb128": dict(DEPTH="18x", WITH_IBN=True, WITH_NL=False, POOL_LAYER="GeneralizedMeanPoolingP",
                               EMBEDDING_DIM=128, CLS_LAYER="Linear"),
}


def build(variant: str, classes: int):
    from fastreid.config import get_cfg
    from fastreid.modeling import build_model
    v = VARIANTS[variant]
    cfg = get_cfg()
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.BACKBONE.NAME, cfg.MODEL.BACKBONE.PRETRAIN, cfg.MODEL.BACKBONE.LAST_STRIDE = \
        "build_resnet_backbone", False, 1
    for k in ("DEPTH", "WITH_IBN", "WITH_NL"):
        setattr(cfg.MODEL.BACKBONE, k, v[k])
    cfg.MODEL.BACKBONE.FEAT_DIM = 2048 if v["DEPTH"] in ("50x", "101x") else 512
    for k in ("POOL_LAYER", "EMBEDDING_DIM", "CLS_LAYER"):
        setattr(cfg.MODEL.HEADS, k, v[k])
    cfg.MODEL.HEADS.NUM_CLASSES, cfg.MODEL.HEADS.WITH_BNNECK, cfg.MODEL.HEADS.NECK_FEAT = classes, True, "after"
    return build_model(cfg)


def value_range(key: str, shape) -> tuple[float, float]:
    "The uniform range of tensor `key`: the recipe (stored with the fixture, so nothing of it needs reproducing)."
    leaf = key.rsplit(".", 1)[-1]
    if leaf == "running_mean" or (leaf == "bias" and len(shape) == 1):
        return -0.2, 0.2
    if leaf == "running_var" or (leaf == "weight" and len(shape) == 1):
        return (0.5, 2.0) if leaf == "running_var" else (0.5, 1.5)
    if leaf == "p":                                                   # GeM's exponent
        return 2.5, 3.5
    fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1            # conv / linear: LeCun-uniform
    a = math.sqrt(3.0 / fan_in) * (0.2 if ".NL_" in key and leaf == "weight" else 1.0)  # a non-local block's term
    return -a, a                                                      # is cubic in its input: kept small


def recipe(sd: dict) -> list:
    "[(key, shape, lo, hi)] for every tensor of `sd`, in sorted key order; (0, 0) for integer ones (num_batches_tracked)."
    return [(k, tuple(v.shape), *(value_range(k, v.shape) if v.is_floating_point() else (0.0, 0.0)))
            for k, v in sorted(sd.items())]


def generate(rec: list, seed: int) -> dict:
    "The weights a recipe makes: one generator seeded with `seed`, the tensors in the recipe's order."
    g = torch.Generator().manual_seed(seed)
    return {key: torch.rand(shape, generator=g) * (hi - lo) + lo for key, shape, lo, hi in rec}


def main() -> None:
    args = reference_parser({"choices": sorted(VARIANTS)}).parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(args.names):
        model = build(name, args.classes)
        sd, seed = model.state_dict(), 1000 + i
        rec = recipe(sd)
        model.load_state_dict(generate(rec, seed), strict=True)
        model.eval()
        images = torch.rand(args.images, 3, *args.size, generator=torch.Generator().manual_seed(seed)) * 255
        with torch.no_grad():
            feat = model(images.clone())           # eval forward; it normalises its input in place (sub_, div_)
        torch.save({"model": model.state_dict(), "iteration": 1}, out / f"{name}.pth")
        torch.save({"images": images, "embed": feat, "name": name, "recipe": rec, "seed": seed,
                    "config": VARIANTS[name]}, out / f"{name}.expected.pt")
        print(f"{name}: {type(model.backbone).__name__} + {type(model.heads).__name__} ({type(model.heads.pool_layer).__name__}), "
              f"feature {tuple(feat.shape)}, largest |feature| {feat.abs().max().item():.2f}", flush=True)


if __name__ == "__main__":
    main()
