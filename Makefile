# amd-reid: the two commands a user needs (see README.md).
#   make demo   main job on the embedded default (SynthMarket, CPU): figures/ and tables
#   make test   every test: sync checks, nbdev_test on all notebooks, pytest on tests/
# Both create the virtual environment .venv on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch builds that lie on our machines' disk (x86_64: CUDA build that runs on CPU; aarch64: CPU build)
ARCH   := $(shell uname -m)
ifeq ($(ARCH),aarch64)
TORCH_SPEC ?= torch==2.9.1 torchvision==0.24.1
else
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
endif
# the real attribute files (market_attribute.mat, duke_attribute.mat) are not in the repository: looked for in
# $AMD_REID_DATA, else ../shared/data beside the clone (as CI has it); the notebook cells flagged `realdata` run
# only when they are found. FLAGS: more test flags to run (e.g. FLAGS=slow)
AMD_REID_DATA ?= $(abspath ../shared/data)
export AMD_REID_DATA
REAL_DATA := $(if $(wildcard $(AMD_REID_DATA)/market_attribute.mat),realdata,)
FLAGS ?=
NBDEV_FLAGS ?= $(if $(strip $(REAL_DATA) $(FLAGS)),--flags "$(strip $(REAL_DATA) $(FLAGS))",)

.PHONY: demo quick test venv sync lint-nbs export clean-nbs readme bench browser-test

$(BIN)/.installed: setup.py settings.ini
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -q $(TORCH_SPEC)
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $@

venv: $(BIN)/.installed

## the main job (extended by later issues)
demo: venv
	$(BIN)/amd-reid demo

## a first look in a few minutes (shorter training, lower numbers): a pair explanation and a rank list in runs/quick/
quick: venv
	$(BIN)/amd-reid demo --quick

## every test
# every temporary file of the run (toy data sets, checkpoints, figures) goes to one folder,
# removed when the run ends, passed or failed
test: venv
	@test -n "$(REAL_DATA)" || echo "note: market_attribute.mat not in $(AMD_REID_DATA): the notebook cells that read \
	the real attribute files are skipped (get them from https://github.com/vana77/Market-1501_Attribute and \
	https://github.com/vana77/DukeMTMC-attribute; set AMD_REID_DATA to their folder)"
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && export TMPDIR="$$tmp" && set -x && \
	$(BIN)/python .ci/check_sync.py && \
	$(BIN)/nbdev_test --n_workers 2 --timing $(NBDEV_FLAGS) && \
	$(BIN)/python -m pytest -q tests

## developer helpers
export: venv
	$(BIN)/nbdev_export
clean-nbs: venv
	$(BIN)/nbdev_clean
readme: venv
	$(BIN)/python .ci/readme.py
bench: venv
	$(BIN)/python bench/run_all.py
