"""Pure, deterministic NYC yellow-taxi trip model (no Kafka, no I/O).

Everything here is driven by one seeded ``random.Random``; the same seed, start date, day count and
event count always give byte-identical JSON. Amounts are computed in integer cents so that
``total_amount`` is exactly the sum of its parts.

Times are local NYC wall-clock times without a zone, kept internally as integer seconds since
midnight of the run's start date (``Clock`` turns them into ``YYYY-MM-DD HH:MM:SS`` text).

The hot path (``TripFactory.make`` + ``trip_to_json``) avoids Faker, ``datetime`` and
``json.dumps``: it uses ``random.random()``, ``bisect`` on pre-computed cumulative weights, lookup
tables and one f-string whose output is byte-identical to
``json.dumps(record, separators=(",", ":"))`` (checked by a unit test).
"""

from __future__ import annotations

import json
import math
import struct
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from random import Random
from statistics import NormalDist
from typing import Any, NamedTuple

# --------------------------------------------------------------------------------------------
# Fare rules: the one place the tariff lives (NYC TLC yellow-taxi standard rate, in cents).
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FareRules:
    """NYC yellow-taxi tariff (TLC standard metered rate since 2022-12-19), amounts in cents.

    Metered fare (RatecodeID 1, 3, and the base of 5):
        ``initial + unit * floor(distance / 0.2 mi) + unit * floor(slow_seconds / 60)``
    where ``slow_seconds`` is the part of the trip not explained by driving at the 12 mph
    threshold, ``max(0, duration_s - distance_mi * 300)``: the meter charges time instead of
    distance below 12 mph. (Approximation: a real meter never charges both for the same second.)

    Extras (``extra``): weekday rush hour 16:00-20:00 +2.50, overnight 20:00-06:00 +1.00;
    JFK flat fare (RatecodeID 2): 70.00 and only a weekday 16:00-20:00 surcharge of 5.00;
    Newark (RatecodeID 3): metered fare + 20.00 Newark surcharge (booked in ``extra``).
    Every trip: MTA tax 0.50, improvement surcharge 1.00; congestion surcharge 2.50 when the trip
    starts or ends in Manhattan south of 96th St; Airport_fee 1.75 on LaGuardia/JFK pick-ups.
    """

    initial: int = 300  # $3.00 flag drop
    unit: int = 70  # $0.70 per unit
    distance_unit_hundredths_mi: int = 20  # one unit per 1/5 mile
    slow_unit_s: int = 60  # one unit per 60 s of slow traffic / stopped
    slow_threshold_mph: int = 12  # below this speed the meter charges time
    jfk_flat: int = 7000  # RatecodeID 2, JFK <-> Manhattan
    jfk_rush_surcharge: int = 500  # JFK flat fare, weekdays 16:00-20:00
    newark_surcharge: int = 2000  # RatecodeID 3
    rush_surcharge: int = 250  # weekdays 16:00-20:00 (metered trips)
    overnight_surcharge: int = 100  # 20:00-06:00 (metered trips)
    mta_tax: int = 50
    improvement_surcharge: int = 100
    congestion_surcharge: int = 250
    airport_fee: int = 175  # LGA / JFK pick-ups only
    toll_mta_crossing: int = 694  # MTA bridge/tunnel, E-ZPass (approximate)
    toll_panynj_crossing: int = 1706  # Hudson crossing to New Jersey, E-ZPass peak (approximate)
    rush_hours: tuple[int, int] = (16, 20)  # [start, end) local hour, weekdays only
    overnight_hours: tuple[int, int] = (20, 6)  # [start, 24) + [0, end)


FARE = FareRules()

# --------------------------------------------------------------------------------------------
# Zones
# --------------------------------------------------------------------------------------------

MAX_LOCATION_ID = 263
EWR, JFK, LGA = 1, 132, 138
AIRPORTS = frozenset({EWR, JFK, LGA})

#: TLC zones in the borough of Manhattan (taxi_zone_lookup.csv).
MANHATTAN = frozenset(
    {
        4, 12, 13, 24, 41, 42, 43, 45, 48, 50, 68, 74, 75, 79, 87, 88, 90, 100, 103, 104, 105,
        107, 113, 114, 116, 120, 125, 127, 128, 137, 140, 141, 142, 143, 144, 148, 151, 152,
        153, 158, 161, 162, 163, 164, 166, 170, 186, 194, 202, 209, 211, 224, 229, 230, 231,
        232, 233, 234, 236, 237, 238, 239, 243, 244, 246, 249, 261, 262, 263,
    }
)  # fmt: skip
#: Manhattan zones (mostly) north of 96th St, outside the congestion-surcharge area.
_UPPER_MANHATTAN = frozenset(
    {24, 41, 42, 74, 116, 120, 127, 128, 151, 152, 153, 166, 194, 243, 244}
)
#: Zones where the 2.50 congestion surcharge applies (trip starts or ends there).
CONGESTION_ZONE = MANHATTAN - _UPPER_MANHATTAN

#: Approximate share of yellow-taxi pick-ups (per mille) for the busy zones.
_PICKUP_PER_MILLE: dict[int, float] = {
    237: 48, 161: 47, 236: 43, 132: 40, 162: 36, 230: 35, 186: 34, 142: 33, 138: 28, 170: 30,
    163: 30, 239: 29, 234: 28, 68: 26, 141: 26, 48: 24, 79: 24, 249: 22, 107: 22, 140: 21,
    238: 19, 164: 19, 229: 18, 100: 18, 263: 18, 43: 17, 262: 14, 113: 14, 90: 14, 233: 14,
    143: 13, 246: 13, 114: 11, 137: 12, 231: 11, 151: 9, 125: 7, 144: 9, 158: 8, 166: 8,
    211: 8, 13: 7, 87: 6, 261: 6, 148: 8, 45: 3, 88: 3, 209: 3, 224: 3, 232: 3, 4: 4, 24: 4,
    41: 5, 42: 3, 74: 5, 75: 6, 152: 2, 116: 2, 244: 2, 7: 3, 66: 1.5, 65: 1.5, 181: 1.2,
    97: 1.2, 255: 1.5, 256: 1.2, 112: 1.0, 129: 1.0, 145: 1.5, 146: 1.2, 226: 1.0, 260: 1.0,
    223: 1.0, 25: 1.0, 33: 1.0, 40: 0.8, 49: 0.8, 70: 1.5, 93: 0.5, 1: 0.05,
}  # fmt: skip
#: Extra share of drop-offs (per mille): drop-offs are more spread out than pick-ups.
_DROPOFF_PER_MILLE: dict[int, float] = {**_PICKUP_PER_MILLE, JFK: 14, LGA: 22, EWR: 3}
_DEFAULT_PICKUP_PER_MILLE = 0.3  # every other zone
_DEFAULT_DROPOFF_PER_MILLE = 1.0
_TINY_ZONES = frozenset({103, 104, 105, 2, 199})  # islands, Jamaica Bay, Rikers


def _zone_weights(table: dict[int, float], default: float) -> list[float]:
    return [
        0.01 if z in _TINY_ZONES else table.get(z, default) for z in range(1, MAX_LOCATION_ID + 1)
    ]


PICKUP_WEIGHTS = _zone_weights(_PICKUP_PER_MILLE, _DEFAULT_PICKUP_PER_MILLE)
DROPOFF_WEIGHTS = _zone_weights(_DROPOFF_PER_MILLE, _DEFAULT_DROPOFF_PER_MILLE)

# --------------------------------------------------------------------------------------------
# Time of day: demand (share of the day's trips per hour) and average street speed (mph)
# --------------------------------------------------------------------------------------------

#: Weekday demand per local hour 0..23 (percent of the day's trips; morning and evening peaks,
#: minimum at 04:00-05:00).
WEEKDAY_DEMAND = (
    1.9, 1.1, 0.7, 0.5, 0.4, 0.6, 1.5, 2.9, 4.0, 4.3, 4.4, 4.7,
    5.0, 5.2, 5.7, 5.9, 5.9, 6.6, 7.1, 6.4, 5.6, 5.5, 5.0, 3.6,
)  # fmt: skip
#: Weekend demand: late nights busier, no morning rush.
WEEKEND_DEMAND = (
    4.2, 3.3, 2.4, 1.6, 1.0, 0.8, 1.0, 1.5, 2.3, 3.2, 4.2, 5.0,
    5.4, 5.6, 5.7, 5.7, 5.7, 5.8, 5.9, 5.5, 5.0, 5.0, 5.1, 4.9,
)  # fmt: skip
#: Relative daily volume Monday..Sunday.
DAY_OF_WEEK_VOLUME = (0.92, 1.0, 1.05, 1.08, 1.08, 1.0, 0.85)
#: Average street speed (mph) per local hour on weekdays; weekends are ~12% faster.
WEEKDAY_SPEED_MPH = (
    17.0, 18.0, 19.0, 20.0, 21.0, 20.0, 16.0, 12.0, 10.0, 9.5, 9.5, 9.5,
    9.5, 9.5, 9.0, 8.5, 8.5, 8.8, 9.5, 11.0, 12.0, 13.0, 14.0, 15.5,
)  # fmt: skip
WEEKEND_SPEED_FACTOR = 1.12
#: Average speed cap (highway trips at night).
MAX_SPEED_MPH = 45.0

# --------------------------------------------------------------------------------------------
# Categorical mixes (value, weight)
# --------------------------------------------------------------------------------------------

VENDORS = ((2, 0.72), (1, 0.265), (7, 0.01), (6, 0.005))
PASSENGERS = ((1, 0.74), (2, 0.145), (3, 0.04), (4, 0.02), (5, 0.025), (6, 0.015), (0, 0.015))
#: payment_type 0 ("flex fare") rows come with null passenger_count, RatecodeID,
#: store_and_fwd_flag, congestion_surcharge and Airport_fee, as in the TLC files.
PAYMENTS = ((1, 0.76), (2, 0.18), (0, 0.035), (4, 0.015), (3, 0.01))
CARD_NO_TIP_SHARE = 0.08
TIP_PCT_MIN, TIP_PCT_MAX = 0.15, 0.25
STORE_AND_FORWARD_SHARE = 0.005
NEGOTIATED_SHARE = 0.002  # RatecodeID 5
JFK_FLAT_SHARE = 0.95  # of JFK <-> Manhattan trips

FIELDS = (
    "VendorID",
    "tpep_pickup_datetime",
    "tpep_dropoff_datetime",
    "passenger_count",
    "trip_distance",
    "RatecodeID",
    "store_and_fwd_flag",
    "PULocationID",
    "DOLocationID",
    "payment_type",
    "fare_amount",
    "extra",
    "mta_tax",
    "tip_amount",
    "tolls_amount",
    "improvement_surcharge",
    "total_amount",
    "congestion_surcharge",
    "Airport_fee",
)
REQUIRED_FIELDS = (
    "VendorID",
    "tpep_pickup_datetime",
    "tpep_dropoff_datetime",
    "trip_distance",
    "PULocationID",
    "DOLocationID",
    "payment_type",
    "fare_amount",
    "total_amount",
)
#: Amount fields summed into total_amount (cbd_congestion_fee is not modelled).
AMOUNT_PARTS = (
    "fare_amount",
    "extra",
    "mta_tax",
    "tip_amount",
    "tolls_amount",
    "improvement_surcharge",
    "congestion_surcharge",
    "Airport_fee",
)
AMOUNT_FIELDS = (*AMOUNT_PARTS, "total_amount")

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def _cumulative(pairs: Sequence[tuple[Any, float]]) -> tuple[list[Any], list[float], float]:
    values = [v for v, _ in pairs]
    cum = list(accumulate(w for _, w in pairs))
    return values, cum, cum[-1]


# --------------------------------------------------------------------------------------------
# Dates and the clock
# --------------------------------------------------------------------------------------------


def default_start_date(today: date | None = None) -> date:
    """Seven days before today (UTC)."""
    return (today or datetime.now(UTC).date()) - timedelta(days=7)


def resolve_start_date(value: date | str | None) -> date:
    """A date, an ISO date string, or empty/None for ``default_start_date()``."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if value:
        return date.fromisoformat(value.strip())
    return default_start_date()


class Clock:
    """Formats seconds since midnight of ``start_date`` as ``YYYY-MM-DD HH:MM:SS`` (fast)."""

    _HMS: list[str] | None = None

    def __init__(self, start_date: date) -> None:
        self.start_date = start_date
        self.start_weekday = start_date.weekday()
        self._days: dict[int, str] = {}
        if Clock._HMS is None:
            Clock._HMS = [
                f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)
            ]
        self._hms = Clock._HMS

    def day_prefix(self, day: int) -> str:
        p = self._days.get(day)
        if p is None:
            p = self._days[day] = (self.start_date + timedelta(days=day)).isoformat() + " "
        return p

    def fmt(self, s: int) -> str:
        day, sod = divmod(s, 86400)
        p = self._days.get(day)
        if p is None:
            p = self.day_prefix(day)
        return p + self._hms[sod]

    def to_datetime(self, s: int) -> datetime:
        return datetime.combine(self.start_date, datetime.min.time()) + timedelta(seconds=s)

    def to_seconds(self, ts: str) -> int:
        dt = datetime.strptime(ts, TIMESTAMP_FORMAT)
        start = datetime.combine(self.start_date, datetime.min.time())
        return int((dt - start).total_seconds())


# --------------------------------------------------------------------------------------------
# Demand curve: how many trips fall into each (day, hour)
# --------------------------------------------------------------------------------------------


def is_weekend(weekday: int) -> bool:
    return weekday >= 5


def demand_weights(start_date: date, days: int) -> list[float]:
    """Relative weight of each hour bucket (``days * 24`` entries)."""
    out: list[float] = []
    for d in range(days):
        wd = (start_date + timedelta(days=d)).weekday()
        curve = WEEKEND_DEMAND if is_weekend(wd) else WEEKDAY_DEMAND
        total = sum(curve)
        out.extend(DAY_OF_WEEK_VOLUME[wd] * c / total for c in curve)
    return out


def bucket_counts(n: int, start_date: date, days: int) -> list[int]:
    """Split ``n`` trips over the ``days * 24`` hour buckets (largest remainder, exact sum)."""
    if days < 1:
        raise ValueError("days must be >= 1")
    if n < 0:
        raise ValueError("n must be >= 0")
    weights = demand_weights(start_date, days)
    total = sum(weights)
    shares = [n * w / total for w in weights]
    counts = [math.floor(s) for s in shares]
    rest = n - sum(counts)
    order = sorted(range(len(shares)), key=lambda i: (counts[i] - shares[i], i))
    for i in order[:rest]:
        counts[i] += 1
    return counts


def pickup_schedule(rng: Random, n: int, start_date: date, days: int) -> Iterator[int]:
    """Pick-up times (seconds since start_date midnight) in ascending order, following demand."""
    rnd = rng.random
    for b, k in enumerate(bucket_counts(n, start_date, days)):
        if k:
            base = b * 3600
            for off in sorted([int(rnd() * 3600) for _ in range(k)]):
                yield base + off


# --------------------------------------------------------------------------------------------
# Trips
# --------------------------------------------------------------------------------------------


class Trip(NamedTuple):
    """One trip; times in seconds since the clock's start date, amounts in integer cents."""

    vendor_id: int
    pickup_s: int
    dropoff_s: int
    passenger_count: int | None
    distance_h: int  # hundredths of a mile
    ratecode_id: int | None
    store_and_fwd_flag: str | None
    pu_location_id: int
    do_location_id: int
    payment_type: int
    fare: int
    extra: int
    mta_tax: int
    tip: int
    tolls: int
    improvement_surcharge: int
    total: int
    congestion_surcharge: int | None
    airport_fee: int | None

    @property
    def trip_distance(self) -> float:
        return self.distance_h / 100


_new_trip = tuple.__new__


def _quantile_table(f, size: int = 4096) -> list[float]:
    """``f`` applied to ``size`` evenly spaced standard-normal quantiles (cheap sampling)."""
    nd = NormalDist()
    return [f(nd.inv_cdf((i + 0.5) / size)) for i in range(size)]


_TABLE_SIZE = 4096
#: Trip length within Manhattan: 0.3 mi + log-normal (median ~1.65 mi), at most 12 mi.
_MANHATTAN_MILES = _quantile_table(lambda z: min(12.0, 0.3 + math.exp(0.3 + 0.6 * z)))
#: Trip length touching the outer boroughs: 0.6 mi + log-normal (median ~4.7 mi), at most 30 mi.
_OUTER_MILES = _quantile_table(lambda z: min(30.0, 0.6 + math.exp(1.4 + 0.6 * z)))
#: Speed noise: log-normal factor, sigma 0.25 (~ +-25 %).
_SPEED_NOISE = _quantile_table(lambda z: math.exp(0.25 * z))

_OUTER, _MANHATTAN, _AIRPORT = 0, 1, 2


class TripFactory:
    """Makes internally consistent trips from one seeded ``random.Random``."""

    def __init__(self, rng: Random, clock: Clock, rules: FareRules = FARE) -> None:
        self.rng = rng
        self.clock = clock
        self.rules = rules
        self._pu_cum = list(accumulate(PICKUP_WEIGHTS))
        self._do_cum = list(accumulate(DROPOFF_WEIGHTS))
        self._vendors = _cumulative(VENDORS)
        self._passengers = _cumulative(PASSENGERS)
        self._payments = _cumulative(PAYMENTS)
        self._kind = [
            _AIRPORT if z in AIRPORTS else _MANHATTAN if z in MANHATTAN else _OUTER
            for z in range(MAX_LOCATION_ID + 1)
        ]
        self._congestion = [z in CONGESTION_ZONE for z in range(MAX_LOCATION_ID + 1)]
        r = rules
        rush = range(*r.rush_hours)
        overnight = set(range(r.overnight_hours[0], 24)) | set(range(r.overnight_hours[1]))
        # per (weekend, hour): speed, extra surcharge of metered trips and of the JFK flat fare
        self._speed = [
            [WEEKDAY_SPEED_MPH[h] * (WEEKEND_SPEED_FACTOR if we else 1.0) for h in range(24)]
            for we in (0, 1)
        ]
        self._extra_metered = [
            [
                (r.rush_surcharge if (not we and h in rush) else 0)
                + (r.overnight_surcharge if h in overnight else 0)
                for h in range(24)
            ]
            for we in (0, 1)
        ]
        self._extra_jfk = [
            [r.jfk_rush_surcharge if (not we and h in rush) else 0 for h in range(24)]
            for we in (0, 1)
        ]

    def _airport_distance_h(self, pu: int, do: int) -> int:
        """Hundredths of a mile for a trip from or to an airport."""
        a, o = (pu, do) if pu in AIRPORTS else (do, pu)
        if a == o:
            lo, hi = 0.3, 3.0  # terminal to terminal
        elif o in AIRPORTS:
            lo, hi = (10.0, 13.0) if EWR not in (a, o) else (25.0, 33.0)
        elif a == JFK:
            lo, hi = (15.0, 21.0) if o in MANHATTAN else (4.0, 20.0)
        elif a == LGA:
            lo, hi = (7.0, 12.0) if o in MANHATTAN else (2.5, 14.0)
        else:  # EWR
            lo, hi = (15.0, 22.0) if o in MANHATTAN else (18.0, 35.0)
        return int((lo + (hi - lo) * self.rng.random()) * 100 + 0.5)

    def make(self, pickup_s: int) -> Trip:
        """One clean trip picked up at ``pickup_s`` (seconds since the clock's start date).

        The number of random draws does not depend on ``pickup_s``: moving one trip in time
        leaves every other trip of the stream unchanged.
        """
        rnd = self.rng.random
        r = self.rules
        day, sod = divmod(pickup_s, 86400)
        hour = sod // 3600
        we = 1 if (self.clock.start_weekday + day) % 7 >= 5 else 0

        values, cum, tot = self._vendors
        vendor = values[bisect(cum, rnd() * tot)]
        pu_cum = self._pu_cum
        pu = bisect(pu_cum, rnd() * pu_cum[-1]) + 1
        do_cum = self._do_cum
        do = bisect(do_cum, rnd() * do_cum[-1]) + 1
        kind = self._kind
        kpu = kind[pu]
        kdo = kind[do]
        if kpu == _AIRPORT or kdo == _AIRPORT:
            dist_h = self._airport_distance_h(pu, do)
        elif pu == do:
            dist_h = int(20.5 + 130 * rnd())
        elif kpu == _MANHATTAN and kdo == _MANHATTAN:
            dist_h = int(_MANHATTAN_MILES[int(rnd() * _TABLE_SIZE)] * 100 + 0.5)
        else:
            dist_h = int(_OUTER_MILES[int(rnd() * _TABLE_SIZE)] * 100 + 0.5)

        # duration: time-of-day speed, faster on long (highway) trips, noise, +0.5-2 min stops
        speed = self._speed[we][hour] * (1.0 + 0.0008 * (dist_h if dist_h < 1500 else 1500))
        speed *= _SPEED_NOISE[int(rnd() * _TABLE_SIZE)]
        if speed > MAX_SPEED_MPH:
            speed = MAX_SPEED_MPH
        duration = int(dist_h * 36 / speed + 30 + 90 * rnd())
        if duration < 60:
            duration = 60

        values, cum, tot = self._payments
        payment = values[bisect(cum, rnd() * tot)]
        values, cum, tot = self._passengers
        passengers = values[bisect(cum, rnd() * tot)]
        u_rate = rnd()
        u_toll = rnd()
        u_tip = rnd()
        u_fwd = rnd()

        # rate code and fare
        if (pu == JFK and kdo == _MANHATTAN) or (do == JFK and kpu == _MANHATTAN):
            ratecode = 2 if u_rate < JFK_FLAT_SHARE else 1
        elif pu == EWR or do == EWR:
            ratecode = 3
        else:
            ratecode = 5 if u_rate < NEGOTIATED_SHARE else 1
        if ratecode == 2:
            fare = r.jfk_flat
            extra = self._extra_jfk[we][hour]
        else:
            # time beyond what the distance takes at the 12 mph threshold is charged as time
            slow_s = duration - dist_h * 36 // r.slow_threshold_mph
            fare = r.initial + r.unit * (dist_h // r.distance_unit_hundredths_mi)
            if slow_s > 0:
                fare += r.unit * (slow_s // r.slow_unit_s)
            extra = self._extra_metered[we][hour]
            if ratecode == 3:
                extra += r.newark_surcharge
            elif ratecode == 5:
                fare = (fare + 50) // 100 * 100  # negotiated: whole dollars

        congestion_zone = self._congestion
        congestion = r.congestion_surcharge if congestion_zone[pu] or congestion_zone[do] else 0
        airport_fee = r.airport_fee if pu in (JFK, LGA) else 0

        # tolls: Hudson crossing to/from Newark, MTA crossings on some airport/outer-borough trips
        tolls = 0
        if ratecode == 3:
            tolls = r.toll_panynj_crossing
        elif kpu == _AIRPORT or kdo == _AIRPORT:
            if u_toll < 0.4 and pu != do:
                tolls = r.toll_mta_crossing
        elif dist_h > 500 and (kpu == _OUTER or kdo == _OUTER) and u_toll < 0.12:
            tolls = r.toll_mta_crossing

        base = fare + extra + r.mta_tax + r.improvement_surcharge + congestion + airport_fee
        tip = 0
        if payment == 1 and u_tip >= CARD_NO_TIP_SHARE:
            # percentage uniform in [TIP_PCT_MIN, TIP_PCT_MAX] (u_tip re-scaled), of the fare
            # and surcharges (tolls excluded), like the in-cab tip screen
            u = (u_tip - CARD_NO_TIP_SHARE) / (1.0 - CARD_NO_TIP_SHARE)
            tip = int(base * (TIP_PCT_MIN + (TIP_PCT_MAX - TIP_PCT_MIN) * u) + 0.5)
        total = base + tolls + tip

        if payment == 0:  # flex-fare rows: these columns are null in the TLC files
            return _new_trip(
                Trip,
                (vendor, pickup_s, pickup_s + duration, None, dist_h, None, None, pu, do, 0,
                 fare, extra, r.mta_tax, tip, tolls, r.improvement_surcharge,
                 total - congestion - airport_fee, None, None),
            )  # fmt: skip
        fwd = "Y" if u_fwd < STORE_AND_FORWARD_SHARE else "N"
        return _new_trip(
            Trip,
            (vendor, pickup_s, pickup_s + duration, passengers, dist_h, ratecode, fwd, pu, do,
             payment, fare, extra, r.mta_tax, tip, tolls, r.improvement_surcharge, total,
             congestion, airport_fee),
        )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Serialisation
# --------------------------------------------------------------------------------------------


def _cents(c: int | None) -> float | None:
    return None if c is None else c / 100


def trip_to_record(t: Trip, clock: Clock) -> dict[str, Any]:
    """The trip as the JSON object of the event contract (field order of the TLC files)."""
    return {
        "VendorID": t.vendor_id,
        "tpep_pickup_datetime": clock.fmt(t.pickup_s),
        "tpep_dropoff_datetime": clock.fmt(t.dropoff_s),
        "passenger_count": t.passenger_count,
        "trip_distance": t.distance_h / 100,
        "RatecodeID": t.ratecode_id,
        "store_and_fwd_flag": t.store_and_fwd_flag,
        "PULocationID": t.pu_location_id,
        "DOLocationID": t.do_location_id,
        "payment_type": t.payment_type,
        "fare_amount": t.fare / 100,
        "extra": t.extra / 100,
        "mta_tax": t.mta_tax / 100,
        "tip_amount": t.tip / 100,
        "tolls_amount": t.tolls / 100,
        "improvement_surcharge": t.improvement_surcharge / 100,
        "total_amount": t.total / 100,
        "congestion_surcharge": _cents(t.congestion_surcharge),
        "Airport_fee": _cents(t.airport_fee),
    }


_CENTS_TABLE_SIZE = 100_000  # $0.00 .. $999.99
_CENTS: list[str] = []


def _cents_table() -> list[str]:
    """``repr(c / 100)`` for every cent amount below $1000: what json.dumps writes."""
    if not _CENTS:
        _CENTS.extend(repr(c / 100) for c in range(_CENTS_TABLE_SIZE))
    return _CENTS


def trip_to_json(t: Trip, clock: Clock) -> str:
    """Same text as ``json.dumps(trip_to_record(t, clock), separators=(",", ":"))``, faster."""
    v, ps, ds, pc, dh, rc, fwd, pu, do, pt, fare, extra, mta, tip, tolls, imp, total, cong, apf = t
    if (
        total >= _CENTS_TABLE_SIZE
        or dh >= _CENTS_TABLE_SIZE
        or min(fare, extra, mta, tip, tolls, imp, dh, cong or 0, apf or 0) < 0
    ):  # outside the lookup table (never for clean trips): the general path
        return json.dumps(trip_to_record(t, clock), separators=(",", ":"))
    c = _CENTS or _cents_table()
    fmt = clock.fmt
    if pc is None:  # flex-fare row with nulls
        return (
            f'{{"VendorID":{v},"tpep_pickup_datetime":"{fmt(ps)}",'
            f'"tpep_dropoff_datetime":"{fmt(ds)}","passenger_count":null,'
            f'"trip_distance":{c[dh]},"RatecodeID":null,"store_and_fwd_flag":null,'
            f'"PULocationID":{pu},"DOLocationID":{do},"payment_type":{pt},'
            f'"fare_amount":{c[fare]},"extra":{c[extra]},"mta_tax":{c[mta]},'
            f'"tip_amount":{c[tip]},"tolls_amount":{c[tolls]},'
            f'"improvement_surcharge":{c[imp]},"total_amount":{c[total]},'
            f'"congestion_surcharge":null,"Airport_fee":null}}'
        )
    return (
        f'{{"VendorID":{v},"tpep_pickup_datetime":"{fmt(ps)}",'
        f'"tpep_dropoff_datetime":"{fmt(ds)}","passenger_count":{pc},'
        f'"trip_distance":{c[dh]},"RatecodeID":{rc},"store_and_fwd_flag":"{fwd}",'
        f'"PULocationID":{pu},"DOLocationID":{do},"payment_type":{pt},'
        f'"fare_amount":{c[fare]},"extra":{c[extra]},"mta_tax":{c[mta]},'
        f'"tip_amount":{c[tip]},"tolls_amount":{c[tolls]},'
        f'"improvement_surcharge":{c[imp]},"total_amount":{c[total]},'
        f'"congestion_surcharge":{c[cong]},"Airport_fee":{c[apf]}}}'
    )


#: The event schema (registry/schemas/raw_trip.avsc, v1) as (field, Avro type) pairs:
#: ``trip_to_avro`` writes exactly this layout. A registered schema with any other layout is
#: encoded from the record by fastavro instead (lakehouse.schema_registry.wire_format).
AVRO_V1_LAYOUT = (
    ("VendorID", "int"),
    ("tpep_pickup_datetime", "string"),
    ("tpep_dropoff_datetime", "string"),
    ("passenger_count", "null|int"),
    ("trip_distance", "double"),
    ("RatecodeID", "null|int"),
    ("store_and_fwd_flag", "null|string"),
    ("PULocationID", "int"),
    ("DOLocationID", "int"),
    ("payment_type", "int"),
    ("fare_amount", "double"),
    ("extra", "double"),
    ("mta_tax", "double"),
    ("tip_amount", "double"),
    ("tolls_amount", "double"),
    ("improvement_surcharge", "double"),
    ("total_amount", "double"),
    ("congestion_surcharge", "null|double"),
    ("Airport_fee", "null|double"),
)


def _varint(n: int) -> bytes:
    """Avro int/long: zig-zag, then base-128 varint."""
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


_SMALL = [_varint(i) for i in range(1024)]
_DOUBLE = struct.Struct("<d").pack
_SEVEN_DOUBLES = struct.Struct("<7d").pack
_NULL = b"\x00"
_SOME = b"\x02"  # union branch 1 (the non-null type)
_TS_LEN = _varint(19)  # "YYYY-MM-DD HH:MM:SS"


def _int(n: int) -> bytes:
    return _SMALL[n] if 0 <= n < 1024 else _varint(n)


def _opt_int(n: int | None) -> bytes:
    return _NULL if n is None else _SOME + _int(n)


def _opt_cents(c: int | None) -> bytes:
    return _NULL if c is None else _SOME + _DOUBLE(c / 100)


def trip_to_avro(t: Trip, clock: Clock) -> bytes:
    """The Avro binary body of ``trip_to_record(t, clock)`` in ``AVRO_V1_LAYOUT``: the bytes
    fastavro's schemaless writer produces (tested byte for byte), written directly from the
    trip in about a fifth of its time (the generator's Avro path)."""
    v, ps, ds, pc, dh, rc, fwd, pu, do, pt, fare, extra, mta, tip, tolls, imp, total, cong, apf = t
    fmt = clock.fmt
    flag = _NULL if fwd is None else _SOME + _int(len(fwd.encode())) + fwd.encode()
    return b"".join(
        (
            _int(v),
            _TS_LEN, fmt(ps).encode(),
            _TS_LEN, fmt(ds).encode(),
            _opt_int(pc),
            _DOUBLE(dh / 100),
            _opt_int(rc),
            flag,
            _int(pu), _int(do), _int(pt),
            _SEVEN_DOUBLES(fare / 100, extra / 100, mta / 100, tip / 100, tolls / 100,
                           imp / 100, total / 100),
            _opt_cents(cong),
            _opt_cents(apf),
        )
    )  # fmt: skip


def generate_trips(
    n: int, *, seed: int, start_date: date | None = None, days: int = 1
) -> Iterator[Trip]:
    """``n`` clean trips in pick-up order (convenience for tests and analysis)."""
    clock = Clock(resolve_start_date(start_date))
    rng = Random(seed)
    factory = TripFactory(rng, clock)
    for s in pickup_schedule(rng, n, clock.start_date, days):
        yield factory.make(s)
