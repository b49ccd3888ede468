# mrirobust: `make reproduce` runs every notebook of notebooks/manifest.yaml, `make test` checks
# the library and every notebook at smoke scale. `make help` lists the targets.

SHELL := bash
.DEFAULT_GOAL := help

SCALE ?= cpu## scale profile: smoke | cpu | shape | gpu | paper
ONLY ?= ## run ids to select (with what they need), e.g. ONLY="dataset_tour"
PAPER ?= ## one paper's runs (with what they need), e.g. PAPER=morshuis2022
JOBS ?= ## jobs executed at once (empty: one per core at smoke/cpu/shape, 1 at gpu/paper; with PROFILE: the profile's jobs)
GPUS ?= ## GPUs to spread `gpu: true` runs over, one each (CUDA_VISIBLE_DEVICES)
PROFILE ?= ## Snakemake profile: slurm (shipped) or a profile folder
CELL_TIMEOUT ?= ## seconds a notebook cell may run before its run fails (empty: no limit)
PYTHON ?= python3## interpreter that creates the virtual environment

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH := $(shell grep -o '"torch==[^"]*"' pyproject.toml | tr -d '"')
FASTMRI := fastmri==0.3.0

.PHONY: help venv reproduce pretrain stability report gallery test data lab bench lint clean gpu-check

help: ## show this help
	@echo "usage: make TARGET [SCALE=smoke|cpu|shape|gpu|paper] [ONLY=\"id1 id2\"] [PAPER=name] [JOBS=N]"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12
	@echo "variables:"
	@grep -E '^[A-Z_]+ \?= ' $(MAKEFILE_LIST) | sed -E 's/ \?= ?([^#]*)## (.*)/\t\2 [\1]/' \
		| expand -t 14

# torch first (a CPU build here), then the package and its pins, then fastmri without its
# declared dependencies (they would pull a CUDA torch and a torchvision it never imports).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps $(FASTMRI)
	# jsonschema's optional IRI checker (rfc3987-syntax, an extra of jupyter-events) compiles a
	# grammar when nbformat is imported: 1-3 s in every notebook run and training job; nothing
	# here validates IRIs (jsonschema skips the check without it)
	$(PY) -m pip uninstall --quiet --yes rfc3987-syntax
	$(PY) -m ipykernel install --sys-prefix --name mrirobust --display-name "Python (mrirobust)"
	touch $@

venv: $(STAMP) ## create or update .venv (only when pyproject.toml changed)

# the options of `python -m mrirobust reproduce` that the variables above set (empty: left out)
RUN_OPTIONS = --scale $(SCALE)$(if $(strip $(ONLY)), --only $(strip $(ONLY)))$(if \
	$(strip $(PAPER)), --paper $(strip $(PAPER)))$(if $(strip $(JOBS)), --jobs $(strip $(JOBS)))$(if \
	$(strip $(GPUS)), --gpus $(strip $(GPUS)))$(if $(strip $(PROFILE)), --profile $(strip \
	$(PROFILE)))$(if $(strip $(CELL_TIMEOUT)), --cell-timeout $(strip $(CELL_TIMEOUT)))

# a whole cpu run (no PAPER or ONLY) also refreshes the generated numbers (README, docs/cpu_run.md)
WHOLE_CPU_RUN = $(and $(filter cpu,$(SCALE)),$(if $(strip $(PAPER)$(ONLY)),,whole))

reproduce: $(STAMP) ## run the manifest notebooks with Snakemake: results/SCALE/<run>/, figures/SCALE/
	$(PY) -m mrirobust reproduce $(RUN_OPTIONS)
	$(if $(WHOLE_CPU_RUN),$(PY) -m mrirobust readme --scale cpu)

pretrain: $(STAMP) ## train every checkpoint the selected runs load (one Snakemake job each), no notebook
	$(PY) -m mrirobust reproduce --pretrain $(RUN_OPTIONS)

# a second reproduction with every training seed + 1, in its own results root; then the ledger
# (`claims.table`, `make gallery`) counts a verdict whose outcome changes as inconclusive
SEED_RESULTS := $(CURDIR)/results/seed1
stability: $(STAMP) ## SCALE's runs again with training seed 1 (results/seed1/); flipped verdicts
	MRIROBUST_SEED=1 MRIROBUST_RESULTS=$(SEED_RESULTS) MRIROBUST_FIGURES=$(SEED_RESULTS)/figures \
		$(PY) -m mrirobust reproduce $(RUN_OPTIONS)
	$(PY) -m mrirobust claims --scale $(SCALE) --stability $(SEED_RESULTS)

gallery: $(STAMP) ## generated numbers of README and docs/cpu_run.md, CLAIMS.md and figures/gallery/
	$(PY) -m mrirobust readme --scale $(SCALE)

report: $(STAMP) ## HTML report of the last reproduce at SCALE: results/SCALE/report.html
	$(PY) -m mrirobust reproduce --report --scale $(SCALE)$(if $(strip $(PAPER)), --paper $(strip \
		$(PAPER)))

test: $(STAMP) ## unit tests and every manifest notebook at the smoke and shape scales
	$(PY) -m pytest

data: $(STAMP) ## (re)generate the embedded dataset for SCALE
	$(PY) -m mrirobust data --scale $(SCALE)

gpu-check: $(STAMP) ## on a CUDA machine: paper-size steps, smoke and shape runs, results/gpu_check.json
	$(PY) -m mrirobust gpu-check

lab: $(STAMP) ## JupyterLab on the project's kernel, "Python (mrirobust)"
	$(PY) -m jupyter lab --notebook-dir=notebooks

bench: $(STAMP) ## run benchmarks/*.py (not _*.py helpers); results in benchmarks/results/
	@for script in $(filter-out benchmarks/_%,$(wildcard benchmarks/*.py)); do echo "== $$script"; $(PY) $$script || exit 1; done

lint: $(STAMP) ## ruff check and format check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean: ## remove results, figures, the embedded data and caches (keeps .venv)
	find results figures -mindepth 1 ! -name .gitkeep ! -path "figures/gallery*" -delete
	rm -rf data/embedded .pytest_cache .ruff_cache
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
