# The lakehouse image: the `lakehouse` CLI with the engines of the native runtime, installed by the
# same script (scripts/bootstrap.sh: the venv from pyproject.toml's pins, Flink from the
# apache-flink wheels + flink/jars/pom.xml, the UDF and maintenance jars built from flink/, Kafka
# from kafka/pom.xml). Services run from it with `lakehouse stack serve <service>`, the native
# stack's own configuration: kafka, flink-jobmanager, flink-taskmanager(s), flink-sql-gateway;
# also tools (one-off steps), generator, minio-init and Dagster. registry/ and postgres/ build on it.
#
# Base: debian:bookworm-slim, the one base of every image (docker/engine.sh builds it with
# debootstrap where no registry can be pulled from). Build context: the repository root.
# HTTPS downloads trust the build secret extra_ca when given (docker/with-extra-ca.sh).
FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=false
# Java 17 (Flink 2.0, Kafka 4; the JDK builds our jars), Python 3.11, Maven for the jar lists;
# curl for health checks, procps for Flink's scripts
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv openjdk-17-jdk-headless \
      maven curl ca-certificates procps \
 && rm -rf /var/lib/apt/lists/*

# one uid for every container that writes the shared volumes (engines, tools, kestra, dagster);
# the mount points exist with that owner, so new named volumes get it too
ARG LAKEHOUSE_UID=10001
RUN groupadd --gid "$LAKEHOUSE_UID" lakehouse \
 && useradd --uid "$LAKEHOUSE_UID" --gid lakehouse --create-home --shell /usr/sbin/nologin lakehouse \
 && mkdir -p /data/lakehouse/kafka /data/dagster \
 && chown -R lakehouse:lakehouse /data

# the engines and the dependencies first: this layer is rebuilt only when a pin or our jars change
ENV TAXI_CACHE=/opt/taxi CACHE_DIR=/opt/taxi TAXI_VENV=/opt/taxi/venv TAXI_EXTRAS=orchestration,registry
WORKDIR /opt/lakehouse/src
COPY pyproject.toml ./
COPY scripts/bootstrap.sh scripts/
COPY kafka/pom.xml kafka/
COPY flink/jars/pom.xml flink/jars/
COPY flink/udf/pom.xml flink/udf/
COPY flink/udf/src flink/udf/src
COPY flink/maintenance/pom.xml flink/maintenance/
COPY flink/maintenance/src flink/maintenance/src
# empty packages for the editable install; the sources arrive below
RUN for p in lakehouse generator/taxi_generator dagster/taxi_dagster; do \
      mkdir -p "$p" && touch "$p/__init__.py"; done
RUN --mount=type=secret,id=extra_ca \
    --mount=type=bind,source=docker/with-extra-ca.sh,target=/usr/local/bin/with-extra-ca \
    with-extra-ca bash scripts/bootstrap.sh \
 && rm -rf /root/.m2 /root/.cache /opt/taxi/pip /opt/taxi/*-build
ENV PATH=/opt/taxi/venv/bin:$PATH

# the project itself (editable: lakehouse.settings.REPO_ROOT is /opt/lakehouse/src, where the CLI
# finds flink/sql, dbt/ and .env.example)
COPY . /opt/lakehouse/src
# Dagster loads the dbt manifest prepared at build time; dbt/ stays writable for the runtime user
RUN lakehouse --help >/dev/null \
 && LAKEHOUSE_HOME=/tmp/lakehouse-build PYTHONPATH=/opt/lakehouse/src/dagster \
      python -m taxi_dagster.cli prepare >/dev/null \
 && rm -rf /tmp/lakehouse-build \
 && chown -R lakehouse:lakehouse /opt/lakehouse/src/dbt

USER lakehouse
ENV LAKEHOUSE_HOME=/data/lakehouse
CMD ["lakehouse", "--help"]
