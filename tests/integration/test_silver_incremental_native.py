"""Silver and gold are incremental: a silver run reads only the bronze rows that are new since
the last one, a gold build only the silver files committed since the snapshot it consumed, and
both stay exact under reruns, a run that failed after one of its tables committed, late events
in old partitions, duplicates that arrive in a later run than their first copy, a compaction of
silver files gold has not read yet, and a full silver recompute (an Iceberg overwrite). A full
recompute (`lakehouse flink silver --full`) gives the same silver, and gold built run by run
equals gold rebuilt from scratch into a second DuckDB file, table for table, row for row
(Kafka, Flink, Iceberg, dbt, DuckDB)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from taxi_generator.anomalies import COUNT_KEYS, AnomalyRates
from taxi_generator.producer import run_generator

from lakehouse import catalog as cat
from lakehouse import topics
from lakehouse.dbt_runner import run_dbt
from lakehouse.flink.jobs import run_bronze, run_silver
from lakehouse.gold import compare_full_refresh
from lakehouse.maintenance import run_maintenance
from lakehouse.settings import Settings
from lakehouse.verify import run_verify

from .conftest import make_settings, topic_messages

pytestmark = pytest.mark.integration

RATES = AnomalyRates(
    duplicate=0.03, dropoff_before_pickup=0.01, invalid_location_id=0.01, late=0.05
)
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


def _gold_build(s: Settings) -> dict[str, Any]:
    """dbt build, then what it loaded from silver.trips (the plugin's record of this build)."""
    import duckdb

    run_dbt(s, "build")
    with duckdb.connect(str(s.gold_path), read_only=True) as con:
        mode, reason, rows, total = con.execute(
            "select mode, reason, rows_loaded, total_records from silver.iceberg_loads "
            "where source_table = 'trips' order by loaded_at desc limit 1"
        ).fetchone()
        facts = con.execute("select count(*) from fct_trips").fetchone()[0]
    return {"mode": mode, "reason": reason, "rows_loaded": rows, "silver": total, "facts": facts}


def test_incremental_silver_and_gold_are_exact_and_equal_a_full_recompute(stack: Any) -> None:
    from lakehouse.reset import reset_data

    s = make_settings(
        topic_raw="taxi.incremental", topic_dlq="taxi.incremental.dlq",
        maintenance_min_input_files=2,
    )  # fmt: skip
    reset_data(s)
    topics.create_topics(s)

    run_generator(s, events=1500, seed=1, days=2, anomalies=RATES, progress=False)
    run_bronze(s)
    first = run_silver(s)
    assert first.offsets["mode"] == "incremental" and first.counts["silver_rows"] == 1500

    gold = _gold_build(s)
    assert gold["mode"] == "full" and gold["facts"] == 1500  # the first build: every row

    # nothing new: no job, nothing written; gold loads nothing
    again = run_silver(s)
    assert again.skipped and again.counts == first.counts
    gold = _gold_build(s)
    assert gold["mode"] == "incremental" and gold["rows_loaded"] == 0 and gold["facts"] == 1500

    # a later run: new trips, late events for old partitions, and 300 trips of the first run
    # sent again (duplicates across runs)
    run_generator(s, events=800, seed=2, days=2, anomalies=RATES, progress=False)
    _resend(s, [(p, o) for _id, _d, _v, _t, p, o in _silver(s)[:300]])
    run_bronze(s)
    second = run_silver(s)
    assert second.offsets["mode"] == "incremental"
    assert second.offsets["new_rows"] < second.counts["silver_rows"]  # read only the new rows
    assert second.counts["silver_rows"] == 2300
    gold = _gold_build(s)  # only the 800 new trips (the 300 resent ones were dropped by silver)
    assert gold["mode"] == "incremental" and gold["rows_loaded"] == 800
    assert gold["facts"] == gold["silver"] == 2300
    assert run_verify(s).ok

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

    # a compaction commits before gold read the last run's files: gold reads the compacted
    # files too (old rows among them) and keeps each trip once
    compacted = run_maintenance(s, [f"{s.silver_namespace}.trips"], expire=False, orphans=False)
    assert compacted.tables[0]["compaction"]["rewritten_data_files"] >= 2
    gold = _gold_build(s)
    assert gold["mode"] == "incremental" and gold["rows_loaded"] > 400  # re-read old rows
    assert gold["facts"] == gold["silver"] == 2700
    assert run_verify(s).ok

    # a full recompute gives exactly the same silver
    full = run_silver(s, full=True)
    assert full.offsets["mode"] == "full"
    assert _silver(s) == trips_after and _silver(s, "trips_rejected") == rejected_after
    # silver was overwritten (new processed_at on every row): gold rebuilds from all of it
    gold = _gold_build(s)
    assert gold["mode"] == "full" and "overwrite" in gold["reason"] and gold["facts"] == 2700
    # and the next increment after it is incremental again
    run_generator(s, events=100, seed=4, days=2, progress=False)
    run_bronze(s)
    after_full = run_silver(s)
    assert after_full.offsets["mode"] == "incremental" and after_full.offsets["new_rows"] == 100
    gold = _gold_build(s)
    assert gold["mode"] == "incremental" and gold["rows_loaded"] == 100
    assert run_verify(s).ok

    # gold built run by run == gold rebuilt from scratch (dbt --full-refresh, second file)
    comparison = compare_full_refresh(s)
    assert comparison.same_silver, comparison.silver_snapshots
    assert not comparison.missing and len(comparison.tables) >= 9
    assert comparison.equal, [t for t in comparison.tables if not t.equal]
    assert {t.table: t.rows for t in comparison.tables}["fct_trips"] == 2800
