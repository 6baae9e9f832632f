"""Replay real NYC TLC yellow-trip Parquet files as trip events (contracts.md §1).

``TlcReplay`` reads one file or a directory of ``*.parquet`` files in record batches (a monthly
file has ~3M rows; only one batch of the projected columns is in memory at a time) and yields
each row as the event record: exactly the contract's field names, in its order, plus
``cbd_congestion_fee`` when the file has that column (2025 on).

The files' schema drifts across years, so columns are matched by name case-insensitively
(``airport_fee`` / ``Airport_fee``), integer columns may be stored as doubles (1.0 -> 1,
null/NaN -> None), amounts as ints or doubles, timestamps in any unit. Real quirks are kept
as they are (nulls, payment_type 0, RatecodeID 99, negative refunds, zero distances, pickups
years away from the file's month): they are what the pipeline has to cope with downstream.

**Time.** Every timestamp moves by the same whole number of weeks (``shift_days``, so weekdays
and hours keep their pattern): the largest shift that puts the newest *plausible* pickup of the
whole input before now (naive wall clock: the pickups' NYC time against UTC now's, as silver
compares them with the UTC Kafka timestamp; the real instant of the newest pickup may thus be up
to 5 hours after now, which silver's 1-day margin allows). Silver keeps a pickup from 13 months
before to 1 day after its Kafka timestamp (the produce time), so a month, or a year of monthly
files, replayed this way is all in silver's window. An input spanning several months is anchored
on its newest plausible pickup, not on its busiest month (the later months of a multi-month file
used to land in the future and be rejected).

A pickup month is *plausible* when it holds at least 1 % (``PLAUSIBLE_MONTH_SHARE``) of the rows
of the input's busiest month, counted in one pass over the pickup columns of all files. Relative
to the busiest month rather than to all rows, because a share of all rows shrinks with the span
of the input: in a decade of monthly files every month holds under 1 % of all rows, and the thin
Covid months (2020-04: 0.24M rows beside ~7.7M a month in 2019, 0.2 % of a 2019-01..2020-04
directory) would count as outliers and land a real month in the future; against the busiest
month they hold 3 %. The outliers of real monthly files (pickups in 2002, 2009 or 2098, or
spilled into the next month) are a few to a few hundred rows among ~3M, far below the bar, so one
future outlier cannot push a whole file decades back. Rows outside the plausible months move
with the same delta and land where they land: silver rejects them (``implausible_pickup_time``),
as intended. Consequence for the real 2021-10 sample (998 pickups in 2021-10, 2 on 2021-11-22:
0.2 % of October's count): October decides, its last pickup lands in the week before now and the
two November rows about three weeks later, more than a day after any produce time: silver rejects
those two, the 998 others are accepted. An input of under 100 rows has every month above the bar
(one row is 1 %): its newest pickup decides, whatever it is.

**Rows the Avro schema cannot carry** (a null in a non-nullable field such as ``VendorID``: the
null blocks of the 2019-2020 files; an int beyond Avro's int; a fraction in an int field) are not
sent in ``avro``. ``ReplayEncoder`` returns None for them with the reason (``null:VendorID``,
``out_of_range:PULocationID``, ``not_integer:passenger_count``), and ``ReplayReport`` writes
them to the replay's own report, ``<run_id>.unsent.jsonl`` next to the run's manifest (one JSON
line per row: reason, file, row, record), counted in the manifest (``rows_read = messages sent +
not_sent``, ``not_sent_by_reason``). Sent as JSON text in an Avro topic (as before), they were
dead-lettered as ``avro:not_wire_format``, blaming the producer's encoding for the content of
the row. The schema is not relaxed to let them through: its required fields are the contract's
(``VendorID``, the times, the locations, distance and total key the trip id), every producer and
consumer relies on them, and making them nullable for a replay would weaken the contract for
every producer. In ``json`` there is no schema to fail: every row is sent, and bronze and silver
judge it as any message.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import repeat
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .model import FIELDS, RECORD_FIELDS, REQUIRED_FIELDS

PICKUP, DROPOFF = "tpep_pickup_datetime", "tpep_dropoff_datetime"
CBD_FEE = "cbd_congestion_fee"
#: Columns every file must have (the contract's required fields).
REQUIRED_COLUMNS = REQUIRED_FIELDS
_INT_FIELDS = frozenset(
    {"VendorID", "passenger_count", "RatecodeID", "PULocationID", "DOLocationID", "payment_type"}
)
_TIME_FIELDS = frozenset({PICKUP, DROPOFF})
_STRING_FIELDS = frozenset({"store_and_fwd_flag"})
#: Rows per record batch: large enough to amortise Arrow calls, small enough to stay a few MB.
BATCH_SIZE = 65_536
#: A pickup month is plausible when it holds at least this share of the busiest month's rows
#: (the module docstring says why); the newest plausible pickup decides the time shift.
PLAUSIBLE_MONTH_SHARE = 0.01
#: Suffix of a replay's report of the rows it did not send, next to its manifest.
UNSENT_SUFFIX = ".unsent.jsonl"

_UNIT_PER_S = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_MAX_ORDINAL = date.max.toordinal()
_HMS = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
_EPOCH = datetime(1970, 1, 1)
_US = timedelta(microseconds=1)
_WEEK_US = 7 * 86_400 * 1_000_000


class TlcSchemaError(ValueError):
    """A Parquet file does not have the columns (or column types) of a yellow-trip file."""


def parquet_files(path: str | Path) -> list[Path]:
    """``path`` itself, or the ``*.parquet`` files of a directory in name order (TLC names
    ``yellow_tripdata_YYYY-MM.parquet`` sort chronologically)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.glob("*.parquet") if f.is_file())
        if not files:
            raise FileNotFoundError(f"no *.parquet files in {p}")
        return files
    if not p.is_file():
        raise FileNotFoundError(f"no such Parquet file or directory: {p}")
    return [p]


def count_rows(path: str | Path) -> int:
    """Rows of the file(s), from the Parquet footers (no data read)."""
    return sum(pq.ParquetFile(f).metadata.num_rows for f in parquet_files(path))


def _naive_utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC).replace(tzinfo=None)
    if now.tzinfo is not None:
        return now.astimezone(UTC).replace(tzinfo=None)
    return now


def _shift_days_us(newest_us: int, now_us: int) -> int:
    # the largest k with newest + 7k days < now (strictly before: newest + 7k <= now - 1 µs)
    return 7 * ((now_us - newest_us - 1) // _WEEK_US)


def replay_shift_days(newest_pickup: datetime, now: datetime) -> int:
    """Days to add to every timestamp: the largest multiple of 7 (so weekdays stay weekdays)
    that puts ``newest_pickup`` strictly before ``now`` (both naive wall clock; an aware ``now``
    is taken as its UTC wall clock). Negative when the data lies after ``now``."""
    now = _naive_utc(now)
    return _shift_days_us((newest_pickup - _EPOCH) // _US, (now - _EPOCH) // _US)


def _datetime(us: int) -> datetime | None:
    """The naive datetime ``us`` µs after the epoch (None past Python's years 1..9999)."""
    try:
        return _EPOCH + timedelta(microseconds=us)
    except OverflowError:
        return None


def _month_name(key: int) -> str:
    return f"{key // 12:04d}-{key % 12 + 1:02d}"


def _ok_type(name: str, t: pa.DataType) -> bool:
    if pa.types.is_null(t):  # an all-null column (e.g. a fee before it existed)
        return True
    if name in _TIME_FIELDS:
        return pa.types.is_timestamp(t)
    if name in _STRING_FIELDS:
        if pa.types.is_dictionary(t):  # a pandas categorical written to Parquet
            t = t.value_type
        return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


class _File:
    """One file's column mapping (contract field -> column name in the file, or None)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        pf = pq.ParquetFile(path)
        self.rows = pf.metadata.num_rows
        schema = pf.schema_arrow
        by_lower: dict[str, list[str]] = {}
        for name in schema.names:
            by_lower.setdefault(name.lower(), []).append(name)
        wanted = RECORD_FIELDS
        twice = [by_lower[f.lower()] for f in wanted if len(by_lower.get(f.lower(), ())) > 1]
        if twice:
            raise TlcSchemaError(f"{path}: ambiguous columns (differ only in case): {twice}")
        self.columns = {f: by_lower.get(f.lower(), [None])[0] for f in wanted}
        missing = [f for f in REQUIRED_COLUMNS if self.columns[f] is None]
        if missing:
            raise TlcSchemaError(
                f"{path} is not a yellow-trip file: missing required columns {missing} "
                f"(matched case-insensitively); it has {schema.names}"
            )
        bad = [
            f"{col} ({schema.field(col).type})"
            for f, col in self.columns.items()
            if col is not None and not _ok_type(f, schema.field(col).type)
        ]
        if bad:
            raise TlcSchemaError(f"{path}: columns of an unexpected type: {bad}")
        #: the record's fields: the first schema's, plus each newer one only if the file has it
        self.fields = FIELDS + tuple(f for f in wanted if f not in FIELDS and self.columns[f])

    def pickup_months(self) -> dict[int, tuple[int, int]]:
        """Per pickup month (``year * 12 + month - 1``): rows, and the newest pickup in µs since
        the epoch (wall clock). One pass over the pickup column only, grouped in Arrow per batch
        (Parquet min/max statistics would be the outliers')."""
        out: dict[int, tuple[int, int]] = {}
        col = self.columns[PICKUP]
        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=1 << 20, columns=[col]):
            arr = _wall_clock(batch.column(0))
            if pa.types.is_null(arr.type) or arr.null_count == len(arr):
                continue
            arr = arr.drop_null()
            per_s = _UNIT_PER_S[arr.type.unit]
            keys = pc.add(pc.multiply(pc.year(arr), 12), pc.subtract(pc.month(arr), 1))
            grouped = (
                pa.table({"k": keys, "t": arr})
                .group_by("k")
                .aggregate([("t", "count"), ("t", "max")])
            )
            for k, n, newest in zip(
                grouped["k"].to_pylist(),
                grouped["t_count"].to_pylist(),
                grouped["t_max"].cast(pa.int64()).to_pylist(),
                strict=True,
            ):
                us = newest * 1_000_000 // per_s  # Python ints: no overflow, any unit
                rows, before = out.get(k, (0, us))
                out[k] = (rows + n, max(before, us))
        return out


def _wall_clock(arr: pa.Array) -> pa.Array:
    # a zone-tagged column stores instants: its local wall clock is what the TLC means
    if pa.types.is_timestamp(arr.type) and arr.type.tz is not None:
        return pc.local_timestamp(arr)
    return arr


def _ints(arr: pa.Array) -> list[Any]:
    if pa.types.is_integer(arr.type) or pa.types.is_null(arr.type):
        return arr.to_pylist()
    # doubles in several years: 1.0 -> 1; NaN (pandas' null) -> None; a fraction stays as is
    return [
        None if v is None or not math.isfinite(v) else int(v) if v.is_integer() else v
        for v in arr.cast(pa.float64()).to_pylist()
    ]


def _floats(arr: pa.Array) -> list[Any]:
    values = (
        arr.to_pylist() if pa.types.is_float64(arr.type) else arr.cast(pa.float64()).to_pylist()
    )
    # NaN/inf have no JSON form: they can only mean "missing"
    return [None if v is None or not math.isfinite(v) else v for v in values]


class _Formatter:
    """Shifted ``YYYY-MM-DD HH:MM:SS`` text of raw timestamp values (None when not representable
    as a Python datetime after the shift). Caches one date prefix per day."""

    def __init__(self, shift_days: int) -> None:
        self.shift_s = shift_days * 86_400
        self._days: dict[int, str | None] = {}

    def _prefix(self, day: int) -> str | None:
        ordinal = _EPOCH_ORDINAL + day
        p = date.fromordinal(ordinal).isoformat() + " " if 1 <= ordinal <= _MAX_ORDINAL else None
        self._days[day] = p
        return p

    def column(self, arr: pa.Array) -> list[str | None]:
        if pa.types.is_null(arr.type):
            return [None] * len(arr)
        arr = _wall_clock(arr)
        per_s = _UNIT_PER_S[arr.type.unit]
        shift, days, prefix, hms = self.shift_s, self._days, self._prefix, _HMS
        out: list[str | None] = []
        append = out.append
        for v in arr.cast(pa.int64()).to_pylist():
            if v is None:
                append(None)
                continue
            day, sod = divmod(v // per_s + shift, 86_400)  # floor: sub-seconds are dropped
            p = days[day] if day in days else prefix(day)
            append(None if p is None else p + hms[sod])
        return out


class TlcReplay:
    """The records of one TLC yellow-trip file or directory, timestamps shifted to before ``now``.

    Opening reads only the footers and the pickup columns: every file's columns are checked
    (``TlcSchemaError`` before anything is produced), ``rows`` is known up front, and the shift is
    chosen from the pickup-month histogram of all files (the module docstring has the rule).
    ``now`` (default: the current UTC time) is naive wall clock; an aware one is taken in UTC.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        now: datetime | None = None,
        shift_days: int | None = None,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.source = Path(path)
        self.files = [_File(f) for f in parquet_files(path)]
        self.rows = sum(f.rows for f in self.files)
        self.batch_size = batch_size
        #: whether any file carries cbd_congestion_fee (its records then have the field)
        self.has_cbd_congestion_fee = any(CBD_FEE in f.fields for f in self.files)
        months: dict[int, tuple[int, int]] = {}
        for f in self.files:
            for k, (n, newest) in f.pickup_months().items():
                rows, before = months.get(k, (0, newest))
                months[k] = (rows + n, max(before, newest))
        busiest = max((n for n, _ in months.values()), default=0)
        plausible = sorted(
            k for k, (n, _) in months.items() if n >= PLAUSIBLE_MONTH_SHARE * busiest
        )
        #: pickups per month ("YYYY-MM" -> rows) over all files, in month order (nulls left out)
        self.months = {_month_name(k): months[k][0] for k in sorted(months)}
        #: the months holding at least PLAUSIBLE_MONTH_SHARE of the busiest month's rows
        self.plausible_months = [_month_name(k) for k in plausible]
        newest_us = max((months[k][1] for k in plausible), default=None)
        #: the newest plausible pickup before the shift (None: no pickups, or past year 9999)
        self.newest_pickup = None if newest_us is None else _datetime(newest_us)
        if shift_days is None:
            now_us = (_naive_utc(now) - _EPOCH) // _US
            shift_days = 0 if newest_us is None else _shift_days_us(newest_us, now_us)
        self.shift_days = shift_days

    def locate(self, index: int) -> tuple[Path, int]:
        """The file and the row in it (0-based) of the ``index``-th record of the replay."""
        for f in self.files:
            if index < f.rows:
                return f.path, index
            index -= f.rows
        raise IndexError(f"the replay has {self.rows} rows")

    def __iter__(self) -> Iterator[dict[str, Any]]:
        fmt = _Formatter(self.shift_days)
        for f in self.files:
            cols = [c for c in f.columns.values() if c is not None]
            pf = pq.ParquetFile(f.path)
            for batch in pf.iter_batches(batch_size=self.batch_size, columns=cols):
                n = batch.num_rows
                values: list[Any] = []
                for name in f.fields:
                    col = f.columns[name]
                    if col is None:  # optional column absent in this year's files
                        values.append(repeat(None, n))
                        continue
                    arr = batch.column(col)
                    convert: Callable[[pa.Array], list[Any]] = (
                        fmt.column
                        if name in _TIME_FIELDS
                        else _ints
                        if name in _INT_FIELDS
                        else pa.Array.to_pylist
                        if name in _STRING_FIELDS
                        else _floats
                    )
                    values.append(convert(arr))
                names = f.fields
                for row in zip(*values, strict=False):  # repeat() is unbounded
                    yield dict(zip(names, row, strict=False))  # same length


def iter_tlc_records(
    path: str | Path, *, now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> Iterator[dict[str, Any]]:
    """The event records of a TLC file or directory, shifted so the newest plausible pickup is
    before ``now`` (default: now, UTC). ``count_rows(path)`` gives their number up front."""
    return iter(TlcReplay(path, now=now, batch_size=batch_size))


_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


def _type_names(avro_type: Any) -> frozenset[str]:
    branches = avro_type if isinstance(avro_type, list) else [avro_type]
    return frozenset(b.get("type") if isinstance(b, dict) else b for b in branches)


def _carries(types: frozenset[str], v: Any) -> bool:
    """Can a field of these Avro types hold ``v`` (as fastavro would write it, range included)?"""
    if v is None:
        return "null" in types
    if isinstance(v, float):
        return "double" in types or "float" in types
    if isinstance(v, int) and not isinstance(v, bool):
        return (
            ("int" in types and _INT_MIN <= v <= _INT_MAX)
            or ("long" in types and _LONG_MIN <= v <= _LONG_MAX)
            or "double" in types
            or "float" in types
        )
    if isinstance(v, str):
        return "string" in types
    return False


def _why_not(types: frozenset[str], v: Any) -> str:
    """The reason class of a value ``_carries`` refused."""
    if v is None:
        return "null"
    integral = types & {"int", "long"}
    if isinstance(v, int) and not isinstance(v, bool) and integral:
        return "out_of_range"
    if isinstance(v, float) and integral and math.isfinite(v) and not v.is_integer():
        return "not_integer"
    return "wrong_type"


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"))


class ReplayEncoder:
    """Message values of replayed records.

    Without a serializer: compact JSON text, for every record. With the registry serializer and
    the Avro schema it writes with (the parsed schema JSON): the wire format for every record the
    schema can carry, and None for the others (``reason`` says why: a null in a non-nullable
    field, an int out of range, a fraction in an int field): those are not sent (the module
    docstring says why), the replay reports them. ``cbd_congestion_fee`` is left out of the Avro
    records (``dropped_fields``) only when the source has it and the schema does not (schema v1
    predates the fee; v2 carries it).
    """

    def __init__(
        self,
        serialize: Callable[[dict[str, Any]], bytes] | None = None,
        schema: dict[str, Any] | None = None,
        *,
        cbd_in_source: bool = False,
    ) -> None:
        self.dropped_fields: tuple[str, ...] = ()
        self._serialize = serialize
        self._fields: list[tuple[str, frozenset[str], bool]] = []
        self._names: set[str] = set()
        if serialize is None:
            return
        if schema is None:
            raise ValueError("an Avro serializer needs the schema it writes with")
        self._fields = [
            (f["name"], _type_names(f["type"]), "default" in f) for f in schema["fields"]
        ]
        self._names = {name for name, _, _ in self._fields}
        if cbd_in_source and CBD_FEE not in self._names:
            self.dropped_fields = (CBD_FEE,)

    def reason(self, record: dict[str, Any]) -> str | None:
        """Why the Avro schema cannot carry ``record`` (``<class>:<field>`` of the first field in
        schema order: ``null``, ``out_of_range``, ``not_integer``, ``wrong_type``, ``missing``,
        or ``unknown_field``), or None when it can (always in JSON)."""
        if self._serialize is None:
            return None
        for name, types, has_default in self._fields:
            if name in record:
                v = record[name]
                if not _carries(types, v):
                    return f"{_why_not(types, v)}:{name}"
            elif not (has_default or "null" in types):  # fastavro's rule for absent fields
                return f"missing:{name}"
        for name in record:
            if name not in self._names and name not in self.dropped_fields:
                return f"unknown_field:{name}"
        return None

    def fits(self, record: dict[str, Any]) -> bool:
        """Whether the Avro schema can carry ``record`` (after dropping ``dropped_fields``)."""
        return self.reason(record) is None

    def __call__(self, record: dict[str, Any]) -> str | bytes | None:
        """The message value of ``record``, or None: not to be sent (see ``reason``)."""
        if self._serialize is None:
            return _dumps(record)
        if self.reason(record) is not None:
            return None
        if self.dropped_fields and CBD_FEE in record:
            record = {k: v for k, v in record.items() if k != CBD_FEE}
        return self._serialize(record)


class ReplayReport:
    """What a replay read and did not send: ``rows_read``, ``not_sent`` (and ``by_reason``), and
    the unsent rows themselves as JSON lines in ``path`` (``<run_id>.unsent.jsonl`` next to the
    manifest; created at the first unsent row, so absent when every row was sent). A line:
    ``{"reason": "null:VendorID", "file": <Parquet file>, "row": <0-based row in it>, "record":
    <the event record, timestamps shifted by the manifest's shift_days>}``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.rows_read = 0
        self.not_sent = 0
        self.by_reason: Counter[str] = Counter()
        self._out: IO[str] | None = None

    def unsent(
        self, reason: str, record: dict[str, Any], file: Path | None = None, row: int | None = None
    ) -> None:
        if self._out is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._out = self.path.open("w", encoding="utf-8")
        line = {"reason": reason, "file": None if file is None else str(file), "row": row}
        self._out.write(_dumps({**line, "record": record}) + "\n")
        self.not_sent += 1
        self.by_reason[reason] += 1

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    @property
    def written(self) -> bool:
        """Whether the report file exists (some row was not sent)."""
        return self.not_sent > 0
