"""The generated clean stream against the city's real data (issue 29).

A 20k-event stream over the real sample's twelve days (2025-01-01 .. 12, fixed seed) is compared
with the real TLC rows in data/tlc (provenance: data/tlc/SOURCES.md), mostly the 5000-row random
sample of January 2025, and judged by the silver contract as DuckDB evaluates it
(``lakehouse.silver_rules.evaluate``: the SQL of vars.silver_rules / vars.silver_flags).

Tolerances. The real sample is small: a share p measured on n = 5000 rows has a standard error of
sqrt(p (1 - p) / n) (0.0059 at p = 0.22, 0.0015 at p = 0.011), and the generated side adds half
as much again (20k rows, 15 % of them flex fares the sample lacks). Each bound below is about four
combined standard errors plus what the model knowingly simplifies, and says so; a bound that
fails is a calibration that drifted, not noise. Distributions are compared with the two-sample
Kolmogorov-Smirnov statistic D (largest gap between the empirical CDFs): with ~4900 real and
~17000 generated rows, two samples of one distribution give D < 0.032 at the 0.1 % level.

The figures the model reaches (seed 29) are in the comment of each test.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

import pyarrow.parquet as pq
import pytest
from taxi_generator.anomalies import AnomalyRates
from taxi_generator.model import FEE_FIELDS, FLEX_FARE_SHARE
from taxi_generator.stream import EventStream

from lakehouse import silver_rules
from lakehouse.settings import REPO_ROOT

DATA = REPO_ROOT / "data" / "tlc"
SAMPLE_2025 = DATA / "angel-wm_yellow_2025-01_random5000.parquet"
#: rows with the payment_type 0 null block (the 2025 random sample has none: its source dropped
#: rows with nulls)
NULL_BLOCK_SAMPLES = (
    DATA / "anishkaranth_yellow_2024-01_29rows.parquet",
    DATA / "great_expectations_yellow_2021-10_1000.parquet",
)
EVENTS = 20_000
SEED = 29
START = date(2025, 1, 1)  # the real sample's pickups: 2025-01-01 .. 2025-01-12
DAYS = 12
KAFKA_TS = datetime(2025, 1, 13)
TS = "%Y-%m-%d %H:%M:%S"

Row = tuple[dict[str, Any], silver_rules.Verdict]


def _events(path) -> list[dict[str, Any]]:
    """Parquet rows as event records (timestamps as text, as the generator sends them)."""
    rows = pq.read_table(path).to_pylist()
    return [
        {k: v.strftime(TS) if isinstance(v, datetime) else v for k, v in r.items()} for r in rows
    ]


@pytest.fixture(scope="module")
def real() -> list[Row]:
    if not SAMPLE_2025.is_file():
        pytest.fail(f"the real sample is missing: {SAMPLE_2025} (see data/tlc/SOURCES.md)")
    records = _events(SAMPLE_2025)
    return list(zip(records, silver_rules.evaluate(records, KAFKA_TS), strict=True))


@pytest.fixture(scope="module")
def stream() -> list[tuple[str, str, int, str]]:
    return list(EventStream(EVENTS, seed=SEED, start_date=START, days=DAYS))


@pytest.fixture(scope="module")
def generated(stream) -> list[Row]:
    records = [json.loads(v) for _k, v, _t, _kind in stream]
    return list(zip(records, silver_rules.evaluate(records, KAFKA_TS), strict=True))


@pytest.fixture(scope="module")
def gen(generated) -> list[Row]:
    """The generated rows the real sample can be compared with: no flex fares (payment 0)."""
    return [(r, v) for r, v in generated if r["payment_type"] != 0]


def share(rows: list[Row], pred: Callable[[dict, silver_rules.Verdict], bool]) -> float:
    return sum(1 for r, v in rows if pred(r, v)) / len(rows)


def ks(a: Iterable[float], b: Iterable[float]) -> float:
    """Two-sample Kolmogorov-Smirnov statistic."""
    a, b = sorted(a), sorted(b)
    return max(abs(bisect_right(a, x) / len(a) - bisect_right(b, x) / len(b)) for x in {*a, *b})


def trip_id(r: dict) -> str:
    """silver's trip_id: MD5 of VendorID|pickup|dropoff|PU|DO|trip_distance|total_amount."""
    keys = ("VendorID", "tpep_pickup_datetime", "tpep_dropoff_datetime", "PULocationID",
            "DOLocationID", "trip_distance", "total_amount")  # fmt: skip
    return hashlib.md5("|".join(str(r[k]) for k in keys).encode()).hexdigest()


def _amount_check(rows: list[Row], vendor: int) -> dict[str, float]:
    mine = [(r, v) for r, v in rows if r["VendorID"] == vendor]
    counts = Counter(v.flags["amount_check"] for _, v in mine)
    return {k: n / len(mine) for k, n in counts.items()}


# ------------------------------------------------------------------ what silver says


def test_every_clean_message_is_kept_by_silver_and_adds_up(stream, generated) -> None:
    """No clean message is rejected or a 'mismatch' (that is the total_mismatch anomaly's
    flag); every one has its own trip id; voids and refunds count as clean messages."""
    assert len(stream) == EVENTS and {kind for *_, kind in stream} == {"clean"}
    assert [(r, v) for r, v in generated if v.reason is not None] == []
    checks = Counter(v.flags["amount_check"] for _, v in generated)
    assert checks["mismatch"] == 0, checks
    assert set(checks) == {"exact", "fees_in_extra", "fee_not_itemized"}
    assert len({trip_id(r) for r, _ in generated}) == EVENTS


def test_vendor_shares(real, generated) -> None:
    """real: 2 77.6 %, 1 22.4 %, 7 0.02 %; generated: 77.8 %, 22.2 %, 0.07 %. Tolerance 0.025
    (4 combined standard errors at p = 0.22)."""
    for vendor in (1, 2):
        r = share(real, lambda x, _v, vid=vendor: x["VendorID"] == vid)
        g = share(generated, lambda x, _v, vid=vendor: x["VendorID"] == vid)
        assert abs(g - r) < 0.025, (vendor, r, g)
    assert share(generated, lambda x, _: x["VendorID"] in (6, 7)) < 0.003  # rare, as real


def test_each_vendors_amount_check_mix(real, gen) -> None:
    """VendorID 1 books the fees in extra as well: real 91.1 % fees_in_extra, 8.9 % exact (trips
    without fees, half of them RatecodeID 99); generated 90.9 / 9.1 %. Tolerance 0.035 (n = 1119:
    SE 0.0085, and the share of fee-free trips follows the zone model). VendorID 2: real 98.8 %
    exact, 1.2 % fee_not_itemized (voids holding the CBD fee, a second congestion surcharge);
    generated 98.55 / 1.45 %. Tolerance 0.01 (n = 3880: SE 0.0017, plus the CBD share of the
    voids: the sample's voids held it less often than its trips paid it)."""
    real_1, gen_1 = _amount_check(real, 1), _amount_check(gen, 1)
    assert set(gen_1) == set(real_1) == {"fees_in_extra", "exact"}
    assert abs(gen_1["fees_in_extra"] - real_1["fees_in_extra"]) < 0.035, (real_1, gen_1)
    real_2, gen_2 = _amount_check(real, 2), _amount_check(gen, 2)
    assert set(gen_2) == set(real_2) == {"exact", "fee_not_itemized"}
    assert abs(gen_2["exact"] - real_2["exact"]) < 0.01, (real_2, gen_2)


# ------------------------------------------------------------------ categorical shares


def test_payment_types_and_the_flex_fare_null_block(real, generated, gen) -> None:
    """Payment types of the rows that are not flex fares: real 1 81.9 %, 2 14.0 %, 3 1.1 %,
    4 3.0 % (half of them disputes' negative rows); generated 82.6, 13.5, 1.0, 2.9 %.
    Tolerances 0.025 for 1 and 2 (SE 0.005), 0.006 for 3 and 4 (SE 0.0015-0.0024).

    Flex fares (payment 0): 14.6 % generated, for ~15 % of a 2025 month (NOTES.md: up to ~20 %;
    the random sample has none, see NULL_BLOCK_SAMPLES); each has exactly the real null block
    (the columns null in every payment 0 row of the 2024 and 2021 samples), and its total holds
    the fees the null columns do not show, as the real rows' totals do."""
    for payment, tolerance in ((1, 0.025), (2, 0.025), (3, 0.006), (4, 0.006)):
        r = share(real, lambda x, _v, p=payment: x["payment_type"] == p)
        g = share(gen, lambda x, _v, p=payment: x["payment_type"] == p)
        assert abs(g - r) < tolerance, (payment, r, g)
    flex = [(r, v) for r, v in generated if r["payment_type"] == 0]
    assert abs(len(flex) / len(generated) - FLEX_FARE_SHARE) < 0.015
    assert 0.10 <= FLEX_FARE_SHARE <= 0.20

    real_flex = [r for path in NULL_BLOCK_SAMPLES for r in _events(path) if r["payment_type"] == 0]
    assert len(real_flex) == 8 + 13
    null_block = {k for k in real_flex[0] if all(r[k] is None for r in real_flex)}
    null_block -= {"cbd_congestion_fee"}  # not in the files before 2025
    assert null_block == {"passenger_count", "RatecodeID", "store_and_fwd_flag",
                          "congestion_surcharge", "Airport_fee"}  # fmt: skip
    for r, _v in generated:
        nulls = {k for k, x in r.items() if x is None} - {"cbd_congestion_fee"}
        assert nulls == (null_block if r["payment_type"] == 0 else set()), r
    # the total holds the hidden fees (real: 2.50; the 2021 sample has one 4.50)
    hidden = Counter(
        round(r["total_amount"] - sum(r.get(k) or 0 for k in _PARTS), 2) for r, _ in flex
    )
    assert set(hidden) <= {0.0, 1.75, 2.5, 4.25} and hidden[2.5] > 0.7 * len(flex), hidden
    real_hidden = Counter(
        round(r["total_amount"] - sum(r.get(k) or 0 for k in _PARTS), 2) for r in real_flex
    )
    assert real_hidden[2.5] > 0.7 * len(real_flex), real_hidden
    assert Counter(v.flags["amount_check"] for _, v in flex).keys() <= {"exact", "fee_not_itemized"}


_PARTS = ("fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount",
          "improvement_surcharge", "congestion_surcharge", "Airport_fee", "cbd_congestion_fee")  # fmt: skip


def test_rate_code_99(real, gen) -> None:
    """RatecodeID 99: real 1.1 % (55 rows, all VendorID 1, card, no surcharges); generated
    1.17 %. Tolerance 0.005 (SE 0.0015 + 0.0008)."""
    r = share(real, lambda x, _: x["RatecodeID"] == 99)
    g = share(gen, lambda x, _: x["RatecodeID"] == 99)
    assert abs(g - r) < 0.005, (r, g)
    rows = [x for x, _ in gen if x["RatecodeID"] == 99]
    assert {(x["VendorID"], x["payment_type"]) for x in rows} == {(1, 1)}
    assert all(sum(x[k] for k in FEE_FIELDS if x[k]) == 0 for x in rows)


def test_voids_and_refunds_with_their_twins(real, stream, generated, gen) -> None:
    """Negative rows: real 2.26 % (113 of 5000, all VendorID 2: 74 disputes, 15 no charge,
    24 cash refunds); generated 2.04 % of the rows that are not flex fares. Tolerance 0.006
    (SE 0.0021 + 0.0011). Payment mix within 0.1 per type (n = 113: SE 0.045). Each follows its
    positive twin in the stream (the random sample holds too few rows to contain twins)."""
    r = share(real, lambda x, _: x["total_amount"] < 0)
    g = share(gen, lambda x, _: x["total_amount"] < 0)
    assert abs(g - r) < 0.006, (r, g)
    negatives = [(i, x, v) for i, (x, v) in enumerate(generated) if x["total_amount"] < 0]
    real_negatives = [x for x, _ in real if x["total_amount"] < 0]
    assert {x["VendorID"] for _, x, _ in negatives} == {x["VendorID"] for x in real_negatives}
    payments = Counter(x["payment_type"] for _, x, _ in negatives)
    real_payments = Counter(x["payment_type"] for x in real_negatives)
    for p in (2, 3, 4):
        assert abs(payments[p] / len(negatives) - real_payments[p] / len(real_negatives)) < 0.1
    for i, x, v in negatives:
        twin = generated[i - 1][0]
        same = ("VendorID", "tpep_pickup_datetime", "tpep_dropoff_datetime", "PULocationID",
                "DOLocationID", "trip_distance", "payment_type", "passenger_count", "RatecodeID")  # fmt: skip
        assert [twin[k] for k in same] == [x[k] for k in same], (twin, x)
        assert twin["total_amount"] > 0 and x["tip_amount"] == 0
        for k in ("fare_amount", "extra", "mta_tax", "tolls_amount", "improvement_surcharge",
                  "congestion_surcharge", "Airport_fee"):  # fmt: skip
            assert x[k] == -twin[k], (k, twin, x)
        assert v.flags["record_kind"] == ("refund" if x["payment_type"] == 2 else "void")
        assert v.flags["amount_check"] in ("exact", "fee_not_itemized")
        assert stream[i][2] >= stream[i - 1][2]  # event time never goes back
    # a CBD fee in the total but not in its column, as 40 of the sample's 113 (generated: ~half)
    hidden = share(
        [(x, v) for _, x, v in negatives], lambda _, v: v.flags["amount_check"] != "exact"
    )
    assert 0.2 < hidden < 0.65


def test_zero_distances_and_passengers(real, gen) -> None:
    """trip_distance 0: real 1.34 % (flag drops, negotiated fares, meters without GPS),
    generated 1.35 %; passenger_count 0 (VendorID 1 only): real 0.92 %, generated 0.95 %.
    Tolerance 0.006 / 0.005 (SE 0.0016 / 0.0014 plus the generated side's)."""
    r = share(real, lambda x, _: x["trip_distance"] == 0)
    g = share(gen, lambda x, _: x["trip_distance"] == 0)
    assert abs(g - r) < 0.006, (r, g)
    r = share(real, lambda x, _: x["passenger_count"] == 0)
    g = share(gen, lambda x, _: x["passenger_count"] == 0)
    assert abs(g - r) < 0.005, (r, g)
    assert {x["VendorID"] for x, _ in gen if x["passenger_count"] == 0} == {1}


# ------------------------------------------------------------------ distributions


def _positive(rows: list[Row], field: str) -> list[float]:
    return [r[field] for r, _ in rows if r["total_amount"] >= 0]


def test_distance_fare_and_total_distributions(real, gen) -> None:
    """KS statistic D of trip_distance (generated 0.027), fare_amount (0.019), total_amount
    (0.018) against the real sample's trips (voids and refunds left out). Bound 0.05: sampling
    alone stays below 0.032; the rest is the zone model (drop-offs independent of pick-ups but
    for the same-zone and out-of-area shares; the sample's quantiles are matched within one
    meter unit up to the 85th percentile, longer trips run ~1 mi long)."""
    for field in ("trip_distance", "fare_amount", "total_amount"):
        d = ks(_positive(real, field), _positive(gen, field))
        assert d < 0.05, (field, d)


def test_tip_distribution_of_card_trips(real, gen) -> None:
    """Card tips: D 0.028 (bound 0.05): the in-cab screen's 20/25/30 %, whole dollars, no tip."""

    def card_tips(rows: list[Row]) -> list[float]:
        return [
            r["tip_amount"] for r, _ in rows if r["payment_type"] == 1 and r["total_amount"] > 0
        ]

    assert ks(card_tips(real), card_tips(gen)) < 0.05


def test_hour_of_day(real, generated) -> None:
    """Pickups per hour of the day, the same twelve days: total variation distance
    0.5 * sum |p_h - q_h| generated 0.036. Bound 0.06: noise alone is ~0.02 (24 bins of a
    5000-row sample), and the sample's days include New Year's Day and a snowy weekend."""

    def hours(rows: list[Row]) -> list[float]:
        counts = Counter(int(r["tpep_pickup_datetime"][11:13]) for r, _ in rows)
        return [counts[h] / len(rows) for h in range(24)]

    tv = 0.5 * sum(abs(p - q) for p, q in zip(hours(real), hours(generated), strict=True))
    assert tv < 0.06, tv


# ------------------------------------------------------------------ voids and refunds in the stream


@pytest.mark.parametrize("events", [0, 1, 2, 3, 50, 5_000])
def test_the_clean_count_is_exactly_the_requested_events(events: int) -> None:
    messages = list(EventStream(events, seed=3, start_date="2025-06-02"))
    assert len(messages) == events
    # a pair never starts on the last position: every negative row has its twin before it
    for i, (_k, value, _t, _kind) in enumerate(messages):
        if json.loads(value)["total_amount"] < 0:
            assert i > 0 and json.loads(messages[i - 1][1])["total_amount"] > 0


def test_late_events_never_fall_on_a_void_or_its_twin() -> None:
    """A late position that falls on a pair moves to the next free position: the late count
    stays exact, a twin and its negative row keep their times."""
    rates = AnomalyRates(late=0.3)
    stream = EventStream(5_000, seed=12, start_date="2025-06-02", anomalies=rates)
    messages = list(stream)
    assert stream.counts.late == 1_500 == sum(1 for *_, kind in messages if kind == "late")
    records = [json.loads(v) for _k, v, _t, _kind in messages]
    for i, r in enumerate(records):
        if r["total_amount"] < 0:
            assert messages[i][3] == messages[i - 1][3] == "clean"
            assert r["tpep_pickup_datetime"] == records[i - 1]["tpep_pickup_datetime"]
    # no room left (every clean position late): the pairs give way
    all_late = list(
        EventStream(200, seed=12, start_date="2025-06-02", anomalies=AnomalyRates(late=1.0))
    )
    assert all(kind == "late" for *_, kind in all_late)
    assert all(json.loads(v)["total_amount"] > 0 for _k, v, _t, _kind in all_late)
