"""Schema evolution through the whole data path, on the real stack: Apicurio's Confluent API,
Kafka, Flink (decode_taxi_event) and Iceberg.

* a v2 schema with a new optional field is accepted by the registry, its events are decoded by
  their writer schema's id, and the field reaches silver; v1 events keep flowing next to them;
* an incompatible change is refused by the registry before the generator produces anything,
  and `lakehouse schema check` (make schema-check) says so with exit 1.

Each test uses its own topic, so its own subject (<topic>-value).
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow.compute as pc
import pytest
from confluent_kafka import Producer
from taxi_generator.model import Clock, generate_trips, resolve_start_date, trip_to_record
from taxi_generator.producer import GeneratorError, run_generator

from lakehouse import catalog as cat
from lakehouse import contract, schema_registry, topics
from lakehouse.flink.jobs import run_bronze, run_silver
from lakehouse.reset import reset_data
from lakehouse.settings import REPO_ROOT, Settings

from .conftest import make_settings, settings_env

pytestmark = pytest.mark.integration

#: the shipped schema (v2, with the CBD fee) and the first release's (v1, without it)
SHIPPED_FILE = contract.SCHEMA_FILE
SHIPPED = json.loads(SHIPPED_FILE.read_text())
V1 = {**SHIPPED, "fields": [f for f in SHIPPED["fields"] if f["name"] != "cbd_congestion_fee"]}


def _write_schema(path: Path, fields: list[dict]) -> Path:
    path.write_text(json.dumps({**V1, "fields": fields}))
    return path


def _avro_settings(stack, topic: str, **overrides: object) -> Settings:
    settings = make_settings(
        event_format="avro", topic_raw=topic, topic_dlq=f"{topic}.dlq", **overrides
    )
    reset_data(settings)
    return settings


def test_optional_field_is_accepted_and_flows_to_silver(stack, tmp_path: Path) -> None:
    """A deployment of the first release (schema v1) takes the shipped v2 as version 2."""
    v1_file = _write_schema(tmp_path / "raw_trip_v1.avsc", V1["fields"])
    v1 = _avro_settings(stack, "taxi.evolution", event_schema_file=v1_file)
    topics.create_topics(v1)
    first = run_generator(v1, events=300, seed=31, progress=False)  # registers v1
    v1_id = schema_registry.register(v1).schema_id

    v2_file = SHIPPED_FILE
    v2 = make_settings(
        event_format="avro", topic_raw=v1.topic_raw, topic_dlq=v1.topic_dlq,
        event_schema_file=v2_file,
    )  # fmt: skip
    check = schema_registry.check(v2, v2_file)
    assert check.compatible, check.messages
    registered = schema_registry.register(v2)
    assert registered.schema_id != v1_id and registered.version == 2

    # v2 events (new trips: another seed) carry the fee, serialized with the v2 schema's id
    encode = schema_registry.avro_encoder(v2, v2.topic_raw)
    clock = Clock(resolve_start_date("2026-01-05"))
    producer = Producer({"bootstrap.servers": v2.kafka_bootstrap_servers, "acks": "all"})
    v2_trips = list(generate_trips(200, seed=99, start_date="2026-01-05"))
    for trip in v2_trips:
        record = trip_to_record(trip, clock)  # 2026: the CBD fee, 0.75 or 0.0, in the total
        assert record["cbd_congestion_fee"] in (0.0, 0.75)
        producer.produce(v2.topic_raw, encode(record), str(trip.pu_location_id))
    assert producer.flush(30) == 0

    bronze = run_bronze(v2)
    assert bronze.counts == {"bronze_rows": 500, "dead_letter_rows": 0}
    raw = cat.read_columns(
        cat.load_table(cat.load_catalog(v2), f"{v2.bronze_namespace}.raw_trips"),
        ("schema_id", "cbd_congestion_fee"),
    )
    by_id = raw.group_by("schema_id").aggregate([("cbd_congestion_fee", "count")])
    assert dict(zip(by_id["schema_id"].to_pylist(),
                    by_id["cbd_congestion_fee_count"].to_pylist(), strict=True)) == {
        v1_id: 0, registered.schema_id: 200,
    }  # fmt: skip

    silver = run_silver(v2)
    assert silver.counts["silver_rows"] == first.requested + 200
    fees = cat.read_columns(
        cat.load_table(cat.load_catalog(v2), f"{v2.silver_namespace}.trips"),
        ("cbd_congestion_fee",),
    )["cbd_congestion_fee"]
    assert fees.null_count == first.requested  # v1 events cannot carry the fee
    assert set(pc.drop_null(fees).to_pylist()) == {Decimal("0.75"), Decimal("0.00")}


def test_incompatible_change_is_refused_before_any_event(stack, tmp_path: Path) -> None:
    settings = _avro_settings(stack, "taxi.incompatible")
    topics.create_topics(settings)
    schema_registry.register(settings)

    bad_file = _write_schema(
        tmp_path / "raw_trip_bad.avsc",
        [{**f, "type": "string"} if f["name"] == "PULocationID" else f for f in V1["fields"]],
    )
    bad = make_settings(
        event_format="avro", topic_raw=settings.topic_raw, topic_dlq=settings.topic_dlq,
        event_schema_file=bad_file,
    )  # fmt: skip

    # make schema-check: the registry says no, exit 1, nothing registered
    proc = subprocess.run(
        [sys.executable, "-m", "lakehouse.cli", "schema", "check", "--file", str(bad_file)],
        env=settings_env(bad), capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "INCOMPATIBLE" in proc.stderr

    before = topics.watermarks(bad, bad.topic_raw)
    with pytest.raises(GeneratorError, match="refused") as refused:
        run_generator(bad, events=100, seed=1, progress=False)
    assert "no message was produced" in str(refused.value)
    assert topics.watermarks(bad, bad.topic_raw) == before
    assert schema_registry.client(bad).get_versions(bad.event_subject) == [1]
