"""What a gold build reads of each silver Iceberg table: every row, or only the rows committed
since the snapshot gold last consumed. One plan for both gold engines:

* DuckDB: dbt/plugins/taxi_iceberg.py plans each source when dbt first reads it, loads those
  rows into the gold file and keeps gold's position there.
* Trino: `trino_silver_loads` plans every source before dbt starts (from the Iceberg metadata
  and gold's position, an Iceberg table beside gold) and passes the plan to dbt as var
  `silver_loads`; dbt/macros/silver_loads.sql turns it into views on exactly those snapshots.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyiceberg.table.metadata import TableMetadata

    from lakehouse.settings import Settings

# Operations that keep every row of their parent snapshot (Iceberg snapshot summary).
ROW_PRESERVING_OPERATIONS = frozenset({"append", "replace"})

# the silver tables gold reads (dbt/models/staging/_sources.yml) -> the model that consumes
# each load (its `gold_consumer`; None: only tested, consumed when the build passed)
GOLD_SOURCES: dict[str, str | None] = {"trips": "fct_trips", "trips_rejected": None}


@dataclass(frozen=True)
class Position:
    """A silver snapshot gold has consumed."""

    table_uuid: str
    snapshot_id: int
    sequence_number: int


@dataclass(frozen=True)
class LoadPlan:
    mode: str  # "full" | "incremental"
    reason: str
    after_sequence_number: int = 0  # incremental: files above this data sequence number


def plan_load(
    metadata: TableMetadata, consumed: Position | None, *, full_refresh: bool = False
) -> LoadPlan:
    """Decide whether the current snapshot can be read as an increment over `consumed`."""
    if full_refresh:
        return LoadPlan("full", "dbt --full-refresh")
    if consumed is None:
        return LoadPlan("full", "no silver snapshot consumed yet")
    if str(metadata.table_uuid) != consumed.table_uuid:
        return LoadPlan("full", "the silver table was recreated (new table uuid)")
    current = metadata.current_snapshot()
    if current is None:
        return LoadPlan("full", "the silver table has no snapshot any more")
    if current.snapshot_id == consumed.snapshot_id:
        return LoadPlan("incremental", "no new snapshot", consumed.sequence_number)
    snapshot: Any = current
    while snapshot.snapshot_id != consumed.snapshot_id:
        if snapshot.sequence_number <= consumed.sequence_number:
            return LoadPlan("full", f"snapshot {consumed.snapshot_id} is no longer an ancestor")
        operation = snapshot.summary.operation.value if snapshot.summary else "unknown"
        if operation not in ROW_PRESERVING_OPERATIONS:
            return LoadPlan(
                "full",
                f"snapshot {snapshot.snapshot_id} ({operation}) removed or rewrote silver rows",
            )
        if snapshot.parent_snapshot_id is None:
            return LoadPlan("full", f"snapshot {consumed.snapshot_id} is no longer an ancestor")
        snapshot = metadata.snapshot_by_id(snapshot.parent_snapshot_id)
        if snapshot is None:
            return LoadPlan("full", "snapshots since the consumed one have expired")
    return LoadPlan("incremental", "new snapshots since the consumed one",
                    after_sequence_number=consumed.sequence_number)  # fmt: skip


def total_records(snapshot: Any) -> int | None:
    value = snapshot.summary.additional_properties.get("total-records") if snapshot else None
    return int(value) if value is not None else None


@dataclass(frozen=True)
class TrinoLoad:
    """One source's load as dbt reads it (var silver_loads.<table>)."""

    mode: str
    reason: str
    table_uuid: str
    snapshot_id: int | None  # the snapshot this build reads up to (None: no snapshot yet)
    sequence_number: int | None
    total_records: int
    after_snapshot_id: int | None  # incremental: the consumed snapshot (exclusive)


def consumed_positions(settings: Settings) -> dict[str, Position]:
    """Gold's position per silver table (GOLD_ENGINE=trino): the Iceberg table dbt writes in
    `<gold>_silver.iceberg_consumed` (macros/silver_loads.sql, consume_silver_load)."""
    from lakehouse import catalog as cat

    table = cat.load_table(
        cat.load_catalog(settings), f"{settings.trino_inputs_namespace}.iceberg_consumed"
    )
    if table is None or table.current_snapshot() is None:
        return {}
    rows = table.scan().to_arrow().to_pylist()
    return {
        row["source_table"]: Position(row["table_uuid"], row["snapshot_id"], row["sequence_number"])
        for row in rows
    }


def trino_silver_loads(
    settings: Settings, *, full_refresh: bool = False
) -> dict[str, dict[str, Any]]:
    """The plan of every silver source for a dbt invocation on Trino (var silver_loads)."""
    from lakehouse import catalog as cat

    catalog = cat.load_catalog(settings)
    consumed = consumed_positions(settings)
    loads: dict[str, dict[str, Any]] = {}
    for name, consumer in GOLD_SOURCES.items():
        table = cat.load_table(catalog, f"{settings.silver_namespace}.{name}")
        if table is None:
            raise RuntimeError(
                f"silver table {settings.silver_namespace}.{name} does not exist: run the Flink "
                "steps first (make process)"
            )
        snapshot = table.current_snapshot()
        if consumer and cat.load_table(catalog, f"{settings.gold_namespace}.{consumer}") is None:
            plan = LoadPlan("full", f"gold has no {consumer} yet")
        else:
            plan = plan_load(table.metadata, consumed.get(name), full_refresh=full_refresh)
        position = consumed.get(name)
        loads[name] = asdict(
            TrinoLoad(
                mode=plan.mode,
                reason=plan.reason,
                table_uuid=str(table.metadata.table_uuid),
                snapshot_id=snapshot.snapshot_id if snapshot else None,
                sequence_number=snapshot.sequence_number if snapshot else None,
                total_records=total_records(snapshot) or 0,
                after_snapshot_id=position.snapshot_id
                if plan.mode == "incremental" and position
                else None,
            )
        )
    return loads
