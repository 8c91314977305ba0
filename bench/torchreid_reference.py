"""The reference side of bench/check_torchreid.py; runs inside bench/.venv-torchreid (bench/setup_torchreid.sh), where
only torch and torchreid 0.2.5 are installed. For each model name it builds torchreid's own class, gives it random
weights (BN and IN affine parameters and BN statistics too, so that no layer is the identity), saves it as torchreid's
`save_checkpoint` does (`model.pth.tar-N`: state_dict, epoch, rank1 as a numpy float, optimizer; every other model
under DataParallel's `module.` prefix), and saves random images with torchreid's eval-mode features of them.

    python bench/torchreid_reference.py OUT_DIR --size H W --images N NAME [NAME ...]
"""
import importlib.util
import pathlib
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from reference_check import reference_parser  # noqa: E402

MODELS = pathlib.Path(importlib.util.find_spec("torchreid").submodule_search_locations[0]) / "reid" / "models"


def model_file(name: str):
    "One of torchreid's model files alone (the package's __init__ imports its data and engine code and their deps)."
    spec = importlib.util.spec_from_file_location(f"torchreid_models_{name}", MODELS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def randomise(model: nn.Module) -> None:
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.InstanceNorm2d)) and m.affine:
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)


def main() -> None:
    args = reference_parser({}).parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"osnet": model_file("osnet"), "resnet": model_file("resnet")}
    for i, name in enumerate(args.names):
        torch.manual_seed(i)
        build = getattr(files["osnet" if name.startswith("osnet") else "resnet"], name)
        model = build(num_classes=args.classes, pretrained=False, loss="softmax")
        randomise(model)
        model.eval()
        images = torch.randn(args.images, 3, *args.size)
        with torch.no_grad():
            feat = model(images)                       # torchreid's eval-mode forward: the retrieval feature
        sd = model.state_dict()
        if i % 2:
            sd = {f"module.{k}": v for k, v in sd.items()}
        torch.save({"state_dict": sd, "epoch": 60, "rank1": np.float64(0.5),
                    "optimizer": {"state": {}, "param_groups": [{"lr": 3e-4}]}}, out / f"{name}.pth.tar-60")
        torch.save({"images": images, "embed": feat, "name": name}, out / f"{name}.expected.pt")
        print(f"{name}: {type(model).__name__} from {files['osnet' if name.startswith('osnet') else 'resnet'].__file__}, "
              f"feature {tuple(feat.shape)}", flush=True)


if __name__ == "__main__":
    main()
