"""The message stream of one run: clean trips in event-time order with anomalies mixed in.

``EventStream`` yields ``(key, value, event_s, kind)`` tuples, ready for ``Producer.produce``:
``key`` is the PULocationID as text, ``value`` the JSON text, ``event_s`` the stream's event time
(seconds since midnight of the start date; for a late event the time of the stream position, not
its old pick-up time) and ``kind`` one of ``anomalies.COUNT_KEYS`` (late events: ``"late"``).

The clean messages include voids and refunds as in the TLC files: a VendorID 2 trip paid with
cash, no charge or dispute (its positive twin) followed at the next clean position by its
negative row (``model.negative_twin``); a pair takes two of the ``events`` clean positions, and
about ``model.NEGATIVE_SHARE`` of the clean messages are negative rows.

Four independent random streams keep runs comparable: the clean trips come from
``Random(seed)``, the positions and payment types of the voids and refunds from
``Random(f"{seed}:corrections")``, the anomaly plan and the anomalous records from
``Random(f"{seed}:anomalies")`` and Faker seeded with ``seed``. Adding anomalies therefore
changes no clean event except the ones chosen to be late (their pick-up time moves back 1-72 h;
a late position that falls on a void/refund pair moves to the next free position).
"""

from __future__ import annotations

import math
from bisect import bisect
from collections.abc import Callable, Iterator
from datetime import date
from itertools import accumulate
from random import Random

from faker import Faker

from .anomalies import (
    CLEAN,
    DUPLICATE,
    EXTRA_KINDS,
    LATE,
    LATE_MAX_S,
    LATE_MIN_S,
    AnomalyMaker,
    AnomalyRates,
    EventCounts,
)
from .model import (
    CORRECTION_CBD_SHOWN,
    CORRECTION_PAYMENTS,
    NEGATIVE_SHARE,
    Clock,
    Trip,
    TripFactory,
    negative_twin,
    pickup_schedule,
    resolve_start_date,
    trip_to_json,
)
from .model import trip_to_record as _record

Message = tuple[str, str | bytes, int, str]

#: A duplicate is resent up to this many clean positions after its original.
DUPLICATE_MAX_DELAY = 500
#: At most this many late events are listed in ``EventStream.late_event_keys``.
LATE_KEYS_MAX = 10_000
#: Keys: PULocationID as decimal text.
_KEYS = [str(i) for i in range(512)]
#: The twins of voids and refunds are VendorID 2 (all 113 negative rows of the 2025 sample).
CORRECTION_VENDOR = 2


def plan_corrections(seed: int, events: int) -> dict[int, tuple[int, bool]]:
    """Void/refund pairs of a stream: twin position -> (payment type, CBD fee shown in the
    negative row's column). The negative row is at the next position; pairs never overlap, and
    about ``NEGATIVE_SHARE`` of the positions are negative rows (gaps between pairs are
    geometric: a pair starts at each free position with probability q = f / (1 - f), and a pair
    takes two positions, so the share is q / (1 + q) = f)."""
    out: dict[int, tuple[int, bool]] = {}
    if events < 2 or NEGATIVE_SHARE <= 0:
        return out
    rng = Random(f"{seed}:corrections")
    rnd = rng.random
    log_miss = math.log1p(-NEGATIVE_SHARE / (1.0 - NEGATIVE_SHARE))
    payments = [p for p, _ in CORRECTION_PAYMENTS]
    cum = list(accumulate(w for _, w in CORRECTION_PAYMENTS))
    pos = 0
    while True:
        pos += int(math.log(1.0 - rnd()) / log_miss)
        if pos >= events - 1:
            return out
        out[pos] = (payments[bisect(cum, rnd() * cum[-1])], rnd() < CORRECTION_CBD_SHOWN)
        pos += 2


def _late_off_pairs(late: set[int], pairs: dict[int, tuple[int, bool]], n: int) -> set[int]:
    """``late`` with every position of a void/refund pair moved to the next free position
    (cyclic), so that a twin and its negative row are never late; when there is no room (late
    shares near 1), the pairs a late position falls on are dropped instead."""
    clash = sorted(p for p in late if p in pairs or p - 1 in pairs)
    if not clash:
        return late
    if len(late) + 2 * len(pairs) > n:
        for p in clash:
            pairs.pop(p, None)
            pairs.pop(p - 1, None)
        return late
    late = late - set(clash)
    for p in clash:
        q = p
        while True:
            q = q + 1 if q + 1 < n else 0
            if q not in late and q not in pairs and q - 1 not in pairs:
                late.add(q)
                break
    return late


class EventStream:
    """All messages of one run, deterministic for (seed, start date, days, events, rates)."""

    def __init__(
        self,
        events: int,
        *,
        seed: int,
        start_date: date | str | None = None,
        days: int = 1,
        anomalies: AnomalyRates | None = None,
        encode_trip: Callable[[Trip, Clock], bytes] | None = None,
    ) -> None:
        if events < 0:
            raise ValueError("events must be >= 0")
        if days < 1:
            raise ValueError("days must be >= 1")
        self.events = events
        self.seed = seed
        self.days = days
        self.rates = anomalies or AnomalyRates()
        #: Avro: clean trips (late ones and resent duplicates included) are encoded straight from
        #: the trip, no JSON text in between; the anomalies stay JSON text for the encoder
        #: (encoding.py)
        self.encode_trip = encode_trip
        self.clock = Clock(resolve_start_date(start_date))
        self.planned = self.rates.planned_counts(events)
        #: what has been yielded; ``clean`` is filled in when the iteration ends or is closed
        self.counts = EventCounts()
        #: ``[VendorID, tpep_pickup_datetime, PULocationID, DOLocationID, total_amount]`` of the
        #: first ``LATE_KEYS_MAX`` late events, so that verify can look them up in the facts
        self.late_event_keys: list[list] = []

    @property
    def start_date(self) -> date:
        return self.clock.start_date

    @property
    def planned_messages(self) -> int:
        return self.planned[CLEAN] + sum(self.planned[k] for k in EXTRA_KINDS)

    def _plan(self, arng: Random) -> tuple[set[int], dict[int, list[tuple[str, int]]]]:
        """Late positions, and per clean position the extra messages to send right after it.

        An extra message is ``(kind, source position)``: for a duplicate the clean position it
        copies, otherwise unused (-1).
        """
        n = self.events
        late = set(arng.sample(range(n), self.planned[LATE])) if n else set()
        after: dict[int, list[tuple[str, int]]] = {}
        if n == 0:
            return late, after
        for kind in EXTRA_KINDS:
            for _ in range(self.planned[kind]):
                if kind == DUPLICATE:
                    src = arng.randrange(n)
                    pos = min(n - 1, src + arng.randrange(DUPLICATE_MAX_DELAY + 1))
                    after.setdefault(pos, []).append((kind, src))
                else:
                    after.setdefault(arng.randrange(n), []).append((kind, -1))
        return late, after

    def __iter__(self) -> Iterator[Message]:
        n = self.events
        clock = self.clock
        rng = Random(self.seed)
        arng = Random(f"{self.seed}:anomalies")
        faker = Faker("en_US")
        faker.seed_instance(self.seed)
        factory = TripFactory(rng, clock)
        anomaly_factory = TripFactory(arng, clock)
        maker = AnomalyMaker(arng, faker)
        late, after = self._plan(arng)
        pairs = plan_corrections(self.seed, n)
        late = _late_off_pairs(late, pairs, n)
        negatives = {p + 1: p for p in pairs}
        dup_sources = {s for extras in after.values() for kind, s in extras if kind == DUPLICATE}
        special = late | set(after) | dup_sources | set(pairs) | set(negatives)
        twin: Trip | None = None
        sent: dict[int, tuple[str, str | bytes]] = {}  # duplicate sources, until resent

        counts = self.counts
        keys = _KEYS
        make = factory.make
        encode_trip = self.encode_trip or trip_to_json  # JSON text unless an encoder is given
        pos = 0
        try:
            for t in pickup_schedule(rng, n, clock.start_date, self.days):
                if pos not in special:  # hot path
                    pos += 1
                    trip = make(t)
                    yield keys[trip.pu_location_id], encode_trip(trip, clock), t, CLEAN
                    continue
                here = pos
                pos += 1  # counted before it is yielded: a closed stream never under-counts
                kind = CLEAN
                if here in late:
                    trip = make(t - arng.randint(LATE_MIN_S, LATE_MAX_S))
                    kind = LATE
                elif here in pairs:
                    trip = twin = make(t, CORRECTION_VENDOR, pairs[here][0])
                elif here in negatives and twin is not None:  # its twin was the previous one
                    trip = negative_twin(twin, pairs[here - 1][1])
                else:
                    trip = make(t)
                key, value = keys[trip.pu_location_id], encode_trip(trip, clock)
                if here in dup_sources:
                    sent[here] = (key, value)
                if kind == LATE:
                    counts.late += 1
                    if len(self.late_event_keys) < LATE_KEYS_MAX:
                        self.late_event_keys.append(
                            [trip.vendor_id, clock.fmt(trip.pickup_s), trip.pu_location_id,
                             trip.do_location_id, trip.total / 100]
                        )  # fmt: skip
                yield key, value, t, kind
                for extra, src in after.get(here, ()):
                    if extra == DUPLICATE:  # the source is at or before this position
                        key_d, value_d = sent[src]
                        counts.duplicate += 1
                        yield key_d, value_d, t, DUPLICATE
                    else:
                        bad = anomaly_factory.make(t)
                        value_b = maker.make(extra, _record(bad, clock), trip_to_json(bad, clock))
                        counts.add(extra)
                        yield keys[bad.pu_location_id], value_b, t, extra
        finally:
            counts.clean = pos
