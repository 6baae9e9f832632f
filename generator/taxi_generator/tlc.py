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

Times are moved by a whole number of weeks (``replay_shift_days``) so the data looks recent while
weekdays and hours keep their pattern; every timestamp moves by the same delta, outliers too.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import repeat
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .model import FIELDS, REQUIRED_FIELDS

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

_UNIT_PER_S = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_MAX_ORDINAL = date.max.toordinal()
_HMS = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]


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


def replay_shift_days(main_month_start: date, main_month_end: date, today: date) -> int:
    """Days to add to every timestamp: the largest multiple of 7 (so weekdays stay weekdays)
    that puts ``main_month_end`` (the last day, inclusive) on or before ``today``.

    Negative when the data lies after ``today``. ``main_month_start`` only guards the argument
    order: the end alone decides the shift.
    """
    if main_month_start > main_month_end:
        raise ValueError(f"main month start {main_month_start} is after its end {main_month_end}")
    return 7 * ((today - main_month_end).days // 7)


def _month_end(first: date) -> date:
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


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
        wanted = (*FIELDS, CBD_FEE)
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
        #: the record's fields: the contract's, plus cbd_congestion_fee only if the file has it
        self.fields = FIELDS + ((CBD_FEE,) if self.columns[CBD_FEE] else ())

    def main_month(self) -> date | None:
        """First day of the month most pickups fall in (one pass over the pickup column only;
        Parquet min/max statistics would be skewed by the outlier years)."""
        months: Counter[int] = Counter()
        col = self.columns[PICKUP]
        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=1 << 20, columns=[col]):
            arr = _wall_clock(batch.column(0))
            if pa.types.is_null(arr.type):
                continue
            keys = pc.add(pc.multiply(pc.year(arr), 12), pc.subtract(pc.month(arr), 1))
            vc = pc.value_counts(keys.drop_null())
            months.update(dict(zip(vc.field(0).to_pylist(), vc.field(1).to_pylist(), strict=True)))
        if not months:
            return None
        key = max(months.items(), key=lambda kv: (kv[1], kv[0]))[0]
        return date(key // 12, key % 12 + 1, 1)


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
    """The records of one TLC yellow-trip file or directory, timestamps shifted to ``today``.

    Opening reads only the footers and the pickup column: every file's columns are checked
    (``TlcSchemaError`` before anything is produced), ``rows`` is known up front, and the shift
    is chosen from the span of the files' main months.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        today: date | None = None,
        shift_days: int | None = None,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.source = Path(path)
        self.files = [_File(f) for f in parquet_files(path)]
        self.rows = sum(f.rows for f in self.files)
        self.batch_size = batch_size
        #: whether any file carries cbd_congestion_fee (its records then have the field)
        self.has_cbd_congestion_fee = any(CBD_FEE in f.fields for f in self.files)
        months = [m for m in (f.main_month() for f in self.files) if m is not None]
        #: first day of the earliest and last day of the latest main month (None: no pickups)
        self.window = (min(months), _month_end(max(months))) if months else None
        if shift_days is None:
            today = today or datetime.now(UTC).date()
            shift_days = replay_shift_days(*self.window, today) if self.window else 0
        self.shift_days = shift_days

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
    path: str | Path, *, today: date | None = None, batch_size: int = BATCH_SIZE
) -> Iterator[dict[str, Any]]:
    """The event records of a TLC file or directory, shifted so the data ends by ``today``
    (default: today UTC). ``count_rows(path)`` gives their number up front."""
    return iter(TlcReplay(path, today=today, batch_size=batch_size))


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


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"))


class ReplayEncoder:
    """Message values of replayed records.

    Without a serializer: compact JSON text. With the registry serializer and the Avro schema it
    writes with (the parsed schema JSON): the wire format for every record the schema can carry,
    and for the others (a null in a non-nullable field, an int out of range, a fraction in an int
    field) the JSON text of the original record, counted in ``sent_as_json``: a real row is never
    dropped, downstream dead-letters it as ``avro:not_wire_format`` with its content.
    ``cbd_congestion_fee`` is left out of the Avro records (``dropped_fields``) only when the
    source has it and the schema does not (schema v1 predates the fee).
    """

    def __init__(
        self,
        serialize: Callable[[dict[str, Any]], bytes] | None = None,
        schema: dict[str, Any] | None = None,
        *,
        cbd_in_source: bool = False,
    ) -> None:
        self.sent_as_json = 0
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

    def fits(self, record: dict[str, Any]) -> bool:
        """Whether the Avro schema can carry ``record`` (after dropping ``dropped_fields``)."""
        for name, types, has_default in self._fields:
            if name in record:
                if not _carries(types, record[name]):
                    return False
            elif not (has_default or "null" in types):  # fastavro's rule for absent fields
                return False
        return record.keys() <= self._names

    def __call__(self, record: dict[str, Any], kind: str = "") -> str | bytes:
        if self._serialize is None:
            return _dumps(record)
        avro_record = record
        if self.dropped_fields and CBD_FEE in record:
            avro_record = {k: v for k, v in record.items() if k != CBD_FEE}
        if self.fits(avro_record):
            return self._serialize(avro_record)
        self.sent_as_json += 1
        return _dumps(record)
