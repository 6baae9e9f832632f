"""Streaming mode: sustained events/s and freshness (production -> visible in silver).

For each rate: a topic and home of its own, the streaming jobs started fresh, the generator paced
at that rate for ``--seconds``, the lag (messages not yet in bronze) sampled every 2 s, then the time
until bronze and silver caught up after the last event, and silver freshness over the run's rows
(Iceberg commit time of the row's file minus its Kafka timestamp): p50/p95/max.

A rate is *kept up with* when the jobs drained within three checkpoint intervals (+5 s) after the
generator stopped, i.e. the backlog did not grow with the run.

    python benchmarks/streaming.py [--rates 500,2000,5000] [--seconds 30] [--json-out FILE]

Needs the running stack (`make up`; settings from the environment / .env).
"""

from __future__ import annotations

import argparse
import contextlib
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from run import append_results  # benchmarks/run.py: one results format
from taxi_generator.producer import run_generator

from lakehouse import topics
from lakehouse.cli import reset_data
from lakehouse.flink import streaming
from lakehouse.freshness import silver_freshness
from lakehouse.settings import get_settings


def run_rate(rate: int, seconds: int) -> dict[str, Any]:
    base = get_settings()
    name = f"bench.stream.{rate}.{datetime.now(UTC):%Y%m%dT%H%M%S}"
    settings = base.model_copy(
        update={"topic_raw": name, "topic_dlq": f"{name}.dlq",
                "lakehouse_home": base.lakehouse_home / "bench" / name}
    )  # fmt: skip
    reset_data(settings)
    topics.setup_topics(settings)
    streaming.start(settings, fresh=True)
    lags: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(2):
            with contextlib.suppress(Exception):  # a sample missed is not a result
                lags.append(streaming.status(settings).total_lag)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.time()
    try:
        manifest = run_generator(
            settings, events=rate * seconds, rate=rate, seed=rate, progress=False
        )
        generated_s = time.time() - t0
        drain_s = streaming.wait_caught_up(settings, timeout_s=max(300, seconds * 4))
        fresh = silver_freshness(settings, since_ms=int(t0 * 1000))
    finally:
        done.set()
        sampler.join()
        try:
            streaming.stop(settings, savepoint=False)
        except Exception:  # noqa: BLE001
            for job in streaming._running_jobs(settings):
                httpx.patch(f"{settings.flink_rest_url}/jobs/{job['jid']}",
                            params={"mode": "cancel"})  # fmt: skip
        topics.delete_topics(settings)
    kept_up = drain_s <= 3 * settings.stream_checkpoint_interval_s + 5
    return {
        "rate": rate,
        "events": manifest.requested,
        "acked_events_per_s": manifest.events_per_s,
        "generation_s": round(generated_s, 1),
        "max_lag": max(lags) if lags else None,
        "drain_s": drain_s,
        "kept_up": kept_up,
        "freshness": fresh.to_dict(),
        "checkpoint_interval_s": settings.stream_checkpoint_interval_s,
        "event_format": settings.event_format,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="500,2000,5000")
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()
    rows = []
    for rate in (int(r) for r in args.rates.split(",")):
        row = run_rate(rate, args.seconds)
        rows.append(row)
        f = row["freshness"]
        print(
            f"rate {rate:>6}/s: acked {row['acked_events_per_s']:>8,.0f} ev/s, "
            f"max lag {row['max_lag']}, drained {row['drain_s']:.1f}s after the last event "
            f"({'kept up' if row['kept_up'] else 'FELL BEHIND'}); freshness over {f['rows']} rows: "
            f"p50 {f['p50_s']}s p95 {f['p95_s']}s max {f['max_s']}s",
            flush=True,
        )
    # the generator may not reach the asked rate: what the jobs kept up with is what was acked
    sustained = [r["acked_events_per_s"] for r in rows if r["kept_up"]]
    print(
        "highest rate the streaming jobs kept up with: "
        + (f"{max(sustained):,.0f} events/s (acked)" if sustained else "none")
    )
    if args.json_out:
        append_results(args.json_out, "streaming", rows)


if __name__ == "__main__":
    main()
