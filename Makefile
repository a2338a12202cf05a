# The two set-up commands: `make run` and `make test`. Both work on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
SAMPLE ?= What is the molecular formula of aspirin?

.PHONY: run test lint lint-imports perf

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch first and pinned: this exact release is a CPU build on the machine's disk; a looser pin
# pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install torch==2.13.0
	$(PIP) install -e .
	touch $@

$(DEV_STAMP): pyproject.toml $(STAMP)
	$(PIP) install -e '.[dev]'
	touch $@

run: $(STAMP)
	$(VENV)/bin/txscout ask --offline --mode full "$(SAMPLE)"

test: $(DEV_STAMP) lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest

# import-linter walks the txscout folder; the links in it (txscout/agent -> ../agent, ...) lay the
# packages out there as package-dir installs them.
lint-imports: $(DEV_STAMP)
	$(VENV)/bin/lint-imports

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
