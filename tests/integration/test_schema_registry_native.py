"""A real Confluent-compatible schema registry (Apicurio Registry 3.3.3, in-memory storage) run
natively, driven by confluent-kafka's SchemaRegistryClient and Avro serde: BACKWARD compatibility
is enforced by the registry, and Avro is measured against the JSON event contract."""

from __future__ import annotations

import json
import socket
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from taxi_generator.model import (
    Clock,
    generate_trips,
    resolve_start_date,
    trip_to_json,
    trip_to_record,
)

from lakehouse.settings import REPO_ROOT
from lakehouse.stack import schema_registry_server


def _topic_strategy() -> dict:
    """Subjects named <topic>-value, as registered here. (confluent-kafka 2.16's default first asks
    the registry for subject associations, an endpoint outside the Confluent API Apicurio copies.)"""
    from confluent_kafka.schema_registry import topic_subject_name_strategy

    return {"subject.name.strategy": topic_subject_name_strategy}


pytestmark = pytest.mark.integration

SUBJECT = "taxi.raw_trips-value"
TOPIC = "taxi.raw_trips"


def _nullable(name: str, avro_type: str) -> dict:
    return {"name": name, "type": ["null", avro_type], "default": None}


#: v1: the first release's event contract, field for field (the generator's record without the
#: CBD fee, which the shipped schema v2 added).
FIELDS_V1: list[dict] = [
    {"name": "VendorID", "type": "int"},
    {"name": "tpep_pickup_datetime", "type": "string"},  # local NYC wall clock, no zone
    {"name": "tpep_dropoff_datetime", "type": "string"},
    _nullable("passenger_count", "int"),
    {"name": "trip_distance", "type": "double"},
    _nullable("RatecodeID", "int"),
    _nullable("store_and_fwd_flag", "string"),
    {"name": "PULocationID", "type": "int"},
    {"name": "DOLocationID", "type": "int"},
    {"name": "payment_type", "type": "int"},
    {"name": "fare_amount", "type": "double"},
    {"name": "extra", "type": "double"},
    {"name": "mta_tax", "type": "double"},
    {"name": "tip_amount", "type": "double"},
    {"name": "tolls_amount", "type": "double"},
    {"name": "improvement_surcharge", "type": "double"},
    {"name": "total_amount", "type": "double"},
    _nullable("congestion_surcharge", "double"),
    _nullable("Airport_fee", "double"),
]


def _schema(fields: list[dict]) -> str:
    return json.dumps({"type": "record", "name": "RawTrip", "namespace": "taxi", "fields": fields})


SCHEMA_V1 = _schema(FIELDS_V1)
#: v2, backward compatible: a new optional field with a default (TLC's 2025 CBD congestion fee).
SCHEMA_V2 = _schema([*FIELDS_V1, _nullable("cbd_congestion_fee", "double")])
#: incompatible with v2: a zone id becomes a string (a v3 reader cannot read v2's int data).
SCHEMA_BAD = _schema(
    [
        {"name": "PULocationID", "type": "string"} if f["name"] == "PULocationID" else f
        for f in [*FIELDS_V1, _nullable("cbd_congestion_fee", "double")]
    ]
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _trips(n: int) -> list[tuple[dict, str]]:
    clock = Clock(resolve_start_date("2025-01-06"))
    return [
        (trip_to_record(t, clock), trip_to_json(t, clock))
        for t in generate_trips(n, seed=42, start_date="2025-01-06")
    ]


@pytest.fixture(scope="module")
def registry_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not schema_registry_server.installed():  # idempotent; resolves Apicurio from Maven Central
        subprocess.run(["bash", str(REPO_ROOT / "registry" / "install.sh")], check=True)
    home: Path = tmp_path_factory.mktemp("schema-registry")
    port, management_port = _free_port(), _free_port()
    try:
        reg = schema_registry_server.start(port, None, home, management_port=management_port)
        yield reg.url
    finally:
        schema_registry_server.stop(home)


@pytest.fixture
def client(registry_url: str):
    from confluent_kafka.schema_registry import SchemaRegistryClient

    # a request timeout: a registry that stops answering fails the test instead of hanging it
    return SchemaRegistryClient({"url": registry_url, "timeout": 30})


def test_backward_compatibility_is_enforced_by_the_registry(client) -> None:
    from confluent_kafka.schema_registry import Schema
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    from confluent_kafka.schema_registry.error import SchemaRegistryError
    from confluent_kafka.serialization import MessageField, SerializationContext

    assert client.set_compatibility(SUBJECT, "BACKWARD")["compatibility"] == "BACKWARD"
    assert client.get_compatibility(SUBJECT) == "BACKWARD"

    v1_id = client.register_schema(SUBJECT, Schema(SCHEMA_V1, "AVRO"))
    assert client.get_latest_version(SUBJECT).version == 1

    # produce-side serde: looks the schema up (no auto-registration), Confluent wire format
    ctx = SerializationContext(TOPIC, MessageField.VALUE)
    serializer = AvroSerializer(
        client, SCHEMA_V1, conf={"auto.register.schemas": False, **_topic_strategy()}
    )
    record, _ = _trips(1)[0]
    record.pop("cbd_congestion_fee")  # a v1 producer's record
    payload = serializer(record, ctx)
    magic, schema_id = struct.unpack(">bI", payload[:5])
    assert (magic, schema_id) == (0, v1_id)
    assert AvroDeserializer(client, conf=_topic_strategy())(payload, ctx) == record

    # adding an optional field with a default is BACKWARD compatible: accepted as version 2
    assert client.test_compatibility(SUBJECT, Schema(SCHEMA_V2, "AVRO")) is True
    v2_id = client.register_schema(SUBJECT, Schema(SCHEMA_V2, "AVRO"))
    assert v2_id != v1_id
    # (not get_latest_version: the client caches "latest" without a TTL unless configured)
    assert client.get_versions(SUBJECT) == [1, 2]
    assert client.get_version(SUBJECT, 2).schema_id == v2_id
    # a v2 reader reads v1 data (writer schema fetched by id from the registry)
    old_read_as_v2 = AvroDeserializer(client, SCHEMA_V2, conf=_topic_strategy())(payload, ctx)
    assert old_read_as_v2 == {**record, "cbd_congestion_fee": None}

    # changing a field's type is not: the registry refuses it with 409
    assert client.test_compatibility(SUBJECT, Schema(SCHEMA_BAD, "AVRO")) is False
    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema(SUBJECT, Schema(SCHEMA_BAD, "AVRO"))
    assert refused.value.http_status_code == 409
    print(f"\nregistry refused the type change: {refused.value.error_message[:200]}")
    assert client.get_versions(SUBJECT) == [1, 2]


def test_avro_is_smaller_than_json(client) -> None:
    from confluent_kafka.schema_registry import Schema
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    subject = "taxi.raw_trips.size-value"  # its own subject: independent of the test above
    client.register_schema(subject, Schema(SCHEMA_V1, "AVRO"))
    ctx = SerializationContext("taxi.raw_trips.size", MessageField.VALUE)
    serializer = AvroSerializer(
        client, SCHEMA_V1, conf={"auto.register.schemas": False, **_topic_strategy()}
    )

    trips = _trips(1000)
    json_sizes = [len(text.encode()) for _, text in trips]
    avro_sizes = [len(serializer(record, ctx)) for record, _ in trips]
    record, text = trips[0]
    one_json, one_avro = json_sizes[0], avro_sizes[0]
    print(f"\none trip record: {text}")
    print(
        f"one trip: JSON {one_json} B, Avro {one_avro} B (5 B Confluent header + "
        f"{one_avro - 5} B body) = {one_avro / one_json:.0%} of JSON"
    )
    print(
        f"mean over {len(trips)} trips: JSON {sum(json_sizes) / len(trips):.1f} B, "
        f"Avro {sum(avro_sizes) / len(trips):.1f} B "
        f"({sum(avro_sizes) / sum(json_sizes):.0%} of JSON)"
    )
    assert one_avro < one_json / 2
