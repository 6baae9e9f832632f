"""Benchmark harness for the native pipeline: stage timings, throughput, scaling, memory.

Runs the same step functions as `make pipeline` (and, with --orchestrators dagster, the Dagster
job) for each size and repetition on the native stack, appends one JSON line per run to the
results file and writes a Markdown report with PNG charts.

    python benchmarks/run.py --sizes 10000,100000,1000000 --reps 3 [--cold] [--orchestrators plain,dagster]

Comparisons in the report are between runs of one invocation on one machine; nothing is compared
with figures measured elsewhere.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from measure import RESULTS_DIR, MemorySampler, environment  # noqa: E402

from lakehouse.pipeline import run_pipeline  # noqa: E402
from lakehouse.reset import reset_data  # noqa: E402
from lakehouse.settings import get_settings  # noqa: E402
from lakehouse.stack.stack import Stack  # noqa: E402


# ----------------------------------------------------------------------------- engines
def engine_pids(stack: Stack) -> dict[str, int | None]:
    pids: dict[str, int | None] = {}
    for st in stack.status():
        pids[st.name] = st.pid
    pg = stack.home / "postgres" / "data" / "postmaster.pid"
    if pg.exists():
        with contextlib.suppress(OSError, ValueError, IndexError):
            pids["postgres"] = int(pg.read_text().split()[0])
    return pids


# ----------------------------------------------------------------------------- one run
def run_once(
    size: int,
    rep: int,
    orchestrator: str,
    cold: bool,
    anomaly_rate: float,
    source: Path | None = None,
) -> dict[str, Any]:
    """One pipeline run; ``source``: replay these TLC files (``size`` rows) instead of
    generating ``size`` events."""
    settings = get_settings()
    stack = Stack(settings)
    stack_start_s = None
    if cold:
        stack.down()
        t0 = time.monotonic()
        stack.up()
        stack_start_s = round(time.monotonic() - t0, 3)
    else:
        stack.up()  # no-op when running
    reset_data(settings)
    with MemorySampler(engine_pids(stack)) as mem:
        t0 = time.monotonic()
        if orchestrator == "plain":
            result = run_pipeline(
                settings, events=size, anomaly_rate=anomaly_rate, seed=rep, source=source
            )
        elif source is not None:
            raise SystemExit("--input tlc runs with the plain orchestrator only")
        elif orchestrator == "dagster":
            result = run_dagster(size, rep, anomaly_rate)
        else:
            raise SystemExit(f"unknown orchestrator {orchestrator}")
        wall = time.monotonic() - t0
    t = result["timings_s"]
    gen = result["generator"]
    bronze, silver = result["bronze"], result["silver"]
    bronze_rows = result["verify"]["figures"]["bronze_rows"]
    silver_rows = result["verify"]["figures"]["silver_rows"]
    record = {
        "size": size,
        "rep": rep,
        "orchestrator": orchestrator,
        "input": "synthetic" if source is None else "tlc",
        "mode": "cold" if cold else "warm",
        "stack_start_s": stack_start_s,
        "generator_events_per_s": gen["events_per_s"],
        "generator_messages_acked": gen["messages_acked"],
        "generate_s": t["generate"],
        "bronze_s": t["flink_bronze"],
        "bronze_job_s": (bronze.get("job") or {}).get("duration_ms", 0) / 1000,
        "bronze_rows_per_s": round(bronze_rows / t["flink_bronze"], 1),
        "silver_s": t["flink_silver"],
        "silver_job_s": (silver.get("job") or {}).get("duration_ms", 0) / 1000,
        "silver_rows_per_s": round(silver_rows / t["flink_silver"], 1),
        "dbt_build_s": t["dbt_build"],
        "verify_s": t["verify"],
        "total_s": t["total"],
        "wall_s": round(wall + (stack_start_s or 0), 3),
        "bronze_rows": bronze_rows,
        "silver_rows": silver_rows,
        "reconciled": result["verify"]["ok"],
        "peak_rss_mb": {k: round(v, 1) for k, v in mem.peak_mb.items()},
        "peak_rss_total_mb": round(mem.peak_total_mb, 1),
    }
    return record


def run_dagster(size: int, rep: int, anomaly_rate: float) -> dict[str, Any]:
    """The same pipeline through the Dagster job, in process (taxi-dagster/taxi_dagster)."""
    from dagster import DagsterEventType, DagsterInstance
    from taxi_dagster.definitions import JOB_NAME, defs

    from lakehouse.verify import load_manifests, run_verify

    settings = get_settings()
    run_config = {
        "ops": {
            "raw_trip_events": {
                "config": {"events": size, "seed": rep, "anomaly_rate": anomaly_rate, "days": 3}
            }
        },
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
    }
    t0 = time.monotonic()
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def(JOB_NAME).execute_in_process(
            run_config=run_config, instance=instance, raise_on_error=False
        )
        total = time.monotonic() - t0
        if not result.success:
            raise SystemExit("Dagster run failed")
        started: dict[str, float] = {}
        steps: dict[str, float] = {}
        for record in instance.all_logs(result.run_id):
            event = record.dagster_event
            if event is None:
                continue
            if event.event_type == DagsterEventType.STEP_START:
                started[event.step_key] = record.timestamp
            elif event.is_step_success:
                steps[event.step_key] = record.timestamp - started.get(event.step_key, 0)

    def step(prefix: str) -> float:
        return round(sum(v for k, v in steps.items() if k.startswith(prefix)), 3)

    manifest = load_manifests(settings)[-1]
    report = run_verify(settings)
    return {
        "generator": manifest,
        "bronze": {"job": None},
        "silver": {"job": None},
        "verify": report.to_dict(),
        "timings_s": {
            "create_topics": step("kafka_topics"),
            "generate": step("raw_trip_events"),
            "flink_bronze": step("bronze"),
            "flink_silver": step("silver"),
            "dbt_build": step("gold_dbt"),
            "verify": step("verification"),
            "total": round(total, 3),
        },
    }


# ----------------------------------------------------------------------------- report
STAGES = ("generate_s", "bronze_s", "silver_s", "dbt_build_s", "verify_s")


def summarize(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in records:
        orch = r["orchestrator"] + (" (real TLC)" if r.get("input") == "tlc" else "")
        groups.setdefault((orch, r["mode"], r["size"]), []).append(r)
    rows = []
    for (orch, mode, size), rs in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])
    ):
        row: dict[str, Any] = {"orchestrator": orch, "mode": mode, "size": size, "n": len(rs)}
        for key in (*STAGES, "total_s", "generator_events_per_s", "peak_rss_total_mb"):
            vals = [r[key] for r in rs]
            row[key] = {
                "min": min(vals),
                "median": statistics.median(vals),
                "max": max(vals),
            }
        rows.append(row)
    return rows


def write_report(records: list[dict[str, Any]], env: dict[str, Any], out: Path, cmd: str) -> None:
    rows = summarize(records)
    lines = [
        "# Benchmark report (native stack)",
        "",
        f"Generated {datetime.now(UTC).isoformat(timespec='seconds')} by `{cmd}`  ",
        f"Machine: {env['cpu_count']} CPUs, {env['memory_gb']} GB, {env['platform']}; "
        f"git {env['git_commit']}{' (dirty)' if env['git_dirty'] else ''}  ",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()),
        "",
        "Median (min–max) seconds per stage; 1 % of every anomaly class on top of the events.",
        "",
        "| orchestrator | mode | events | runs | generate | bronze | silver | dbt build | verify | total | generator events/s | peak RSS (MB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def fmt(d: dict[str, float], digits: int = 1) -> str:
        return f"{d['median']:.{digits}f} ({d['min']:.{digits}f}–{d['max']:.{digits}f})"

    for r in rows:
        lines.append(
            f"| {r['orchestrator']} | {r['mode']} | {r['size']:,} | {r['n']} | "
            + " | ".join(fmt(r[s]) for s in STAGES)
            + f" | {fmt(r['total_s'])} | {r['generator_events_per_s']['median']:,.0f} | "
            f"{r['peak_rss_total_mb']['max']:,.0f} |"
        )
    peak_by_engine: dict[str, float] = {}
    for rec in records:
        for k, v in rec["peak_rss_mb"].items():
            peak_by_engine[k] = max(peak_by_engine.get(k, 0.0), v)
    lines += ["", "Peak resident memory per engine over all runs (MB):", ""]
    lines += ["| engine | peak RSS (MB) |", "|---|---|"]
    lines += [f"| {k} | {v:,.0f} |" for k, v in sorted(peak_by_engine.items())]
    orchs = sorted({r["orchestrator"] for r in rows})
    if len(orchs) > 1:
        lines += ["", "Orchestrator overhead (median total / plain median total, same size):", ""]
        plain = {r["size"]: r["total_s"]["median"] for r in rows if r["orchestrator"] == "plain"}
        for r in rows:
            if r["orchestrator"] != "plain" and r["size"] in plain:
                lines.append(
                    f"- {r['orchestrator']} @ {r['size']:,}: x{r['total_s']['median'] / plain[r['size']]:.2f}"
                )
    charts = _charts(rows, out.parent)
    if charts:
        lines += ["", *[f"![{c.stem}]({c.name})" for c in charts]]
    out.write_text("\n".join(lines) + "\n")


def _charts(rows: list[dict[str, Any]], folder: Path) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    plain = [r for r in rows if r["orchestrator"] == "plain" and r["mode"] == "warm"] or rows
    if not plain:
        return []
    made = []
    fig, ax = plt.subplots(figsize=(8, 4))
    labels = [f"{r['size']:,}" for r in plain]
    bottom = [0.0] * len(plain)
    for stage in STAGES:
        vals = [r[stage]["median"] for r in plain]
        ax.bar(labels, vals, bottom=bottom, label=stage.removesuffix("_s"))
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_xlabel("events")
    ax.set_ylabel("seconds (median)")
    ax.set_title("Stage breakdown")
    ax.legend()
    path = folder / "stages.png"
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    made.append(path)

    fig, ax1 = plt.subplots(figsize=(8, 4))
    sizes = [r["size"] for r in plain]
    totals = [r["total_s"]["median"] for r in plain]
    ax1.plot(sizes, totals, marker="o", label="end-to-end seconds")
    ax1.set_xscale("log")
    ax1.set_xlabel("events")
    ax1.set_ylabel("seconds")
    ax2 = ax1.twinx()
    ax2.plot(sizes, [s / t for s, t in zip(sizes, totals, strict=True)], marker="s", color="tab:green",
             label="events/s end to end")  # fmt: skip
    ax2.set_ylabel("events/s")
    ax1.set_title("Scaling")
    fig.tight_layout()
    path = folder / "scaling.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    made.append(path)
    return made


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument(
        "--orchestrators",
        default="plain",
        help="Comma list of plain, dagster; NAME@MAX limits one to sizes <= MAX (dagster@100000)",
    )
    ap.add_argument(
        "--cold", action="store_true", help="Also measure one cold run per size (stack restarted)"
    )
    ap.add_argument("--anomaly-rate", type=float, default=0.01)
    ap.add_argument(
        "--input",
        default="synthetic",
        help="Comma list of synthetic (the generator) and tlc (the real TLC sample tiled to each "
        "size by benchmarks/tlc_tiles.py, and replayed)",
    )
    ap.add_argument(
        "--streaming-rates",
        default="",
        help="Also run streaming mode at these events/s (benchmarks/streaming.py): freshness "
        "p50/p95/max and whether the jobs kept up; appended to streaming.jsonl",
    )
    ap.add_argument("--streaming-seconds", type=int, default=30)
    ap.add_argument("--results", type=Path, default=RESULTS_DIR / "results.jsonl")
    ap.add_argument("--report", type=Path, default=RESULTS_DIR / "report.md")
    args = ap.parse_args(argv)
    cmd = "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    env = environment()
    args.results.parent.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    sizes = [int(s) for s in args.sizes.split(",") if s]
    for spec in args.orchestrators.split(","):
        orch, _, limit = spec.partition("@")
        for size in sizes:
            if limit and size > int(limit):
                continue
            plan = [("cold", 0)] if args.cold else []
            plan += [("warm", rep) for rep in range(1, args.reps + 1)]
            for inp in args.input.split(","):
                if inp not in ("synthetic", "tlc"):
                    raise SystemExit(f"--input: synthetic or tlc, not {inp!r}")
                source = None
                if inp == "tlc":
                    from tlc_tiles import tile  # benchmarks/tlc_tiles.py

                    home = get_settings().lakehouse_home
                    source = tile(size, home / "bench" / f"tlc_{size}")
                for mode, rep in plan:
                    rec = run_once(size, rep, orch, mode == "cold", args.anomaly_rate, source)
                    rec.update({"timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
                                "command": cmd, "environment": env})  # fmt: skip
                    records.append(rec)
                    with args.results.open("a") as fh:
                        fh.write(json.dumps(rec) + "\n")
                    print(
                        f"[{orch} {inp} {mode} {size:>9,} #{rep}] total {rec['total_s']:.1f}s  "
                        f"gen {rec['generate_s']:.1f}s ({rec['generator_events_per_s']:,.0f} ev/s)  "
                        f"bronze {rec['bronze_s']:.1f}s  silver {rec['silver_s']:.1f}s  "
                        f"dbt {rec['dbt_build_s']:.1f}s  peak RSS {rec['peak_rss_total_mb']:,.0f} MB",
                        flush=True,
                    )
    if args.streaming_rates:
        from streaming import run_rate  # benchmarks/streaming.py

        for rate in (int(r) for r in args.streaming_rates.split(",") if r):
            row = run_rate(rate, args.streaming_seconds)
            row.update({"timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
                        "command": cmd, "environment": env})  # fmt: skip
            with (args.results.parent / "streaming.jsonl").open("a") as fh:
                fh.write(json.dumps(row) + "\n")
            f = row["freshness"]
            print(
                f"[streaming {rate:>6}/s] {'kept up' if row['kept_up'] else 'FELL BEHIND'}, "
                f"drained {row['drain_s']:.1f}s, freshness p50 {f['p50_s']}s p95 {f['p95_s']}s "
                f"max {f['max_s']}s",
                flush=True,
            )
    if not records:
        return 0
    args.report.parent.mkdir(parents=True, exist_ok=True)
    write_report(records, env, args.report, cmd)
    print(f"results appended to {args.results}; report {args.report}")
    return 0 if all(r["reconciled"] for r in records) else 1


if __name__ == "__main__":
    raise SystemExit(main())
