"""Replay of real TLC yellow-trip Parquet files: schema variants, mapping, quirks, time shift,
batch reading, the Avro fallback and the replay manifest (no Kafka)."""

from __future__ import annotations

import io
import json
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from taxi_generator import tlc
from taxi_generator.manifest import Manifest
from taxi_generator.model import FIELDS
from taxi_generator.producer import replay_manifest
from taxi_generator.tlc import (
    ReplayEncoder,
    TlcReplay,
    TlcSchemaError,
    count_rows,
    iter_tlc_records,
    replay_shift_days,
)

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "registry" / "schemas" / "raw_trip.avsc"
AMOUNTS = (
    "fare_amount",
    "extra",
    "mta_tax",
    "tip_amount",
    "tolls_amount",
    "improvement_surcharge",
    "total_amount",
    "congestion_surcharge",
)


INT32, INT64 = pa.int32(), pa.int64()


def _schema(
    *,
    small_ints: pa.DataType = INT32,
    counts: pa.DataType = INT64,
    ts: str = "us",
    airport: str | None = "Airport_fee",
    cbd: bool = False,
) -> pa.Schema:
    """A yellow-trip file schema; the defaults are the 2024 files'."""
    fields = [
        ("VendorID", small_ints),
        ("tpep_pickup_datetime", pa.timestamp(ts)),
        ("tpep_dropoff_datetime", pa.timestamp(ts)),
        ("passenger_count", counts),
        ("trip_distance", pa.float64()),
        ("RatecodeID", counts),
        ("store_and_fwd_flag", pa.large_string()),
        ("PULocationID", small_ints),
        ("DOLocationID", small_ints),
        ("payment_type", INT64),
        *((a, pa.float64()) for a in AMOUNTS),
    ]
    if airport:
        fields.append((airport, pa.float64()))
    if cbd:
        fields.append(("cbd_congestion_fee", pa.float64()))
    return pa.schema(fields)


SCHEMA_2024 = _schema()
SCHEMA_2025 = _schema(cbd=True)
# 2023: lower-case airport_fee, passenger_count/RatecodeID as doubles, int64 ids
SCHEMA_2023 = _schema(small_ints=INT64, counts=pa.float64(), ts="ns", airport="airport_fee")
# 2019: no airport fee column at all
SCHEMA_2019 = _schema(small_ints=INT64, counts=pa.float64(), ts="ns", airport=None)


def _row(pickup: datetime, minutes: int = 12, **over) -> dict:
    r = {
        "VendorID": 2,
        "tpep_pickup_datetime": pickup,
        "tpep_dropoff_datetime": pickup + timedelta(minutes=minutes),
        "passenger_count": 1,
        "trip_distance": 1.72,
        "RatecodeID": 1,
        "store_and_fwd_flag": "N",
        "PULocationID": 186,
        "DOLocationID": 79,
        "payment_type": 2,
        "fare_amount": 17.7,
        "extra": 1.0,
        "mta_tax": 0.5,
        "tip_amount": 0.0,
        "tolls_amount": 0.0,
        "improvement_surcharge": 1.0,
        "total_amount": 22.7,
        "congestion_surcharge": 2.5,
        "Airport_fee": 0.0,
        "airport_fee": 0.0,
        "cbd_congestion_fee": 0.75,
    }
    r.update(over)
    return r


def _write(path: Path, rows: list[dict], schema: pa.Schema, **kw) -> Path:
    table = pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in rows], schema=schema)
    pq.write_table(table, path, **kw)
    return path


def _january(n: int) -> list[dict]:
    """``n`` trips spread over January 2024 (pickups every few minutes)."""
    start = datetime(2024, 1, 1, 0, 3, 7)
    step = timedelta(days=31) / max(n, 1)
    return [_row(start + i * step, PULocationID=1 + i % 263) for i in range(n)]


def _records(path: Path, today: date = date(2024, 2, 1), **kw) -> list[dict]:
    return list(iter_tlc_records(path, today=today, **kw))


# --------------------------------------------------------------------------- mapping


def test_2024_file_maps_field_by_field(tmp_path):
    p = _write(tmp_path / "yellow_tripdata_2024-01.parquet", _january(20), SCHEMA_2024)
    recs = _records(p)  # today = Feb 1: January already ended, no shift
    assert len(recs) == 20
    r = recs[0]
    assert list(r) == list(FIELDS)
    assert r == {
        "VendorID": 2,
        "tpep_pickup_datetime": "2024-01-01 00:03:07",
        "tpep_dropoff_datetime": "2024-01-01 00:15:07",
        "passenger_count": 1,
        "trip_distance": 1.72,
        "RatecodeID": 1,
        "store_and_fwd_flag": "N",
        "PULocationID": 1,
        "DOLocationID": 79,
        "payment_type": 2,
        "fare_amount": 17.7,
        "extra": 1.0,
        "mta_tax": 0.5,
        "tip_amount": 0.0,
        "tolls_amount": 0.0,
        "improvement_surcharge": 1.0,
        "total_amount": 22.7,
        "congestion_surcharge": 2.5,
        "Airport_fee": 0.0,
    }
    for field in ("VendorID", "passenger_count", "RatecodeID", "PULocationID", "payment_type"):
        assert type(r[field]) is int
    for field in (*AMOUNTS, "trip_distance", "Airport_fee"):
        assert type(r[field]) is float
    # the contract's JSON: compact and parseable back to the same record
    assert json.loads(ReplayEncoder()(r)) == r
    assert ReplayEncoder()(r) == json.dumps(r, separators=(",", ":"))


def test_2023_variant_lower_case_fee_doubles_and_ns_timestamps(tmp_path):
    rows = _january(10)
    rows[0].update(
        passenger_count=2.0,
        RatecodeID=99.0,
        airport_fee=1.75,
        tpep_pickup_datetime=datetime(2024, 1, 1, 0, 3, 7, 999_999),
    )
    rows[1].update(passenger_count=float("nan"), RatecodeID=None)
    p = _write(tmp_path / "2023.parquet", rows, SCHEMA_2023)
    assert pq.read_schema(p).field("tpep_pickup_datetime").type == pa.timestamp("ns")
    recs = _records(p)
    a, b = recs[0], recs[1]
    assert list(a) == list(FIELDS)  # "airport_fee" comes out as the contract's "Airport_fee"
    assert a["Airport_fee"] == 1.75
    assert a["passenger_count"] == 2 and type(a["passenger_count"]) is int
    assert a["RatecodeID"] == 99 and type(a["RatecodeID"]) is int
    assert a["tpep_pickup_datetime"] == "2024-01-01 00:03:07"  # sub-seconds dropped
    assert type(a["VendorID"]) is int and type(a["PULocationID"]) is int
    assert b["passenger_count"] is None and b["RatecodeID"] is None


def test_2019_variant_without_airport_fee(tmp_path):
    p = _write(tmp_path / "2019.parquet", _january(5), SCHEMA_2019)
    recs = _records(p)
    assert all(list(r) == list(FIELDS) and r["Airport_fee"] is None for r in recs)


def test_2025_variant_carries_cbd_congestion_fee_last(tmp_path):
    rows = _january(5)
    rows[1]["cbd_congestion_fee"] = None
    p = _write(tmp_path / "2025.parquet", rows, SCHEMA_2025)
    replay = TlcReplay(p, today=date(2024, 2, 1))
    assert replay.has_cbd_congestion_fee
    recs = list(replay)
    assert list(recs[0]) == [*FIELDS, "cbd_congestion_fee"]
    assert recs[0]["cbd_congestion_fee"] == 0.75 and recs[1]["cbd_congestion_fee"] is None


def test_column_names_match_case_insensitively(tmp_path):
    schema = pa.schema(
        [pa.field(f.name.lower() if f.name != "Airport_fee" else "AIRPORT_FEE", f.type)
         for f in SCHEMA_2024]
    )  # fmt: skip
    rows = [{k.lower(): v for k, v in r.items()} for r in _january(3)]
    for r in rows:
        r["AIRPORT_FEE"] = 1.75
    p = _write(tmp_path / "lower.parquet", rows, schema)
    r = _records(p)[0]
    assert list(r) == list(FIELDS)
    assert r["VendorID"] == 2 and r["PULocationID"] == 1 and r["Airport_fee"] == 1.75


def test_real_quirks_are_kept(tmp_path):
    jan = datetime(2024, 1, 15, 8, 30)
    rows = [
        *_january(30),
        # flex fare: payment_type 0 with the nulls of the TLC files
        _row(jan, payment_type=0, passenger_count=None, RatecodeID=None,
             store_and_fwd_flag=None, congestion_surcharge=None, Airport_fee=None),
        _row(jan, RatecodeID=99, trip_distance=0.0),
        # a refund: every amount negative
        _row(jan, payment_type=4, fare_amount=-17.7, extra=-1.0, mta_tax=-0.5,
             improvement_surcharge=-1.0, total_amount=-22.7, congestion_surcharge=-2.5),
        _row(datetime(2002, 12, 31, 22, 17, 3), minutes=5),  # outliers far from the month
        _row(datetime(2009, 1, 1, 0, 1, 2), minutes=5),
        _row(jan, total_amount=19.299999999999997, tip_amount=3.3333),  # exactly as stored
        _row(jan, minutes=-3),  # dropoff before pickup stays so
        _row(jan, VendorID=None, tpep_dropoff_datetime=None),  # null required fields stay null
    ]  # fmt: skip
    p = _write(tmp_path / "q.parquet", rows, SCHEMA_2024)
    recs = _records(p)[30:]
    flex, r99, refund, y2002, y2009, exact, swapped, nulls = recs
    assert flex["payment_type"] == 0
    assert [flex[k] for k in ("passenger_count", "RatecodeID", "store_and_fwd_flag",
                              "congestion_surcharge", "Airport_fee")] == [None] * 5  # fmt: skip
    assert r99["RatecodeID"] == 99 and r99["trip_distance"] == 0.0
    assert refund["fare_amount"] == -17.7 and refund["total_amount"] == -22.7
    assert refund["congestion_surcharge"] == -2.5 and refund["payment_type"] == 4
    assert y2002["tpep_pickup_datetime"] == "2002-12-31 22:17:03"
    assert y2002["tpep_dropoff_datetime"] == "2002-12-31 22:22:03"
    assert y2009["tpep_pickup_datetime"] == "2009-01-01 00:01:02"
    assert exact["total_amount"] == 19.299999999999997 and exact["tip_amount"] == 3.3333
    assert swapped["tpep_dropoff_datetime"] < swapped["tpep_pickup_datetime"]
    assert nulls["VendorID"] is None and nulls["tpep_dropoff_datetime"] is None


def test_missing_required_column_names_file_missing_and_found(tmp_path):
    schema = pa.schema([f for f in SCHEMA_2024 if f.name not in ("fare_amount", "PULocationID")])
    p = _write(tmp_path / "broken.parquet", _january(3), schema)
    with pytest.raises(TlcSchemaError) as exc:
        TlcReplay(p, today=date(2024, 2, 1))
    msg = str(exc.value)
    assert str(p) in msg
    assert "'PULocationID'" in msg and "'fare_amount'" in msg
    assert "'DOLocationID'" in msg and "'tip_amount'" in msg  # the columns it has


def test_categorical_flag_column(tmp_path):
    schema = SCHEMA_2024.set(
        6, pa.field("store_and_fwd_flag", pa.dictionary(pa.int32(), pa.string()))
    )
    p = _write(tmp_path / "cat.parquet", _january(3), schema)
    assert pq.read_schema(p).field("store_and_fwd_flag").type == schema.field(6).type
    assert [r["store_and_fwd_flag"] for r in _records(p)] == ["N"] * 3


def test_wrong_column_type_is_a_clear_error(tmp_path):
    schema = SCHEMA_2024.set(1, pa.field("tpep_pickup_datetime", pa.string()))
    rows = [dict(r, tpep_pickup_datetime=str(r["tpep_pickup_datetime"])) for r in _january(2)]
    p = _write(tmp_path / "str.parquet", rows, schema)
    with pytest.raises(TlcSchemaError, match="tpep_pickup_datetime"):
        TlcReplay(p, today=date(2024, 2, 1))


def test_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        count_rows(tmp_path / "nope.parquet")
    with pytest.raises(FileNotFoundError, match="no \\*.parquet"):
        TlcReplay(tmp_path)


# --------------------------------------------------------------------------- time shift


@pytest.mark.parametrize(
    "end,today",
    [
        (date(2024, 1, 31), date(2024, 1, 31)),
        (date(2024, 1, 31), date(2024, 2, 6)),
        (date(2024, 1, 31), date(2024, 2, 7)),
        (date(2019, 2, 28), date(2026, 11, 25)),
        (date(2025, 6, 30), date(2025, 3, 1)),  # data after today: moved back
    ],
)
def test_replay_shift_days_is_the_smallest_whole_week_shift(end, today):
    start = end.replace(day=1)
    shift = replay_shift_days(start, end, today)
    assert shift % 7 == 0
    assert end + timedelta(days=shift) <= today  # the month has ended by today
    assert end + timedelta(days=shift + 7) > today  # one week more would not have
    assert (start + timedelta(days=shift)).weekday() == start.weekday()


def test_replay_shift_days_examples_and_argument_order():
    assert replay_shift_days(date(2024, 1, 1), date(2024, 1, 31), date(2024, 1, 31)) == 0
    assert replay_shift_days(date(2024, 1, 1), date(2024, 1, 31), date(2024, 2, 6)) == 0
    assert replay_shift_days(date(2024, 1, 1), date(2024, 1, 31), date(2024, 2, 7)) == 7
    assert replay_shift_days(date(2024, 1, 1), date(2024, 1, 31), date(2024, 1, 30)) == -7
    with pytest.raises(ValueError):
        replay_shift_days(date(2024, 2, 1), date(2024, 1, 31), date(2024, 3, 1))


def test_main_month_ignores_outliers_and_shift_keeps_weekdays(tmp_path):
    rows = [
        _row(datetime(2002, 12, 31, 23, 0)),
        _row(datetime(2009, 1, 1, 0, 5)),
        _row(datetime(2023, 12, 31, 23, 58)),
        *_january(200),
        _row(datetime(2024, 2, 1, 0, 2)),
    ]
    p = _write(tmp_path / "yellow_tripdata_2024-01.parquet", rows, SCHEMA_2024)
    today = date(2026, 7, 15)
    replay = TlcReplay(p, today=today)
    assert replay.window == (date(2024, 1, 1), date(2024, 1, 31))
    shift = replay.shift_days
    assert shift == replay_shift_days(date(2024, 1, 1), date(2024, 1, 31), today)
    assert shift > 0 and shift % 7 == 0
    assert date(2024, 1, 31) + timedelta(days=shift) <= today
    recs = list(replay)
    for raw, rec in zip(rows, recs, strict=True):
        for col in ("tpep_pickup_datetime", "tpep_dropoff_datetime"):
            moved = datetime.strptime(rec[col], "%Y-%m-%d %H:%M:%S")
            assert moved - raw[col] == timedelta(days=shift)  # same delta, outliers too
            assert moved.weekday() == raw[col].weekday() and moved.time() == raw[col].time()
    main = recs[3]["tpep_pickup_datetime"]
    assert int(main[:4]) - int(recs[0]["tpep_pickup_datetime"][:4]) >= 21  # still an outlier


def test_default_today_is_utc_today(tmp_path):
    p = _write(tmp_path / "a.parquet", _january(3), SCHEMA_2024)
    today = datetime.now(UTC).date()
    assert TlcReplay(p).shift_days == replay_shift_days(date(2024, 1, 1), date(2024, 1, 31), today)


def test_unrepresentable_or_null_timestamps_become_none(tmp_path):
    rows = [*_january(10), _row(datetime(9999, 12, 31, 12, 0), minutes=1)]
    rows[3]["tpep_pickup_datetime"] = None
    p = _write(tmp_path / "far.parquet", rows, SCHEMA_2024)
    recs = _records(p, today=date(2024, 3, 1))  # shifted by +28 days: 9999-12-31 overflows
    assert recs[-1]["tpep_pickup_datetime"] is None
    assert recs[-1]["tpep_dropoff_datetime"] is None
    assert recs[3]["tpep_pickup_datetime"] is None
    assert recs[3]["tpep_dropoff_datetime"] is not None


def test_zone_tagged_timestamps_use_their_wall_clock(tmp_path):
    schema = SCHEMA_2024.set(1, pa.field("tpep_pickup_datetime", pa.timestamp("us", tz="UTC")))
    rows = _january(3)
    rows[0]["tpep_pickup_datetime"] = datetime(2024, 1, 1, 0, 3, 7, tzinfo=UTC)
    p = _write(tmp_path / "tz.parquet", rows, schema)
    assert _records(p)[0]["tpep_pickup_datetime"] == "2024-01-01 00:03:07"


# --------------------------------------------------------------------------- batches, files


def test_reads_in_batches_in_file_order(tmp_path, monkeypatch):
    rows = _january(2500)
    p = _write(tmp_path / "big.parquet", rows, SCHEMA_2024, row_group_size=700)
    assert count_rows(p) == 2500
    sizes: list[int] = []
    real = pq.ParquetFile.iter_batches

    def spy(self, *args, **kwargs):
        for batch in real(self, *args, **kwargs):
            sizes.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    replay = TlcReplay(p, today=date(2024, 2, 1), batch_size=1000)
    sizes.clear()  # opening read the pickup column once
    it = iter(replay)
    first = next(it)
    assert sizes == [1000]  # lazily: one batch read for the first record
    recs = [first, *it]
    assert len(recs) == 2500 and max(sizes) <= 1000 and len(sizes) >= 3
    assert [r["PULocationID"] for r in recs] == [r["PULocationID"] for r in rows]
    assert recs[-1]["tpep_pickup_datetime"] > recs[0]["tpep_pickup_datetime"]


def test_directory_replays_files_in_name_order_with_one_shift(tmp_path):
    feb = [_row(datetime(2024, 2, 10, 9, 0), PULocationID=7)] * 4
    _write(tmp_path / "yellow_tripdata_2024-02.parquet", feb, SCHEMA_2025)
    _write(tmp_path / "yellow_tripdata_2024-01.parquet", _january(6), SCHEMA_2023)
    (tmp_path / "notes.txt").write_text("not parquet")
    assert count_rows(tmp_path) == 10
    replay = TlcReplay(tmp_path, today=date(2024, 3, 31))
    assert replay.window == (date(2024, 1, 1), date(2024, 2, 29))
    assert replay.shift_days == 28  # Feb 29 + 28 = Mar 28 <= Mar 31
    recs = list(replay)
    assert len(recs) == 10
    assert [r["PULocationID"] for r in recs[6:]] == [7] * 4
    assert "cbd_congestion_fee" not in recs[0] and recs[-1]["cbd_congestion_fee"] == 0.75
    assert recs[0]["tpep_pickup_datetime"] == "2024-01-29 00:03:07"
    assert recs[-1]["tpep_pickup_datetime"] == "2024-03-09 09:00:00"


def test_empty_file_replays_nothing(tmp_path):
    p = _write(tmp_path / "empty.parquet", [], SCHEMA_2024)
    replay = TlcReplay(p, today=date(2024, 2, 1))
    assert replay.rows == 0 and replay.window is None and replay.shift_days == 0
    assert list(replay) == []


# --------------------------------------------------------------------------- Avro encoding


def _avro_schema(with_cbd: bool = False) -> dict:
    schema = json.loads(SCHEMA_FILE.read_text())
    if with_cbd:
        schema["fields"].append(
            {"name": "cbd_congestion_fee", "type": ["null", "double"], "default": None}
        )
    return schema


def _fastavro_serializer(schema: dict):
    """The body fastavro writes (what the registry serializer puts after its header)."""
    parsed = fastavro.parse_schema(schema)
    written: list[dict] = []

    def serialize(record: dict) -> bytes:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, parsed, record)
        written.append(record)
        return b"\0" + buf.getvalue()

    return serialize, written, parsed


def _decode(parsed, value: bytes) -> dict:
    return fastavro.schemaless_reader(io.BytesIO(value[1:]), parsed, parsed)


def test_avro_records_the_schema_carries_are_serialized(tmp_path):
    p = _write(tmp_path / "a.parquet", _january(5), SCHEMA_2024)
    serialize, written, parsed = _fastavro_serializer(_avro_schema())
    enc = ReplayEncoder(serialize, _avro_schema())
    recs = _records(p)
    values = [enc(r) for r in recs]
    assert all(isinstance(v, bytes) for v in values)
    assert [_decode(parsed, v) for v in values] == recs
    assert enc.sent_as_json == 0 and enc.dropped_fields == ()


def test_avro_rows_the_schema_cannot_carry_go_as_json_and_are_counted(tmp_path):
    rows = [
        _row(datetime(2024, 1, 3)),
        _row(datetime(2024, 1, 3), extra=None),  # null in a non-nullable double
        _row(datetime(2024, 1, 3), VendorID=None),  # null in a required int
        _row(datetime(2024, 1, 3), tpep_dropoff_datetime=None),
        _row(datetime(2024, 1, 3), passenger_count=None),  # nullable: fine
    ]
    p = _write(tmp_path / "n.parquet", rows, SCHEMA_2024)
    serialize, written, parsed = _fastavro_serializer(_avro_schema())
    enc = ReplayEncoder(serialize, _avro_schema())
    recs = _records(p)
    values = [enc(r) for r in recs]
    assert [type(v) for v in values] == [bytes, str, str, str, bytes]
    assert enc.sent_as_json == 3
    assert json.loads(values[1]) == recs[1]  # the original content, as compact JSON
    assert values[1] == json.dumps(recs[1], separators=(",", ":"))
    for r in recs[1:4]:  # the fallback is needed: fastavro refuses these records
        with pytest.raises((TypeError, ValueError, AttributeError)):
            fastavro.schemaless_writer(io.BytesIO(), parsed, r)


def test_avro_int_range_and_fractions(tmp_path):
    enc = ReplayEncoder(_fastavro_serializer(_avro_schema())[0], _avro_schema())
    ok = _records(_write(tmp_path / "a.parquet", _january(1), SCHEMA_2024))[0]
    assert enc.fits(ok)
    assert not enc.fits(dict(ok, PULocationID=2**31))
    assert not enc.fits(dict(ok, passenger_count=1.5))
    assert not enc.fits(dict(ok, store_and_fwd_flag=1))
    assert not enc.fits(dict(ok, unknown_field=1))
    assert enc.fits(dict(ok, fare_amount=17))  # an int in a double field is written as 17.0


def test_cbd_fee_dropped_only_when_the_schema_lacks_it(tmp_path):
    p = _write(tmp_path / "2025.parquet", _january(3), SCHEMA_2025)
    replay = TlcReplay(p, today=date(2024, 2, 1))
    recs = list(replay)

    serialize, written, parsed = _fastavro_serializer(_avro_schema())
    v1 = ReplayEncoder(serialize, _avro_schema(), cbd_in_source=replay.has_cbd_congestion_fee)
    assert v1.dropped_fields == ("cbd_congestion_fee",)
    values = [v1(r) for r in recs]
    assert all(isinstance(v, bytes) for v in values) and v1.sent_as_json == 0
    assert "cbd_congestion_fee" not in _decode(parsed, values[0])
    assert "cbd_congestion_fee" in recs[0]  # the record itself is left as it was

    serialize2, _, parsed2 = _fastavro_serializer(_avro_schema(with_cbd=True))
    v2 = ReplayEncoder(serialize2, _avro_schema(with_cbd=True), cbd_in_source=True)
    assert v2.dropped_fields == ()
    assert _decode(parsed2, v2(recs[0]))["cbd_congestion_fee"] == 0.75

    # a 2024 file under the v2 schema: the absent optional field takes its default
    old = _records(_write(tmp_path / "2024.parquet", _january(1), SCHEMA_2024))[0]
    assert _decode(parsed2, v2(old))["cbd_congestion_fee"] is None
    assert v2.sent_as_json == 0


def test_an_avro_encoder_needs_its_schema():
    with pytest.raises(ValueError):
        ReplayEncoder(lambda r: b"", None)


# --------------------------------------------------------------------------- manifest


def _manifest(replay: TlcReplay, enc: ReplayEncoder, fmt: str, sent: int, **kw) -> Manifest:
    t = datetime(2026, 11, 25, 14, 20, tzinfo=UTC)
    args = dict(
        run_id="20261125T142000Z-replay",
        topic="taxi.test",
        event_format=fmt,
        started=t,
        finished=t + timedelta(seconds=2),
        duration=2.0,
        sent=sent,
        acked=sent,
        offsets_before={"0": 5, "1": 0},
    )
    return replay_manifest(replay, enc, **(args | kw))


def test_replay_manifest_round_trips_and_is_consistent(tmp_path):
    p = _write(tmp_path / "2025.parquet", _january(8), SCHEMA_2025)
    replay = TlcReplay(p, today=date(2024, 2, 1))
    serialize, _, _ = _fastavro_serializer(_avro_schema())
    enc = ReplayEncoder(serialize, _avro_schema(), cbd_in_source=True)
    recs = list(replay)
    recs[2]["extra"] = None  # one row the schema cannot carry
    for r in recs:
        enc(r)
    m = _manifest(replay, enc, "avro", sent=len(recs))
    m.offsets_after = {"0": 9, "1": 4}
    assert m.problems() == []
    d = m.to_dict()
    assert d["mode"] == "replay" and d["seed"] is None and d["requested"] == 8
    assert d["counts"] == {"replayed": 8, "sent_as_json": 1}
    assert d["messages_acked"] == 8 and d["exact_counts"] is False
    assert d["source"] == str(p) and d["shift_days"] == 0
    assert d["dropped_fields"] == ["cbd_congestion_fee"]
    assert d["events_per_s"] == 4.0 and d["event_format"] == "avro"
    assert d["late_event_keys"] == []
    path = m.write(tmp_path / "manifests")
    assert Manifest.read(path) == m
    assert json.loads(path.read_text())["counts"] == {"replayed": 8, "sent_as_json": 1}
    assert m.offsets_delta() == m.messages_acked


def test_json_replay_manifest_has_no_sent_as_json(tmp_path):
    p = _write(tmp_path / "a.parquet", _january(4), SCHEMA_2024)
    replay = TlcReplay(p, today=date(2026, 7, 15))
    m = _manifest(replay, ReplayEncoder(), "json", sent=4)
    d = m.to_dict()
    assert d["counts"] == {"replayed": 4}
    assert "dropped_fields" not in d and d["shift_days"] == replay.shift_days > 0
    assert m.problems() == []
    assert Manifest.from_dict(json.loads(m.to_json())) == m


def test_replay_manifest_problems(tmp_path):
    p = _write(tmp_path / "a.parquet", _january(4), SCHEMA_2024)
    replay = TlcReplay(p, today=date(2024, 2, 1))
    short = _manifest(replay, ReplayEncoder(), "json", sent=3)
    assert any("replayed 3 != requested" in x for x in short.problems())
    lost = _manifest(replay, ReplayEncoder(), "json", sent=4, acked=3)
    assert any("messages_acked 3 != replayed 4" in x for x in lost.problems())
    odd = _manifest(replay, ReplayEncoder(), "json", sent=4)
    odd.counts["sent_as_json"] = 1  # only an avro replay falls back to JSON
    assert any("sent_as_json" in x for x in odd.problems())
    odd.counts = {"clean": 4}
    assert odd.problems() == ["counts lack replayed"]


def test_generator_manifests_keep_their_shape():
    m = Manifest(
        run_id="r", topic="t", seed=1, mode="burst", requested=0, started_at="",
        finished_at="", duration_s=0.0, events_per_s=0.0, messages_acked=0,
    )  # fmt: skip
    d = m.to_dict()
    assert not {"source", "exact_counts", "shift_days", "dropped_fields"} & set(d)
    assert list(d["counts"])[0] == "clean"
    assert Manifest.from_dict(d).to_dict() == d and m.exact_counts is True


def test_replay_float_conversion_helpers():
    assert tlc._ints(pa.array([1.0, None, math.nan, 99.0, 1.5])) == [1, None, None, 99, 1.5]
    assert tlc._floats(pa.array([1, None], pa.int32())) == [1.0, None]
    assert tlc._floats(pa.array([math.inf, -0.5])) == [None, -0.5]
