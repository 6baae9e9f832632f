# The `lakehouse` CLI for the compose stack: `make <step>` with RUNTIME=docker runs
# `docker compose run --rm tools lakehouse ...`, the same CLI the Kestra tasks and Dagster call.
# Also the image of minio-init (warehouse bucket) and of the Dagster services (profile dagster).
# Build context: the repository root.
# ---------------------------------------------------------------- Flink's lib/ for `lakehouse maintain`
# The Iceberg maintenance tool (flink/maintenance) runs with Flink's lib/ on its classpath, as in
# the Flink image: the distribution's jars plus the one jar list (flink/jars/pom.xml).
FROM flink:2.0.1-java17 AS flink-dist

FROM maven:3.9.11-eclipse-temurin-17 AS jars
WORKDIR /build
COPY flink/jars/pom.xml jars/pom.xml
RUN mvn -B -q -C -f jars/pom.xml dependency:copy-dependencies \
        -DexcludeTransitive=true -DoutputDirectory=/out/lib \
 && rm /out/lib/flink-sql-gateway-*.jar
COPY flink/maintenance/pom.xml maintenance/pom.xml
COPY flink/maintenance/src maintenance/src
RUN mvn -B -q -C -f maintenance/pom.xml package -DskipTests \
 && mkdir -p /out/opt && cp maintenance/target/taxi-iceberg-maintenance.jar /out/opt/

# ---------------------------------------------------------------- the tools image
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
# Java 17 + Flink's lib/ + the maintenance jar (lakehouse maintain reads FLINK_HOME)
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/*
COPY --from=flink-dist /opt/flink/lib/ /opt/flink/lib/
COPY --from=jars /out/lib/ /opt/flink/lib/
COPY --from=jars /out/opt/ /opt/flink/opt/
ENV FLINK_HOME=/opt/flink

WORKDIR /opt/lakehouse/src
COPY pyproject.toml ./
RUN python -m venv /opt/lakehouse/venv \
 && python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print("\n".join(p["dependencies"] + p["optional-dependencies"]["orchestration"] + p["optional-dependencies"]["registry"]))' \
    > /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt

# the project itself, editable: lakehouse.settings.REPO_ROOT resolves to /opt/lakehouse/src, where
# the CLI finds flink/sql, dbt/ and .env.example (a plain wheel install would lose them)
COPY . /opt/lakehouse/src
RUN pip install --no-deps -e "/opt/lakehouse/src[orchestration,registry]" \
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
