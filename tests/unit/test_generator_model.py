"""Trip model: determinism, tariff rules, the TLC conventions of the amounts, demand curve.

How close the model is to the real TLC samples: test_generator_realism.py."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from taxi_generator.model import (
    AMOUNT_PARTS,
    CBD_ZONE,
    CONGESTION_ZONE,
    FARE,
    FEE_FIELDS,
    FIELDS,
    MANHATTAN,
    MAX_LOCATION_ID,
    RECORD_FIELDS,
    Clock,
    Trip,
    bucket_counts,
    default_start_date,
    generate_trips,
    negative_twin,
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
    clock = Clock(date(2025, 1, 3))
    trips = list(generate_trips(5000, seed=3, start_date=clock.start_date, days=7))
    trips += [negative_twin(t, cbd_shown=i % 2 == 1) for i, t in enumerate(trips[::10])]
    assert any(t.passenger_count is None for t in trips)  # flex rows with nulls are covered
    assert {t.cbd_congestion_fee for t in trips} == {None, 0, 75, -75}  # before/after 01-05
    for t in trips:
        text = trip_to_json(t, clock)
        assert text == json.dumps(trip_to_record(t, clock), separators=(",", ":"))
    # and the record has the contract's fields (v2): the TLC order, cbd_congestion_fee last
    assert tuple(json.loads(text)) == RECORD_FIELDS == (*FIELDS, "cbd_congestion_fee")


def test_general_path_for_values_outside_the_lookup_table():
    clock = Clock(START)
    t = next(generate_trips(1, seed=1, start_date=START))
    refund = t._replace(fare=-t.fare, total=t.total - 2 * t.fare)
    assert json.loads(trip_to_json(refund, clock))["fare_amount"] == -t.fare / 100
    huge = t._replace(fare=t.fare + 10_000_000, total=t.total + 10_000_000)
    assert json.loads(trip_to_json(huge, clock))["total_amount"] == (t.total + 10_000_000) / 100


def _parts(r: dict) -> int:
    return sum(_cents(r[k]) for k in AMOUNT_PARTS)


def _fees(r: dict) -> int:
    return sum(_cents(r[k]) for k in FEE_FIELDS)


def test_totals_follow_each_vendors_convention(records):
    """TLC's conventions (data/tlc samples): VendorID 1 books the congestion, airport and CBD
    fees in extra as well (total = parts - fees); a flex fare's total holds the fees its null
    columns do not show; everything else adds up, except a rare second congestion surcharge
    in a VendorID 2 total."""
    seen = Counter()
    for r in records:
        for k in (*AMOUNT_PARTS, "total_amount", "trip_distance"):
            if r[k] is not None:
                assert r[k] >= 0, r
                assert abs(r[k] * 100 - _cents(r[k])) < 1e-6, r  # whole cents
        diff = _cents(r["total_amount"]) - _parts(r)
        if r["payment_type"] == 0:
            assert diff in (0, 175, 250, 425), r  # congestion and airport fee, hidden
            seen["flex", diff > 0] += 1
        elif r["VendorID"] == 1:
            assert diff == -_fees(r), r
            assert _cents(r["extra"]) >= _fees(r), r
            seen["fees_in_extra", diff < 0] += 1
        else:
            assert diff == 0 or (diff == 250 and r["VendorID"] == 2), r
            seen["exact", diff == 0] += 1
    assert seen["flex", True] > 0.8 * seen["flex", False] > 0
    assert seen["fees_in_extra", True] > 8 * seen["fees_in_extra", False] > 0
    assert 0 < seen["exact", False] < 0.005 * seen["exact", True]


def test_metered_fare_follows_the_tariff(records):
    # RatecodeID 1 with a distance (a meter that lost GPS reports 0 miles but charged them)
    metered = [r for r in records if r["RatecodeID"] in (1, 3) and r["trip_distance"] > 0]
    assert len(metered) > 13_000
    slow_seen = 0
    for r in metered:
        dist_h = _cents(r["trip_distance"])  # hundredths of a mile
        duration = (_ts(r["tpep_dropoff_datetime"]) - _ts(r["tpep_pickup_datetime"])).seconds
        slow_s = max(0, duration - dist_h * 2)  # moving at 18 mph = 2 s per 1/100 mile
        slow_seen += slow_s >= 60
        expected = 300 + 70 * (dist_h // 20) + 70 * (slow_s // 60)
        if r["RatecodeID"] == 3:
            expected += 2000  # the Newark surcharge is in the fare
        assert _cents(r["fare_amount"]) == expected, r
    assert slow_seen > len(metered) / 2  # stops and slow traffic are charged on most trips


def test_rate_code_constants_documented_in_one_place():
    assert (FARE.initial, FARE.unit) == (300, 70)
    assert FARE.distance_unit_hundredths_mi == 20 and FARE.slow_unit_s == 60
    assert (FARE.slow_threshold_mph, FARE.moving_speed_mph) == (12, 18)
    assert (FARE.mta_tax, FARE.improvement_surcharge, FARE.congestion_surcharge) == (50, 100, 250)
    assert (FARE.jfk_flat, FARE.airport_fee) == (7000, 175)
    assert (FARE.newark_surcharge, FARE.lga_surcharge) == (2000, 500)
    assert (FARE.cbd_congestion_fee, FARE.cbd_start) == (75, date(2025, 1, 5))


def test_extras_by_time_of_day_and_rate_code(records):
    for r in records:
        pickup = _ts(r["tpep_pickup_datetime"])
        h, weekday = pickup.hour, pickup.weekday() < 5
        extra = _cents(r["extra"])
        if r["VendorID"] == 1 and r["payment_type"] != 0:
            extra -= _fees(r)  # VendorID 1 books the fees in extra too
        rate = r["RatecodeID"]
        assert r["mta_tax"] == 0.5
        assert r["improvement_surcharge"] == 1.0 or (rate == 99 and r["improvement_surcharge"] == 0)
        if rate is None or rate == 99:  # flex fare (an up-front price), RatecodeID 99
            assert extra == 0, r
        elif rate == 2:
            assert extra == (500 if weekday and 16 <= h < 20 else 0), r
        else:
            expected = (250 if weekday and 16 <= h < 20 else 0) + (100 if h >= 20 or h < 6 else 0)
            if rate == 1 and 138 in (r["PULocationID"], r["DOLocationID"]):
                expected += 500  # LaGuardia
            assert extra == expected, r


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
    fee_at = Counter()
    for r in records:
        if r["RatecodeID"] == 2:
            assert 132 in (r["PULocationID"], r["DOLocationID"])
        if r["RatecodeID"] not in (None, 5) and 1 in (r["PULocationID"], r["DOLocationID"]):
            assert r["RatecodeID"] == 3
        if r["RatecodeID"] == 3:
            assert 1 in (r["PULocationID"], r["DOLocationID"]) and r["fare_amount"] >= 23.0
        if r["RatecodeID"] == 4:
            assert 265 in (r["PULocationID"], r["DOLocationID"])  # Nassau/Westchester
        if r["Airport_fee"] is not None:  # null only on flex-fare rows
            assert r["Airport_fee"] in (0.0, 1.75), r
            if r["Airport_fee"]:
                assert r["PULocationID"] in (132, 138), r
            if r["PULocationID"] in (132, 138) and r["trip_distance"] > 0:
                fee_at[r["PULocationID"], r["Airport_fee"]] += 1
    # every LaGuardia pick-up pays the airport fee, ~78 % of JFK's (the 2025 sample)
    assert fee_at[138, 1.75] > 300 and fee_at[138, 0.0] == 0
    assert 0.7 < fee_at[132, 1.75] / (fee_at[132, 1.75] + fee_at[132, 0.0]) < 0.86
    assert any(r["RatecodeID"] == 3 for r in records)  # Newark trips exist


def test_congestion_surcharge_for_manhattan_trips(records):
    seen = Counter()
    for r in records:
        if r["congestion_surcharge"] is None:
            assert r["payment_type"] == 0 and r["RatecodeID"] is None
            continue
        if r["RatecodeID"] == 99 or r["trip_distance"] == 0:
            continue  # no surcharges / no move
        inside = r["PULocationID"] in CONGESTION_ZONE or r["DOLocationID"] in CONGESTION_ZONE
        assert r["congestion_surcharge"] in (0.0, 2.5), r
        seen[inside, r["congestion_surcharge"]] += 1
    assert seen[True, 2.5] > 10 * (seen[False, 0.0] + seen[False, 2.5]) > 0
    # 99 % of the trips to or from the area pay it; 8 % of the others pass through it
    assert seen[True, 0.0] < 0.02 * seen[True, 2.5]
    assert 0.03 < seen[False, 2.5] / (seen[False, 2.5] + seen[False, 0.0]) < 0.15


def test_cbd_fee_from_2025_01_05_in_the_zone():
    clock = Clock(date(2025, 1, 3))  # Friday: two days before the fee, five with it
    records = [
        trip_to_record(t, clock)
        for t in generate_trips(10_000, seed=4, start_date=clock.start_date, days=7)
    ]
    seen = Counter()
    for r in records:
        before = r["tpep_pickup_datetime"] < "2025-01-05"
        if before:
            assert r["cbd_congestion_fee"] is None, r
            continue
        assert r["cbd_congestion_fee"] in (0.0, 0.75), r
        if r["RatecodeID"] == 99 or r["trip_distance"] == 0:
            continue
        touches = r["PULocationID"] in CBD_ZONE or r["DOLocationID"] in CBD_ZONE
        seen[touches, r["cbd_congestion_fee"]] += 1
        if r["payment_type"] != 0 and r["VendorID"] != 1:  # counted in the total
            assert _cents(r["total_amount"]) - _parts(r) in (0, 250), r
    assert seen[True, 0.75] / (seen[True, 0.75] + seen[True, 0.0]) > 0.95
    # passing through, or a boundary zone (the 2025 sample: 5-23 % by kind of trip)
    assert 0.03 < seen[False, 0.75] / (seen[False, 0.75] + seen[False, 0.0]) < 0.3
    assert CBD_ZONE < CONGESTION_ZONE and {161, 230, 87, 231} <= CBD_ZONE
    assert not CBD_ZONE & {236, 237, 238, 239, 140, 141, 142, 143, 43}  # above 60th St


def test_tips_only_on_card_and_flex_and_typical_percentage(records):
    card = [r for r in records if r["payment_type"] == 1]
    assert 0.6 < len(card) / len(records) < 0.9
    for r in records:
        if r["payment_type"] not in (0, 1) or r["RatecodeID"] == 99:
            assert r["tip_amount"] == 0.0, r
    tipped = [r for r in card if r["tip_amount"] > 0]
    assert len(tipped) > 0.85 * len(card)
    pcts = []
    for r in tipped:
        base = _cents(r["total_amount"]) - _cents(r["tip_amount"]) - _cents(r["tolls_amount"])
        pcts.append(_cents(r["tip_amount"]) / base)
        assert 0.02 < pcts[-1] < 0.31, r  # $1 is at least 5 %, rounded
    # the in-cab screen's 20 % is the most common tip (44 % of the sample's tipped card rows)
    assert 0.35 < sum(abs(p - 0.2) < 0.001 for p in pcts) / len(pcts) < 0.5
    assert 0.16 < sum(pcts) / len(pcts) < 0.21


def test_trips_are_internally_consistent(records):
    start = datetime.combine(START, datetime.min.time())
    for r in records:
        pu, do = _ts(r["tpep_pickup_datetime"]), _ts(r["tpep_dropoff_datetime"])
        assert start <= pu < start + timedelta(days=7)
        # a flag drop is over in seconds (dropoff_before_pickup swaps need a duration > 0)
        assert timedelta(seconds=5) <= do - pu < timedelta(hours=4)
        assert 1 <= r["PULocationID"] <= MAX_LOCATION_ID == 265
        assert 1 <= r["DOLocationID"] <= MAX_LOCATION_ID
        assert 0 <= r["trip_distance"] < 40
        assert r["VendorID"] in (1, 2, 6, 7)
        assert r["payment_type"] in (0, 1, 2, 3, 4)
        assert r["RatecodeID"] in (None, 1, 2, 3, 4, 5, 99)
        assert r["passenger_count"] in (None, 0, 1, 2, 3, 4, 5, 6)
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
    assert len(Trip._fields) == len(RECORD_FIELDS) == len(FIELDS) + 1 == 20
    assert math.isclose(Trip(*range(20)).trip_distance, 0.04)


def test_negative_twin_negates_every_amount_but_the_tip():
    clock = Clock(date(2025, 2, 3))
    trips = [t for t in generate_trips(3000, seed=6, start_date=clock.start_date) if t.payment_type]
    for i, t in enumerate(trips):
        n = negative_twin(t, cbd_shown=i % 3 == 0)
        assert n.total < 0 and n.total != t.total  # never 0: a trip id of its own
        assert n.total == -(t.total - t.tip)  # the vendor's convention kept
        assert (n.vendor_id, n.pickup_s, n.dropoff_s, n.pu_location_id, n.do_location_id) == (
            t.vendor_id, t.pickup_s, t.dropoff_s, t.pu_location_id, t.do_location_id,
        )  # fmt: skip
        assert (n.distance_h, n.payment_type, n.tip) == (t.distance_h, t.payment_type, 0)
        assert (n.fare, n.extra, n.mta_tax, n.tolls) == (-t.fare, -t.extra, -t.mta_tax, -t.tolls)
        assert (n.congestion_surcharge, n.airport_fee) == (
            -t.congestion_surcharge, -t.airport_fee,
        )  # fmt: skip
        # the CBD fee stays in the total; its column shows it only when asked (2 of 42 real)
        assert n.cbd_congestion_fee == (-t.cbd_congestion_fee if i % 3 == 0 else 0)
