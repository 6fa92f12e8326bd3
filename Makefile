# compliance-sse: `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUFF_FLAGS := --line-length 120
RUFF_RULES := --select E,F,W,I,B,UP,SIM,RUF,ASYNC --ignore RUF001,RUF002,RUF003
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help

.PHONY: help install run test test-corpus lint fmt cov bench eval clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/$$(HOST)/$(HOST)/g; s/$$(PORT)/$(PORT)/g' \
		| awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip

$(VENV)/.installed: setup.cfg $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

.develop: setup.cfg $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: .develop ## create .venv and install the package with its dev extras

run: $(VENV)/.installed ## serve on http://$(HOST):$(PORT) (rules analyzer, in-memory event log)
	CSSE_HOST=$(HOST) CSSE_PORT=$(PORT) $(BIN)/compliance-sse serve

test: .develop ## run the whole test suite
	$(BIN)/pytest

test-corpus: .develop ## only the tests over the PDF corpus (CSSE_CORPUS=dir for a larger one)
	$(BIN)/pytest -m corpus

lint: .develop ## ruff format --check, ruff check, mypy
	$(BIN)/ruff format --check $(RUFF_FLAGS) src tests bench eval
	$(BIN)/ruff check $(RUFF_FLAGS) $(RUFF_RULES) src tests bench eval
	$(BIN)/mypy

fmt: .develop ## format and fix what ruff can
	$(BIN)/ruff format $(RUFF_FLAGS) src tests bench eval
	$(BIN)/ruff check --fix $(RUFF_FLAGS) $(RUFF_RULES) src tests bench eval

cov: .develop ## tests with branch coverage
	$(BIN)/pytest --cov --cov-report=term-missing

bench: .develop ## benchmarks under bench/ (results in docs/BENCHMARKS.md; needs a Redis on 127.0.0.1:6379)
	$(BIN)/python bench/service_latency.py --runs 3
	$(BIN)/python bench/extract_latency.py --runs 3
	$(BIN)/python bench/listeners.py

eval: .develop ## precision/recall per category: blind set (dev, test; dev misses), then the synthetic regression set
	$(BIN)/python -m eval.blind
	$(BIN)/python -m eval.run

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .develop .mypy_cache .ruff_cache .pytest_cache .hypothesis build *.egg-info src/*.egg-info
