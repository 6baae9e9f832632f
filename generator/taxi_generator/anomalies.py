"""Controlled anomalies (contracts.md §1): what each class looks like and how many to send.

Rates are fractions of the clean (requested) event count; ``planned_counts`` turns them into exact
counts. Every class except ``late`` adds messages on top of the clean ones; ``late`` events are
clean events with an old pick-up time and are counted in ``clean`` too.

The builders take the JSON record of a fresh clean trip and break exactly one rule of the
contract, so each anomalous message lands in exactly one reconciliation bucket:

* ``malformed_json``: not parseable as JSON (truncated, Python-repr quotes, unquoted key, or
  Faker prose);
* ``missing_field``: one required field removed;
* ``wrong_type``: one required numeric field holds a non-numeric string;
* ``negative_amount``: one amount negated (or the whole row, as a refund), ``total_amount``
  recomputed so that it still is the sum of the parts: kept in silver (``FLAGGED_KINDS``), as
  real TLC corrections are;
* ``dropoff_before_pickup``: pick-up and drop-off swapped (clean trips last >= 5 s);
* ``duplicate``: an already produced clean message, resent with identical key and value;
* ``out_of_range``: an amount no DECIMAL(10, 2) column can hold (1e15 ...): dead-lettered
  ``out_of_range:<field>`` in bronze, never a NULL;
* one class per further silver rule (vars.silver_rules in dbt/dbt_project.yml), named like the
  rule's reason: ``invalid_vendor_id``, ``invalid_rate_code``, ``invalid_payment_type``,
  ``invalid_location_id``, ``invalid_store_and_fwd_flag``, ``implausible_passenger_count``,
  ``implausible_pickup_time``, ``implausible_duration``, ``implausible_distance``: a record
  that breaks that rule and no earlier one;
* ``total_mismatch``: a total a few cents or $100 off its parts: kept in silver with
  ``amount_check = 'mismatch'`` (``FLAGGED_KINDS``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from random import Random
from typing import Any

from faker import Faker

from .model import AMOUNT_PARTS, REQUIRED_FIELDS

#: Message kinds, in the order of the manifest's ``counts``.
CLEAN = "clean"
LATE = "late"
DUPLICATE = "duplicate"
MALFORMED_JSON = "malformed_json"
MISSING_FIELD = "missing_field"
WRONG_TYPE = "wrong_type"
NEGATIVE_AMOUNT = "negative_amount"
DROPOFF_BEFORE_PICKUP = "dropoff_before_pickup"
OUT_OF_RANGE = "out_of_range"
INVALID_VENDOR_ID = "invalid_vendor_id"
INVALID_RATE_CODE = "invalid_rate_code"
INVALID_PAYMENT_TYPE = "invalid_payment_type"
INVALID_LOCATION_ID = "invalid_location_id"
INVALID_STORE_AND_FWD_FLAG = "invalid_store_and_fwd_flag"
IMPLAUSIBLE_PASSENGER_COUNT = "implausible_passenger_count"
IMPLAUSIBLE_PICKUP_TIME = "implausible_pickup_time"
IMPLAUSIBLE_DURATION = "implausible_duration"
IMPLAUSIBLE_DISTANCE = "implausible_distance"
TOTAL_MISMATCH = "total_mismatch"

#: Classes silver rejects; each is named like the silver rule (reason) it breaks.
REJECTED_KINDS = (
    DROPOFF_BEFORE_PICKUP,
    INVALID_VENDOR_ID,
    INVALID_RATE_CODE,
    INVALID_PAYMENT_TYPE,
    INVALID_LOCATION_ID,
    INVALID_STORE_AND_FWD_FLAG,
    IMPLAUSIBLE_PASSENGER_COUNT,
    IMPLAUSIBLE_PICKUP_TIME,
    IMPLAUSIBLE_DURATION,
    IMPLAUSIBLE_DISTANCE,
)
#: Classes silver keeps, flagged (vars.silver_flags): real TLC data has negative amounts (voids,
#: refunds: record_kind) and totals that do not add up (amount_check = mismatch).
FLAGGED_KINDS = (NEGATIVE_AMOUNT, TOTAL_MISMATCH)


def expected_silver_rows(counts: dict[str, int]) -> int:
    """Silver rows a run with these exact ``counts`` adds: its clean trips (late ones included)
    and the classes silver keeps with a flag."""
    return counts["clean"] + sum(counts.get(k, 0) for k in FLAGGED_KINDS)


# New classes are appended: the plan draws per class in this order, so older runs' seeds keep
# their messages.
COUNT_KEYS = (
    CLEAN,
    LATE,
    DUPLICATE,
    MALFORMED_JSON,
    MISSING_FIELD,
    WRONG_TYPE,
    NEGATIVE_AMOUNT,  # the first release's classes
    DROPOFF_BEFORE_PICKUP,
    OUT_OF_RANGE,
    *REJECTED_KINDS[1:],
    TOTAL_MISMATCH,
)
#: Classes that add messages on top of the clean ones (all but clean and late).
EXTRA_KINDS = COUNT_KEYS[2:]
#: Classes built from a fresh trip record (all extra kinds but duplicate).
BROKEN_KINDS = COUNT_KEYS[3:]
#: Classes the bronze step dead-letters (their reason per event format: encoding.py).
DEAD_LETTER_KINDS = (MALFORMED_JSON, MISSING_FIELD, WRONG_TYPE, OUT_OF_RANGE)
LATE_MIN_S = 3600  # late events: pick-up 1 h ..
LATE_MAX_S = 72 * 3600  # .. 72 h before the stream's event time

_NUMERIC_REQUIRED = (
    "VendorID",
    "trip_distance",
    "PULocationID",
    "DOLocationID",
    "payment_type",
    "fare_amount",
    "total_amount",
)
_WRONG_TYPE_VALUES = ("abc", "N/A", "twelve", "1O.5")


@dataclass(frozen=True)
class AnomalyRates:
    """Fractions of the clean event count; all default to 0 (a clean run)."""

    duplicate: float = 0.0
    malformed_json: float = 0.0
    missing_field: float = 0.0
    wrong_type: float = 0.0
    negative_amount: float = 0.0
    dropoff_before_pickup: float = 0.0
    late: float = 0.0
    out_of_range: float = 0.0
    invalid_vendor_id: float = 0.0
    invalid_rate_code: float = 0.0
    invalid_payment_type: float = 0.0
    invalid_location_id: float = 0.0
    invalid_store_and_fwd_flag: float = 0.0
    implausible_passenger_count: float = 0.0
    implausible_pickup_time: float = 0.0
    implausible_duration: float = 0.0
    implausible_distance: float = 0.0
    total_mismatch: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, int | float) or v < 0 or v != v:
                raise ValueError(f"anomaly rate {f.name} must be a number >= 0, got {v!r}")
        if self.late > 1:
            raise ValueError(f"late is a share of the clean events and must be <= 1: {self.late}")

    @classmethod
    def uniform(cls, rate: float, *, late: float | None = None) -> AnomalyRates:
        """Every extra class at ``rate``, late events at ``late`` (default: ``rate``)."""
        return cls(**{k: rate for k in EXTRA_KINDS}, late=rate if late is None else late)  # type: ignore[arg-type]

    def planned_counts(self, clean: int) -> dict[str, int]:
        """Exact message counts for ``clean`` requested events (round half up)."""
        out = {CLEAN: clean}
        for k in COUNT_KEYS[1:]:
            out[k] = int(getattr(self, k) * clean + 0.5)
        out[LATE] = min(out[LATE], clean)
        return out

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class EventCounts:
    """Messages handed to the producer per class (the manifest's ``counts``)."""

    clean: int = 0
    late: int = 0
    duplicate: int = 0
    malformed_json: int = 0
    missing_field: int = 0
    wrong_type: int = 0
    negative_amount: int = 0
    dropoff_before_pickup: int = 0
    out_of_range: int = 0
    invalid_vendor_id: int = 0
    invalid_rate_code: int = 0
    invalid_payment_type: int = 0
    invalid_location_id: int = 0
    invalid_store_and_fwd_flag: int = 0
    implausible_passenger_count: int = 0
    implausible_pickup_time: int = 0
    implausible_duration: int = 0
    implausible_distance: int = 0
    total_mismatch: int = 0

    @property
    def messages(self) -> int:
        """clean + every extra class (late is a subset of clean): contracts.md §2."""
        return self.clean + sum(getattr(self, k) for k in EXTRA_KINDS)

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in COUNT_KEYS}

    def add(self, kind: str, n: int = 1) -> None:
        setattr(self, kind, getattr(self, kind) + n)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _cents(x: float) -> int:
    return round(x * 100)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


class AnomalyMaker:
    """Turns clean records into anomalous message values; deterministic for a given seed."""

    def __init__(self, rng: Random, faker: Faker) -> None:
        self.rng = rng
        self.faker = faker

    def make(self, kind: str, record: dict[str, Any], value: str) -> str:
        """The anomalous value of ``kind`` built from a clean ``record`` (and its JSON text)."""
        if kind == MALFORMED_JSON:
            return self.malformed_json(value)
        if kind == MISSING_FIELD:
            return self.missing_field(record)
        if kind == WRONG_TYPE:
            return self.wrong_type(record)
        if kind == NEGATIVE_AMOUNT:
            return self.negative_amount(record)
        if kind == DROPOFF_BEFORE_PICKUP:
            return self.dropoff_before_pickup(record)
        if kind in self._ONE_FIELD:
            field_, values = self._ONE_FIELD[kind]
            name = self.rng.choice(field_) if isinstance(field_, tuple) else field_
            return _dumps({**record, name: self.rng.choice(values)})
        if kind == IMPLAUSIBLE_PICKUP_TIME:
            # the whole trip decades away (duration kept): before 2000, or far in the future
            years = self.rng.choice((-30, -40, 75, 7900))
            return _dumps(_shift_trip(record, timedelta(days=364 * years)))
        if kind == IMPLAUSIBLE_DURATION:
            hours = self.rng.randrange(25, 24 * 7)
            rec = dict(record)
            rec["tpep_dropoff_datetime"] = _fmt(
                _parse(rec["tpep_pickup_datetime"]) + timedelta(hours=hours)
            )
            return _dumps(rec)
        if kind == TOTAL_MISMATCH:
            rec = dict(record)
            rec["total_amount"] = (
                # never a TLC fee (0.75, 1.75, 2.50 ...) away from the parts, with or without the
                # fees counted twice: amount_check says mismatch, not fees_in_extra or
                # fee_not_itemized
                _cents(rec["total_amount"]) + self.rng.choice((1, 3, 10000))
            ) / 100
            return _dumps(rec)
        raise ValueError(f"not a record anomaly: {kind}")

    #: classes made by setting one field (or one of several) to one of the values
    _ONE_FIELD: dict[str, tuple[str | tuple[str, ...], tuple[Any, ...]]] = {
        OUT_OF_RANGE: (("fare_amount", "total_amount", "tip_amount"), (1e15, 123456789.0, -1e12)),
        INVALID_VENDOR_ID: ("VendorID", (0, 3, 5, 99, -5)),
        INVALID_RATE_CODE: ("RatecodeID", (0, 7, 98, -1)),
        INVALID_PAYMENT_TYPE: ("payment_type", (7, 9, -1, 42)),
        INVALID_LOCATION_ID: (("PULocationID", "DOLocationID"), (0, -1, 266, 99999)),
        INVALID_STORE_AND_FWD_FLAG: ("store_and_fwd_flag", ("y", "X", "YES", "\u00e9", "")),
        IMPLAUSIBLE_PASSENGER_COUNT: ("passenger_count", (10, 99, -1)),
        IMPLAUSIBLE_DISTANCE: ("trip_distance", (500.5, 12345.6, -0.5, -3.2)),
    }

    def malformed_json(self, value: str) -> str:
        rng = self.rng
        style = rng.randrange(4)
        if style == 0:  # truncated in flight
            out = value[: rng.randrange(1, len(value) - 1)]
        elif style == 1:  # Python repr instead of JSON
            out = value.replace('"', "'")
        elif style == 2:  # one key lost its quotes
            key = rng.choice(REQUIRED_FIELDS)
            out = value.replace(f'"{key}":', f"{key}:", 1)
        else:  # free text from a misconfigured client
            out = self.faker.sentence(nb_words=rng.randrange(3, 12))
        if _is_json(out) or not out:  # cannot happen with the styles above; stay safe
            out = value[: len(value) // 2]
        return out

    def missing_field(self, record: dict[str, Any]) -> str:
        rec = dict(record)
        del rec[self.rng.choice(REQUIRED_FIELDS)]
        return _dumps(rec)

    def wrong_type(self, record: dict[str, Any]) -> str:
        rec = dict(record)
        rec[self.rng.choice(_NUMERIC_REQUIRED)] = self.rng.choice(_WRONG_TYPE_VALUES)
        return _dumps(rec)

    def negative_amount(self, record: dict[str, Any]) -> str:
        rec = dict(record)
        positive = [k for k in AMOUNT_PARTS if (rec.get(k) or 0) > 0]
        # half of them a refund row (every amount negated), the others one negated part
        negate = positive if self.rng.random() < 0.5 else [self.rng.choice(positive)]
        for k in negate:
            rec[k] = -rec[k]
        rec["total_amount"] = sum(_cents(rec[k]) for k in AMOUNT_PARTS if rec.get(k)) / 100
        return _dumps(rec)

    def dropoff_before_pickup(self, record: dict[str, Any]) -> str:
        rec = dict(record)
        rec["tpep_pickup_datetime"], rec["tpep_dropoff_datetime"] = (
            rec["tpep_dropoff_datetime"],
            rec["tpep_pickup_datetime"],
        )
        return _dumps(rec)


_TS = "%Y-%m-%d %H:%M:%S"


def _parse(ts: str) -> datetime:
    return datetime.strptime(ts, _TS)


def _fmt(ts: datetime) -> str:
    return ts.strftime(_TS)


def _shift_trip(record: dict[str, Any], delta: timedelta) -> dict[str, Any]:
    rec = dict(record)
    for k in ("tpep_pickup_datetime", "tpep_dropoff_datetime"):
        rec[k] = _fmt(_parse(rec[k]) + delta)
    return rec
