# RUNTIME=docker: the native runtime's target names on the Docker Compose stack
# (docker-compose.yml). Included by the Makefile when RUNTIME=docker.
#
# Every step target runs `docker compose run --rm tools lakehouse ...`: the same CLI, in the same
# environment (.env plus the in-network addresses of docker-compose.yml), that the Kestra flow's
# tasks run inside the kestra container. `run` starts the services a step needs, health-gated.

# `docker compose`, or Compose v2 built by docker/engine.sh where the plugin is missing
COMPOSE_BIN ?= $(shell bash docker/engine.sh compose-path)
# no buildx here: compose builds with the engine's BuildKit (secrets, bind mounts) without Bake
export COMPOSE_BAKE ?= false
# ENV_FILE: the settings (.env, from `make env`); also the file compose interpolates from
ENV_FILE ?= .env
export LAKEHOUSE_ENV_FILE := $(ENV_FILE)
include $(dir $(lastword $(MAKEFILE_LIST)))defaults.mk
# GOLD_ENGINE=trino (here or in $(ENV_FILE)): the trino profile, Trino's coordinator and workers
# (TRINO_WORKERS), joins every command
COMPOSE ?= $(strip $(COMPOSE_BIN) --env-file $(ENV_FILE) $(if $(filter trino,$(GOLD_ENGINE)),--profile trino))
# every image the stack may run (trino's only for GOLD_ENGINE=trino: a 540 MB download)
COMPOSE_IMAGES := $(COMPOSE) --profile tools --profile generator --profile dagster
# every profile, so down/clean/ps/logs also reach tools, generator, dagster and trino containers
COMPOSE_ALL := $(COMPOSE_IMAGES) --profile trino
TOOLS := $(COMPOSE) run --rm tools
# API clients (Kestra, Dagster): no dependencies to start, no TTY (stdout stays machine-readable)
TOOLS_API := $(COMPOSE) run --rm --no-deps -T tools
LH_DOCKER := $(TOOLS) lakehouse
TOOLS_IMAGE := taxi-lakehouse/tools:$(or $(TAXI_IMAGE_TAG),local)
KESTRA_HOST_PORT ?= 8080
DAGSTER_HOST_PORT ?= 3000
# SERVICES: start only these (and what they depend on); default every default service
SERVICES ?=

# inputs of kestra/flows/taxi_pipeline.yml, from the same variables as the native targets
KESTRA_INPUTS ?= events=$(EVENTS) mode=$(MODE) seed=$(SEED) days=$(DAYS) anomaly_rate=$(ANOMALY_RATE) $(if $(RATE),rate=$(RATE))
DAGSTER_JOB ?= taxi_pipeline
BENCH_RUNS ?= 1

.PHONY: engine images env up down status ps logs reset clean create-topics schema-register schema-check stream-start \
        stream-stop stream-status generate process process-bronze \
        process-silver dbt-build dbt-test query report dbt-docs verify pipeline demo benchmark kestra-ui kestra-run \
        dagster-up dagster-ui dagster-run

engine: ## A Docker Engine, Compose v2 and the Debian base image (installs/builds what is missing)
	@bash docker/engine.sh ensure

# the lakehouse image first: docker/registry, docker/postgres and docker/kestra build FROM it
images: engine ## Build every image (EXTRA_CA_BUNDLE=path: a CA bundle the builds trust)
	@$(COMPOSE) build --quiet kafka
	@$(COMPOSE_IMAGES) build --quiet $(SERVICES)

env: engine ## Create $(ENV_FILE) with generated secrets if missing (lakehouse env init, in the lakehouse image)
	@if [ -f "$(ENV_FILE)" ]; then echo "$(ENV_FILE) exists (kept)"; else \
	  $(COMPOSE_BIN) --env-file .env.example build --quiet kafka && \
	  mkdir -p "$$(dirname "$(ENV_FILE)")" && \
	  docker run --rm --user "$$(id -u):$$(id -g)" -v "$$(cd "$$(dirname "$(ENV_FILE)")" && pwd):/out" \
	    $(TOOLS_IMAGE) lakehouse env init --path "/out/$$(basename "$(ENV_FILE)")"; fi

up: env images ## Build and start the stack (Kafka, Schema Registry, MinIO, PostgreSQL, Flink, Kestra), health-gated
	$(COMPOSE) up -d --wait $(SERVICES)
	@$(COMPOSE) ps
	@echo "Kestra UI: http://127.0.0.1:$(KESTRA_HOST_PORT)  (login: KESTRA_BASIC_AUTH_USERNAME / KESTRA_BASIC_AUTH_PASSWORD in $(ENV_FILE))"

down: ## Stop the stack (named volumes, i.e. all data, are kept)
	$(COMPOSE_ALL) down --remove-orphans

status ps: ## Containers, state and health
	@$(COMPOSE_ALL) ps --all

logs: ## Follow the logs of every service (SERVICE=kestra for one)
	$(COMPOSE_ALL) logs -f --tail=100 $(SERVICE)

reset: ## Delete topics, tables, manifests and gold (services keep running)
	$(LH_DOCKER) stack reset --yes

clean: ## Stop the stack and delete its named volumes (all data)
	$(COMPOSE_ALL) down --volumes --remove-orphans

create-topics: ## Create the Kafka topics (idempotent)
	$(LH_DOCKER) topics create

schema-register: ## Register the event schema (SCHEMA=file, default EVENT_SCHEMA_FILE) under <topic>-value
	$(LH_DOCKER) schema register $(if $(SCHEMA),--file $(SCHEMA))

schema-check: ## Is a changed schema file (SCHEMA=file) compatible with the registry? Registers nothing
	$(LH_DOCKER) schema check $(if $(SCHEMA),--file $(SCHEMA))

generate: ## Produce EVENTS events (MODE, RATE, SEED, DAYS, ANOMALY_RATE)
	$(LH_DOCKER) generate --events $(EVENTS) --mode $(MODE) $(if $(RATE),--rate $(RATE)) --seed $(SEED) --days $(DAYS) --anomaly-rate $(ANOMALY_RATE)

deadletter: ## Dead letters and rejected rows per reason (lakehouse deadletter show|export|republish for more)
	$(LH_DOCKER) deadletter list

process: process-bronze process-silver ## Flink bronze then silver

process-bronze: ## Flink: Kafka -> bronze + dead letter
	$(LH_DOCKER) flink bronze

process-silver: ## Flink: bronze -> silver (+ rejected)
	$(LH_DOCKER) flink silver $(if $(FULL),--full)

stream-start: ## Streaming mode: start the bronze + silver Flink jobs (resume from savepoint/checkpoint)
	$(LH_DOCKER) stream start

stream-stop: ## Stop the streaming jobs with a savepoint
	$(LH_DOCKER) stream stop

stream-status: ## Streaming jobs: state, checkpoints, Kafka lag, last Iceberg commits
	$(LH_DOCKER) stream status

dbt-build: ## dbt build (seeds, gold models, data + unit tests)
	$(LH_DOCKER) dbt build

dbt-test: ## dbt test against the existing gold
	$(LH_DOCKER) dbt test

verify: ## Reconcile manifests, Kafka, bronze, dead letter, silver, gold
	$(LH_DOCKER) verify

pipeline: ## Every step in order with a summary (the CLI directly, no orchestrator)
	$(LH_DOCKER) pipeline --events $(EVENTS) --anomaly-rate $(ANOMALY_RATE) --days $(DAYS) --seed $(SEED)

query: ## SQL shell on the gold marts, read-only (SQL="select ..." runs one statement)
	$(COMPOSE) run --rm --no-deps $(if $(SQL),-T) tools lakehouse query $(if $(SQL),-c "$$SQL")

# the page is written in the container and streamed out: no host directory mounted into it
REPORT_OUT := $(or $(OUT),.lakehouse/report/index.html)
report: ## Static HTML report on gold: daily revenue, hourly demand, top zones (OUT=file on this machine)
	@mkdir -p "$(dir $(REPORT_OUT))"
	@$(COMPOSE) run --rm --no-deps -T tools sh -c \
	  'lakehouse report --out /tmp/report.html >/dev/null && cat /tmp/report.html' > "$(REPORT_OUT).tmp"
	@mv "$(REPORT_OUT).tmp" "$(REPORT_OUT)" && echo "$(abspath $(REPORT_OUT))"

DOCS_PORT ?= 8088
dbt-docs: ## dbt docs generate, then serve them on http://127.0.0.1:$(DOCS_PORT) (Ctrl-C stops)
	@echo "dbt docs: http://127.0.0.1:$(DOCS_PORT) once generated (Ctrl-C stops)"
	$(COMPOSE) run --rm -p 127.0.0.1:$(DOCS_PORT):8088 tools lakehouse dbt docs --host 0.0.0.0 --port 8088

demo: up kestra-run ## Fresh machine to a reconciled run: build, start, run the Kestra flow to the end

kestra-ui: ## Print (and open, if possible) the Kestra UI address
	@echo "Kestra UI: http://127.0.0.1:$(KESTRA_HOST_PORT)  (login: KESTRA_BASIC_AUTH_USERNAME / KESTRA_BASIC_AUTH_PASSWORD in .env)"
	@command -v xdg-open >/dev/null 2>&1 && xdg-open "http://127.0.0.1:$(KESTRA_HOST_PORT)" >/dev/null 2>&1 || true

kestra-run: ## Trigger lakehouse.taxi_pipeline through the Kestra API, follow it, fail if it fails
	$(TOOLS_API) python scripts/kestra_run.py $(foreach kv,$(KESTRA_INPUTS),--input $(kv))

benchmark: ## BENCH_RUNS Kestra executions end to end; per-task timings in benchmarks/results/
	@mkdir -p benchmarks/results
	@for i in $$(seq 1 $(BENCH_RUNS)); do \
	  out="benchmarks/results/docker-kestra-$$(date -u +%Y%m%dT%H%M%SZ).json"; \
	  $(TOOLS_API) python scripts/kestra_run.py --json $(foreach kv,$(KESTRA_INPUTS),--input $(kv)) > "$$out" \
	    || { echo "benchmark run $$i failed (partial result: $$out)"; exit 1; }; \
	  echo "run $$i: $$out"; \
	done

dagster-up: env ## Start the Dagster services too (profile dagster; UI on 127.0.0.1:$(DAGSTER_HOST_PORT))
	$(COMPOSE) --profile dagster up -d --build --wait
	@echo "Dagster UI: http://127.0.0.1:$(DAGSTER_HOST_PORT)"

dagster-ui: ## Print (and open, if possible) the Dagster UI address
	@echo "Dagster UI: http://127.0.0.1:$(DAGSTER_HOST_PORT)"
	@command -v xdg-open >/dev/null 2>&1 && xdg-open "http://127.0.0.1:$(DAGSTER_HOST_PORT)" >/dev/null 2>&1 || true

dagster-run: ## Launch the Dagster job DAGSTER_JOB through its GraphQL API, follow it, fail if it fails
	$(TOOLS_API) python scripts/dagster_run.py --job $(DAGSTER_JOB)
