"""Completion check after the Flink steps: has everything in Kafka reached bronze and silver?

Bronze (`bronze.raw_trips` + `bronze.trips_dead_letter`) is complete when, for every partition of
the raw topic, the highest Kafka offset stored in a committed Iceberg snapshot is the partition's
last offset (end offset - 1). Silver is complete when `silver.trips` has a committed snapshot no
older than bronze's newest one (silver is an INSERT OVERWRITE of bronze, so an older snapshot
means silver was computed before the last bronze commit).

Orchestrators call it between the Flink steps and dbt (`lakehouse flink wait`), instead of a
fixed sleep: it returns as soon as the data is there and fails with what is missing after the
timeout.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from lakehouse import catalog as cat
from lakehouse import topics
from lakehouse.settings import Settings


class ProcessingIncomplete(RuntimeError):
    """The timeout passed and bronze/silver still do not cover the topic."""

    def __init__(self, status: WaitStatus) -> None:
        self.status = status
        super().__init__(
            f"processing not complete after {status.waited_s:.0f}s: " + "; ".join(status.missing)
        )


@dataclass
class WaitStatus:
    complete: bool = False
    checks: int = 0
    waited_s: float = 0.0
    end_offsets: dict[int, int] = field(default_factory=dict)
    bronze_max_offsets: dict[int, int] = field(default_factory=dict)
    bronze_snapshot_ms: int | None = None
    silver_snapshot_ms: int | None = None
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        # JSON objects have string keys; keep partitions readable and stable
        d["end_offsets"] = {str(k): v for k, v in sorted(self.end_offsets.items())}
        d["bronze_max_offsets"] = {str(k): v for k, v in sorted(self.bronze_max_offsets.items())}
        return d


def _newest_ms(*tables: Any) -> int | None:
    stamps = [
        info["committed_at_ms"]
        for info in (cat.snapshot_info(t) for t in tables)
        if info.get("snapshot_id") is not None
    ]
    return max(stamps) if stamps else None


def check_processing(settings: Settings) -> WaitStatus:
    """One look at Kafka and the Iceberg catalog (no waiting)."""
    status = WaitStatus()
    marks = topics.watermarks(settings, settings.topic_raw)
    # the last offset per partition that holds a message (idempotent producer, no transactions:
    # offsets are contiguous, so the last record sits at end - 1)
    status.end_offsets = {p: high for p, (low, high) in marks.items() if high > low}

    catalog = cat.load_catalog(settings)
    bns, sns = settings.bronze_namespace, settings.silver_namespace
    raw = cat.load_table(catalog, f"{bns}.raw_trips")
    dlq = cat.load_table(catalog, f"{bns}.trips_dead_letter")
    trips = cat.load_table(catalog, f"{sns}.trips")

    status.bronze_max_offsets = cat.max_offsets([raw, dlq], settings.topic_raw)
    for p, end in sorted(status.end_offsets.items()):
        got = status.bronze_max_offsets.get(p, -1)
        if got < end - 1:
            status.missing.append(
                f"bronze partition {p}: committed up to offset {got}, topic ends at {end - 1}"
            )

    status.bronze_snapshot_ms = _newest_ms(raw, dlq)
    status.silver_snapshot_ms = _newest_ms(trips)
    if status.end_offsets:
        if status.silver_snapshot_ms is None:
            status.missing.append(f"{sns}.trips has no committed snapshot")
        elif (
            status.bronze_snapshot_ms is not None
            and status.silver_snapshot_ms < status.bronze_snapshot_ms
        ):
            status.missing.append(
                f"{sns}.trips snapshot ({status.silver_snapshot_ms}) is older than the newest "
                f"bronze snapshot ({status.bronze_snapshot_ms})"
            )
    status.complete = not status.missing
    return status


def wait_for_processing(
    settings: Settings, timeout_s: float = 600.0, interval_s: float = 5.0
) -> WaitStatus:
    """Poll `check_processing` until complete; raise ProcessingIncomplete after `timeout_s`."""
    t0 = time.monotonic()
    checks = 0
    while True:
        checks += 1
        try:
            status = check_processing(settings)
        except topics.TopicNotReady as exc:  # broker restarting: look again
            status = WaitStatus(missing=[f"topic not ready: {exc}"])
        status.checks = checks
        status.waited_s = round(time.monotonic() - t0, 3)
        if status.complete:
            return status
        if status.waited_s + interval_s > timeout_s:
            raise ProcessingIncomplete(status)
        time.sleep(interval_s)
