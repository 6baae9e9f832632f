"""Iceberg catalog access from Python (pyiceberg SqlCatalog = Flink's JdbcCatalog, same tables)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError
from pyiceberg.table import Table

from lakehouse.settings import Settings


def load_catalog(settings: Settings) -> Catalog:
    if settings.catalog_backend == "sqlite":
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    props = settings.pyiceberg_properties()
    props.pop("type")
    return SqlCatalog(settings.iceberg_catalog_name, **props)


def load_table(catalog: Catalog, identifier: str) -> Table | None:
    try:
        return catalog.load_table(identifier)
    except (NoSuchTableError, NoSuchNamespaceError):
        return None


def row_count(table: Table | None) -> int:
    """Rows in the current snapshot, from metadata only (our tables carry no delete files)."""
    if table is None or table.current_snapshot() is None:
        return 0
    total = 0
    for task in table.scan().plan_files():
        if task.delete_files:
            raise RuntimeError(
                f"{table.name()} has delete files; counts from metadata would be wrong"
            )
        total += task.file.record_count
    return total


def read_columns(table: Table | None, columns: tuple[str, ...], row_filter: str = "") -> pa.Table:
    if table is None or table.current_snapshot() is None:
        return pa.table({c: pa.array([]) for c in columns})
    scan = table.scan(selected_fields=columns, row_filter=row_filter or "True")
    return scan.to_arrow()


def max_offsets(tables: list[Table | None], topic: str) -> dict[int, int]:
    """Highest Kafka offset per partition of `topic` already stored in the given tables."""
    out: dict[int, int] = {}
    for table in tables:
        # silver tables hold one topic's rows and have no kafka_topic column
        has_topic = table is not None and "kafka_topic" in {f.name for f in table.schema().fields}
        cols = ("kafka_topic",) if has_topic else ()
        data = read_columns(table, (*cols, "kafka_partition", "kafka_offset"))
        if data.num_rows == 0:
            continue
        if has_topic:
            data = data.filter(pc.equal(data["kafka_topic"], topic))
        grouped = data.group_by("kafka_partition").aggregate([("kafka_offset", "max")])
        for part, off in zip(
            grouped["kafka_partition"].to_pylist(),
            grouped["kafka_offset_max"].to_pylist(),
            strict=True,
        ):
            out[part] = max(out.get(part, -1), off)
    return out


#: Optional columns added to the tables after their first release, per (namespace setting, table),
#: in the order flink/sql declares them (last). ``add_missing_columns`` appends them to tables
#: created before, so a Flink INSERT's column list matches old and new tables alike.
ADDED_COLUMNS: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("bronze_namespace", "raw_trips"): (("schema_id", "int"), ("cbd_congestion_fee", "decimal")),
    ("bronze_namespace", "trips_dead_letter"): (
        ("schema_id", "int"),
        ("value_bytes", "binary"),
        ("key_bytes", "binary"),
    ),
    ("silver_namespace", "trips"): (
        ("cbd_congestion_fee", "decimal"),
        ("record_kind", "string"),
        ("amount_check", "string"),
    ),
    ("silver_namespace", "trips_rejected"): (("cbd_congestion_fee", "decimal"),),
}


def add_missing_columns(settings: Settings) -> list[str]:
    """Iceberg schema evolution of existing tables (metadata only, no rewrite); returns what
    was added as ``table.column``."""
    from pyiceberg.types import BinaryType, DecimalType, IntegerType, StringType

    types = {
        "int": IntegerType(),
        "decimal": DecimalType(10, 2),
        "binary": BinaryType(),
        "string": StringType(),
    }
    catalog = load_catalog(settings)
    added: list[str] = []
    for (ns_setting, name), columns in ADDED_COLUMNS.items():
        table = load_table(catalog, f"{getattr(settings, ns_setting)}.{name}")
        if table is None:
            continue  # created by the job's DDL with every column
        have = {f.name for f in table.schema().fields}
        missing = [(c, t) for c, t in columns if c not in have]
        if not missing:
            continue
        with table.update_schema() as update:
            for column, kind in missing:
                update.add_column(column, types[kind])
        added += [f"{table.name()[-1]}.{c}" for c, _ in missing]
    return added


def snapshot_info(table: Table | None) -> dict[str, Any]:
    if table is None or table.current_snapshot() is None:
        return {"snapshot_id": None}
    snap = table.current_snapshot()
    summary = snap.summary
    return {
        "snapshot_id": snap.snapshot_id,
        "committed_at_ms": snap.timestamp_ms,
        "operation": str(summary.operation.value) if summary else None,
    }
