#!/usr/bin/env bash
# sqlfluff on dbt's models (.sqlfluff: dbt templater, DuckDB dialect, the house style), run by
# `make lint`. The dbt templater compiles each model, so it gets a throwaway gold: an in-memory
# DuckDB and, in a temporary directory, an Iceberg catalog holding an empty silver.trips (the
# source the iceberg plugin reads when stg_trips compiles). No service, no built warehouse.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$VENV/bin/python" - "$tmp" <<'PY'
import sys

import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog

home = sys.argv[1]
catalog = SqlCatalog("lakehouse", uri=f"sqlite:///{home}/catalog.db", warehouse=f"file://{home}/warehouse")
catalog.create_namespace("silver")
catalog.create_table("silver.trips", pa.schema([("trip_id", pa.string())]))
PY
GOLD_ENGINE=duckdb GOLD_DUCKDB_PATH=:memory: ICEBERG_CATALOG_NAME=lakehouse SILVER_NAMESPACE=silver \
  ICEBERG_CATALOG_URI="sqlite:///$tmp/catalog.db" ICEBERG_WAREHOUSE="file://$tmp/warehouse" ZONE_LOOKUP_CSV= \
  "$VENV/bin/sqlfluff" lint -q dbt/models
