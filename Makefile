# The two commands the README promises: `make run` and `make test`.
# Both create (or reuse) a virtual environment in .venv and install the
# package with envs/pip-constraints.txt, which pins torch so that a machine
# with a local CPU wheel takes it instead of the multi-GB CUDA build.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
CONFIG ?= config/config.yaml
PYTEST_ARGS ?=

.PHONY: install run tiny test lint unit cluster-proof

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml envs/pip-constraints.txt
	$(BIN)/python -m pip install --upgrade pip >/dev/null
	$(BIN)/python -m pip install -c envs/pip-constraints.txt -e ".[dev]"
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/snakemake --cores $(CORES) --configfile $(CONFIG)

tiny: install
	$(BIN)/snakemake --cores $(CORES) --configfile config/tiny.yaml

lint: install
	$(BIN)/ruff check src tests workflow
	$(BIN)/ruff format --check src tests workflow
	$(BIN)/snakemake --lint --configfile config/tiny.yaml
	$(BIN)/python -m coexplore.envcheck envs

# pytest exits 5 when it collects no test (e.g. PYTEST_ARGS="-k nothing"):
# that is reported and not treated as a failure.
test: install lint
	$(BIN)/python -m pytest -ra $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests (exit 5)"; exit 0; fi; exit $$rc

unit: install
	$(BIN)/python -m pytest -ra tests/unit $(PYTEST_ARGS)

# Proof that the slurm profile runs the tiny workflow on a real single-node
# Slurm cluster (installed from Debian's packages; needs root): the pipeline's
# spine (synthesis, per-scene ingest of every sensor, all cubes, fusion and a
# year's feature stack; 62 jobs, about 10 minutes on 2 cores) goes through
# sbatch and must give the same bytes as a local run. CI runs it after
# `make test`.
SLURM_TARGETS ?= results/tiny/cubes/fused.zarr results/tiny/features/stack_2022.zarr
cluster-proof: install
	bash tests/cluster/slurm_proof.sh --workflow . --configfile config/tiny.yaml --venv $(VENV) -- $(SLURM_TARGETS)
