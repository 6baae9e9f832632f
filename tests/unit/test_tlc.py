"""Replay of real TLC yellow-trip Parquet files: schema variants, mapping, quirks, time shift,
batch reading, rows the Avro schema cannot carry, the replay manifest, the real samples in
data/tlc and run_replay end to end against a fake Kafka (no broker)."""

from __future__ import annotations

import io
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fastavro
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from taxi_generator import tlc
from taxi_generator.manifest import Manifest
from taxi_generator.model import FIELDS
from taxi_generator.producer import replay_manifest
from taxi_generator.tlc import (
    ReplayEncoder,
    ReplayReport,
    TlcReplay,
    TlcSchemaError,
    count_rows,
    iter_tlc_records,
    replay_shift_days,
)

from lakehouse import contract

REPO = Path(__file__).resolve().parents[2]
SCHEMA_FILE = contract.SCHEMA_FILE
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


def _records(path: Path, now: datetime | None = None, **kw) -> list[dict]:
    """The records, not shifted (mapping tests), or shifted to before ``now``."""
    if now is None:
        return list(TlcReplay(path, shift_days=0, **kw))
    return list(iter_tlc_records(path, now=now, **kw))


def _dt(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


# --------------------------------------------------------------------------- mapping


def test_2024_file_maps_field_by_field(tmp_path):
    p = _write(tmp_path / "yellow_tripdata_2024-01.parquet", _january(20), SCHEMA_2024)
    recs = _records(p)
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
    replay = TlcReplay(p, shift_days=0)
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
        TlcReplay(p)
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
        TlcReplay(p)


def test_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        count_rows(tmp_path / "nope.parquet")
    with pytest.raises(FileNotFoundError, match="no \\*.parquet"):
        TlcReplay(tmp_path)


# --------------------------------------------------------------------------- time shift


@pytest.mark.parametrize(
    "newest,now",
    [
        (datetime(2024, 1, 31, 23, 59, 59), datetime(2024, 2, 1)),
        (datetime(2024, 1, 31, 12, 0), datetime(2024, 2, 7, 12, 0)),  # exactly a week: not before
        (datetime(2024, 1, 31, 12, 0), datetime(2024, 2, 7, 12, 0, 1)),
        (datetime(2019, 2, 28, 18, 30), datetime(2026, 11, 25, 14, 20)),
        (datetime(2025, 6, 30, 8, 0), datetime(2025, 3, 1)),  # data after now: moved back
        (datetime(2098, 1, 1), datetime(2026, 11, 25)),
    ],
)
def test_replay_shift_days_is_the_smallest_whole_week_shift_before_now(newest, now):
    shift = replay_shift_days(newest, now)
    assert shift % 7 == 0
    assert newest + timedelta(days=shift) < now  # strictly before now
    assert newest + timedelta(days=shift + 7) >= now  # one week more would not be
    assert (newest + timedelta(days=shift)).weekday() == newest.weekday()


def test_replay_shift_days_examples():
    jan31 = datetime(2024, 1, 31, 10, 0)
    assert replay_shift_days(jan31, datetime(2024, 2, 1)) == 0
    assert replay_shift_days(jan31, datetime(2024, 2, 7, 10, 0)) == 0
    assert replay_shift_days(jan31, datetime(2024, 2, 7, 10, 0, 1)) == 7
    assert replay_shift_days(jan31, datetime(2024, 1, 31, 10, 0)) == -7
    # an aware now is taken as its UTC wall clock
    aware = datetime(2024, 2, 7, 10, 0, 1, tzinfo=UTC)
    assert replay_shift_days(jan31, aware) == 7


def test_outliers_do_not_decide_the_shift_and_keep_their_delta(tmp_path):
    rows = [
        _row(datetime(2002, 12, 31, 23, 0)),
        _row(datetime(2009, 1, 1, 0, 5)),
        _row(datetime(2023, 12, 31, 23, 58)),
        *_january(200),
        _row(datetime(2024, 2, 1, 0, 2)),  # spilled into the next month
        _row(datetime(2098, 3, 4, 5, 6), minutes=5),  # a future outlier
    ]
    p = _write(tmp_path / "yellow_tripdata_2024-01.parquet", rows, SCHEMA_2024)
    now = datetime(2026, 7, 15, 9, 30)
    replay = TlcReplay(p, now=now)
    assert replay.months == {"2002-12": 1, "2009-01": 1, "2023-12": 1, "2024-01": 200,
                             "2024-02": 1, "2098-03": 1}  # fmt: skip
    assert replay.plausible_months == ["2024-01"]  # 1 row < 1 % of 200
    newest = max(r["tpep_pickup_datetime"] for r in rows[3:203])
    assert replay.newest_pickup == newest
    shift = replay.shift_days
    assert shift == replay_shift_days(newest, now) and shift > 0 and shift % 7 == 0
    recs = list(replay)
    for raw, rec in zip(rows, recs, strict=True):
        for col in ("tpep_pickup_datetime", "tpep_dropoff_datetime"):
            moved = _dt(rec[col])
            assert moved - raw[col] == timedelta(days=shift)  # same delta, outliers too
            assert moved.weekday() == raw[col].weekday() and moved.time() == raw[col].time()
    main = [_dt(r["tpep_pickup_datetime"]) for r in recs[3:203]]
    assert max(main) < now <= max(main) + timedelta(days=7)
    assert _dt(recs[-1]["tpep_pickup_datetime"]) > now + timedelta(days=70 * 365)  # still so
    assert int(recs[3]["tpep_pickup_datetime"][:4]) - int(recs[0]["tpep_pickup_datetime"][:4]) >= 21


def test_a_month_holding_one_percent_of_the_busiest_is_plausible(tmp_path):
    # 100 trips in January, 1 on Feb 3: 1 % of the busiest month -> February decides
    rows = [*_january(100), _row(datetime(2024, 2, 3, 7, 0))]
    p = _write(tmp_path / "a.parquet", rows, SCHEMA_2024)
    now = datetime(2024, 3, 1)
    replay = TlcReplay(p, now=now)
    assert replay.plausible_months == ["2024-01", "2024-02"]
    assert replay.newest_pickup == datetime(2024, 2, 3, 7, 0)
    assert replay.shift_days == 21  # Feb 3 + 21 = Feb 24 < Mar 1 <= Mar 2
    # 101 in January: February's one row is under 1 % and no longer decides
    rows = [*_january(101), _row(datetime(2024, 2, 3, 7, 0))]
    replay = TlcReplay(_write(tmp_path / "b.parquet", rows, SCHEMA_2024), now=now)
    assert replay.plausible_months == ["2024-01"]
    assert replay.newest_pickup < datetime(2024, 2, 1) and replay.shift_days == 28


def test_a_file_spanning_months_is_all_in_the_past(tmp_path):
    """A file whose busiest month is not its last (as real multi-month samples are): the newest
    plausible pickup decides, not the busiest month (which put March after now)."""
    rows = [
        *(_row(datetime(2024, 1, 1, 8, 0) + timedelta(minutes=97 * i)) for i in range(300)),
        *(_row(datetime(2024, 2, 1, 8, 0) + timedelta(minutes=97 * i)) for i in range(200)),
        *(_row(datetime(2024, 3, 1, 8, 0) + timedelta(minutes=97 * i, microseconds=7)) for i in range(100)),
    ]  # fmt: skip
    p = _write(tmp_path / "multi.parquet", rows, SCHEMA_2023)  # ns timestamps
    now = datetime(2024, 3, 20, 12, 0)
    replay = TlcReplay(p, now=now)
    assert replay.months == {"2024-01": 300, "2024-02": 200, "2024-03": 100}
    newest = datetime(2024, 3, 1, 8, 0) + timedelta(minutes=97 * 99, microseconds=7)
    assert replay.newest_pickup == newest  # ns read to the µs: March 7 16:03
    assert replay.shift_days == 7  # March 14 16:03 < now (January's end would allow 49)
    picks = [_dt(r["tpep_pickup_datetime"]) for r in replay]
    assert len(picks) == 600 and max(picks) < now <= max(picks) + timedelta(days=7)
    # now before the data's last pickups: moved back a week
    assert TlcReplay(p, now=datetime(2024, 3, 5, 12, 0)).shift_days == -7


def test_default_now_is_utc_now(tmp_path):
    p = _write(tmp_path / "a.parquet", _january(3), SCHEMA_2024)
    newest = max(r["tpep_pickup_datetime"] for r in _january(3))
    before = replay_shift_days(newest, datetime.now(UTC))
    shift = TlcReplay(p).shift_days
    after = replay_shift_days(newest, datetime.now(UTC))
    assert shift in (before, after)
    assert newest + timedelta(days=shift) < datetime.now(UTC).replace(tzinfo=None)


def test_unrepresentable_or_null_timestamps_become_none(tmp_path):
    rows = [*_january(200), _row(datetime(9999, 12, 31, 12, 0), minutes=1)]
    rows[3]["tpep_pickup_datetime"] = None
    p = _write(tmp_path / "far.parquet", rows, SCHEMA_2024)
    replay = TlcReplay(p, now=datetime(2024, 3, 1))
    assert replay.shift_days == 28  # January decides; 9999-12-31 + 28 days overflows
    recs = list(replay)
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
    replay = TlcReplay(p, shift_days=0, batch_size=1000)
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
    replay = TlcReplay(tmp_path, now=datetime(2024, 3, 31))
    assert replay.months == {"2024-01": 6, "2024-02": 4}
    assert replay.newest_pickup == datetime(2024, 2, 10, 9, 0)  # the newest of all files
    assert replay.shift_days == 49  # Feb 10 + 49 = Mar 30 < Mar 31
    recs = list(replay)
    assert len(recs) == 10
    assert [r["PULocationID"] for r in recs[6:]] == [7] * 4
    assert "cbd_congestion_fee" not in recs[0] and recs[-1]["cbd_congestion_fee"] == 0.75
    assert recs[0]["tpep_pickup_datetime"] == "2024-02-19 00:03:07"
    assert recs[-1]["tpep_pickup_datetime"] == "2024-03-30 09:00:00"
    assert replay.locate(5) == (tmp_path / "yellow_tripdata_2024-01.parquet", 5)
    assert replay.locate(6) == (tmp_path / "yellow_tripdata_2024-02.parquet", 0)
    with pytest.raises(IndexError):
        replay.locate(10)


def test_empty_file_replays_nothing(tmp_path):
    p = _write(tmp_path / "empty.parquet", [], SCHEMA_2024)
    replay = TlcReplay(p)
    assert replay.rows == 0 and replay.months == {} and replay.newest_pickup is None
    assert replay.shift_days == 0
    assert list(replay) == []


# --------------------------------------------------------------------------- Avro encoding


def _avro_schema(v1: bool = False) -> dict:
    """The shipped schema (v2: with cbd_congestion_fee), or v1 (without it)."""
    schema = json.loads(SCHEMA_FILE.read_text())
    if v1:
        schema["fields"] = [f for f in schema["fields"] if f["name"] != "cbd_congestion_fee"]
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


def test_shipped_schema_is_v2_with_the_cbd_fee():
    fee = [f for f in _avro_schema()["fields"] if f["name"] == "cbd_congestion_fee"]
    assert fee and fee[0]["type"] == ["null", "double"] and fee[0]["default"] is None


def test_avro_records_the_schema_carries_are_serialized(tmp_path):
    p = _write(tmp_path / "a.parquet", _january(5), SCHEMA_2024)
    serialize, written, parsed = _fastavro_serializer(_avro_schema())
    enc = ReplayEncoder(serialize, _avro_schema())
    recs = _records(p)
    values = [enc(r) for r in recs]
    assert all(isinstance(v, bytes) for v in values)
    # a 2024 record has no fee: the optional field decodes as its default
    assert [_decode(parsed, v) for v in values] == [r | {"cbd_congestion_fee": None} for r in recs]
    assert all(enc.reason(r) is None for r in recs) and enc.dropped_fields == ()


def test_avro_rows_the_schema_cannot_carry_are_not_encoded_and_say_why(tmp_path):
    rows = [
        _row(datetime(2024, 1, 3)),
        _row(datetime(2024, 1, 3), extra=None),  # null in a non-nullable double
        _row(datetime(2024, 1, 3), VendorID=None, payment_type=None),  # a 2019-2020 null block
        _row(datetime(2024, 1, 3), tpep_dropoff_datetime=None),
        _row(datetime(2024, 1, 3), passenger_count=None),  # nullable: fine
    ]
    p = _write(tmp_path / "n.parquet", rows, SCHEMA_2024)
    serialize, written, parsed = _fastavro_serializer(_avro_schema())
    enc = ReplayEncoder(serialize, _avro_schema())
    recs = _records(p)
    values = [enc(r) for r in recs]
    assert [type(v) for v in values] == [bytes, type(None), type(None), type(None), bytes]
    assert [enc.reason(r) for r in recs] == [
        None, "null:extra", "null:VendorID", "null:tpep_dropoff_datetime", None,
    ]  # fmt: skip
    assert len(written) == 2  # nothing else reached the serializer
    for r in recs[1:4]:  # fastavro refuses these records indeed
        with pytest.raises((TypeError, ValueError, AttributeError)):
            fastavro.schemaless_writer(io.BytesIO(), parsed, r)


def test_avro_int_range_fractions_and_other_reasons(tmp_path):
    enc = ReplayEncoder(_fastavro_serializer(_avro_schema())[0], _avro_schema())
    ok = _records(_write(tmp_path / "a.parquet", _january(1), SCHEMA_2024))[0]
    assert enc.fits(ok) and enc.reason(ok) is None
    assert enc.reason(dict(ok, PULocationID=2**31)) == "out_of_range:PULocationID"
    assert enc.reason(dict(ok, VendorID=-(2**31) - 1)) == "out_of_range:VendorID"
    assert enc.reason(dict(ok, passenger_count=1.5)) == "not_integer:passenger_count"
    assert enc.reason(dict(ok, store_and_fwd_flag=1)) == "wrong_type:store_and_fwd_flag"
    assert enc.reason(dict(ok, unknown_field=1)) == "unknown_field:unknown_field"
    assert enc.reason({k: v for k, v in ok.items() if k != "trip_distance"}) == (
        "missing:trip_distance"
    )
    assert not enc.fits(dict(ok, PULocationID=2**31))
    assert enc.fits(dict(ok, fare_amount=17))  # an int in a double field is written as 17.0
    assert enc.fits({k: v for k, v in ok.items() if k != "Airport_fee"})  # optional: default
    for bad in (dict(ok, PULocationID=2**31), dict(ok, passenger_count=1.5)):
        assert enc(bad) is None
    # JSON has no schema: every record is encoded, none has a reason
    assert ReplayEncoder().reason(dict(ok, VendorID=None)) is None
    assert json.loads(ReplayEncoder()(dict(ok, VendorID=None)))["VendorID"] is None


def test_cbd_fee_dropped_only_when_the_schema_lacks_it(tmp_path):
    p = _write(tmp_path / "2025.parquet", _january(3), SCHEMA_2025)
    replay = TlcReplay(p, shift_days=0)
    recs = list(replay)

    serialize, written, parsed = _fastavro_serializer(_avro_schema(v1=True))
    v1 = ReplayEncoder(
        serialize, _avro_schema(v1=True), cbd_in_source=replay.has_cbd_congestion_fee
    )
    assert v1.dropped_fields == ("cbd_congestion_fee",)
    values = [v1(r) for r in recs]
    assert all(isinstance(v, bytes) for v in values) and v1.reason(recs[0]) is None
    assert "cbd_congestion_fee" not in _decode(parsed, values[0])
    assert "cbd_congestion_fee" in recs[0]  # the record itself is left as it was

    serialize2, _, parsed2 = _fastavro_serializer(_avro_schema())
    v2 = ReplayEncoder(serialize2, _avro_schema(), cbd_in_source=True)
    assert v2.dropped_fields == ()
    assert _decode(parsed2, v2(recs[0]))["cbd_congestion_fee"] == 0.75
    assert v2.reason(dict(recs[0], cbd_congestion_fee="0.75")) == "wrong_type:cbd_congestion_fee"

    # a 2024 file under the v2 schema: the absent optional field takes its default
    old = _records(_write(tmp_path / "2024.parquet", _january(1), SCHEMA_2024))[0]
    assert _decode(parsed2, v2(old))["cbd_congestion_fee"] is None


def test_an_avro_encoder_needs_its_schema():
    with pytest.raises(ValueError):
        ReplayEncoder(lambda r: b"", None)


# --------------------------------------------------------------------------- manifest


def _manifest(
    replay: TlcReplay, enc: ReplayEncoder, report: ReplayReport, fmt: str, sent: int, **kw
) -> Manifest:
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
    return replay_manifest(replay, enc, report, **(args | kw))


def _replay_into(replay: TlcReplay, enc: ReplayEncoder, report: ReplayReport) -> list:
    """What run_replay hands to the producer (the same generator), without Kafka."""
    from taxi_generator.producer import _replay_messages

    return list(_replay_messages(replay, enc, report))


def test_replay_manifest_round_trips_and_accounts_for_every_row(tmp_path):
    rows = _january(8)
    rows[2]["extra"] = None  # two rows the schema cannot carry
    rows[5]["VendorID"] = None
    p = _write(tmp_path / "2025.parquet", rows, SCHEMA_2025)
    replay = TlcReplay(p, now=datetime(2024, 2, 1))
    serialize, _, parsed = _fastavro_serializer(_avro_schema(v1=True))
    enc = ReplayEncoder(serialize, _avro_schema(v1=True), cbd_in_source=True)
    report = ReplayReport(tmp_path / "manifests" / "20261125T142000Z-replay.unsent.jsonl")
    messages = _replay_into(replay, enc, report)
    assert len(messages) == 6 and all(isinstance(v, bytes) for _, v, _, _ in messages)
    m = _manifest(replay, enc, report, "avro", sent=len(messages))
    m.offsets_after = {"0": 9, "1": 2}
    assert m.problems() == []
    d = m.to_dict()
    assert d["mode"] == "replay" and d["seed"] is None and d["requested"] == 8
    assert d["counts"] == {"replayed": 6}  # messages, as for any run (verify sums them)
    assert d["messages_acked"] == 6 and d["exact_counts"] is False
    assert d["rows_read"] == 8 and d["not_sent"] == 2
    assert d["not_sent_by_reason"] == {"null:VendorID": 1, "null:extra": 1}
    assert d["not_sent_report"] == str(report.path)
    assert d["source"] == str(p) and d["shift_days"] == 0
    assert d["dropped_fields"] == ["cbd_congestion_fee"]
    assert d["events_per_s"] == 3.0 and d["event_format"] == "avro"
    assert d["late_event_keys"] == []
    path = m.write(tmp_path / "manifests")
    assert Manifest.read(path) == m
    assert json.loads(path.read_text())["counts"] == {"replayed": 6}
    assert m.offsets_delta() == m.messages_acked
    lines = [json.loads(x) for x in report.path.read_text().splitlines()]
    assert [(x["reason"], x["file"], x["row"]) for x in lines] == [
        ("null:extra", str(p), 2), ("null:VendorID", str(p), 5),
    ]  # fmt: skip
    recs = list(replay)
    assert [x["record"] for x in lines] == [recs[2], recs[5]]  # the record as it would have gone
    # verify reads only *.json: the report is not taken for a manifest
    assert sorted(x.name for x in path.parent.glob("*.json")) == [path.name]


def test_json_replay_sends_every_row_and_writes_no_report(tmp_path):
    rows = _january(4)
    rows[1]["VendorID"] = None  # JSON has no schema to fail: bronze and silver judge it
    p = _write(tmp_path / "a.parquet", rows, SCHEMA_2024)
    replay = TlcReplay(p, now=datetime(2026, 7, 15))
    report = ReplayReport(tmp_path / "r.unsent.jsonl")
    messages = _replay_into(replay, ReplayEncoder(), report)
    assert [json.loads(v)["VendorID"] for _, v, _, _ in messages] == [2, None, 2, 2]
    assert [k for k, _, _, _ in messages] == ["1", "2", "3", "4"]
    m = _manifest(replay, ReplayEncoder(), report, "json", sent=4)
    d = m.to_dict()
    assert d["counts"] == {"replayed": 4}
    assert d["rows_read"] == 4 and d["not_sent"] == 0 and d["not_sent_by_reason"] == {}
    assert "not_sent_report" not in d and not report.path.exists()
    assert "dropped_fields" not in d and d["shift_days"] == replay.shift_days > 0
    assert m.problems() == []
    assert Manifest.from_dict(json.loads(m.to_json())) == m


def test_replay_manifest_problems(tmp_path):
    p = _write(tmp_path / "a.parquet", _january(4), SCHEMA_2024)
    replay = TlcReplay(p, shift_days=0)
    report = ReplayReport(tmp_path / "r.unsent.jsonl")
    _replay_into(replay, ReplayEncoder(), report)
    short = _manifest(replay, ReplayEncoder(), report, "json", sent=3)
    assert any("rows_read 4 != replayed 3 + not_sent 0" in x for x in short.problems())
    lost = _manifest(replay, ReplayEncoder(), report, "json", sent=4, acked=3)
    assert any("messages_acked 3 != replayed 4" in x for x in lost.problems())
    odd = _manifest(replay, ReplayEncoder(), report, "json", sent=4)
    odd.counts["sent_as_json"] = 1  # no longer a thing: such rows are not sent
    assert any("cannot have sent_as_json" in x for x in odd.problems())
    odd.counts = {"replayed": 3}
    odd.messages_acked, odd.not_sent, odd.not_sent_by_reason = 3, 1, {"null:VendorID": 1}
    odd.not_sent_report = "r.unsent.jsonl"
    assert odd.problems() == ["a json replay sends every row (not_sent 1)"]
    odd.event_format = "avro"
    assert odd.problems() == []
    odd.not_sent_by_reason = {}
    assert odd.problems() == ["not_sent_by_reason does not add up to not_sent 1"]
    odd.not_sent_by_reason, odd.not_sent_report = {"null:VendorID": 1}, None
    assert odd.problems() == [
        "not_sent_report is the report of the rows not sent, when there are any"
    ]
    odd.rows_read = 5
    assert any("rows_read 5 != requested" in x for x in odd.problems())
    odd.rows_read = None
    assert any("must account for its rows" in x for x in odd.problems())
    odd.counts = {"clean": 4}
    assert odd.problems() == ["counts lack replayed"]


def test_generator_manifests_keep_their_shape():
    m = Manifest(
        run_id="r", topic="t", seed=1, mode="burst", requested=0, started_at="",
        finished_at="", duration_s=0.0, events_per_s=0.0, messages_acked=0,
    )  # fmt: skip
    d = m.to_dict()
    assert not {"source", "exact_counts", "shift_days", "dropped_fields", "rows_read",
                "not_sent", "not_sent_by_reason", "not_sent_report"} & set(d)  # fmt: skip
    assert list(d["counts"])[0] == "clean"
    assert Manifest.from_dict(d).to_dict() == d and m.exact_counts is True


def test_replay_float_conversion_helpers():
    assert tlc._ints(pa.array([1.0, None, math.nan, 99.0, 1.5])) == [1, None, None, 99, 1.5]
    assert tlc._floats(pa.array([1, None], pa.int32())) == [1.0, None]
    assert tlc._floats(pa.array([math.inf, -0.5])) == [None, -0.5]


# --------------------------------------------------------------------------- real samples

TLC_DIR = REPO / "data" / "tlc"
SAMPLE_2025 = TLC_DIR / "angel-wm_yellow_2025-01_random5000.parquet"
SAMPLE_2024 = TLC_DIR / "anishkaranth_yellow_2024-01_29rows.parquet"
SAMPLE_2021 = TLC_DIR / "great_expectations_yellow_2021-10_1000.parquet"
INTS = ("VendorID", "passenger_count", "RatecodeID", "PULocationID", "DOLocationID", "payment_type")
FLOATS = (*AMOUNTS, "trip_distance", "Airport_fee")
TIMES = ("tpep_pickup_datetime", "tpep_dropoff_datetime")


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _source_rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


@pytest.mark.parametrize(
    "path,months,plausible",
    [
        (SAMPLE_2025, {"2025-01": 5000}, ["2025-01"]),
        (SAMPLE_2024, {"2002-12": 1, "2024-01": 28}, ["2002-12", "2024-01"]),
        (SAMPLE_2021, {"2021-10": 998, "2021-11": 2}, ["2021-10"]),
    ],
    ids=["2025-01", "2024-01", "2021-10"],
)
def test_real_sample_replays_every_row_with_the_right_types(path, months, plausible):
    before = _utc_now()
    replay = TlcReplay(path)
    after = _utc_now()
    assert replay.months == months and replay.plausible_months == plausible
    source = _source_rows(path)
    recs = list(replay)
    assert len(recs) == len(source) == replay.rows == count_rows(path)  # every row
    has_fee = "cbd_congestion_fee" in source[0]
    assert replay.has_cbd_congestion_fee is has_fee
    fields = [*FIELDS, "cbd_congestion_fee"] if has_fee else list(FIELDS)
    shift = timedelta(days=replay.shift_days)
    for raw, rec in zip(source, recs, strict=True):
        assert list(rec) == fields
        for f in INTS:
            assert rec[f] is None or type(rec[f]) is int
            assert rec[f] == raw[f]
        for f in (*FLOATS, *(("cbd_congestion_fee",) if has_fee else ())):
            assert rec[f] is None or type(rec[f]) is float
            assert rec[f] == raw[f]
        assert rec["store_and_fwd_flag"] == raw["store_and_fwd_flag"]
        assert rec["store_and_fwd_flag"] in (None, "Y", "N")
        for f in TIMES:  # the same delta for every timestamp, sub-seconds dropped
            assert _dt(rec[f]) == raw[f].replace(microsecond=0) + shift
    # the newest plausible pickup is before now, at most a week before
    newest = replay.newest_pickup + shift
    assert before - timedelta(days=7) <= newest < after
    assert max(r["tpep_pickup_datetime"] for r in source if r["tpep_pickup_datetime"]
               .strftime("%Y-%m") in plausible) == replay.newest_pickup  # fmt: skip


def test_real_sample_outliers_land_where_silver_rejects_them():
    now = datetime(2026, 11, 25, 14, 20)
    # 2024-01: the 2002 pickup is old enough to be plausible in a 29-row sample (1 of 28), but
    # older than January: January decides, the 2002 row stays ~21 years back (> 13 months)
    recs = list(TlcReplay(SAMPLE_2024, now=now))
    picks = sorted(_dt(r["tpep_pickup_datetime"]) for r in recs)
    assert picks[0] < now - timedelta(days=20 * 365)
    assert all(now - timedelta(days=7 + 31) < p < now for p in picks[1:])
    # 2021-10: the 2 rows of 2021-11-22 are 0.2 % of October's: October decides, they land
    # about three weeks after it, more than a day after now (implausible_pickup_time)
    replay = TlcReplay(SAMPLE_2021, now=now)
    assert replay.plausible_months == ["2021-10"]
    picks = [_dt(r["tpep_pickup_datetime"]) for r in replay]
    late = [p for p in picks if p > now]
    assert len(late) == 2 and all(p > now + timedelta(days=14) for p in late)
    assert all(now - timedelta(days=7 + 31) < p < now for p in picks if p <= now)


def test_real_samples_fit_the_shipped_schema_and_round_trip():
    serialize, _, parsed = _fastavro_serializer(_avro_schema())
    for path in (SAMPLE_2025, SAMPLE_2024, SAMPLE_2021):
        replay = TlcReplay(path)
        enc = ReplayEncoder(serialize, _avro_schema(), cbd_in_source=replay.has_cbd_congestion_fee)
        for rec in replay:
            value = enc(rec)
            assert value is not None, (path.name, enc.reason(rec))
            assert _decode(parsed, value) == {"cbd_congestion_fee": None, **rec}


def test_2025_sample_keeps_every_cbd_congestion_fee_in_avro():
    """The shipped schema (v2) carries the fee: nothing dropped, every value as in the Parquet."""
    schema = json.loads(SCHEMA_FILE.read_text())  # the shipped file itself
    parsed = fastavro.parse_schema(schema)
    replay = TlcReplay(SAMPLE_2025)
    enc = ReplayEncoder(lambda r: b"\0" + _body(parsed, r), schema, cbd_in_source=True)
    assert enc.dropped_fields == ()
    fees = [_decode(parsed, enc(r))["cbd_congestion_fee"] for r in replay]
    expected = pq.read_table(SAMPLE_2025, columns=["cbd_congestion_fee"]).column(0).to_pylist()
    assert fees == expected and len(fees) == 5000
    assert {0.0, 0.75} <= set(fees)  # the fee began on 2025-01-05: both kinds of trips


def _body(parsed, record: dict) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parsed, record)
    return buf.getvalue()


# --------------------------------------------------------------------------- a year of files


def _moved(table: pa.Table, delta: timedelta) -> pa.Table:
    for col in TIMES:
        i = table.schema.get_field_index(col)
        moved = pc.add(table[col], pa.scalar(delta, pa.duration("us")))
        table = table.set_column(i, col, moved.cast(table.schema.field(col).type))
    return table


def test_a_year_of_monthly_files_replays_whole_in_the_past(tmp_path):
    """12 TLC-named monthly files (the real 2025-01 sample moved into each month of 2024)."""
    sample = pq.read_table(SAMPLE_2025)
    origin = datetime(2025, 1, 1)
    originals: list[datetime] = []
    zones: list[int] = []
    for month in range(12, 0, -1):  # written out of order: the name order counts
        table = _moved(sample, datetime(2024, month, 1) - origin)
        pq.write_table(table, tmp_path / f"yellow_tripdata_2024-{month:02d}.parquet")
    for month in range(1, 13):
        t = pq.read_table(tmp_path / f"yellow_tripdata_2024-{month:02d}.parquet")
        originals += t["tpep_pickup_datetime"].to_pylist()
        zones += t["PULocationID"].to_pylist()
    assert count_rows(tmp_path) == 60_000

    before = _utc_now()
    replay = TlcReplay(tmp_path)
    after = _utc_now()
    assert replay.months == {f"2024-{m:02d}": 5000 for m in range(1, 13)}
    assert len(replay.plausible_months) == 12
    assert replay.newest_pickup == max(originals)  # December decides, not the busiest month
    shift = timedelta(days=replay.shift_days)
    assert replay.shift_days % 7 == 0

    recs = list(replay)
    assert len(recs) == 60_000  # every row comes out, in file-name order
    assert [r["PULocationID"] for r in recs] == zones
    picks = [datetime.fromisoformat(r["tpep_pickup_datetime"]) for r in recs]
    assert max(picks) < after and max(picks) >= before - timedelta(days=7)  # all before now
    assert max(picks) - min(picks) == max(originals) - min(originals)  # the span is kept
    for orig, moved in zip(originals, picks, strict=True):
        assert moved - orig.replace(microsecond=0) == shift
    assert [p.weekday() for p in picks] == [o.weekday() for o in originals]  # weekdays kept
    assert [p.hour for p in picks[:5000:97]] == [o.hour for o in originals[:5000:97]]
    # silver's window: the oldest pickup is well within 13 months of now
    assert after - min(picks) < timedelta(days=365 + 7 + 1)


# --------------------------------------------------------------------------- run_replay, fake Kafka


class _FakeKafka:
    """One-partition topic: the producer acks on poll/flush; values kept as given."""

    def __init__(self) -> None:
        self.log: list[tuple[str | None, str | bytes]] = []

    def offsets(self, bootstrap: str, topic: str, timeout_s: float = 0) -> dict[str, int]:
        return {"0": len(self.log)}

    def producer(self, config: dict) -> _FakeKafka._Producer:
        return self._Producer(self, config["on_delivery"])

    class _Producer:
        def __init__(self, kafka: _FakeKafka, cb) -> None:
            self.kafka, self.cb, self.pending = kafka, cb, []

        def produce(self, topic, value, key):
            self.pending.append((topic, key, value))

        def poll(self, timeout=0):
            pending, self.pending = self.pending, []
            for _topic, key, value in pending:
                self.kafka.log.append((key, value))
                self.cb(None, None)
            return len(pending)

        def flush(self, timeout=None):
            self.poll()
            return 0


HEADER = b"\0\0\0\0\7"  # magic byte + schema id 7


@pytest.fixture
def fake_kafka(monkeypatch) -> _FakeKafka:
    from taxi_generator import producer as prod

    k = _FakeKafka()
    monkeypatch.setattr(prod, "Producer", k.producer)
    monkeypatch.setattr(prod, "end_offsets", k.offsets)
    parsed = fastavro.parse_schema(_avro_schema())
    monkeypatch.setattr(
        prod, "_registry_serializer", lambda s, t: lambda r: HEADER + _body(parsed, r)
    )
    return k


def _settings(tmp_path: Path, event_format: str):
    from lakehouse.settings import Settings

    return Settings(
        lakehouse_home=tmp_path / "home", topic_raw="taxi.tlc", event_format=event_format
    )


def _unencodable_file(tmp_path: Path) -> Path:
    rows = _january(20)
    rows[3].update(VendorID=None, payment_type=None, passenger_count=None)  # a null block row
    rows[7]["PULocationID"] = 2**31  # out of Avro's int
    rows[11]["passenger_count"] = 1.5  # a fraction in an int field (a double column)
    rows[12]["VendorID"] = None
    return _write(tmp_path / "yellow_tripdata_2023-01.parquet", rows, SCHEMA_2023)


def test_avro_replay_never_sends_what_the_schema_cannot_carry(tmp_path, fake_kafka):
    from taxi_generator.producer import run_replay

    from lakehouse import verify

    p = _unencodable_file(tmp_path)
    s = _settings(tmp_path, "avro")
    m = run_replay(s, p, now=datetime(2026, 11, 25, 14, 20))
    assert m.problems() == []
    assert m.counts == {"replayed": 16} and m.messages_acked == 16
    assert m.rows_read == 20 == m.requested and m.not_sent == 4
    assert m.not_sent_by_reason == {
        "not_integer:passenger_count": 1, "null:VendorID": 2, "out_of_range:PULocationID": 1,
    }  # fmt: skip
    assert len(fake_kafka.log) == 16
    assert all(v.startswith(HEADER) for _, v in fake_kafka.log)  # no JSON text in the Avro topic
    report = s.manifests_dir / f"{m.run_id}.unsent.jsonl"
    assert m.not_sent_report == str(report)
    lines = [json.loads(x) for x in report.read_text().splitlines()]
    assert [(x["reason"], x["row"], x["file"]) for x in lines] == [
        ("null:VendorID", 3, str(p)), ("out_of_range:PULocationID", 7, str(p)),
        ("not_integer:passenger_count", 11, str(p)), ("null:VendorID", 12, str(p)),
    ]  # fmt: skip
    assert lines[1]["record"]["PULocationID"] == 2**31
    assert lines[2]["record"]["passenger_count"] == 1.5
    # the manifest on disk is what verify reconciles with Kafka; the report is not a manifest
    manifests = verify.load_manifests(s)
    assert [x["run_id"] for x in manifests] == [m.run_id]
    assert verify.manifest_totals(manifests)["messages_acked"] == len(fake_kafka.log)
    assert not verify.is_exact(manifests[0])
    on_disk = Manifest.read(s.manifests_dir / f"{m.run_id}.json")
    assert on_disk == m and on_disk.problems() == []


def test_json_replay_sends_every_row(tmp_path, fake_kafka):
    from taxi_generator.producer import run_replay

    p = _unencodable_file(tmp_path)
    s = _settings(tmp_path, "json")
    m = run_replay(s, p, now=datetime(2026, 11, 25, 14, 20))
    assert m.problems() == []
    assert m.counts == {"replayed": 20} and m.rows_read == 20 and m.not_sent == 0
    assert m.not_sent_report is None
    assert not list(s.manifests_dir.glob("*.jsonl"))
    values = [json.loads(v) for _, v in fake_kafka.log]
    assert [v["VendorID"] for v in values].count(None) == 2
    assert values[7]["PULocationID"] == 2**31 and fake_kafka.log[7][0] == str(2**31)


def test_cli_says_how_many_rows_were_not_sent_and_where(tmp_path, fake_kafka, monkeypatch):
    from typer.testing import CliRunner

    from lakehouse import cli

    p = _unencodable_file(tmp_path)
    s = _settings(tmp_path, "avro")
    monkeypatch.setattr(cli, "get_settings", lambda: s)
    result = CliRunner().invoke(cli.app, ["generate", "--from", str(p), "--no-progress"])
    assert result.exit_code == 0, result.output
    (report,) = s.manifests_dir.glob("*.unsent.jsonl")
    assert "replay: 20 rows read, 16 sent, 4 not sent" in result.output
    assert f"listed in {report}" in result.output
