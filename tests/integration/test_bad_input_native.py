"""Bad input on the real engines: no record stops bronze, no value turns into NULL, every silver
rule holds before gold, dead letters are usable (Kafka + Flink + Iceberg + dbt, native stack).

The property test generates a few thousand records with Hypothesis, over the Avro schema (valid
records with extreme values and strings with any code points) and over raw bytes, and proves
the invariants for them: Kafka offsets = bronze + dead letter exactly; bronze = silver +
rejected + duplicates; `dbt build` green; verify reconciles.
"""

from __future__ import annotations

import json
import math
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from taxi_generator.model import Clock, generate_trips, resolve_start_date, trip_to_record

from lakehouse import catalog as cat
from lakehouse import deadletter, schema_registry, topics
from lakehouse.dbt_runner import run_dbt
from lakehouse.flink.jobs import run_bronze, run_silver
from lakehouse.settings import Settings
from lakehouse.verify import run_verify

from .conftest import make_settings, topic_messages

pytestmark = pytest.mark.integration


def _write_manifest(s: Settings, name: str, messages: int) -> None:
    """What verify needs about hand-made messages: how many, and that their classes are not
    known up front (conservation is checked, not per-class counts)."""
    path = Path(s.manifests_dir) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "run_id": name,
                "topic": s.topic_raw,
                "mode": "test",
                "messages_acked": messages,
                "counts": {"sent": messages},
                "exact_counts": False,
                "event_format": s.event_format,
            }
        )  # fmt: skip
    )


def _produce(s: Settings, values: list[tuple[bytes | None, bytes | None]]) -> None:
    producer = Producer(
        {"bootstrap.servers": s.kafka_bootstrap_servers, "enable.idempotence": True,
         "acks": "all", "linger.ms": 20}
    )  # fmt: skip
    for key, value in values:
        producer.produce(s.topic_raw, value, key)
        producer.poll(0)
    assert producer.flush(60) == 0


def _clean_records(n: int, seed: int) -> list[dict[str, Any]]:
    start = (datetime.now(UTC) - timedelta(days=5)).date()
    clock = Clock(resolve_start_date(start))
    return [trip_to_record(t, clock) for t in generate_trips(n, seed=seed, start_date=start)]


def _dumps(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":")).encode()


def _rows(s: Settings, table: str, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    t = cat.load_table(cat.load_catalog(s), table)
    return cat.read_columns(t, columns).to_pylist()


def _dlq_topic(s: Settings) -> dict[tuple[int, int], tuple[bytes | None, bytes | None, dict]]:
    """The DLQ topic's records by the source partition/offset their headers name."""
    out = {}
    for msg in topic_messages(s, s.topic_dlq):
        h = {k: v.decode() for k, v in msg.headers() or []}
        source = (int(h["dead_letter.source.partition"]), int(h["dead_letter.source.offset"]))
        out[source] = (msg.key(), msg.value(), h)
    return out


def test_bad_input_cannot_stop_bronze_nor_reach_silver(stack: Any) -> None:
    from lakehouse.reset import reset_data

    s = make_settings(event_format="json", topic_raw="taxi.bad", topic_dlq="taxi.bad.dlq")
    reset_data(s)
    topics.create_topics(s)
    clean = _clean_records(60, seed=11)
    huge_pad = "x" * 900_000  # under Kafka's 1 MB default, 1.33x over it as base64
    cases: list[tuple[str, bytes, str | None]] = []  # (name, value, expected reason)

    def case(name: str, record: dict[str, Any] | bytes, reason: str | None) -> None:
        cases.append((name, record if isinstance(record, bytes) else _dumps(record), reason))

    base = iter(clean[10:])
    case("huge but valid", {**next(base), "note": huge_pad}, None)
    case("huge and invalid", {k: v for k, v in {**next(base), "note": huge_pad}.items()
                              if k != "VendorID"}, "missing_field:VendorID")  # fmt: skip
    case("amount 1e15", {**next(base), "fare_amount": 1e15}, "out_of_range:fare_amount")
    case("sub-cent amount", {**next(base), "tip_amount": 1.005}, "out_of_range:tip_amount")
    case("int beyond INT", {**next(base), "PULocationID": 2**31}, "out_of_range:PULocationID")
    flag = _dumps({**next(base), "store_and_fwd_flag": "Z"}).replace(b'"Z"', b'"\xff\xfe"')
    case("flag not UTF-8", flag, "invalid_utf8")
    case("binary garbage", bytes(range(256)) * 3, "invalid_utf8")
    rec = next(base)
    year_9999 = {**rec, "tpep_pickup_datetime": "9999-01-01 00:00:00",
                 "tpep_dropoff_datetime": "9999-01-01 00:20:00"}  # fmt: skip
    case("pickup in 9999", year_9999, "implausible_pickup_time")
    case("vendor -5", {**next(base), "VendorID": -5}, "invalid_vendor_id")
    case("location -1", {**next(base), "PULocationID": -1}, "invalid_location_id")
    case("location 99999", {**next(base), "DOLocationID": 99999}, "invalid_location_id")
    case("flag X", {**next(base), "store_and_fwd_flag": "X"}, "invalid_store_and_fwd_flag")
    case("rate code 42", {**next(base), "RatecodeID": 42}, "invalid_rate_code")

    values = [(str(r["PULocationID"]).encode(), _dumps(r)) for r in clean[:10]]
    values += [(b"k", v) for _name, v, _reason in cases]
    _produce(s, values)
    _write_manifest(s, "bad-input", len(values))

    bronze = run_bronze(s)
    assert bronze.job and bronze.job["state"] == "FINISHED"
    run_silver(s)
    assert "ERROR=0" in run_dbt(s, "build").summary
    report = run_verify(s)
    assert report.ok

    # where each case went, with its reason: looked up by its offset (one partition each key)
    dl = _rows(s, f"{s.bronze_namespace}.trips_dead_letter",
               ("kafka_partition", "kafka_offset", "reason", "value_bytes"))  # fmt: skip
    rejected = _rows(s, f"{s.silver_namespace}.trips_rejected", ("reason", "payload"))
    dl_by_value = {r["value_bytes"]: r["reason"] for r in dl}
    rej_by_payload = {r["payload"].encode(): r["reason"] for r in rejected}
    for name, value, reason in cases:
        found = dl_by_value.get(value) or rej_by_payload.get(value)
        assert found == reason, name
    silver = _rows(s, f"{s.silver_namespace}.trips", ("trip_id",))
    assert len(silver) == 11  # 10 clean + the huge valid one

    # the DLQ topic carries the huge record byte for byte (its limit follows the raw topic's)
    dlq = _dlq_topic(s)
    assert len(dlq) == len(dl)
    for row in dl:
        _key, value, headers = dlq[(row["kafka_partition"], row["kafka_offset"])]
        assert value == row["value_bytes"] and headers["dead_letter.reason"] == row["reason"]
    assert any(len(v or b"") > 900_000 for _, v, _ in dlq.values())

    # a rerun reads nothing new and changes nothing
    again = run_bronze(s)
    assert again.skipped and again.counts == bronze.counts

    # dead letters are usable: list, export, correct, republish once, flow through
    summary = deadletter.summary(s)
    assert summary["dead_letter_class"]["out_of_range"] == 3
    assert summary["rejected"]["invalid_location_id"] == 2
    export = Path(s.lakehouse_home) / "out_of_range.jsonl"
    assert deadletter.export(s, export, reason="out_of_range") == 3
    fixed = []
    for line in export.read_text().splitlines():
        item = json.loads(line)
        record = json.loads(item["value"])
        for k in ("fare_amount", "tip_amount"):
            if (
                not isinstance(record[k], int | float)
                or abs(record[k]) >= 1e8
                or record[k] == 1.005
            ):
                record[k] = 1.0
        if record["PULocationID"] >= 2**31:
            record["PULocationID"] = 132
        parts = ("fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount",
                 "improvement_surcharge", "congestion_surcharge", "Airport_fee")  # fmt: skip
        record["total_amount"] = round(sum(record.get(k) or 0 for k in parts), 2)
        item["value"] = json.dumps(record)
        fixed.append(json.dumps(item))
    export.write_text("\n".join(fixed) + "\n")
    first = deadletter.republish(s, export)
    assert first.republished == 3 and first.manifest
    second = deadletter.republish(s, export)
    assert second.republished == 0 and len(second.skipped_already_done) == 3
    run_bronze(s)
    run_silver(s)
    assert "ERROR=0" in run_dbt(s, "build").summary
    report = run_verify(s)
    assert report.ok and report.figures["silver_rows"] == 14


# ---------------------------------------------------------------- the property test

INT32 = st.integers(-(2**31), 2**31 - 1)
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)  # Avro: UTF-8 only
DOUBLES = st.floats(allow_nan=True, allow_infinity=True)


def _fmt(t: datetime) -> str:  # strftime does not pad years below 1000
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}"


@st.composite
def _timestamps(draw: Any, extreme: bool) -> tuple[str, str]:
    if extreme and draw(st.booleans()):
        return draw(ANY_TEXT), draw(ANY_TEXT)
    if extreme:
        pickup = draw(st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 30)))
        minutes = draw(st.integers(-3000, 3000))
    else:
        ago = draw(st.integers(0, 30 * 86400))
        pickup = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(seconds=ago)
        minutes = draw(st.integers(0, 180))
    try:
        dropoff = pickup + timedelta(minutes=minutes)
    except OverflowError:
        dropoff = pickup
    return _fmt(pickup), _fmt(dropoff)


def _cents(lo: int = 0, hi: int = 20_000) -> st.SearchStrategy[float]:
    return st.integers(lo, hi).map(lambda c: c / 100)


#: field -> (plausible values, extreme values of the Avro type)
_FIELDS: dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]] = {
    "VendorID": (st.sampled_from([1, 2, 6, 7]), INT32),
    "passenger_count": (st.one_of(st.none(), st.integers(0, 6)), INT32),
    "trip_distance": (_cents(0, 5_000), DOUBLES),
    "RatecodeID": (st.one_of(st.none(), st.sampled_from([1, 2, 5, 99])), INT32),
    "store_and_fwd_flag": (st.sampled_from([None, "Y", "N"]), ANY_TEXT),
    "PULocationID": (st.integers(1, 265), INT32),
    "DOLocationID": (st.integers(1, 265), INT32),
    "payment_type": (st.integers(0, 6), INT32),
    "fare_amount": (_cents(0, 15_000), DOUBLES),
    "extra": (_cents(0, 500), DOUBLES),
    "mta_tax": (st.just(0.5), DOUBLES),
    "tip_amount": (_cents(0, 5_000), DOUBLES),
    "tolls_amount": (_cents(0, 2_000), DOUBLES),
    "improvement_surcharge": (st.just(1.0), DOUBLES),
    "congestion_surcharge": (st.sampled_from([None, 2.5]), st.one_of(st.none(), DOUBLES)),
    "Airport_fee": (st.sampled_from([None, 1.75]), st.one_of(st.none(), DOUBLES)),
}
_PARTS = ("fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount",
          "improvement_surcharge", "congestion_surcharge", "Airport_fee")  # fmt: skip


@st.composite
def avro_records(draw: Any) -> dict[str, Any]:
    """Records the Avro schema accepts: plausible ones, ones with a single extreme field, and
    ones where every field may be extreme (any int32, NaN/inf/huge doubles, any text)."""
    mode = draw(st.sampled_from(["plausible", "one_extreme", "any"]))
    names = [*_FIELDS, "timestamps", "total_amount"]
    odd = draw(st.sampled_from(names)) if mode == "one_extreme" else None

    def extreme(name: str) -> bool:
        return name == odd or (mode == "any" and draw(st.booleans()))

    record = {k: draw(ex if extreme(k) else ok) for k, (ok, ex) in _FIELDS.items()}
    record["tpep_pickup_datetime"], record["tpep_dropoff_datetime"] = draw(
        _timestamps(extreme("timestamps"))
    )
    parts = [record[k] for k in _PARTS if record[k] is not None]
    if extreme("total_amount") or not all(math.isfinite(v) for v in parts):
        record["total_amount"] = draw(DOUBLES)
    else:
        record["total_amount"] = round(sum(parts), 2)
    return record


RAW_BYTES = st.one_of(
    st.binary(max_size=300),  # anything
    st.tuples(INT32, st.binary(max_size=200)).map(  # a wire-format header, then garbage
        lambda t: struct.pack(">bi", 0, t[0]) + t[1]
    ),
)


def _collect(strategy: st.SearchStrategy[Any], n: int) -> list[Any]:
    """n examples of a strategy, drawn by Hypothesis's engine (edge cases included),
    deterministically (derandomize), without running the pipeline once per example."""
    out: list[Any] = []

    @settings(max_examples=n, database=None, derandomize=True, phases=[Phase.generate],
              deadline=None, suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(strategy)
    def draw(example: Any) -> None:
        out.append(example)

    draw()
    return out


def test_arbitrary_input_is_conserved_and_gold_stays_green(stack: Any) -> None:
    from lakehouse.reset import reset_data

    s = make_settings(topic_raw="taxi.property", topic_dlq="taxi.property.dlq")
    reset_data(s)
    topics.create_topics(s)
    encode = schema_registry.avro_encoder(s, s.topic_raw)
    records = _collect(avro_records(), 2500)
    raw = _collect(RAW_BYTES, 500)
    values = [(str(r["PULocationID"]).encode(), encode(r)) for r in records]
    values += [(None, v) for v in raw]
    values += values[:100:3]  # producer resends: duplicates, across partitions
    _produce(s, values)
    _write_manifest(s, "property", len(values))

    run_bronze(s)
    run_silver(s)
    assert "ERROR=0" in run_dbt(s, "build").summary
    report = run_verify(s)  # conservation: Kafka = bronze + dead letter; bronze = silver +
    assert report.ok  # rejected + duplicates; fct_trips = silver
    f = report.figures
    assert f["kafka_messages"] == len(values) == f["bronze_rows"] + f["dead_letter_rows"]
    # the input reached every outcome, so the invariants were tested on each
    assert f["silver_rows"] > 50 and f["silver_rejected_rows"] > 50
    assert f["dead_letter_rows"] > 500 and f["duplicates_removed"] > 0
    classes = set(f["dead_letter_by_reason"])
    assert {"avro:not_wire_format", "out_of_range", "wrong_type"} <= classes, classes
    assert len(f["rejected_by_reason"]) >= 8, f["rejected_by_reason"]


# ---------------------------------------------------------------- real TLC files


def _tlc_file(path: Path) -> Path:
    """A small yellow-trip file in the 2025 schema (cbd_congestion_fee), with real quirks."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ts = pa.timestamp("us")
    schema = pa.schema(
        [("VendorID", pa.int32()), ("tpep_pickup_datetime", ts), ("tpep_dropoff_datetime", ts),
         ("passenger_count", pa.int64()), ("trip_distance", pa.float64()),
         ("RatecodeID", pa.int64()), ("store_and_fwd_flag", pa.large_string()),
         ("PULocationID", pa.int32()), ("DOLocationID", pa.int32()), ("payment_type", pa.int64()),
         *((a, pa.float64()) for a in ("fare_amount", "extra", "mta_tax", "tip_amount",
                                       "tolls_amount", "improvement_surcharge", "total_amount",
                                       "congestion_surcharge", "Airport_fee",
                                       "cbd_congestion_fee"))]
    )  # fmt: skip
    rows = []
    for i in range(200):
        pickup = datetime(2025, 1, 1, 0, 5) + timedelta(minutes=211 * i)
        fare = 10.0 + i % 17
        rows.append({
            "VendorID": 2 if i % 3 else 1, "tpep_pickup_datetime": pickup,
            "tpep_dropoff_datetime": pickup + timedelta(minutes=9 + i % 30),
            "passenger_count": 1 + i % 3, "trip_distance": 1.5 + i % 7, "RatecodeID": 1,
            "store_and_fwd_flag": "N", "PULocationID": 1 + (i * 7) % 263,
            "DOLocationID": 1 + (i * 11) % 263, "payment_type": 1, "fare_amount": fare,
            "extra": 1.0, "mta_tax": 0.5, "tip_amount": 2.0, "tolls_amount": 0.0,
            "improvement_surcharge": 1.0,
            "total_amount": round(fare + 1.0 + 0.5 + 2.0 + 1.0 + 2.5 + 0.75, 2),
            "congestion_surcharge": 2.5, "Airport_fee": 0.0, "cbd_congestion_fee": 0.75,
        })  # fmt: skip
    rows[1] |= {"payment_type": 0, "passenger_count": None, "RatecodeID": None,  # flex fare
                "store_and_fwd_flag": None, "congestion_surcharge": None, "Airport_fee": None,
                "total_amount": round(rows[1]["total_amount"] - 2.5, 2)}  # fmt: skip
    rows[2] |= {"RatecodeID": 99}  # unknown rate code: kept
    refund = {k: -v if isinstance(v, float) and k != "trip_distance" else v
              for k, v in rows[3].items()}  # fmt: skip
    rows.append(refund)  # a refund: every amount negative
    rows.append(dict(rows[5]))  # an exact duplicate row
    rows[6] |= {"PULocationID": 0}  # not a zone
    rows[7] |= {"trip_distance": 0.0}  # zero distance: kept
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def test_tlc_file_replay_is_kept_or_rejected_for_documented_reasons(stack: Any) -> None:
    from taxi_generator.producer import run_replay

    from lakehouse.reset import reset_data

    s = make_settings(event_format="json", topic_raw="taxi.tlc", topic_dlq="taxi.tlc.dlq")
    reset_data(s)
    topics.create_topics(s)
    source = _tlc_file(Path(s.lakehouse_home) / "yellow_tripdata_2025-01.parquet")
    manifest = run_replay(s, source)
    assert manifest.counts == {"replayed": 202} and manifest.shift_days % 7 == 0

    run_bronze(s)
    run_silver(s)
    assert "ERROR=0" in run_dbt(s, "build").summary
    report = run_verify(s)
    assert report.ok
    f = report.figures
    assert f["dead_letter_rows"] == 0
    assert f["rejected_by_reason"] == {"invalid_location_id": 1}
    assert f["duplicates_removed"] == 1 and f["silver_rows"] == 200  # the refund is kept
    fees = _rows(
        s, f"{s.silver_namespace}.trips", ("cbd_congestion_fee", "payment_type", "record_kind")
    )
    assert {r["payment_type"] for r in fees} == {0, 1}
    assert [r["record_kind"] for r in fees].count("refund") == 1
    assert {str(r["cbd_congestion_fee"]) for r in fees if r["record_kind"] == "trip"} == {"0.75"}
    assert {str(r["cbd_congestion_fee"]) for r in fees if r["record_kind"] == "refund"} == {"-0.75"}
