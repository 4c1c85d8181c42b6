# Two set-up commands on a fresh machine: `make run` (main job) and `make test` (install + tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run demo test lint bench bench-all

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	# The CPU wheel first, so nothing pulls a multi-GB CUDA build of torch.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/deepcrn run iris

demo: $(STAMP)
	$(BIN)/deepcrn demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

bench-all: bench
	$(BIN)/python benchmarks/kinetics.py
	$(BIN)/python benchmarks/export.py
