# The targets CI runs. `make serve` and `make check` each create the virtualenv they need.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: install serve quickstart test lint fmt type contracts check bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

serve: install  ## run riskloop (embedded mode: SQLite + keyring in ./riskloop-data)
	$(BIN)/riskloop serve

quickstart: install  ## the whole loop in a few minutes: simulate, train, serve, replay, summary
	$(BIN)/riskloop quickstart

test: install
	$(BIN)/pytest -q --durations=15  # the slowest tests, so CI logs say where its time goes

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

fmt: install
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

type: install
	$(BIN)/mypy

contracts: install
	$(BIN)/lint-imports

check: lint type contracts test

bench: install
	$(BIN)/python benchmarks/import_throughput.py
	$(BIN)/python benchmarks/features_bench.py --redis
	$(BIN)/python benchmarks/backfill_bench.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
