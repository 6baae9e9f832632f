"""The whole pipeline in order, composed from the step functions (no step logic lives here)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.table import Table

from lakehouse import topics
from lakehouse.dbt_runner import prepare as prepare_dbt
from lakehouse.dbt_runner import run_dbt
from lakehouse.flink.jobs import run_bronze, run_silver
from lakehouse.settings import Settings
from lakehouse.verify import run_verify


def run_pipeline(
    settings: Settings,
    *,
    events: int,
    anomaly_rate: float = 0.01,
    seed: int | None = None,
    days: int = 3,
    progress: bool = False,
    source: Path | None = None,
) -> dict[str, Any]:
    """Every step in order; ``source`` (TLC Parquet files) replays real trips instead of
    generating ``events``."""
    from taxi_generator.anomalies import AnomalyRates
    from taxi_generator.producer import run_generator, run_replay

    timings: dict[str, float] = {}
    t_all = time.monotonic()

    def timed(name: str, fn, *args, **kwargs):  # noqa: ANN001, ANN202
        t0 = time.monotonic()
        out = fn(*args, **kwargs)
        timings[name] = round(time.monotonic() - t0, 3)
        return out

    timed("create_topics", topics.setup_topics, settings)
    if source is not None:
        manifest = timed("generate", run_replay, settings, source, progress=progress)
    else:
        manifest = timed(
            "generate",
            run_generator,
            settings,
            events=events,
            seed=seed,
            days=days,
            anomalies=AnomalyRates.uniform(anomaly_rate),
            progress=progress,
        )
    prepare_dbt(settings)  # dbt's import and parse overlap the Flink steps
    bronze = timed("flink_bronze", run_bronze, settings)
    silver = timed("flink_silver", run_silver, settings)
    dbt = timed("dbt_build", run_dbt, settings, "build")
    report = timed("verify", run_verify, settings)
    timings["total"] = round(time.monotonic() - t_all, 3)
    return {
        "events": events,
        "generator": manifest.to_dict(),
        "bronze": bronze.to_dict(),
        "silver": silver.to_dict(),
        "dbt": dbt.__dict__,
        "verify": report.to_dict(),
        "timings_s": timings,
    }


def summary_table(result: dict[str, Any]) -> Table:
    f = result["verify"]["figures"]
    t = result["timings_s"]
    table = Table(title="pipeline summary (reconciled)")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    table.add_column("result")
    gen = result["generator"]
    table.add_row("create topics", f"{t['create_topics']:.2f}", "")
    table.add_row(
        "generate", f"{t['generate']:.2f}",
        f"{gen['messages_acked']} messages acked, {gen['events_per_s']:.0f} events/s",
    )  # fmt: skip
    table.add_row(
        "flink bronze", f"{t['flink_bronze']:.2f}",
        f"{f['bronze_rows']} bronze rows, {f['dead_letter_rows']} dead letter",
    )  # fmt: skip
    table.add_row(
        "flink silver", f"{t['flink_silver']:.2f}",
        f"{f['silver_rows']} silver rows, {f['silver_rejected_rows']} rejected, "
        f"{f['duplicates_removed']} duplicates removed",
    )  # fmt: skip
    table.add_row("dbt build", f"{t['dbt_build']:.2f}", result["dbt"]["summary"])
    table.add_row(
        "verify", f"{t['verify']:.2f}",
        f"{len(result['verify']['checks'])} checks ok; fct_trips {f.get('fct_trips_rows')}",
    )  # fmt: skip
    table.add_row("total", f"{t['total']:.2f}", "")
    return table
