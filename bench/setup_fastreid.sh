#!/usr/bin/env bash
# Build the FastReID reference environment, from the PyPI wheel of fastreid 1.4.0:
# - for bench/bench_evaluate_rank.py, FastReID's Cython Market-1501 evaluator
#   (fastreid/evaluation/rank_cylib/rank_cy.pyx), compiled into bench/_build/rank_cy;
# - for bench/check_fastreid_models.py (and tests/test_fastreid.py), FastReID's own model classes
#   (Baseline: ResNet backbone with IBN / non-local blocks, EmbeddingHead), built by
#   bench/fastreid_reference.py; they need torch (the main .venv's version) and yacs, termcolor,
#   tabulate, pyyaml, which `import fastreid.modeling` pulls in. `--no-models` leaves torch out.
# Idempotent: a second run only checks.
#   bench/.venv-fastreid   numpy (same version as the main .venv) + cython + fastreid (no deps) [+ torch ...]
#   bench/_build/rank_cy   rank_cy.pyx copied from the wheel and compiled in place
# Both are git-ignored. Needs gcc and the Python headers (present on our machines).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=bench/.venv-fastreid
BUILD=bench/_build/rank_cy
MAIN_PY=.venv/bin/python
MODELS=1
[ "${1:-}" = "--no-models" ] && MODELS=0

if [ -x "$MAIN_PY" ]; then
  NUMPY_SPEC="numpy==$($MAIN_PY -c 'import numpy; print(numpy.__version__)')"
  TORCH_SPECS="torch==$($MAIN_PY -c 'import torch; print(torch.__version__.split("+")[0])') torchvision==$($MAIN_PY -c 'import torchvision; print(torchvision.__version__.split("+")[0])')"
else
  NUMPY_SPEC="numpy"
  TORCH_SPECS="torch==2.14.1 torchvision==0.29.1"
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "$NUMPY_SPEC" "cython>=3" setuptools
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps fastreid==1.4.0

PYX=$("$VENV/bin/python" - <<'PY'
import importlib.util, pathlib
spec = importlib.util.find_spec("fastreid")  # finding the package does not import it
root = pathlib.Path(spec.submodule_search_locations[0])
hits = sorted(root.rglob("rank_cy.pyx"))
if not hits:
    raise SystemExit(f"rank_cy.pyx not found under {root}")
print(hits[0])
PY
)
mkdir -p "$BUILD"
if ! cmp -s "$PYX" "$BUILD/rank_cy.pyx"; then
  cp "$PYX" "$BUILD/rank_cy.pyx"
  rm -f "$BUILD"/rank_cy*.so
fi
if ! ls "$BUILD"/rank_cy*.so >/dev/null 2>&1; then
  (cd "$BUILD" && "../../../$VENV/bin/python" - <<'PY'
import numpy
from setuptools import Extension, setup
from Cython.Build import cythonize
ext = Extension("rank_cy", ["rank_cy.pyx"], include_dirs=[numpy.get_include()])
setup(name="rank_cy", ext_modules=cythonize([ext], language_level=3, quiet=True),
      script_args=["build_ext", "--inplace", "-q"])
PY
  )
fi
"$VENV/bin/python" -c "import sys; sys.path.insert(0, '$BUILD'); import rank_cy; print('rank_cy ready:', rank_cy.__file__)"

if [ "$MODELS" = 1 ]; then
  # pip then warns that fastreid wants torch 1.13 and faiss, opencv, sklearn, tensorboard: its modeling code runs
  # on the main .venv's torch, and needs none of the others
  # shellcheck disable=SC2086
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check $TORCH_SPECS "yacs>=0.1.8,<0.2" \
    "termcolor>=2.2,<3" "tabulate>=0.9,<0.10" pyyaml
  "$VENV/bin/python" -c "import fastreid.modeling.backbones.resnet, fastreid.modeling.heads.embedding_head as h; print('FastReID models ready:', h.__file__)"
fi
