"""Anomalies: every class breaks exactly its rule of contracts.md §1, counts are exact."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from taxi_generator.anomalies import (
    COUNT_KEYS,
    EXTRA_KINDS,
    AnomalyRates,
    EventCounts,
)
from taxi_generator.model import AMOUNT_FIELDS, AMOUNT_PARTS, FIELDS, REQUIRED_FIELDS
from taxi_generator.stream import EventStream

from lakehouse import silver_rules

START = date(2025, 3, 6)
FMT = "%Y-%m-%d %H:%M:%S"
TYPES = {
    "VendorID": (int,),
    "tpep_pickup_datetime": (str,),
    "tpep_dropoff_datetime": (str,),
    "passenger_count": (int,),
    "trip_distance": (int, float),
    "RatecodeID": (int,),
    "store_and_fwd_flag": (str,),
    "PULocationID": (int,),
    "DOLocationID": (int,),
    "payment_type": (int,),
    **{k: (int, float) for k in AMOUNT_FIELDS},
}
RATES = AnomalyRates(
    duplicate=0.01,
    malformed_json=0.005,
    missing_field=0.004,
    wrong_type=0.003,
    negative_amount=0.002,
    dropoff_before_pickup=0.0025,
    late=0.012,
)


def structural_problem(value: str) -> str | None:
    """The bronze rule of contracts.md §1: None when structurally valid, else the reason."""
    try:
        obj = json.loads(value)
    except ValueError:
        return "malformed_json"
    if not isinstance(obj, dict):
        return "malformed_json"
    for f in REQUIRED_FIELDS:
        if obj.get(f) is None:
            return f"missing_field:{f}"
    for f, v in obj.items():
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, TYPES[f]):
            return f"wrong_type:{f}"
        if f.startswith("tpep_"):
            try:
                datetime.strptime(v, FMT)
            except ValueError:
                return f"wrong_type:{f}"
    return None


#: the Kafka time of these messages: the day after the generated window
KAFKA_TS = datetime.combine(START, datetime.min.time()) + timedelta(days=4)


def semantic_problems(records: list[dict]) -> list[str | None]:
    """The silver rules of contracts.md §1 as DuckDB evaluates vars.silver_rules (the SQL Flink
    and dbt run): None when kept, else the first rule broken."""
    return [v.reason for v in silver_rules.evaluate(records, KAFKA_TS)]


def semantic_problem(rec: dict) -> str | None:
    return semantic_problems([rec])[0]


def trip_id(rec: dict) -> str:
    keys = (
        "VendorID",
        "tpep_pickup_datetime",
        "tpep_dropoff_datetime",
        "PULocationID",
        "DOLocationID",
        "trip_distance",
        "total_amount",
    )
    return hashlib.md5("|".join(str(rec[k]) for k in keys).encode()).hexdigest()


@pytest.fixture(scope="module")
def run():
    stream = EventStream(20_000, seed=11, start_date=START, days=3, anomalies=RATES)
    return stream, list(stream)


def test_rates_are_validated_and_default_to_zero():
    assert AnomalyRates().planned_counts(1000) == {
        k: (1000 if k == "clean" else 0) for k in COUNT_KEYS
    }
    with pytest.raises(ValueError):
        AnomalyRates(duplicate=-0.1)
    with pytest.raises(ValueError):
        AnomalyRates(late=1.5)
    with pytest.raises(ValueError):
        AnomalyRates(wrong_type=float("nan"))
    assert AnomalyRates(duplicate=2.0).planned_counts(10)["duplicate"] == 20  # extra, not a share


def test_planned_counts_round_half_up():
    p = AnomalyRates(duplicate=0.0125, malformed_json=0.001, late=0.5).planned_counts(200)
    assert p["duplicate"] == 3  # 2.5 -> 3
    assert p["malformed_json"] == 0  # 0.2 -> 0
    assert p["late"] == 100
    assert AnomalyRates.uniform(0.1).planned_counts(50) == {k: 5 for k in COUNT_KEYS} | {
        "clean": 50
    }


def test_counts_are_exact_and_match_the_messages(run):
    stream, msgs = run
    kinds = Counter(m[3] for m in msgs)
    planned = stream.planned
    assert planned == {
        "clean": 20_000,
        "late": 240,
        "duplicate": 200,
        "malformed_json": 100,
        "missing_field": 80,
        "wrong_type": 60,
        "negative_amount": 40,
        "dropoff_before_pickup": 50,
    } | {k: 0 for k in COUNT_KEYS[8:]}  # classes added later: 0 here
    assert stream.counts.as_dict() == planned
    assert kinds["clean"] + kinds["late"] == 20_000  # late is a subset of clean
    for k in EXTRA_KINDS:
        assert kinds[k] == planned[k]
    assert len(msgs) == stream.counts.messages == stream.planned_messages == 20_530


def test_clean_and_late_events_are_fully_valid(run):
    _, msgs = run
    ids = set()
    records = []
    for key, value, _, kind in msgs:
        if kind not in ("clean", "late"):
            continue
        assert structural_problem(value) is None, value
        rec = json.loads(value)
        records.append(rec)
        assert key == str(rec["PULocationID"])
        ids.add(trip_id(rec))
    problems = semantic_problems(records)
    assert [(r, p) for r, p in zip(records, problems, strict=True) if p] == []
    assert len(ids) == 20_000  # silver's dedup by trip_id keeps every clean event


def test_late_events_are_1_to_72_hours_behind_the_stream(run):
    stream, msgs = run
    late = [(json.loads(v), ev) for _, v, ev, kind in msgs if kind == "late"]
    assert len(late) == 240
    for rec, event_s in late:
        lag = event_s - stream.clock.to_seconds(rec["tpep_pickup_datetime"])
        assert 3600 <= lag <= 72 * 3600, (rec, event_s)
    keys = ("VendorID", "tpep_pickup_datetime", "PULocationID", "DOLocationID", "total_amount")
    assert stream.late_event_keys == [[rec[k] for k in keys] for rec, _ in late]
    # event time of the stream is monotonic, late pick-ups are not
    assert [m[2] for m in msgs] == sorted(m[2] for m in msgs)


def test_duplicates_resend_an_earlier_clean_message(run):
    _, msgs = run
    seen: set[tuple[str, str]] = set()
    dups = 0
    for key, value, _, kind in msgs:
        if kind == "duplicate":
            assert (key, value) in seen  # identical key and value, sent before
            dups += 1
        elif kind in ("clean", "late"):
            seen.add((key, value))
    assert dups == 200


def test_malformed_json_does_not_parse(run):
    _, msgs = run
    bad = [v for _, v, _, kind in msgs if kind == "malformed_json"]
    assert len(bad) == 100
    for v in bad:
        assert v  # never an empty message
        assert structural_problem(v) == "malformed_json", v
    assert len(set(bad)) == len(bad)


def test_missing_field_drops_exactly_one_required_field(run):
    _, msgs = run
    dropped = Counter()
    for _, v, _, kind in msgs:
        if kind != "missing_field":
            continue
        reason = structural_problem(v)
        assert reason is not None and reason.startswith("missing_field:"), v
        missing = set(FIELDS) - set(json.loads(v))
        assert len(missing) == 1 and missing <= set(REQUIRED_FIELDS)
        dropped[missing.pop()] += 1
    assert sum(dropped.values()) == 80 and len(dropped) >= 5


def test_wrong_type_puts_a_string_into_a_numeric_field(run):
    _, msgs = run
    n = 0
    for _, v, _, kind in msgs:
        if kind != "wrong_type":
            continue
        n += 1
        reason = structural_problem(v)
        assert reason is not None and reason.startswith("wrong_type:"), v
        rec = json.loads(v)
        field = reason.split(":", 1)[1]
        assert isinstance(rec[field], str)
        # nothing missing: only the type is wrong (the CBD fee is optional)
        assert set(rec) - {"cbd_congestion_fee"} == set(FIELDS)
    assert n == 60


def test_negative_amount_keeps_total_consistent(run):
    _, msgs = run
    n = 0
    for _, v, _, kind in msgs:
        if kind != "negative_amount":
            continue
        n += 1
        assert structural_problem(v) is None, v  # reaches bronze
        rec = json.loads(v)
        assert semantic_problem(rec) is None  # kept in silver, like TLC's voids and refunds
        assert any((rec.get(k) or 0) < 0 for k in AMOUNT_FIELDS)
        parts = sum(round((rec[k] or 0) * 100) for k in AMOUNT_PARTS)
        assert round(rec["total_amount"] * 100) == parts
    assert n == 40


def test_dropoff_before_pickup(run):
    _, msgs = run
    n = 0
    for _, v, _, kind in msgs:
        if kind != "dropoff_before_pickup":
            continue
        n += 1
        assert structural_problem(v) is None, v
        rec = json.loads(v)
        assert semantic_problem(rec) == "dropoff_before_pickup"
        assert datetime.strptime(rec["tpep_dropoff_datetime"], FMT) < datetime.strptime(
            rec["tpep_pickup_datetime"], FMT
        )
    assert n == 50


def test_reconciliation_buckets_add_up(run):
    """What bronze / dead letter / silver would count, from the messages alone."""
    _, msgs = run
    dead = [v for _, v, _, _ in msgs if structural_problem(v)]
    bronze = [json.loads(v) for _, v, _, _ in msgs if not structural_problem(v)]
    problems = semantic_problems(bronze)
    rejected = [r for r, p in zip(bronze, problems, strict=True) if p]
    silver = {trip_id(r) for r, p in zip(bronze, problems, strict=True) if not p}
    assert len(dead) == 100 + 80 + 60
    assert len(rejected) == 50  # dropoff_before_pickup; negative amounts are kept
    assert len(bronze) == len(msgs) - len(dead)
    assert len(silver) == 20_000 + 40 == len(bronze) - 200 - len(rejected)


def test_anomalies_do_not_change_the_clean_events():
    plain = list(EventStream(3000, seed=5, start_date=START, days=1))
    rates = AnomalyRates.uniform(0.02, late=0.0)
    mixed = list(EventStream(3000, seed=5, start_date=START, days=1, anomalies=rates))
    assert [m for m in mixed if m[3] == "clean"] == plain
    with_late = list(
        EventStream(3000, seed=5, start_date=START, days=1, anomalies=AnomalyRates(late=0.1))
    )
    same = sum(a == b for a, b in zip(plain, with_late, strict=True))
    assert same == 3000 - 300


def test_stream_is_deterministic():
    a = list(EventStream(2000, seed=9, start_date=START, anomalies=RATES))
    b = list(EventStream(2000, seed=9, start_date=START, anomalies=RATES))
    c = list(EventStream(2000, seed=10, start_date=START, anomalies=RATES))
    assert a == b
    assert a != c


def test_event_counts_messages_equation():
    c = EventCounts(clean=10000, late=120, duplicate=100, malformed_json=30, missing_field=30)
    c.add("wrong_type", 30)
    c.add("negative_amount", 20)
    c.add("dropoff_before_pickup", 20)
    assert c.messages == 10230  # the example of contracts.md §2
    assert list(c.as_dict()) == list(COUNT_KEYS)


def test_small_and_empty_streams():
    assert list(EventStream(0, seed=1, start_date=START, anomalies=RATES)) == []
    one = list(EventStream(1, seed=1, start_date=START, anomalies=AnomalyRates.uniform(1.0)))
    assert Counter(m[3] for m in one) == Counter({k: 1 for k in EXTRA_KINDS} | {"late": 1})
