"""End-to-end on real engines: generator -> Kafka -> Flink SQL -> Iceberg -> dbt-duckdb -> verify."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import duckdb
import pyarrow.compute as pc
import pytest
from taxi_generator.anomalies import (
    DEAD_LETTER_KINDS,
    REJECTED_KINDS,
    AnomalyRates,
    expected_silver_rows,
)
from taxi_generator.encoding import reason_key
from taxi_generator.producer import run_generator

from lakehouse import catalog as cat
from lakehouse import topics
from lakehouse.dbt_runner import run_dbt
from lakehouse.flink.jobs import run_bronze, run_silver
from lakehouse.settings import REPO_ROOT, Settings
from lakehouse.stack.minio import MinIO
from lakehouse.verify import VerificationError, run_verify

from .conftest import make_settings, settings_env, topic_messages

pytestmark = pytest.mark.integration

ANOMALIES = AnomalyRates(
    duplicate=0.03,
    malformed_json=0.01,
    missing_field=0.01,
    wrong_type=0.01,
    dropoff_before_pickup=0.01,
    late=0.02,
    # every further dead-letter / silver-rule class (vars.silver_rules), 0.5 % each
    **{k: 0.005 for k in ("out_of_range", *REJECTED_KINDS[1:])},
)
#: and the classes silver keeps with a flag (voids/refunds, totals that do not add up)
ALL_ANOMALIES = replace(ANOMALIES, negative_amount=0.01, total_mismatch=0.005)


def _silver(settings: Settings):
    catalog = cat.load_catalog(settings)
    return cat.load_table(catalog, f"{settings.silver_namespace}.trips")


def _topic_records(settings: Settings, topic: str) -> list[tuple[bytes | None, bytes, dict]]:
    """Every record of ``topic``: (key, value, headers as a dict, partition, offset)."""
    return [
        (m.key(), m.value(), dict(m.headers() or []), m.partition(), m.offset())
        for m in topic_messages(settings, topic)
    ]


#: dead-letter reason classes per event format (taxi_generator.encoding.DEAD_LETTER_REASON)
DEAD_LETTER_REASONS = {
    "json": {"malformed_json", "missing_field", "wrong_type", "out_of_range"},
    "avro": {"avro:not_wire_format", "avro:unknown_schema_id", "avro:undecodable", "out_of_range"},
}


@pytest.mark.parametrize("event_format", ["json", "avro"])
def test_full_run_with_anomalies_accounts_for_every_event(
    fresh: Settings, event_format: str
) -> None:
    """JSON text, and Avro in the Confluent wire format through the Schema Registry (the
    structural anomalies become Avro poison: no wire format, unknown schema id, truncated)."""
    fresh = make_settings(event_format=event_format)
    topics.create_topics(fresh)
    manifest = run_generator(
        fresh, events=4000, seed=7, days=3, anomalies=ALL_ANOMALIES, progress=False
    )
    assert manifest.event_format == event_format
    counts = manifest.counts
    assert counts["duplicate"] == 120 and counts["late"] == 80

    bronze = run_bronze(fresh)
    dead = sum(counts[k] for k in DEAD_LETTER_KINDS)
    assert bronze.counts == {
        "bronze_rows": manifest.messages_acked - dead,
        "dead_letter_rows": dead,
    }
    silver = run_silver(fresh)
    kept = expected_silver_rows(counts)
    assert kept == 4000 + 40 + 20  # the flagged classes stay in silver
    assert silver.counts["silver_rows"] == kept
    assert silver.counts["rejected_rows"] == sum(counts[k] for k in REJECTED_KINDS)

    # silver: one row per trip_id, typed, partitioned by pickup date, flagged
    data = cat.read_columns(
        _silver(fresh), ("trip_id", "pickup_date", "total_amount", "amount_check")
    )
    assert data.num_rows == kept
    assert pc.count_distinct(data["trip_id"]).as_py() == kept
    # only the total_mismatch class does not add up in any of the ways TLC's data does
    mismatches = pc.sum(pc.equal(data["amount_check"], "mismatch")).as_py()
    assert mismatches == counts["total_mismatch"]
    spec = _silver(fresh).spec()
    assert [f.name for f in spec.fields] == ["pickup_date"]

    # the dead letter keeps each record's original bytes, in the Iceberg table and on the DLQ
    # topic (value and key unchanged; reason and source in headers)
    raw = {(p, o): (k, v) for k, v, _h, p, o in _topic_records(fresh, fresh.topic_raw)}
    dlq = _topic_records(fresh, fresh.topic_dlq)
    assert len(dlq) == bronze.counts["dead_letter_rows"]
    reasons = {reason_key(h["dead_letter.reason"].decode()) for _k, _v, h, _p, _o in dlq}
    assert reasons == DEAD_LETTER_REASONS[event_format]
    for key, value, headers, _p, _o in dlq:
        source = (
            int(headers["dead_letter.source.partition"]),
            int(headers["dead_letter.source.offset"]),
        )
        assert headers["dead_letter.source.topic"].decode() == fresh.topic_raw
        assert raw[source] == (key, value)
    table = cat.read_columns(
        cat.load_table(cat.load_catalog(fresh), f"{fresh.bronze_namespace}.trips_dead_letter"),
        ("kafka_partition", "kafka_offset", "key_bytes", "value_bytes"),
    ).to_pylist()
    assert len(table) == len(dlq)
    for row in table:
        assert raw[(row["kafka_partition"], row["kafka_offset"])] == (
            row["key_bytes"],
            row["value_bytes"],
        )
    # bronze keeps the schema id each Avro record was written with (NULL for JSON)
    ids = cat.read_columns(
        cat.load_table(cat.load_catalog(fresh), f"{fresh.bronze_namespace}.raw_trips"),
        ("schema_id",),
    )["schema_id"]
    if event_format == "avro":
        assert ids.null_count == 0 and len(set(ids.to_pylist())) == 1
    else:
        assert ids.null_count == len(ids)

    dbt = run_dbt(fresh, "build")
    assert "ERROR=0" in dbt.summary

    report = run_verify(fresh)
    assert report.ok
    assert report.figures["fct_trips_rows"] == kept
    late = next(c for c in report.checks if c.name == "late events in fct_trips")
    assert late.expected == 80 and late.actual == 80


def test_rerun_does_not_duplicate_and_new_events_are_incremental(
    fresh: Settings, tmp_path: Path
) -> None:
    topics.create_topics(fresh)
    run_generator(fresh, events=1500, seed=11, anomalies=ANOMALIES, progress=False)
    run_bronze(fresh)
    first = run_silver(fresh)

    # rerun with nothing new: bronze submits no job, silver recomputes the same rows
    again = run_bronze(fresh)
    assert again.skipped and again.offsets["new_messages"] == 0
    assert run_silver(fresh).counts == first.counts

    # more events: bronze reads only the new offsets
    second = run_generator(fresh, events=500, seed=12, anomalies=ANOMALIES, progress=False)
    incr = run_bronze(fresh)
    assert incr.offsets["new_messages"] == second.messages_acked
    assert run_silver(fresh).counts["silver_rows"] == 2000
    run_dbt(fresh, "build")
    assert run_verify(fresh).ok
    _query_and_report_read_the_gold_built(fresh, 2000, tmp_path)


def _query_and_report_read_the_gold_built(settings: Settings, trips: int, tmp_path: Path) -> None:
    """`make query` and `make report` (the CLI they call) on the gold a pipeline run built and
    verify reconciled: the count and every day's revenue as the marts have them (the report
    counts trips, not the voids and refunds among the facts)."""

    def cli(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "lakehouse.cli", *args],
            env=settings_env(settings), capture_output=True, text=True, timeout=120,
            cwd=REPO_ROOT,
        )  # fmt: skip
        assert proc.returncode == 0, f"{args}: {proc.stderr[-2000:]}"
        return proc.stdout

    counted = cli("query", "-c", "select count(*) as trips from fct_trips")
    assert re.search(rf"(?m)^\W*{trips}\W*$", counted), counted  # the one row, in a box
    out = tmp_path / "report" / "index.html"
    assert cli("report", "--out", str(out)).strip() == str(out.resolve())
    page = out.read_text()
    with duckdb.connect(str(settings.gold_path), read_only=True) as con:
        (real_trips,) = con.execute("select count(*) from fct_trips where is_trip").fetchone()
        days = con.execute(
            "select revenue_date, net_revenue from mart_daily_revenue order by revenue_date"
        ).fetchall()
    assert 0.95 * trips < real_trips < trips  # the clean stream has ~2 % voids and refunds
    assert page.count("<svg") == 3 and f"{real_trips:,} trips" in page
    with duckdb.connect(str(settings.gold_path), read_only=True) as con:
        busiest = con.execute(
            "select zone_name from mart_location_performance "
            "order by pickup_trip_count desc, pickup_revenue desc, location_id limit 1"
        ).fetchone()
    assert days and busiest
    for day, revenue in days:
        assert f"<td>{day}</td>" in page and f"${revenue:,.2f}" in page, day
    assert f">{busiest[0]}<" in page


def test_verify_fails_with_a_readable_diff_when_counts_disagree(fresh: Settings) -> None:
    topics.create_topics(fresh)
    run_generator(fresh, events=300, seed=3, progress=False)
    run_bronze(fresh)
    run_silver(fresh)
    # an extra message the manifests do not know about: Kafka no longer reconciles
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": fresh.kafka_bootstrap_servers})
    producer.produce(fresh.topic_raw, key=b"1", value=b"{}")
    producer.flush(10)
    with pytest.raises(VerificationError) as err:
        run_verify(fresh, include_gold=False)
    assert "kafka messages: expected 300, found 301 (+1)" in str(err.value)


def test_official_zone_lookup_csv_replaces_the_shipped_zones(fresh: Settings, tmp_path) -> None:
    topics.create_topics(fresh)
    run_generator(fresh, events=200, seed=5, progress=False)
    run_bronze(fresh)
    run_silver(fresh)
    csv = tmp_path / "taxi_zone_lookup.csv"
    rows = ['"LocationID","Borough","Zone","service_zone"']
    rows += [f'{i},"Queens","Test zone {i}","Boro Zone"' for i in range(1, 266)]
    csv.write_text("\n".join(rows) + "\n")
    settings = make_settings(zone_lookup_csv=csv)
    run_dbt(settings, "build")
    with duckdb.connect(str(settings.gold_path), read_only=True) as con:
        names = con.execute("select distinct zone_name from dim_locations").fetchall()
    assert {n[0] for n in names} <= {f"Test zone {i}" for i in range(1, 266)}
    assert len(names) == 265


def test_postgres_catalog_and_minio_warehouse(stack) -> None:
    """The compose stack's combination: Iceberg JDBC catalog in PostgreSQL, warehouse on S3."""
    from lakehouse.reset import reset_data

    settings = make_settings(
        catalog_backend="postgres",
        warehouse="s3://warehouse/lakehouse",
        topic_raw="taxi.raw_trips.pg_s3",
        topic_dlq="taxi.raw_trips.pg_s3.dlq",
        gold_duckdb_path=stack.home / "gold" / "gold_pg_s3.duckdb",
    )
    MinIO(settings).ensure_bucket()
    reset_data(settings)
    topics.create_topics(settings)
    run_generator(settings, events=1000, seed=21, anomalies=ANOMALIES, progress=False)
    assert run_bronze(settings).counts["bronze_rows"] > 0
    assert run_silver(settings).counts["silver_rows"] == 1000
    table = _silver(settings)
    assert table.metadata.location.startswith("s3://warehouse/lakehouse")
    run_dbt(settings, "build")
    assert run_verify(settings).ok


def test_a_failing_dbt_invocation_says_what_failed_and_releases_gold(fresh: Settings) -> None:
    """dbt runs in this process (lakehouse.dbt_runner): a failure is a DbtError with dbt's own
    message, and gold is free afterwards for verify and the report."""
    from lakehouse.dbt_runner import DbtError, prepare

    topics.create_topics(fresh)
    run_generator(fresh, events=300, seed=5, anomalies=ANOMALIES, progress=False)
    run_bronze(fresh)
    run_silver(fresh)
    prepare(fresh)  # the pipeline's background parse: its manifest serves the next build
    assert "ERROR=0" in run_dbt(fresh, "build").summary

    with pytest.raises(DbtError, match="no_such_macro"):
        run_dbt(fresh, "run-operation", ["no_such_macro"])
    with pytest.raises(DbtError, match="fct_trips_not_there"):
        run_dbt(fresh, "build", ["--select", "fct_trips_not_there+", "--fail-fast",
                                 "--warn-error"])  # fmt: skip
    # the gold file is not held open by dbt: this process opens it read-only
    with duckdb.connect(str(fresh.gold_path), read_only=True) as con:
        assert con.execute("select count(*) from fct_trips").fetchone()[0] == 300
    assert run_verify(fresh).ok
