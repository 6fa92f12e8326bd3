# compliance-sse: `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUFF_FLAGS := --line-length 120
RUFF_RULES := --select E,F,W,I,B,UP,SIM,RUF,ASYNC --ignore RUF001,RUF002,RUF003
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help

.PHONY: help install run test test-corpus soak lint fmt cov bench bench-docs bench-loop load eval clean

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

SOAK_S ?= 600
soak: .develop ## the long fault and leak runs (`soak` marker): a steady-load soak for SOAK_S seconds, then its figures
	CSSE_SOAK=1 CSSE_SOAK_S=$(SOAK_S) $(BIN)/pytest -m soak -s

lint: .develop ## ruff format --check, ruff check, mypy
	$(BIN)/ruff format --check $(RUFF_FLAGS) src tests bench eval loadtest
	$(BIN)/ruff check $(RUFF_FLAGS) $(RUFF_RULES) src tests bench eval loadtest
	$(BIN)/mypy

fmt: .develop ## format and fix what ruff can
	$(BIN)/ruff format $(RUFF_FLAGS) src tests bench eval loadtest
	$(BIN)/ruff check --fix $(RUFF_FLAGS) $(RUFF_RULES) src tests bench eval loadtest

cov: .develop ## tests with branch coverage
	$(BIN)/pytest --cov --cov-report=term-missing

.bench: setup.cfg .develop
	$(BIN)/pip install -q -e '.[dev,bench,load]'
	touch $@

BENCH_PARTS ?= uploads,idle,serializer,onestream,replay,extract,growth
bench: .bench ## side by side with the seed, aiohttp-sse, sse-starlette (~15 min; BENCH_PARTS=idle,... for some)
	$(BIN)/python bench/compare.py --parts $(BENCH_PARTS) --repeats 3 --write-docs

bench-docs: .bench ## re-render docs/BENCHMARKS.md's tables and plots from bench/results/compare.json, running nothing
	$(BIN)/python bench/compare.py --render-only

bench-loop: .develop ## the earlier loop-lag and listener benchmarks (needs a Redis on 127.0.0.1:6379)
	$(BIN)/python bench/service_latency.py --runs 3
	$(BIN)/python bench/extract_latency.py --runs 3
	$(BIN)/python bench/listeners.py

LOAD_S ?= 60
LOAD_USERS ?= 20
load: .bench ## locust, headless, on loopback for LOAD_S seconds against the service and a local Groq stand-in
	$(BIN)/python loadtest/run.py --time $(LOAD_S)s --users $(LOAD_USERS) --write-docs

eval: .develop ## precision/recall per category: blind set (dev, test; dev misses), synthetic set, ordinary texts
	$(BIN)/python -m eval.blind
	$(BIN)/python -m eval.run
	$(BIN)/python -m eval.ordinary --quiet

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .develop .bench .mypy_cache .ruff_cache .pytest_cache .hypothesis build *.egg-info src/*.egg-info
