"""Freshness: how long from an event's production to its visibility in silver, and in gold.

For every row of ``silver.trips``: the commit time of the Iceberg snapshot that added the row's
data file (when a reader first sees the row) minus the row's Kafka timestamp (the producer's
create time). Read from table metadata (``inspect.entries``) and the ``kafka_timestamp`` column of
each data file, through the table's own FileIO (local disk or S3).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakehouse import catalog as cat
from lakehouse.settings import Settings


@dataclass
class Freshness:
    rows: int
    p50_s: float | None
    p95_s: float | None
    max_s: float | None
    min_s: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _quantile(values: pa.Array, q: float) -> float:
    return float(pc.quantile(values, q=q, interpolation="linear")[0].as_py())


def silver_freshness(settings: Settings, since_ms: int | None = None) -> Freshness:
    """Freshness over silver rows whose Kafka timestamp is at or after ``since_ms`` (epoch ms;
    None: all rows)."""
    table = cat.load_table(cat.load_catalog(settings), f"{settings.silver_namespace}.trips")
    if table is None or table.current_snapshot() is None:
        return Freshness(0, None, None, None, None)
    # a file a compaction wrote ("replace") holds rows that were visible before it: its commit
    # time is not theirs, so only files appended by the writer count (Freshness.rows says how
    # many rows were measured)
    committed = {
        s.snapshot_id: s.timestamp_ms
        for s in table.snapshots()
        if s.summary is None or s.summary.operation.value != "replace"
    }
    entries = table.inspect.entries()
    added_by: dict[str, int] = {}
    for status, snapshot_id, data_file in zip(
        entries["status"].to_pylist(),
        entries["snapshot_id"].to_pylist(),
        entries["data_file"].to_pylist(),
        strict=True,
    ):
        # ADDED (1) or EXISTING (0, a merged manifest keeps the adding snapshot's id)
        if status != 2:
            added_by[data_file["file_path"]] = snapshot_id
    lags: list[pa.Array] = []
    for task in table.scan().plan_files():
        path = task.file.file_path
        commit_ms = committed.get(added_by.get(path, -1))
        if commit_ms is None:  # expired or a compaction's: the rows' commit time is not known
            continue
        with table.io.new_input(path).open() as f:
            ts = pq.read_table(f, columns=["kafka_timestamp"])["kafka_timestamp"]
        us = pc.cast(ts.combine_chunks(), pa.int64())  # timestamp(6) -> microseconds
        if since_ms is not None:
            us = pc.filter(us, pc.greater_equal(us, since_ms * 1000))
        lag = pc.subtract(pa.scalar(commit_ms * 1000, pa.int64()), us)
        lags.append(pc.divide(pc.cast(lag, pa.float64()), 1e6))
    return summarize(lags)


def gold_build_lags(settings: Settings, visible_ms: int, since_ms: int | None = None) -> pa.Array:
    """Seconds from production (Kafka timestamp) to `visible_ms` for the trips the last dbt
    build loaded: gold's silver.trips holds that build's increment (dbt/plugins/taxi_iceberg.py),
    and a build's rows are visible once it has finished."""
    import duckdb

    with duckdb.connect(str(settings.gold_path), read_only=True) as con:
        rows = con.execute(
            "select epoch_us(kafka_timestamp) from fct_trips "
            "where trip_id in (select trip_id from silver.trips)"
        ).fetchall()
    values = pa.array([r[0] for r in rows], pa.int64())
    if since_ms is not None:
        values = pc.filter(values, pc.greater_equal(values, since_ms * 1000))
    lag = pc.subtract(pa.scalar(visible_ms * 1000, pa.int64()), values)
    return pc.divide(pc.cast(lag, pa.float64()), 1e6)


def summarize(lags: list[pa.Array]) -> Freshness:
    values = pa.chunked_array(lags, type=pa.float64()).combine_chunks() if lags else pa.array([])
    if len(values) == 0:
        return Freshness(0, None, None, None, None)
    return Freshness(
        rows=len(values),
        p50_s=round(_quantile(values, 0.5), 3),
        p95_s=round(_quantile(values, 0.95), 3),
        max_s=round(pc.max(values).as_py(), 3),
        min_s=round(pc.min(values).as_py(), 3),
    )
