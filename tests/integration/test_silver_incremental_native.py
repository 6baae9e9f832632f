"""Silver is incremental: a run reads only the bronze rows that are new since the last one,
and stays exact under reruns, a run that failed after one of its tables committed, late events
in old partitions, and duplicates that arrive in a later run than their first copy. A full
recompute (`lakehouse flink silver --full`) gives the same silver (Kafka, Flink, Iceberg)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from taxi_generator.anomalies import COUNT_KEYS, AnomalyRates
from taxi_generator.producer import run_generator

from lakehouse import catalog as cat
from lakehouse import topics
from lakehouse.flink.jobs import run_bronze, run_silver
from lakehouse.settings import Settings
from lakehouse.verify import run_verify

from .conftest import make_settings, topic_messages

pytestmark = pytest.mark.integration

RATES = AnomalyRates(duplicate=0.03, negative_amount=0.01, invalid_location_id=0.01, late=0.05)
COLUMNS = ("trip_id", "pickup_date", "vendor_id", "total_amount", "kafka_partition", "kafka_offset")


def _silver(s: Settings, name: str = "trips") -> list[tuple]:
    table = cat.load_table(cat.load_catalog(s), f"{s.silver_namespace}.{name}")
    cols = COLUMNS if name == "trips" else ("kafka_partition", "kafka_offset", "reason")
    return sorted(tuple(r.values()) for r in cat.read_columns(table, cols).to_pylist())


def _resend(s: Settings, coords: list[tuple[int, int]]) -> None:
    """Produce the messages at these partition/offsets again, byte for byte (a producer's
    resend), with a manifest that counts them as duplicates."""
    from confluent_kafka import Producer

    wanted = set(coords)
    found = [
        (m.partition(), m.key(), m.value())
        for m in topic_messages(s, s.topic_raw)
        if (m.partition(), m.offset()) in wanted
    ]
    assert len(found) == len(wanted)
    producer = Producer({"bootstrap.servers": s.kafka_bootstrap_servers, "acks": "all"})
    for partition, key, value in found:
        producer.produce(s.topic_raw, value, key, partition=partition)
    assert producer.flush(30) == 0
    counts = {k: 0 for k in COUNT_KEYS} | {"duplicate": len(found)}
    path = Path(s.manifests_dir) / "resend.json"
    path.write_text(json.dumps({"run_id": "resend", "topic": s.topic_raw, "mode": "resend",
                                "messages_acked": len(found), "counts": counts,
                                "event_format": s.event_format}))  # fmt: skip


def test_incremental_silver_is_exact_and_equals_a_full_recompute(stack: Any) -> None:
    from lakehouse.cli import reset_data

    s = make_settings(topic_raw="taxi.incremental", topic_dlq="taxi.incremental.dlq")
    reset_data(s)
    topics.create_topics(s)

    run_generator(s, events=1500, seed=1, days=2, anomalies=RATES, progress=False)
    run_bronze(s)
    first = run_silver(s)
    assert first.offsets["mode"] == "incremental" and first.counts["silver_rows"] == 1500

    # nothing new: no job, nothing written
    again = run_silver(s)
    assert again.skipped and again.counts == first.counts

    # a later run: new trips, late events for old partitions, and 300 trips of the first run
    # sent again (duplicates across runs)
    run_generator(s, events=800, seed=2, days=2, anomalies=RATES, progress=False)
    _resend(s, [(p, o) for _id, _d, _v, _t, p, o in _silver(s)[:300]])
    run_bronze(s)
    second = run_silver(s)
    assert second.offsets["mode"] == "incremental"
    assert second.offsets["new_rows"] < second.counts["silver_rows"]  # read only the new rows
    assert second.counts["silver_rows"] == 2300
    assert run_verify(s, include_gold=False).ok

    # a run that failed after trips committed but before trips_rejected did: roll rejected back
    # to before the last run and forget what both recorded; the rerun completes it exactly
    run_generator(s, events=400, seed=3, days=2, anomalies=RATES, progress=False)
    run_bronze(s)
    catalog = cat.load_catalog(s)
    rejected = cat.load_table(catalog, f"{s.silver_namespace}.trips_rejected")
    before = rejected.current_snapshot().snapshot_id
    marks = {n: cat.load_table(catalog, f"{s.silver_namespace}.{n}").properties
             for n in ("trips", "trips_rejected")}  # fmt: skip
    run_silver(s)
    trips_after, rejected_after = _silver(s), _silver(s, "trips_rejected")
    key = next(k for k in marks["trips"] if k.startswith("lakehouse.silver.processed-offsets"))
    for name in ("trips", "trips_rejected"):
        table = cat.load_table(catalog, f"{s.silver_namespace}.{name}")
        with table.transaction() as tx:
            tx.set_properties({key: marks[name][key]})
    rejected = cat.load_table(catalog, f"{s.silver_namespace}.trips_rejected")
    rejected.manage_snapshots().rollback_to_snapshot(before).commit()
    assert len(_silver(s, "trips_rejected")) < len(rejected_after)
    redo = run_silver(s)
    assert not redo.skipped and redo.offsets["mode"] == "incremental"
    assert _silver(s) == trips_after  # nothing duplicated in trips
    assert _silver(s, "trips_rejected") == rejected_after  # rejected completed exactly
    report = run_verify(s, include_gold=False)
    assert report.ok and report.figures["silver_rows"] == 2700

    # a full recompute gives exactly the same silver
    full = run_silver(s, full=True)
    assert full.offsets["mode"] == "full"
    assert _silver(s) == trips_after and _silver(s, "trips_rejected") == rejected_after
    # and the next increment after it is incremental again
    run_generator(s, events=100, seed=4, days=2, progress=False)
    run_bronze(s)
    after_full = run_silver(s)
    assert after_full.offsets["mode"] == "incremental" and after_full.offsets["new_rows"] == 100
    assert run_verify(s, include_gold=False).ok
