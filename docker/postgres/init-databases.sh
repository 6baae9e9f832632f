#!/usr/bin/env bash
# Runs once, when the postgres-data volume is empty (docker-entrypoint-initdb.d): one database
# each for the Iceberg JDBC catalog, Kestra (repository + queue) and Dagster (run/event storage),
# owned by POSTGRES_USER. Names come from .env (CATALOG_POSTGRES_DB, KESTRA_POSTGRES_DB,
# DAGSTER_POSTGRES_DB); no credential is written here.
set -euo pipefail
for db in "${CATALOG_POSTGRES_DB:?}" "${KESTRA_POSTGRES_DB:?}" "${DAGSTER_POSTGRES_DB:?}"; do
  if ! psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
    echo "creating database $db"
    psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres \
      -c "CREATE DATABASE \"$db\" OWNER \"$POSTGRES_USER\""
  fi
done
