#!/usr/bin/env bash
# Build the reference environment for amd_reid's torchreid import (nbs/16_torchreid.ipynb): PyPI's torchreid 0.2.5
# (a repackaging of deep-person-reid whose model files are plain PyTorch) beside the torch the main .venv uses, in
#   bench/.venv-torchreid   (git-ignored, as bench/.venv-fastreid)
# The check (bench/check_torchreid.py) builds torchreid's own model classes from that environment and compares their
# embeddings with amd_reid's import of the same weights; the test suite runs it where this environment exists.
# Idempotent: a second run only checks. torchreid is installed without its dependencies (opencv, tensorboard, gdown,
# ...): the check loads its model files alone, which need only torch.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=bench/.venv-torchreid
MAIN_PY=.venv/bin/python

if [ -x "$MAIN_PY" ]; then
  TORCH_SPEC="torch==$($MAIN_PY -c 'import torch; print(torch.__version__.split("+")[0])')"
  NUMPY_SPEC="numpy==$($MAIN_PY -c 'import numpy; print(numpy.__version__)')"
else
  TORCH_SPEC="torch==2.14.1"
  NUMPY_SPEC="numpy"
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "$TORCH_SPEC" "$NUMPY_SPEC"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps torchreid==0.2.5
"$VENV/bin/python" - <<'PY'
import importlib.util, pathlib
spec = importlib.util.find_spec("torchreid")            # finding the package does not import it (nor its deps)
root = pathlib.Path(spec.submodule_search_locations[0])
for name in ("osnet", "resnet"):
    f = root / "reid" / "models" / f"{name}.py"           # torchreid 0.2.5 keeps deep-person-reid under reid/
    if not f.is_file():
        raise SystemExit(f"torchreid's {f} is missing: not the torchreid 0.2.5 layout")
print("torchreid ready:", root / "reid" / "models")
PY
