"""Trip model: determinism, tariff rules, consistency of amounts, demand curve."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from taxi_generator.model import (
    AMOUNT_PARTS,
    CONGESTION_ZONE,
    FARE,
    FIELDS,
    MANHATTAN,
    MAX_LOCATION_ID,
    Clock,
    Trip,
    bucket_counts,
    default_start_date,
    generate_trips,
    resolve_start_date,
    trip_to_json,
    trip_to_record,
)

START = date(2025, 3, 3)  # a Monday
FMT = "%Y-%m-%d %H:%M:%S"


def _records(n: int = 20_000, seed: int = 7, start: date = START, days: int = 7) -> list[dict]:
    clock = Clock(start)
    return [
        json.loads(trip_to_json(t, clock))
        for t in generate_trips(n, seed=seed, start_date=start, days=days)
    ]


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return _records()


def _cents(x: float | None) -> int:
    return 0 if x is None else round(x * 100)


def _ts(s: str) -> datetime:
    return datetime.strptime(s, FMT)


def test_same_seed_same_events_other_seed_other_events():
    clock = Clock(START)
    a = [trip_to_json(t, clock) for t in generate_trips(2000, seed=1, start_date=START, days=2)]
    b = [trip_to_json(t, clock) for t in generate_trips(2000, seed=1, start_date=START, days=2)]
    c = [trip_to_json(t, clock) for t in generate_trips(2000, seed=2, start_date=START, days=2)]
    assert a == b
    assert len(set(a) & set(c)) < 5


def test_fast_json_is_exactly_json_dumps(records):
    clock = Clock(START)
    trips = list(generate_trips(5000, seed=3, start_date=START, days=7))
    assert any(t.passenger_count is None for t in trips)  # flex rows with nulls are covered
    for t in trips:
        text = trip_to_json(t, clock)
        assert text == json.dumps(trip_to_record(t, clock), separators=(",", ":"))
    # and the record has the contract's fields, in the TLC order
    assert tuple(json.loads(text)) == FIELDS


def test_general_path_for_values_outside_the_lookup_table():
    clock = Clock(START)
    t = next(generate_trips(1, seed=1, start_date=START))
    refund = t._replace(fare=-t.fare, total=t.total - 2 * t.fare)
    assert json.loads(trip_to_json(refund, clock))["fare_amount"] == -t.fare / 100
    huge = t._replace(fare=t.fare + 10_000_000, total=t.total + 10_000_000)
    assert json.loads(trip_to_json(huge, clock))["total_amount"] == (t.total + 10_000_000) / 100


def test_total_is_exact_sum_of_parts(records):
    for r in records:
        parts = [r[k] for k in AMOUNT_PARTS if r[k] is not None]
        assert _cents(r["total_amount"]) == sum(_cents(p) for p in parts), r
        assert round(sum(parts), 2) == r["total_amount"], r
        for k in (*AMOUNT_PARTS, "total_amount", "trip_distance"):
            if r[k] is not None:
                assert r[k] >= 0, r
                assert abs(r[k] * 100 - _cents(r[k])) < 1e-6, r  # whole cents


def test_metered_fare_follows_the_tariff(records):
    metered = [r for r in records if r["RatecodeID"] in (1, 3)]
    assert len(metered) > 15_000
    slow_seen = 0
    for r in metered:
        dist_h = _cents(r["trip_distance"])  # hundredths of a mile
        duration = (_ts(r["tpep_dropoff_datetime"]) - _ts(r["tpep_pickup_datetime"])).seconds
        slow_s = max(0, duration - dist_h * 3)  # 12 mph = 3 s per 1/100 mile
        slow_seen += slow_s >= 60
        expected = 300 + 70 * (dist_h // 20) + 70 * (slow_s // 60)
        assert _cents(r["fare_amount"]) == expected, r
    assert slow_seen > len(metered) / 4  # slow traffic is charged on many trips


def test_rate_code_constants_documented_in_one_place():
    assert (FARE.initial, FARE.unit) == (300, 70)
    assert FARE.distance_unit_hundredths_mi == 20 and FARE.slow_unit_s == 60
    assert (FARE.mta_tax, FARE.improvement_surcharge, FARE.congestion_surcharge) == (50, 100, 250)
    assert (FARE.jfk_flat, FARE.airport_fee) == (7000, 175)


def test_extras_by_time_of_day_and_rate_code(records):
    for r in records:
        pickup = _ts(r["tpep_pickup_datetime"])
        h, weekday = pickup.hour, pickup.weekday() < 5
        extra = _cents(r["extra"])
        rate = r["RatecodeID"]
        is_jfk_flat = _cents(r["fare_amount"]) == 7000 and rate in (2, None)
        if rate == 2 or is_jfk_flat:
            assert extra == (500 if weekday and 16 <= h < 20 else 0), r
            continue
        expected = (250 if weekday and 16 <= h < 20 else 0) + (100 if h >= 20 or h < 6 else 0)
        if r["PULocationID"] == 1 or r["DOLocationID"] == 1:
            expected += 2000  # Newark surcharge
        if rate is not None:
            assert extra == expected, r
        assert r["mta_tax"] == 0.5 and r["improvement_surcharge"] == 1.0


def test_airport_rate_codes_and_fees(records):
    jfk_manhattan = [
        r
        for r in records
        if r["RatecodeID"] is not None
        and (
            (r["PULocationID"] == 132 and r["DOLocationID"] in MANHATTAN)
            or (r["DOLocationID"] == 132 and r["PULocationID"] in MANHATTAN)
        )
    ]
    assert len(jfk_manhattan) > 100
    flat = [r for r in jfk_manhattan if r["RatecodeID"] == 2]
    assert len(flat) > 0.8 * len(jfk_manhattan)
    assert all(r["fare_amount"] == 70.0 for r in flat)
    for r in records:
        if r["RatecodeID"] == 2:
            assert 132 in (r["PULocationID"], r["DOLocationID"])
        if r["RatecodeID"] is not None and 1 in (r["PULocationID"], r["DOLocationID"]):
            assert r["RatecodeID"] == 3
        if r["RatecodeID"] == 3:
            assert 1 in (r["PULocationID"], r["DOLocationID"]) and r["extra"] >= 20.0
        if r["Airport_fee"] is not None:  # null only on flex-fare rows
            assert r["Airport_fee"] == (1.75 if r["PULocationID"] in (132, 138) else 0.0), r
    pu_airport = [r for r in records if r["PULocationID"] in (132, 138) and r["Airport_fee"]]
    assert len(pu_airport) > 500  # airports are busy pick-up zones
    assert any(r["RatecodeID"] == 3 for r in records)  # Newark trips exist


def test_congestion_surcharge_for_manhattan_trips(records):
    seen = Counter()
    for r in records:
        if r["congestion_surcharge"] is None:
            assert r["payment_type"] == 0 and r["RatecodeID"] is None
            continue
        inside = r["PULocationID"] in CONGESTION_ZONE or r["DOLocationID"] in CONGESTION_ZONE
        assert r["congestion_surcharge"] == (2.5 if inside else 0.0), r
        seen[inside] += 1
    assert seen[True] > 10 * seen[False] > 0


def test_tips_only_on_card_and_typical_percentage(records):
    card = [r for r in records if r["payment_type"] == 1]
    assert 0.6 < len(card) / len(records) < 0.9
    for r in records:
        if r["payment_type"] != 1:
            assert r["tip_amount"] == 0.0, r
    tipped = [r for r in card if r["tip_amount"] > 0]
    assert len(tipped) > 0.85 * len(card)
    for r in tipped:
        base = sum(_cents(r[k]) for k in AMOUNT_PARTS if k not in ("tip_amount", "tolls_amount"))
        pct = _cents(r["tip_amount"]) / base
        assert 0.145 < pct < 0.255, r
    mean_pct = sum(
        _cents(r["tip_amount"])
        / sum(_cents(r[k]) for k in AMOUNT_PARTS if k not in ("tip_amount", "tolls_amount"))
        for r in tipped
    ) / len(tipped)
    assert 0.18 < mean_pct < 0.22


def test_trips_are_internally_consistent(records):
    start = datetime.combine(START, datetime.min.time())
    for r in records:
        pu, do = _ts(r["tpep_pickup_datetime"]), _ts(r["tpep_dropoff_datetime"])
        assert start <= pu < start + timedelta(days=7)
        assert timedelta(seconds=60) <= do - pu < timedelta(hours=4)
        assert 1 <= r["PULocationID"] <= MAX_LOCATION_ID
        assert 1 <= r["DOLocationID"] <= MAX_LOCATION_ID
        assert 0 < r["trip_distance"] < 40
        assert r["VendorID"] in (1, 2, 6, 7)
        assert r["payment_type"] in (0, 1, 2, 3, 4)
        assert r["store_and_fwd_flag"] in ("Y", "N", None)
        speed = r["trip_distance"] / ((do - pu).seconds / 3600)
        assert speed <= 46, r
    # airport trips are long, trips inside Manhattan mostly short
    jfk = [r["trip_distance"] for r in records if 132 in (r["PULocationID"], r["DOLocationID"])]
    inner = [
        r["trip_distance"]
        for r in records
        if r["PULocationID"] in MANHATTAN and r["DOLocationID"] in MANHATTAN
    ]
    assert sorted(jfk)[len(jfk) // 2] > 10 > 3 > sorted(inner)[len(inner) // 2] > 1


def test_busy_zones_are_frequent(records):
    top = {z for z, _ in Counter(r["PULocationID"] for r in records).most_common(12)}
    assert {161, 236, 237, 162, 132} <= top
    assert len({r["PULocationID"] for r in records}) > 150  # but the long tail is there


def test_demand_curve_rush_hour_beats_4am():
    counts = bucket_counts(100_000, START, 1)  # Monday
    assert sum(counts) == 100_000
    assert counts[18] > 10 * counts[4]
    assert counts[8] > 5 * counts[4]
    assert min(range(24), key=counts.__getitem__) in (4, 5)
    weekend = bucket_counts(100_000, START + timedelta(days=5), 1)  # Saturday
    assert weekend[1] > 1.5 * counts[1]  # busier nights
    week = bucket_counts(70_001, START, 7)
    assert len(week) == 7 * 24 and sum(week) == 70_001
    assert sum(week[:24]) < sum(week[3 * 24 : 4 * 24])  # Thursday busier than Monday


def test_generated_pickups_follow_the_curve(records):
    by_hour = Counter(_ts(r["tpep_pickup_datetime"]).hour for r in records)
    assert by_hour[18] > 8 * by_hour[4]
    assert by_hour[4] == min(by_hour.values()) or by_hour[5] == min(by_hour.values())
    days = Counter(r["tpep_pickup_datetime"][:10] for r in records)
    assert len(days) == 7 and min(days.values()) > 0.1 * len(records)


def test_pickups_are_in_event_time_order():
    times = [t.pickup_s for t in generate_trips(5000, seed=5, start_date=START, days=3)]
    assert times == sorted(times)


def test_start_date_defaults_to_seven_days_ago():
    assert default_start_date(date(2026, 1, 3)) == date(2025, 12, 27)
    assert resolve_start_date("2024-02-29") == date(2024, 2, 29)
    today = datetime.now().date()
    assert abs((today - resolve_start_date("")).days - 7) <= 1
    assert resolve_start_date(None) == resolve_start_date("")
    r = _records(200, seed=1, start=date(2031, 12, 31), days=2)
    assert {x["tpep_pickup_datetime"][:10] for x in r} == {"2031-12-31", "2032-01-01"}


def test_clock_handles_days_before_the_start_and_midnight():
    clock = Clock(date(2024, 3, 1))
    assert clock.fmt(0) == "2024-03-01 00:00:00"
    assert clock.fmt(86399) == "2024-03-01 23:59:59"
    assert clock.fmt(-1) == "2024-02-29 23:59:59"
    assert clock.fmt(-3 * 86400 + 3661) == "2024-02-27 01:01:01"
    assert clock.to_seconds("2024-02-29 23:59:59") == -1


def test_trip_named_fields_match_contract_order():
    assert len(Trip._fields) == len(FIELDS)
    assert math.isclose(Trip(*range(19)).trip_distance, 0.04)
