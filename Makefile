# AI City Index. `make help` lists the targets.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: help install run demo test test-unit test-config test-integration test-e2e lint typecheck bench score compose-check clean

help:  ## list targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)  ## create the virtualenv and install the project with its dev tools

run: $(STAMP)  ## start everything on an embedded Redis, load the reference data, print URLs
	$(BIN)/aicity run

demo: $(STAMP)  ## make run plus a simulated contributor posting revisions, so the page moves
	$(BIN)/aicity run --demo

test: $(STAMP) lint typecheck  ## lint, type-check and run every test (unit, config, integration, e2e, browser)
	$(BIN)/pytest

test-unit: $(STAMP)  ## fast tests of the code alone: no Redis, no workers, no servers
	$(BIN)/pytest tests/unit

test-config: $(STAMP)  ## configuration checks: compose, alert rules (promtool), dashboard, docs, OpenAPI
	$(BIN)/pytest tests/config

test-integration: $(STAMP)  ## tests against a real redis-server and Celery workers
	$(BIN)/pytest tests/integration

test-e2e: $(STAMP)  ## the whole stack as processes, and the browser tests
	$(BIN)/pytest tests/e2e

lint: $(STAMP)  ## ruff, and import-linter on the layers
	$(BIN)/ruff check shared services tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)  ## mypy (strict) on shared/
	$(BIN)/mypy shared

bench: $(STAMP)  ## throughput and latency benchmark; prints figures for BENCHMARKS.md
	$(BIN)/python bench/bench.py

score: $(STAMP)  ## compute the reference index offline
	$(BIN)/aicity score data/reference-2025

compose-check:  ## validate docker-compose.yml offline
	docker-compose -f docker-compose.yml --profile ops config -q

clean:  ## remove local data (var/) and caches
	rm -rf var .pytest_cache .mypy_cache .ruff_cache tests/artifacts
