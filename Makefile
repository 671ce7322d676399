# breweries: the two commands a new machine needs are `make demo` and `make test`;
# each sets up .venv itself on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Rebuilt when the dependencies change.
SETUP_STAMP := $(VENV)/.setup-done

RUN_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup demo run test lint format bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(SETUP_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "breweries needs Python 3.10 or newer (set PYTHON=...)")'
	@command -v java >/dev/null || { echo "breweries needs Java 17 for Spark: install a JDK 17 and put java on PATH" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@

setup: $(SETUP_STAMP) ## create .venv and install the package with its test extras

demo: setup ## run the whole pipeline offline on the bundled snapshot (writes ./data/demo)
	$(BIN)/breweries demo

run: setup ## run the pipeline against BREWERIES_API_URL (pass flags with RUN_ARGS="--date 2026-01-01")
	$(BIN)/breweries run $(RUN_ARGS)

test: setup ## run every test (pytest fails when it selects none)
	$(BIN)/pytest

lint: setup ## ruff: lint and formatting
	$(BIN)/ruff check jobs tests bench
	$(BIN)/ruff format --check jobs tests bench

format: setup ## apply ruff's formatting and safe fixes
	$(BIN)/ruff format jobs tests bench
	$(BIN)/ruff check --fix jobs tests bench

bench: setup ## benchmarks (not part of make test); appends to bench/results.md
	$(BIN)/python bench/extraction.py

clean: ## remove .venv, caches and local data
	rm -rf $(VENV) data .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
