"""Streaming mode: sustained events/s and freshness (production -> visible in silver, in gold).

For each rate: a topic and home of its own, the streaming jobs started fresh, the generator paced
at that rate for ``--seconds``, the lag (messages not yet in bronze) sampled every 2 s, then the time
until bronze and silver caught up after the last event, and silver freshness over the run's rows
(Iceberg commit time of the row's file minus its Kafka timestamp): p50/p95/max. With --gold (the
default), gold follows silver as the streaming gold refresh does (`lakehouse dbt build
--if-new-silver` in a loop, what Kestra's taxi_gold_refresh and Dagster's sensor schedule), and
gold freshness is the end of the build that loaded a row minus its Kafka timestamp. With
--maintain-every S, Iceberg maintenance (`lakehouse maintain`: compaction, expiry, orphans) runs
every S seconds beside the jobs; each run reports the live data files per table at the end and
per hour of streaming, with and without it.

A rate is *kept up with* when the jobs drained within three checkpoint intervals (+5 s) after the
generator stopped, i.e. the backlog did not grow with the run.

    python benchmarks/streaming.py [--rates 500,2000,5000] [--seconds 30] [--no-gold]
        [--maintain-every S] [--json-out FILE]

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
from measure import append_results  # benchmarks/measure.py: one results format
from taxi_generator.producer import run_generator

from lakehouse import topics
from lakehouse.flink import streaming
from lakehouse.freshness import gold_build_lags, silver_freshness, summarize
from lakehouse.gold import silver_changes
from lakehouse.reset import reset_data
from lakehouse.settings import Settings, get_settings


class GoldRefresh(threading.Thread):
    """Incremental dbt builds back to back while silver has new snapshots (one writer)."""

    def __init__(self, settings: Settings, since_ms: int) -> None:
        super().__init__(daemon=True)
        self.settings, self.since_ms = settings, since_ms
        self.stop = threading.Event()
        self.lags: list[Any] = []
        self.builds: list[float] = []
        self.errors: list[str] = []

    def build_if_new(self) -> None:
        from lakehouse.dbt_runner import run_dbt

        if not any(c.new for c in silver_changes(self.settings)):
            return
        t0 = time.time()
        try:
            run_dbt(self.settings, "build")
        except Exception as exc:  # noqa: BLE001 - reported with the figures
            self.errors.append(str(exc)[:300])
            return
        self.builds.append(round(time.time() - t0, 1))
        self.lags.append(gold_build_lags(self.settings, int(time.time() * 1000), self.since_ms))

    def run(self) -> None:
        while not self.stop.wait(1):
            self.build_if_new()


class Maintenance(threading.Thread):
    """`lakehouse maintain` every `every_s` seconds while the streaming jobs commit."""

    def __init__(self, settings: Settings, every_s: float) -> None:
        super().__init__(daemon=True)
        self.settings, self.every_s = settings, every_s
        self.stop = threading.Event()
        self.runs: list[float] = []
        self.rewritten = 0

    def run(self) -> None:
        from lakehouse.maintenance import run_maintenance

        while not self.stop.wait(self.every_s):
            result = run_maintenance(self.settings)
            self.runs.append(result.seconds)
            self.rewritten += sum(
                (t.get("compaction") or {}).get("rewritten_data_files", 0) for t in result.tables
            )


def data_files(settings: Settings) -> dict[str, int]:
    from lakehouse import catalog as cat

    catalog = cat.load_catalog(settings)
    out = {}
    for name in (f"{settings.bronze_namespace}.raw_trips", f"{settings.silver_namespace}.trips"):
        table = cat.load_table(catalog, name)
        out[name] = len(table.inspect.files()) if table and table.current_snapshot() else 0
    return out


def run_rate(
    rate: int, seconds: int, gold: bool = True, maintain_every: float = 0
) -> dict[str, Any]:
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
    refresh = GoldRefresh(settings, since_ms=int(t0 * 1000))
    if gold:
        refresh.start()
    maintenance = Maintenance(settings, maintain_every)
    if maintain_every:
        maintenance.start()
    try:
        manifest = run_generator(
            settings, events=rate * seconds, rate=rate, seed=rate, progress=False
        )
        generated_s = time.time() - t0
        drain_s = streaming.wait_caught_up(settings, timeout_s=max(300, seconds * 4))
        fresh = silver_freshness(settings, since_ms=int(t0 * 1000))
        if maintain_every:
            maintenance.stop.set()
            maintenance.join()
        files = data_files(settings)
        streamed_h = (time.time() - t0) / 3600
        if gold:  # the last build takes what silver committed after the generator stopped
            refresh.stop.set()
            refresh.join()
            refresh.build_if_new()
    finally:
        done.set()
        refresh.stop.set()
        maintenance.stop.set()
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
        "gold_freshness": summarize(refresh.lags).to_dict() if gold else None,
        "gold_builds_s": refresh.builds,
        "gold_errors": refresh.errors,
        "maintain_every_s": maintain_every,
        "maintenance_runs_s": maintenance.runs,
        "maintenance_rewritten_files": maintenance.rewritten,
        "data_files": files,
        "data_files_per_hour": {k: round(v / streamed_h) for k, v in files.items()},
        "checkpoint_interval_s": settings.stream_checkpoint_interval_s,
        "event_format": settings.event_format,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="500,2000,5000")
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--gold", action=argparse.BooleanOptionalAction, default=True,
                    help="refresh gold while streaming and measure gold freshness")  # fmt: skip
    ap.add_argument("--maintain-every", type=float, default=0,
                    help="run Iceberg maintenance every S seconds during each run (0: never)")  # fmt: skip
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()
    rows = []
    for rate in (int(r) for r in args.rates.split(",")):
        row = run_rate(rate, args.seconds, args.gold, args.maintain_every)
        rows.append(row)
        f = row["freshness"]
        print(
            f"rate {rate:>6}/s: acked {row['acked_events_per_s']:>8,.0f} ev/s, "
            f"max lag {row['max_lag']}, drained {row['drain_s']:.1f}s after the last event "
            f"({'kept up' if row['kept_up'] else 'FELL BEHIND'}); freshness over {f['rows']} rows: "
            f"p50 {f['p50_s']}s p95 {f['p95_s']}s max {f['max_s']}s",
            flush=True,
        )
        print(
            f"            data files at the end: {row['data_files']} "
            f"(per hour of streaming: {row['data_files_per_hour']})"
            + (f"; maintenance every {args.maintain_every:.0f}s: {len(row['maintenance_runs_s'])} "
               f"runs, {row['maintenance_rewritten_files']} files rewritten"
               if args.maintain_every else ""),
            flush=True,
        )  # fmt: skip
        g = row["gold_freshness"]
        if g:
            print(
                f"            gold: {len(row['gold_builds_s'])} builds "
                f"({', '.join(f'{b:.0f}s' for b in row['gold_builds_s'])}); freshness over "
                f"{g['rows']} rows: p50 {g['p50_s']}s p95 {g['p95_s']}s max {g['max_s']}s"
                + (f"; {len(row['gold_errors'])} failed builds" if row["gold_errors"] else ""),
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
