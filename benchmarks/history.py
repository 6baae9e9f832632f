"""What an increment costs against history: a 10k-event run after 0, 1M and 5M events.

For each history size: reset, produce the history (spread over one pickup day per 100k events,
ending before the increment's days, as a lakehouse that has run for a while holds it) and run
bronze, silver and gold on it; then produce the increment (10k events over the last 2 days, 1 %
of every anomaly class, late events reaching back 72 h) and time each stage of the pipeline on
it, with dbt build's peak resident memory. JSON events (the history is produced faster; the
increment's stages do not depend on the format). Appends to benchmarks/results/history.jsonl and
writes benchmarks/results/history.md with a chart (history.png).

    python benchmarks/history.py --history 0,1000000,5000000 --increment 10000
"""

from __future__ import annotations

import argparse
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

from lakehouse import topics  # noqa: E402
from lakehouse.dbt_runner import run_dbt  # noqa: E402
from lakehouse.flink.jobs import run_bronze, run_silver  # noqa: E402
from lakehouse.reset import reset_data  # noqa: E402
from lakehouse.settings import get_settings  # noqa: E402
from lakehouse.stack.stack import Stack  # noqa: E402
from lakehouse.verify import run_verify  # noqa: E402

EVENTS_PER_DAY = 100_000


def one(history: int, increment: int) -> dict[str, Any]:
    settings = get_settings().model_copy(
        update={
            "event_format": "json",
            "topic_raw": "taxi.history",
            "topic_dlq": "taxi.history.dlq",
        }
    )
    reset_data(settings)
    topics.setup_topics(settings)
    today = datetime.now(UTC).date()
    if history:
        days = max(1, history // EVENTS_PER_DAY)
        t0 = time.monotonic()
        run_generator(settings, events=history, seed=1, start_date=today - timedelta(days=days + 3),
                      days=days, anomalies=AnomalyRates.uniform(0.001))  # fmt: skip
        run_bronze(settings)
        run_silver(settings)
        run_dbt(settings, "build")
        print(f"history of {history} events ready in {time.monotonic() - t0:.0f}s", flush=True)

    stages: dict[str, float] = {}

    def timed(name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.monotonic()
        out = fn(*args, **kwargs)
        stages[name] = round(time.monotonic() - t0, 3)
        return out

    t_all = time.monotonic()
    timed("generate", run_generator, settings, events=increment, seed=2,
          start_date=today - timedelta(days=2), days=2, anomalies=AnomalyRates.uniform(0.01))  # fmt: skip
    timed("bronze", run_bronze, settings)
    silver = timed("silver", run_silver, settings)
    with MemorySampler(interval=0.2) as rss:
        timed("dbt_build", run_dbt, settings, "build")
    # the steps that carry the data; verify audits all of it (bronze, silver, gold) by design
    stages["pipeline"] = round(time.monotonic() - t_all, 3)
    report = timed("verify", run_verify, settings)
    stages["total"] = round(time.monotonic() - t_all, 3)
    return {
        "history_events": history,
        "increment_events": increment,
        "stages_s": stages,
        "silver_mode": silver.offsets.get("mode"),
        "silver_new_rows": silver.offsets.get("new_rows"),
        "silver_touched_dates": silver.offsets.get("touched_dates"),
        "dbt_build_peak_rss_mb": round(rss.children_mb, 1),
        "silver_rows_after": report.figures["silver_rows"],
        "reconciled": report.ok,
    }


STAGES = ("generate", "bronze", "silver", "dbt_build", "verify")


def write_report(runs: list[dict[str, Any]], out: Path, command: str) -> None:
    """history.md: the table of this run and a chart of seconds per stage and dbt's peak RSS."""
    base = runs[0]
    lines = [
        "# An increment against history (native stack)",
        "",
        f"Generated {datetime.now(UTC).isoformat(timespec='seconds')} by `{command}`; one run "
        "per history size. `pipeline` = generate + bronze + silver + dbt build; verify audits "
        "all of bronze, silver and gold, so it grows with history by design.",
        "",
        "| history | " + " | ".join(STAGES) + " | pipeline | total | dbt peak RSS |",
        "|---|" + "---|" * (len(STAGES) + 3),
    ]
    for r in runs:
        st = r["stages_s"]

        def cell(k: str, st: dict[str, float] = st, r: dict[str, Any] = r) -> str:
            ratio = "" if r is base else f" (x{st[k] / base['stages_s'][k]:.2f})"
            return f"{st[k]:.1f} s{ratio}"

        rss = r["dbt_build_peak_rss_mb"]
        rss_ratio = "" if r is base else f" (x{rss / base['dbt_build_peak_rss_mb']:.2f})"
        lines.append(
            f"| {r['history_events']:,} | "
            + " | ".join(cell(k) for k in STAGES)
            + f" | {cell('pipeline')} | {cell('total')} | {rss:,.0f} MB{rss_ratio} |"
        )
    chart = _chart(runs, out.parent / "history.png")
    if chart:
        lines += ["", f"![history]({chart.name})"]
    out.write_text("\n".join(lines) + "\n")


def _chart(runs: list[dict[str, Any]], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(8, 4))
    labels = [f"{r['history_events']:,}" for r in runs]
    bottom = [0.0] * len(runs)
    for stage in STAGES:
        vals = [r["stages_s"][stage] for r in runs]
        ax.bar(labels, vals, bottom=bottom, label=stage)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_xlabel("events of history before the 10k-event increment")
    ax.set_ylabel("seconds")
    ax.set_title("Cost of an increment against history")
    ax2 = ax.twinx()
    ax2.plot(labels, [r["dbt_build_peak_rss_mb"] for r in runs], color="black", marker="o",
             label="dbt build peak RSS (MB)")  # fmt: skip
    ax2.set_ylabel("MB")
    ax2.set_ylim(0, max(r["dbt_build_peak_rss_mb"] for r in runs) * 1.5)  # clear of the bars
    handles, names = ax.get_legend_handles_labels()
    h2, n2 = ax2.get_legend_handles_labels()
    ax.legend(handles + h2, names + n2, fontsize="small", loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--history", default="0,1000000,5000000")
    ap.add_argument("--increment", type=int, default=10_000)
    ap.add_argument("--results", type=Path, default=RESULTS_DIR / "history.jsonl")
    args = ap.parse_args()
    Stack(get_settings()).up()  # no-op when running
    one(0, 1000)  # warm-up (JIT, first job submissions): not recorded
    runs = []
    for h in (int(x) for x in args.history.split(",")):
        r = one(h, args.increment)
        runs.append(r)
        s = r["stages_s"]
        print(f"history {h:>9,}: increment of {args.increment:,} -> generate {s['generate']:.1f}s "
              f"bronze {s['bronze']:.1f}s silver {s['silver']:.1f}s ({r['silver_mode']}, "
              f"{r['silver_new_rows']} rows, {r['silver_touched_dates']} dates) dbt "
              f"{s['dbt_build']:.1f}s (peak {r['dbt_build_peak_rss_mb']:.0f} MB) verify "
              f"{s['verify']:.1f}s pipeline {s['pipeline']:.1f}s total {s['total']:.1f}s", flush=True)  # fmt: skip
    append_results(args.results, "history", runs)
    command = "python benchmarks/history.py " + " ".join(sys.argv[1:])
    write_report(runs, args.results.with_suffix(".md"), command)
    base = runs[0]["stages_s"]
    for r in runs[1:]:
        ratios = {
            k: round(r["stages_s"][k] / base[k], 2)
            for k in ("silver", "dbt_build", "pipeline", "total")
        }
        ratios["dbt_peak_rss"] = round(
            r["dbt_build_peak_rss_mb"] / runs[0]["dbt_build_peak_rss_mb"], 2
        )
        print(f"history {r['history_events']:,}: x{ratios} of the empty-table increment")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
