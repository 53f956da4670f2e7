# podctl: the README's commands. Every target installs what it needs on a fresh machine.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
export PODCTL_PAUSE_IMAGE ?= podctl/pause:1.0
PYTEST_WORKERS ?= 4

.PHONY: setup docker images demo test unit integration lint bench reach clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

docker:
	bash scripts/ensure-docker.sh

images: docker
	bash scripts/ensure-build-tools.sh
	bash images/build.sh

demo: setup images
	PODCTL=$(BIN)/podctl bash scripts/demo.sh

lint: setup
	$(BIN)/ruff check src tests bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

unit: setup
	$(BIN)/pytest -q tests/unit -n 2

integration: setup images
	$(BIN)/pytest -q tests/integration -m serial
	$(BIN)/pytest -q tests/integration -n $(PYTEST_WORKERS) --dist worksteal -m "not serial"

# Tests that restart the Docker engine run alone, before the parallel ones. worksteal: a worker
# that runs out takes half of another's queue (integration tests last 1-60 s, so `load`'s fixed
# chunks left workers idle at the end while one ran the rest).
test: setup images lint
	$(BIN)/pytest -q tests -m serial
	$(BIN)/pytest -q tests -n $(PYTEST_WORKERS) --dist worksteal -m "not serial" --durations=15

# The podman peer is optional: when it cannot be set up, the bench says why and goes on.
# podctl is timed as installed from a wheel, with its bytecode compiled (an editable install
# under PYTHONDONTWRITEBYTECODE=1 would compile every module on every start).
bench: setup images
	-bash scripts/ensure-podman.sh
	$(BIN)/python -m compileall -q src/podctl
	$(BIN)/python bench/run.py

# How much of each folder of real manifests podctl takes, by kind, one report per folder:
# make reach CORPUS="dir ..." (MANIFESTS is the older name of the same list)
CORPUS ?= $(MANIFESTS)
reach: setup
	@test -n "$(CORPUS)" || { echo 'usage: make reach CORPUS="DIR ..."' >&2; exit 2; }
	@for dir in $(CORPUS); do echo "== $$dir"; $(BIN)/python tools/reach.py "$$dir" || exit 1; echo; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
