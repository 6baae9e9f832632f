# Taxi-trip lakehouse. `make help` lists the targets.
#
# RUNTIME=native (default here): engines run as local processes installed by `make bootstrap`
# into $(TAXI_CACHE). Every step target calls the same `lakehouse` CLI the orchestrators call.

SHELL := /bin/bash
.DEFAULT_GOAL := help

TAXI_CACHE ?= $(HOME)/.cache/taxi-lakehouse
export TAXI_CACHE
# this checkout's Python environment (scripts/bootstrap.sh); engines and downloads stay in TAXI_CACHE
TAXI_VENV ?= $(CURDIR)/.venv
export TAXI_VENV
VENV := $(TAXI_VENV)
LH := $(VENV)/bin/lakehouse
# Maven 3.8 writes colour codes even in batch mode (-B): plain text for logs and CI
STRIP_ANSI := sed 's/\x1b\[[0-9;]*m//g'
PY := $(VENV)/bin/python
# RUNTIME=native (default): local processes; RUNTIME=docker: the Compose stack (make/docker.mk)
RUNTIME ?= native

include make/defaults.mk


.PHONY: help bootstrap bootstrap-test venv env up down status logs ps reset clean create-topics schema-register schema-check generate process \
        stream-start stream-stop stream-status maintain deadletter \
        process-bronze process-silver dbt-build dbt-test dbt-docs query report verify demo pipeline \
        test test-unit \
        test-integration test-checks contract test-docker test-udf validate-kestra validate-compose lint format benchmark-native benchmark-real benchmark-profile benchmark-gold \
        benchmark-streaming

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+( [a-zA-Z_-]+)*:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

bootstrap: ## Install .venv (this checkout) and Flink, Kafka, MinIO, PostgreSQL, Schema Registry into $(TAXI_CACHE) (idempotent); Trino too with GOLD_ENGINE=trino
	@bash scripts/bootstrap.sh --with-s3 --with-postgres --with-registry $(if $(filter trino,$(GOLD_ENGINE)),--with-trino)

bootstrap-test: ## bootstrap + Chromium (the browser tests of the UIs) and Trino (the gold-on-Trino tests)
	@bash scripts/bootstrap.sh --with-s3 --with-postgres --with-registry --with-browser --with-trino

venv: ## Install only .venv, Flink and Kafka (no MinIO/PostgreSQL)
	@bash scripts/bootstrap.sh

ifeq ($(RUNTIME),docker)
# The Docker Compose stack: the same target names, each step runs the same CLI in the tools image.
include make/docker.mk
else ifeq ($(RUNTIME),native)
# the CLI must exist; targets that depend on bootstrap have just checked the rest (one pass)
env: ## Create .env with generated secrets if missing
	@test -x $(LH) || bash scripts/bootstrap.sh
	@$(LH) env init

up: bootstrap env ## Start the native stack (Kafka, Flink + SQL Gateway), health-gated
	@$(LH) stack up

down: ## Stop the native stack (data kept)
	@test -x $(LH) && $(LH) stack down || true

status ps: ## Show services, pids, endpoints, health
	@$(LH) stack status

logs: ## Tail the logs of every native service
	@tail -n 20 -F .lakehouse/logs/*.log .lakehouse/logs/flink/*.log

reset: ## Delete topics, tables, manifests and gold (engines keep running)
	@$(LH) stack reset --yes

clean: down ## Stop the stack and delete all local data (.lakehouse/)
	rm -rf .lakehouse

create-topics: ## Create the Kafka topics (idempotent)
	@$(LH) topics create

schema-register: ## Register the event schema (SCHEMA=file, default EVENT_SCHEMA_FILE) under <topic>-value
	@$(LH) schema register $(if $(SCHEMA),--file $(SCHEMA))

schema-check: ## Is a changed schema file (SCHEMA=file) compatible with the registry? Registers nothing
	@$(LH) schema check $(if $(SCHEMA),--file $(SCHEMA))

generate: ## Produce EVENTS events (MODE, RATE, SEED, DAYS, ANOMALY_RATE), or replay TLC Parquet files (FROM=path)
	@$(LH) generate --events $(EVENTS) --mode $(MODE) $(if $(RATE),--rate $(RATE)) --seed $(SEED) --days $(DAYS) --anomaly-rate $(ANOMALY_RATE) $(if $(FROM),--from $(FROM))

process: process-bronze process-silver ## Flink bronze then silver

process-bronze: ## Flink: Kafka -> bronze + dead letter
	@$(LH) flink bronze

process-silver: ## Flink: bronze -> silver (+ rejected), new bronze rows only (FULL=1: recompute all)
	@$(LH) flink silver $(if $(FULL),--full)

stream-start: ## Streaming mode: start the bronze + silver Flink jobs (resume from savepoint/checkpoint)
	@$(LH) stream start

stream-stop: ## Stop the streaming jobs with a savepoint
	@$(LH) stream stop

stream-status: ## Streaming jobs: state, checkpoints, Kafka lag, last Iceberg commits
	@$(LH) stream status

maintain: ## Iceberg maintenance: compact small files, expire snapshots, delete orphans (Java, Iceberg APIs)
	@$(LH) maintain

deadletter: ## Dead letters and rejected rows per reason (lakehouse deadletter show|export|republish for more)
	@$(LH) deadletter list

dbt-build: ## dbt build: gold takes the new silver rows (FULL=1: rebuild gold from all of silver)
	@$(LH) dbt build $(if $(FULL),--full-refresh)

dbt-test: ## dbt test against the existing gold
	@$(LH) dbt test

dbt-docs: ## dbt docs generate, then serve them on http://127.0.0.1:8088 (DOCS_PORT=N: another port)
	@$(LH) dbt docs $(if $(DOCS_PORT),--port $(DOCS_PORT))

query: ## SQL shell on the gold marts, read-only (SQL="select ..." runs one statement)
	@$(LH) query $(if $(SQL),-c "$$SQL")

report: ## Static HTML report on gold: daily revenue, hourly demand, top zones (OUT=file)
	@$(LH) report $(if $(OUT),--out "$(OUT)")

verify: ## Reconcile manifests, Kafka, bronze, dead letter, silver, gold
	@$(LH) verify

pipeline: ## Run every step in order and print a summary (stack must be up)
	@$(LH) pipeline --events $(EVENTS) --anomaly-rate $(ANOMALY_RATE) --days $(DAYS) $(if $(filter-out auto,$(SEED)),--seed $(SEED))

demo: up create-topics ## Fresh machine to reconciled summary: install, start, run all steps
	@$(LH) pipeline --events $(EVENTS) --anomaly-rate $(ANOMALY_RATE) --days $(DAYS) $(if $(filter-out auto,$(SEED)),--seed $(SEED))
	@$(LH) next-steps

benchmark-native: bootstrap env ## Benchmark the native pipeline (results in benchmarks/results/)
	@$(PY) benchmarks/run.py $(BENCH_ARGS)

benchmark-real: bootstrap env ## Real TLC rows tiled to SIZES (default 1M) and replayed end to end, beside a synthetic run of the same size (results in benchmarks/results/)
	@$(PY) benchmarks/run.py --input tlc,synthetic --sizes $(or $(SIZES),1000000) --reps 1 --report benchmarks/results/real_volume/report.md

benchmark-profile: bootstrap env ## Where a warm 10k run's seconds go, step by step and phase by phase (resets the data)
	@$(PY) benchmarks/profile_pipeline.py --events $(EVENTS) --runs 3

benchmark-history: bootstrap env ## Cost of a 10k-event increment after 0, 1M, 5M events of history (HISTORY=0,1000000,5000000)
	@$(PY) benchmarks/history.py --history $(or $(HISTORY),0,1000000,5000000) --increment 10000

benchmark-gold: env ## dbt build --full-refresh on DuckDB and on Trino at 1M and 5M silver rows, with peak memory (SIZES=...)
	@bash scripts/bootstrap.sh --with-trino
	@$(PY) benchmarks/gold_engines.py --sizes $(or $(SIZES),1000000,5000000)

benchmark-streaming: bootstrap env ## Streaming mode: sustained events/s + freshness p50/p95/max (RATES=500,2000,5000)
	@$(PY) benchmarks/streaming.py --rates $(or $(RATES),500,2000,5000) --json-out benchmarks/results/streaming.jsonl

dagster-ui: bootstrap env ## Dagster UI on the native stack (http://127.0.0.1:3000)
	@$(PY) -m taxi_dagster.cli ui

dagster-run: bootstrap env ## Materialize the whole Dagster job on the native stack
	@$(PY) -m taxi_dagster.cli run --events $(EVENTS) $(if $(filter-out auto,$(SEED)),--seed $(SEED)) --anomaly-rate $(ANOMALY_RATE) --days $(DAYS)

else
$(error RUNTIME=$(RUNTIME): use native or docker)
endif

lint: venv ## ruff lint + format check of every Python file; sqlfluff on dbt's models
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@VENV=$(VENV) bash scripts/lint_dbt.sh

format: venv ## ruff format + autofix every Python file
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

test-unit: venv ## Unit tests (no engines, no Go, Maven or Java)
	@$(VENV)/bin/pytest -q tests/unit

test-checks: bootstrap-test ## Static checks with the real tools: compose-go loads docker-compose.yml (Go), Kestra validates the flows (Maven, Java 25)
	@$(VENV)/bin/pytest -q tests/checks

contract: venv ## Render the Java parser's field table from contracts/raw_trip.avsc; say what dbt must add
	@$(VENV)/bin/python -m lakehouse.contract

test-integration: bootstrap-test ## Integration tests on the real native stack (own ports and data dir)
	@$(VENV)/bin/pytest -q tests/integration

validate-kestra: ## Validate the Kestra flows with Kestra 2.0's libraries and this repo's stand-in shell task (Java 25)
	@bash scripts/validate_kestra_flow.sh

validate-compose: ## Load docker-compose.yml with compose-go (the library of `docker compose`)
	@$(VENV)/bin/pytest -q tests/checks/test_compose.py

test-udf: ## Java unit tests of the Flink UDF (flink/udf) and the Iceberg maintenance tool
	@set -o pipefail; mvn -q -B -f flink/udf/pom.xml test 2>&1 | $(STRIP_ANSI)
	@set -o pipefail; mvn -q -B -f flink/maintenance/pom.xml test 2>&1 | $(STRIP_ANSI)

# a dockerd that docker/engine.sh started for the tests is stopped after them (by its pid)
test-docker: bootstrap ## The compose stack for real: engine + images built here, make up RUNTIME=docker, pipeline, Kestra, restart, streaming, gold on Trino
	@bash docker/engine.sh ensure
	@trap 'bash docker/engine.sh stop' EXIT; $(VENV)/bin/pytest -q tests/docker

test: bootstrap-test lint test-udf ## Everything CI runs: install, lint, unit, integration and docker tests
	@bash docker/engine.sh ensure
	@trap 'bash docker/engine.sh stop' EXIT; $(VENV)/bin/pytest -q tests

