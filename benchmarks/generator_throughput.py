"""Generator serialisation throughput, without Kafka.

Builds N messages (trip generation + JSON text + key, exactly what the producer hands to
``Producer.produce``) and prints events/s. This is the ceiling of the Python side; the rate in a
run manifest is the Kafka-acknowledged rate and also includes librdkafka and the broker.

    python benchmarks/generator_throughput.py [-n 500000] [--days 1] [--anomalies 0.01] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from datetime import date

from taxi_generator.anomalies import AnomalyRates
from taxi_generator.stream import EventStream


def measure(n: int, days: int, rate: float, seed: int) -> tuple[float, int, int]:
    anomalies = AnomalyRates.uniform(rate) if rate else None
    stream = EventStream(n, seed=seed, start_date=date(2025, 3, 3), days=days, anomalies=anomalies)
    messages = 0
    nbytes = 0
    t0 = time.perf_counter()
    for _key, value, _event_s, _kind in stream:
        messages += 1
        nbytes += len(value)
    return time.perf_counter() - t0, messages, nbytes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--events", type=int, default=500_000)
    ap.add_argument("--days", type=int, default=1)
    ap.add_argument("--anomalies", type=float, default=0.0, help="rate of every anomaly class")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    best = None
    for i in range(args.repeat):
        seconds, messages, nbytes = measure(args.events, args.days, args.anomalies, args.seed)
        rate = messages / seconds
        print(
            f"run {i + 1}: {messages:,} messages in {seconds:.2f} s = {rate:,.0f} events/s "
            f"({nbytes / seconds / 1e6:.1f} MB/s, {nbytes / messages:.0f} B/event)"
        )
        best = rate if best is None else max(best, rate)
    print(f"serialisation (no Kafka), best of {args.repeat}: {best:,.0f} events/s")


if __name__ == "__main__":
    main()
