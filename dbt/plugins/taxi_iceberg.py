"""dbt-duckdb plugin: silver Iceberg tables into the gold DuckDB file, incrementally.

dbt-duckdb's built-in `iceberg` plugin copies the whole table into DuckDB every time a node
references it: a build then costs what silver holds, not what is new. This subclass loads only
the rows committed since the snapshot gold last consumed, and the whole table only when it must.

* Position. Gold records, per source table, the silver snapshot (table uuid, snapshot id,
  sequence number, total rows) it consumed, in the DuckDB file (`silver.iceberg_consumed`), so
  deleting the file rebuilds gold from scratch. A load is recorded in `silver.iceberg_loads`;
  the model that consumes it (fct_trips' post-hook, or the run's end for a table only tested)
  promotes it with the `consume_silver_load` macro in the same transaction as its rows. A build
  that fails before that point leaves the position where it was: the next load is a superset.
* Increment. The live data files whose data sequence number is above the consumed one: the
  files appended since (Flink's batch INSERT INTO and streaming commits), plus the output of a
  compaction that started after it (old rows; fct_trips anti-joins on trip_id, so a row read
  twice is inserted once). Manifests written before the consumed snapshot are never opened.
* Full load (every row, and gold rebuilds the models that read it) when dbt runs with
  --full-refresh, when there is no position yet, when the consuming model is missing, when the
  table was recreated, when the consumed snapshot is no longer an ancestor of the current one
  (rollback, or expired), or when a snapshot since then overwrote or deleted rows (Flink's
  `lakehouse flink silver --full` is an INSERT OVERWRITE): appends and compactions ("replace")
  are the only operations that keep every row gold already has.
* One snapshot per dbt invocation: the first load pins the current snapshot, later references
  in the same invocation get the same rows.

profiles.yml lists every pyiceberg catalog property, each read with env_var() and an empty
default for the optional ones (the s3.* keys); `catalog_properties` drops the empty ones, so a
local ``file://`` warehouse gets no s3.* key (a YAML key cannot be left out conditionally, and
one Jinja expression for the dict would break dbt's DBT_ENV_SECRET_ scrubbing).
"""

from __future__ import annotations

import threading
from typing import Any

import pyarrow as pa
from dbt.adapters.duckdb.plugins import iceberg
from dbt.adapters.duckdb.utils import SourceConfig
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io.pyarrow import ArrowScan
from pyiceberg.manifest import ManifestContent
from pyiceberg.table import FileScanTask, Table

# the plan (full or incremental) is the one GOLD_ENGINE=trino uses too
from lakehouse.silver_increment import LoadPlan, Position, plan_load, total_records

LOADS_TABLE = "silver.iceberg_loads"
CONSUMED_TABLE = "silver.iceberg_consumed"
_STATE_DDL = (
    f"""CREATE TABLE IF NOT EXISTS {LOADS_TABLE} (
        source_table VARCHAR, table_uuid VARCHAR, snapshot_id BIGINT, sequence_number BIGINT,
        total_records BIGINT, rows_loaded BIGINT, files_read INTEGER, mode VARCHAR,
        reason VARCHAR, invocation_id VARCHAR, loaded_at TIMESTAMP)""",
    f"""CREATE TABLE IF NOT EXISTS {CONSUMED_TABLE} (
        source_table VARCHAR, table_uuid VARCHAR, snapshot_id BIGINT, sequence_number BIGINT,
        total_records BIGINT, invocation_id VARCHAR, consumed_at TIMESTAMP)""",
)


def catalog_properties(config: dict[str, Any]) -> dict[str, str]:
    """Drop unset (None or blank) properties; pass the rest to pyiceberg as strings."""
    properties = {}
    for key, value in config.items():
        if value is None or str(value).strip() == "":
            continue
        # YAML may turn `true` into a bool; pyiceberg wants "true"/"false"
        properties[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return properties


def files_after(table: Table, snapshot: Any, sequence_number: int) -> list[FileScanTask]:
    """Live data files of `snapshot` whose data sequence number is above `sequence_number`."""
    tasks = []
    for manifest in snapshot.manifests(table.io):
        if manifest.content != ManifestContent.DATA:
            # silver is append/overwrite only; delete files would need pyiceberg's full planner
            raise RuntimeError(
                f"{table.name()} has delete files: run `lakehouse dbt build --full-refresh`"
            )
        # a manifest's entries are never newer than the manifest itself
        if manifest.sequence_number <= sequence_number:
            continue
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            if entry.sequence_number is not None and entry.sequence_number > sequence_number:
                tasks.append(FileScanTask(entry.data_file))
    return tasks


class Plugin(iceberg.Plugin):
    def initialize(self, config: dict[str, Any]) -> None:
        super().initialize(catalog_properties(config))
        self._conn: Any = None
        self._lock = threading.Lock()
        self._loaded: dict[tuple[str, str], pa.Table] = {}

    def configure_connection(self, conn: Any) -> None:
        # the environment's DuckDB connection: gold's position lives in the same file
        self._conn = conn

    def load(self, source_config: SourceConfig) -> pa.Table:
        from dbt.flags import get_flags
        from dbt_common.invocation import get_invocation_id

        table_name = source_config.get("iceberg_table", "{schema}.{identifier}").format(
            **source_config.as_dict()
        )
        key = (get_invocation_id(), table_name)
        with self._lock:
            if key not in self._loaded:
                full_refresh = bool(getattr(get_flags(), "FULL_REFRESH", False))
                self._loaded[key] = self._load(source_config, table_name, key[0], full_refresh)
            return self._loaded[key]

    def _load(
        self, source_config: SourceConfig, table_name: str, invocation_id: str, full_refresh: bool
    ) -> pa.Table:
        table = self._catalog.load_table(table_name)
        snapshot = table.current_snapshot()
        cursor = self._conn.cursor()
        try:
            for ddl in _STATE_DDL:
                cursor.execute(ddl)
            consumer = source_config.get("gold_consumer")
            if consumer and not cursor.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                "AND table_name = ?", [consumer]
            ).fetchall()[0][0]:  # fmt: skip
                plan = LoadPlan("full", f"gold has no {consumer} yet")
            else:
                rows = cursor.execute(
                    f"SELECT table_uuid, snapshot_id, sequence_number FROM {CONSUMED_TABLE} "
                    "WHERE source_table = ?", [source_config.identifier]
                ).fetchall()  # fmt: skip
                consumed = Position(*rows[0]) if rows else None
                plan = plan_load(table.metadata, consumed, full_refresh=full_refresh)

            files_read = -1
            if snapshot is None:
                data = table.scan().to_arrow()  # empty, with the table's schema
            elif plan.mode == "full":
                data = table.scan(snapshot_id=snapshot.snapshot_id).to_arrow()
            else:
                tasks = files_after(table, snapshot, plan.after_sequence_number)
                files_read = len(tasks)
                data = ArrowScan(table.metadata, table.io, table.schema(), AlwaysTrue()).to_table(
                    tasks
                )
            cursor.execute(
                f"INSERT INTO {LOADS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
                [source_config.identifier, str(table.metadata.table_uuid),
                 snapshot.snapshot_id if snapshot else None,
                 snapshot.sequence_number if snapshot else None,
                 total_records(snapshot) if snapshot else 0, data.num_rows, files_read,
                 plan.mode, plan.reason, invocation_id],
            )  # fmt: skip
        finally:
            cursor.close()
        return data
