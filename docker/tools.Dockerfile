# The `lakehouse` CLI for the compose stack: `make <step>` with RUNTIME=docker runs
# `docker compose run --rm tools lakehouse ...`, the same CLI the Kestra tasks and Dagster call.
# Also the image of minio-init (warehouse bucket) and of the Dagster services (profile dagster).
# Build context: the repository root.
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    PATH=/opt/lakehouse/venv/bin:$PATH

# one uid for every container that writes the shared lakehouse-data volume (tools, kestra, dagster)
ARG LAKEHOUSE_UID=10001
RUN groupadd --gid "$LAKEHOUSE_UID" lakehouse \
 && useradd --uid "$LAKEHOUSE_UID" --gid lakehouse --create-home --shell /usr/sbin/nologin lakehouse \
 && mkdir -p /data/lakehouse /data/dagster \
 && chown -R lakehouse:lakehouse /data

# dependencies first (cached until pyproject.toml changes): the exact pins of pyproject.toml
WORKDIR /opt/lakehouse/src
COPY pyproject.toml ./
RUN python -m venv /opt/lakehouse/venv \
 && python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print("\n".join(p["dependencies"] + p["optional-dependencies"]["orchestration"]))' \
    > /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt

# the project itself, editable: lakehouse.settings.REPO_ROOT resolves to /opt/lakehouse/src, where
# the CLI finds flink/sql, dbt/ and .env.example (a plain wheel install would lose them)
COPY . /opt/lakehouse/src
RUN pip install --no-deps -e "/opt/lakehouse/src[orchestration]" \
 && lakehouse --help >/dev/null
# Dagster loads the dbt manifest prepared at build time (dbt/target/dagster/manifest.json);
# dbt/ stays writable for the runtime user (dbt's target and partial-parse files)
RUN if [ -d dagster/taxi_dagster ]; then \
      LAKEHOUSE_HOME=/tmp/lakehouse-build PYTHONPATH=/opt/lakehouse/src/dagster \
        python -m taxi_dagster.cli prepare; \
    fi \
 && rm -rf /tmp/lakehouse-build \
 && chown -R lakehouse:lakehouse /opt/lakehouse/src/dbt

USER lakehouse
ENV LAKEHOUSE_HOME=/data/lakehouse
CMD ["lakehouse", "--help"]
