"""Value encodings of the raw topic (pure logic: fastavro stands in for the registry's serializer,
which writes the same bytes: magic byte, 4-byte schema id, schemaless Avro body)."""

from __future__ import annotations

import io
import json
import struct

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from taxi_generator.anomalies import REJECTED_KINDS, AnomalyRates
from taxi_generator.encoding import (
    DEAD_LETTER_REASON,
    UNKNOWN_SCHEMA_ID,
    avro_encoder,
    json_encoder,
    reason_key,
    schema_id_of,
)
from taxi_generator.model import (
    AVRO_V2_LAYOUT,
    Clock,
    generate_trips,
    negative_twin,
    resolve_start_date,
    trip_to_avro,
    trip_to_record,
)
from taxi_generator.producer import trip_encoder
from taxi_generator.stream import EventStream

from lakehouse import contract
from lakehouse.schema_registry import SchemaError, _layout, load_schema
from lakehouse.verify import expected_dead_letter

SCHEMA_FILE = contract.SCHEMA_FILE
SCHEMA = parse_schema(json.loads(SCHEMA_FILE.read_text()))
SCHEMA_ID = 7


def _serialize(record: dict) -> bytes:
    out = io.BytesIO()
    out.write(struct.pack(">bI", 0, SCHEMA_ID))
    schemaless_writer(out, SCHEMA, record)
    return out.getvalue()


def _decode(value: bytes) -> dict:
    return schemaless_reader(io.BytesIO(value[5:]), SCHEMA, SCHEMA)


def _stream(n: int = 400) -> list[tuple[str, str, int, str]]:
    rates = AnomalyRates.uniform(0.02)
    return list(EventStream(n, seed=3, start_date="2026-01-05", anomalies=rates))


def test_every_generated_record_fits_the_registered_schema() -> None:
    encode = avro_encoder(_serialize)
    # every class silver rejects is a well-typed record too
    kinds = {"clean", "late", "duplicate", *REJECTED_KINDS}
    seen = 0
    for _key, text, _t, kind in _stream():
        if kind in kinds:
            value = encode(text, kind)
            assert schema_id_of(value) == SCHEMA_ID
            assert _decode(value) == json.loads(text)
            seen += 1
    assert seen > 400


def test_structural_anomalies_become_avro_poison() -> None:
    encode = avro_encoder(_serialize)
    poison: dict[str, list[bytes]] = {}
    for _key, text, _t, kind in _stream():
        value = encode(text, kind)
        if kind in DEAD_LETTER_REASON["avro"]:
            poison.setdefault(kind, []).append(value)
    assert set(poison) == {"malformed_json", "missing_field", "wrong_type", "out_of_range"}
    for value in poison["out_of_range"]:  # well-typed Avro: the value is what bronze refuses
        assert schema_id_of(value) == SCHEMA_ID
    for value in poison["malformed_json"]:  # no wire-format header at all
        assert schema_id_of(value) is None
    for value in poison["missing_field"]:  # a well-formed body under an id nobody issued
        assert schema_id_of(value) == UNKNOWN_SCHEMA_ID
        assert _decode(value)  # the body itself is fine: only the id is wrong
    for value in poison["wrong_type"]:  # truncated: the body cannot be decoded
        assert schema_id_of(value) == SCHEMA_ID
        with pytest.raises((EOFError, ValueError, IndexError, struct.error)):
            _decode(value)


def test_json_encoding_is_the_text() -> None:
    assert json_encoder()('{"a":1}', "clean") == b'{"a":1}'


def test_poison_needs_a_valid_message_first() -> None:
    with pytest.raises(ValueError, match="valid message before"):
        avro_encoder(_serialize)("{}", "wrong_type")


@pytest.mark.parametrize(
    ("reason", "key"),
    [
        ("malformed_json", "malformed_json"),
        ("missing_field:VendorID", "missing_field"),
        ("wrong_type:trip_distance", "wrong_type"),
        ("avro:not_wire_format", "avro:not_wire_format"),
        ("avro:unknown_schema_id", "avro:unknown_schema_id"),
        ("avro:undecodable", "avro:undecodable"),
    ],
)
def test_reason_key(reason: str, key: str) -> None:
    assert reason_key(reason) == key


def test_expected_dead_letter_follows_each_runs_format() -> None:
    counts = {"malformed_json": 1, "missing_field": 2, "wrong_type": 3}
    manifests = [
        {"counts": counts},  # written before the format was recorded: JSON
        {"counts": counts, "event_format": "avro"},
        {"counts": counts, "event_format": "avro"},
    ]
    assert expected_dead_letter(manifests) == {
        "malformed_json": 1,
        "missing_field": 2,
        "wrong_type": 3,
        "avro:not_wire_format": 2,
        "avro:unknown_schema_id": 4,
        "avro:undecodable": 6,
        "out_of_range": 0,
    }


def test_schema_file_is_validated(tmp_path) -> None:
    assert json.loads(load_schema(SCHEMA_FILE))["name"] == "RawTrip"
    bad = tmp_path / "bad.avsc"
    bad.write_text('{"type": "record", "name": "X", "fields": [{"name": "a", "type": "nope"}]}')
    with pytest.raises(SchemaError, match="not a valid Avro schema"):
        load_schema(bad)
    bad.write_text("{")
    with pytest.raises(SchemaError, match="not JSON"):
        load_schema(bad)
    with pytest.raises(SchemaError, match="cannot read"):
        load_schema(tmp_path / "missing.avsc")


def test_stream_encodes_clean_trips_directly_with_the_same_bytes() -> None:
    """Avro fast path: clean trips (late ones and resent duplicates too) are encoded from the
    trip, no JSON text in between; every message is byte for byte what the JSON round trip
    produced, anomalies included."""
    rates = AnomalyRates.uniform(0.02)
    via_json = avro_encoder(_serialize)
    slow = [
        (k, via_json(v, kind), kind)
        for k, v, _t, kind in EventStream(500, seed=5, start_date="2026-01-05", anomalies=rates)
    ]
    header = struct.pack(">bI", 0, SCHEMA_ID)
    layout = _layout(json.loads(SCHEMA_FILE.read_text()))
    assert layout == AVRO_V2_LAYOUT  # the schema file is the layout trip_to_avro writes
    for trips in (
        trip_encoder(header, layout, _serialize),  # trip_to_avro
        trip_encoder(header, (*layout, ("x", "null|int")), _serialize),  # fastavro fallback
    ):
        direct = avro_encoder(_serialize)
        stream = EventStream(
            500, seed=5, start_date="2026-01-05", anomalies=rates, encode_trip=trips
        )
        messages = list(stream)
        assert {kind for _k, v, _t, kind in messages if isinstance(v, bytes)} == {
            "clean", "late", "duplicate"
        }  # fmt: skip
        fast = [(k, direct(v, kind), kind) for k, v, _t, kind in messages]
        assert fast == slow
    raw = list(EventStream(50, seed=5, start_date="2026-01-05", encode_trip=trips))
    assert all(isinstance(v, bytes) for _k, v, _t, _kind in raw)


def test_the_shipped_schema_selects_the_direct_encoder() -> None:
    """contracts/raw_trip.avsc (v2) is what trip_to_avro writes: the producer's encoder
    never falls back to fastavro for it (lakehouse.schema_registry.wire_format gives this
    layout for the registered schema)."""

    def refuse(record: dict) -> bytes:
        raise AssertionError("fastavro used for the shipped schema")

    header = struct.pack(">bI", 0, SCHEMA_ID)
    encode = trip_encoder(header, _layout(json.loads(load_schema(SCHEMA_FILE))), refuse)
    clock = Clock(resolve_start_date("2025-02-03"))
    for t in generate_trips(200, seed=4, start_date="2025-02-03"):
        for trip in (t, negative_twin(t)):
            value = encode(trip, clock)
            assert value == _serialize(trip_to_record(trip, clock))
            assert _decode(value)["cbd_congestion_fee"] == trip.cbd_congestion_fee / 100


def test_an_older_registered_schema_gets_valid_bytes_through_fastavro() -> None:
    """A topic whose registered schema is still v1 (no cbd_congestion_fee): the encoder falls
    back to fastavro with that schema, which writes v1's fields and drops the new one."""
    v2 = json.loads(SCHEMA_FILE.read_text())
    v1 = {**v2, "fields": [f for f in v2["fields"] if f["name"] != "cbd_congestion_fee"]}
    parsed = parse_schema(v1)

    def serialize_v1(record: dict) -> bytes:
        out = io.BytesIO()
        out.write(struct.pack(">bI", 0, SCHEMA_ID))
        schemaless_writer(out, parsed, record)
        return out.getvalue()

    header = struct.pack(">bI", 0, SCHEMA_ID)
    encode = trip_encoder(header, _layout(v1), serialize_v1)
    for _k, value, _t, _kind in EventStream(
        300, seed=8, start_date="2025-02-03", encode_trip=encode
    ):
        record = schemaless_reader(io.BytesIO(value[5:]), parsed, parsed)
        assert list(record) == [f["name"] for f in v1["fields"]]


def test_trip_to_avro_writes_fastavros_bytes_for_any_trip() -> None:
    """Extremes included: nulls (flex fares), big and negative ints, amounts off the cent
    table, a non-ASCII flag."""

    clock = Clock(resolve_start_date("2025-01-03"))
    # 2025-01-03 .. 05: the CBD fee is None before the 5th, 0.0 or 0.75 from then on
    trips = list(generate_trips(3000, seed=9, start_date="2025-01-03", days=3))
    assert {t.cbd_congestion_fee for t in trips} == {None, 0, 75}
    trips += [negative_twin(t, cbd_shown=i % 2 == 0) for i, t in enumerate(trips[:300])]
    trips += [
        trips[0]._replace(passenger_count=None, ratecode_id=None, store_and_fwd_flag=None,
                          congestion_surcharge=None, airport_fee=None, cbd_congestion_fee=None),
        trips[1]._replace(vendor_id=-5, pu_location_id=2**31 - 1, do_location_id=-(2**31),
                          fare=-123456789, total=10**12, distance_h=-1),
        trips[2]._replace(store_and_fwd_flag="\u00e9\U0001f695", payment_type=1024),
    ]  # fmt: skip
    for t in trips:
        assert trip_to_avro(t, clock) == _serialize(trip_to_record(t, clock))[5:], t
