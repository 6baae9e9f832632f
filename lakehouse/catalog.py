"""Iceberg catalog access from Python (pyiceberg SqlCatalog = Flink's JdbcCatalog, same tables)."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

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


class DeclaredColumn(NamedTuple):
    """A column as flink/sql's CREATE TABLE declares it (lakehouse.flink.jobs.declared_tables)."""

    name: str
    flink_type: str  # INT, BIGINT, STRING, DOUBLE, DECIMAL(10, 2), TIMESTAMP(6), DATE, BYTES
    not_null: bool


def _iceberg_type(flink_type: str) -> Any:
    from pyiceberg import types as t

    simple = {
        "INT": t.IntegerType(),
        "BIGINT": t.LongType(),
        "STRING": t.StringType(),
        "DOUBLE": t.DoubleType(),
        "BOOLEAN": t.BooleanType(),
        "BYTES": t.BinaryType(),
        "DATE": t.DateType(),
        "TIMESTAMP(6)": t.TimestampType(),
    }
    if flink_type in simple:
        return simple[flink_type]
    m = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", flink_type)
    if m is None:
        raise ValueError(f"no Iceberg type for the Flink type {flink_type}")
    return t.DecimalType(int(m.group(1)), int(m.group(2)))


def add_missing_columns(settings: Settings, declared: dict[str, list[DeclaredColumn]]) -> list[str]:
    """Iceberg schema evolution of existing tables (metadata only, no rewrite): the columns
    ``declared`` (flink/sql's CREATE TABLEs) that a table created by an older release lacks are
    appended, optional. Returns what was added as ``table.column``."""
    catalog = load_catalog(settings)
    added: list[str] = []
    for name, columns in declared.items():
        table = load_table(catalog, name)
        if table is None:
            continue  # created by the job's DDL with every column
        have = {f.name for f in table.schema().fields}
        missing = [c for c in columns if c.name not in have]
        if not missing:
            continue
        required = [c.name for c in missing if c.not_null]
        if required:
            raise RuntimeError(
                f"{name} lacks the required column(s) {required}: a required column cannot be "
                "added to existing rows; declare it nullable"
            )
        with table.update_schema() as update:
            for c in missing:
                update.add_column(c.name, _iceberg_type(c.flink_type))
        added += [f"{table.name()[-1]}.{c.name}" for c in missing]
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
