# The platform's entry points. `make run` and `make test` work from a fresh clone.
.DEFAULT_GOAL := help
SHELL := /bin/bash

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

run: ## set up and run the whole platform in the foreground (Ctrl-C stops the services)
	@scripts/platform.sh run

up: ## the same in the background; waits until every service is healthy
	@scripts/platform.sh up

down: ## stop the services, Kafka and PostgreSQL
	@scripts/platform.sh down

status: ## one line per component
	@scripts/platform.sh status

venv: ## create .venv/ with every package installed editable
	@scripts/bootstrap.sh

pages: venv ## a receiver on :9000 that prints each page of `make run` with its acknowledge link (the on-call tour)
	@.venv/bin/devstack pages

mail: venv ## an SMTP sink on :2525 that prints each email of `make run` (subject, recipients, links) and keeps it as .eml
	@.venv/bin/devstack mail

test: ## unit + integration tests against a private real Kafka and PostgreSQL, with a coverage summary
	@scripts/test.sh --cov --cov-report=term:skip-covered

test-faults: ## kill, stop and starve every part under load (own Kafka + PostgreSQL; minutes)
	@scripts/test.sh tests/faults

unit: venv ## unit tests of the pure code only (no servers)
	@.venv/bin/python -m pytest tests/unit tools/devstack/tests

bench: venv ## benchmarks on a fresh local stack -> bench/results, BENCHMARKS.md (needs wrk)
	@scripts/bench.sh

bench-quick: venv ## a quick smoke run of the benchmarks (CI)
	@scripts/bench.sh --quick

lint: venv ## ruff, mypy --strict and the import contracts (pyproject.toml [tool.importlinter])
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@.venv/bin/mypy
	@.venv/bin/lint-imports

format: venv ## apply ruff's formatting and safe fixes
	@.venv/bin/ruff check --fix .
	@.venv/bin/ruff format .

clean: down ## stop everything and delete .devstack/ data (keeps nothing)
	rm -rf .devstack .venv

.PHONY: help run up down status venv pages mail test test-faults unit bench bench-quick lint format clean
