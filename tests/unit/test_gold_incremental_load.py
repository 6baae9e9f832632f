"""How gold decides what to load from a silver Iceberg table (dbt/plugins/taxi_iceberg.py).

Real pyiceberg tables (a SQLite catalog, a local warehouse): appends are read as an increment
of exactly the new files; an overwrite, a rollback, a recreated table or --full-refresh force a
full load."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io.pyarrow import ArrowScan

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "dbt" / "plugins"))
import taxi_iceberg  # noqa: E402
from taxi_iceberg import Position, files_after, plan_load, total_records  # noqa: E402

SCHEMA = pa.schema([pa.field("trip_id", pa.string(), nullable=False), pa.field("n", pa.int64())])


def _rows(*ids: str) -> pa.Table:
    return pa.table({"trip_id": list(ids), "n": [len(i) for i in ids]}, schema=SCHEMA)


@pytest.fixture()
def table(tmp_path: Path):  # type: ignore[no-untyped-def]
    catalog = SqlCatalog(
        "t", uri=f"sqlite:///{tmp_path}/catalog.db", warehouse=f"file://{tmp_path}/warehouse"
    )
    catalog.create_namespace("silver")
    return catalog.create_table("silver.trips", schema=SCHEMA)


def _position(table) -> Position:  # type: ignore[no-untyped-def]
    snap = table.current_snapshot()
    return Position(str(table.metadata.table_uuid), snap.snapshot_id, snap.sequence_number)


def _read(table, plan) -> list[str]:  # type: ignore[no-untyped-def]
    tasks = files_after(table, table.current_snapshot(), plan.after_sequence_number)
    data = ArrowScan(table.metadata, table.io, table.schema(), AlwaysTrue()).to_table(tasks)
    return sorted(data["trip_id"].to_pylist())


def test_first_load_and_full_refresh_are_full(table) -> None:  # type: ignore[no-untyped-def]
    table.append(_rows("a", "b"))
    assert plan_load(table.metadata, None).mode == "full"
    consumed = _position(table)
    assert plan_load(table.metadata, consumed, full_refresh=True).reason == "dbt --full-refresh"
    unchanged = plan_load(table.metadata, consumed)
    assert unchanged.mode == "incremental" and _read(table, unchanged) == []


def test_appends_are_read_as_exactly_the_new_rows(table) -> None:  # type: ignore[no-untyped-def]
    table.append(_rows("a", "b"))
    consumed = _position(table)
    table.append(_rows("c"))
    table.append(_rows("d", "e"))
    plan = plan_load(table.metadata, consumed)
    assert plan.mode == "incremental" and plan.after_sequence_number == consumed.sequence_number
    assert _read(table, plan) == ["c", "d", "e"]
    assert total_records(table.current_snapshot()) == 5


def test_an_overwrite_since_the_consumed_snapshot_forces_a_full_load(table) -> None:  # type: ignore[no-untyped-def]
    table.append(_rows("a", "b"))
    consumed = _position(table)
    table.append(_rows("c"))
    table.overwrite(_rows("a", "c"))  # rows removed: an increment cannot express that
    plan = plan_load(table.metadata, consumed)
    # pyiceberg writes it as a delete then an append; Flink INSERT OVERWRITE as "overwrite"
    assert plan.mode == "full" and "(delete) removed or rewrote" in plan.reason


def test_a_rollback_past_the_consumed_snapshot_forces_a_full_load(table) -> None:  # type: ignore[no-untyped-def]
    table.append(_rows("a"))
    first = table.current_snapshot().snapshot_id
    table.append(_rows("b"))
    consumed = _position(table)
    table.manage_snapshots().rollback_to_snapshot(first).commit()
    table.append(_rows("c"))  # a new branch of history: "b" is gone
    plan = plan_load(table.metadata, consumed)
    assert plan.mode == "full" and "no longer an ancestor" in plan.reason


def test_a_recreated_table_forces_a_full_load(table, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    table.append(_rows("a"))
    consumed = _position(table)
    other = Position("00000000-0000-0000-0000-000000000000", consumed.snapshot_id, 1)
    assert "recreated" in plan_load(table.metadata, other).reason
    assert plan_load(table.metadata, consumed).mode == "incremental"


def test_empty_catalog_properties_are_dropped() -> None:
    props = taxi_iceberg.catalog_properties(
        {"uri": "sqlite://", "s3.endpoint": "", "s3.region": None, "s3.path-style-access": True}
    )
    assert props == {"uri": "sqlite://", "s3.path-style-access": "true"}
