"""Gold on DuckDB or on Trino: `dbt build --full-refresh` of the same project at 1M and 5M
silver rows, on the same machine, one run each, with peak resident memory.

For each size: the events go through the real pipeline (generator -> Kafka -> Flink bronze ->
silver; JSON events, one pickup day per 100k events, 0.1 % of every anomaly class), then gold
is rebuilt from every silver row by each engine: DuckDB in the dbt process (its peak RSS is the
dbt process's), Trino by its JVM (peak RSS of the Trino process, heap TRINO_HEAP_GB, plus the
dbt client's). Appends to benchmarks/results/gold_engines.jsonl and writes gold_engines.md.

    python benchmarks/gold_engines.py --sizes 1000000,5000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from measure import RESULTS_DIR, MemorySampler, append_results  # noqa: E402
from taxi_generator.anomalies import AnomalyRates  # noqa: E402
from taxi_generator.producer import run_generator  # noqa: E402

from lakehouse import catalog as cat  # noqa: E402
from lakehouse import topics  # noqa: E402
from lakehouse.flink.jobs import run_bronze, run_silver  # noqa: E402
from lakehouse.reset import reset_data  # noqa: E402
from lakehouse.settings import Settings, get_settings  # noqa: E402
from lakehouse.stack.stack import Stack  # noqa: E402

EVENTS_PER_DAY = 100_000
ENGINES = ("duckdb", "trino")


def load_silver(settings: Settings, events: int, done: int) -> None:
    """Add events (done .. events) to silver through the pipeline, the days before today."""
    today = datetime.now(UTC).date()
    new = events - done
    days = max(1, new // EVENTS_PER_DAY)
    t0 = time.monotonic()
    run_generator(settings, events=new, seed=events, days=days,
                  start_date=today - timedelta(days=days + 3 + done // EVENTS_PER_DAY),
                  anomalies=AnomalyRates.uniform(0.001))  # fmt: skip
    run_bronze(settings)
    run_silver(settings)
    print(f"silver: +{new:,} events in {time.monotonic() - t0:.0f}s", flush=True)


def build(settings: Settings, engine: str, trino_pid: int | None) -> dict[str, Any]:
    """One `lakehouse dbt build --full-refresh` on `engine`, in a child process (its RSS)."""
    env = {**os.environ, "GOLD_ENGINE": engine, "TRINO_URL": settings.trino_url}
    cmd = [str(Path(sys.executable).parent / "lakehouse"), "dbt", "build", "--full-refresh"]
    with MemorySampler({"trino": trino_pid if engine == "trino" else None}, 0.2) as rss:
        t0 = time.monotonic()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
        seconds = round(time.monotonic() - t0, 2)
    if proc.returncode != 0:
        raise SystemExit(
            f"dbt build on {engine} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )
    return {
        "engine": engine,
        "seconds": seconds,
        "summary": proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "",
        "dbt_peak_rss_mb": round(rss.children_mb, 1),
        "engine_peak_rss_mb": round(rss.peak_mb["trino"], 1) if "trino" in rss.peak_mb else None,
    }


def write_report(runs: list[dict[str, Any]], out: Path, command: str, heap_gb: int) -> None:
    lines = [
        "# Gold on DuckDB or Trino: dbt build --full-refresh (native stack)",
        "",
        f"Generated {datetime.now(UTC).isoformat(timespec='seconds')} by `{command}`; one run "
        f"each, 2 cores, Trino with a {heap_gb} GB heap (TRINO_HEAP_GB), one process that is "
        "coordinator and worker. Peak RSS: DuckDB runs inside the dbt process; Trino's is its "
        "JVM's, plus the dbt client's.",
        "",
        "| silver rows | engine | dbt build | dbt process peak RSS | Trino peak RSS |",
        "|---|---|---|---|---|",
    ]
    for r in runs:
        trino = f"{r['engine_peak_rss_mb']:,.0f} MB" if r["engine_peak_rss_mb"] else "-"
        lines.append(f"| {r['silver_rows']:,} | {r['engine']} | {r['seconds']:.1f} s | "
                     f"{r['dbt_peak_rss_mb']:,.0f} MB | {trino} |")  # fmt: skip
    out.write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000,5000000")
    ap.add_argument("--results", type=Path, default=RESULTS_DIR / "gold_engines.jsonl")
    args = ap.parse_args()
    settings = get_settings().model_copy(update={
        "event_format": "json", "topic_raw": "taxi.goldbench", "topic_dlq": "taxi.goldbench.dlq",
    })  # fmt: skip
    stack = Stack(settings.model_copy(update={"gold_engine": "trino"}))
    stack.up()  # no-op for what runs; starts Trino
    trino_pid = stack.trino.pid()
    reset_data(settings)
    topics.setup_topics(settings)
    runs, done = [], 0
    for size in (int(x) for x in args.sizes.split(",")):
        load_silver(settings, size, done)
        done = size
        silver = cat.row_count(cat.load_table(cat.load_catalog(settings),
                                              f"{settings.silver_namespace}.trips"))  # fmt: skip
        for engine in ENGINES:
            r = build(settings, engine, trino_pid) | {"silver_rows": silver, "events": size}
            print(json.dumps(r), flush=True)
            runs.append(r)
    append_results(args.results, "gold_engines", runs)
    command = "python benchmarks/gold_engines.py " + " ".join(sys.argv[1:])
    write_report(runs, args.results.with_suffix(".md"), command.strip(), settings.trino_heap_gb)
    print(f"report: {args.results.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
