"""Native entry points: `python -m taxi_dagster.cli ui|run|prepare` (the folder dagster/ must be
on sys.path; the Makefile targets pass it as PYTHONPATH).

  ui       dagster dev on 127.0.0.1:3000 (webserver + daemon; the schedule starts off)
  run      materialize the whole graph in this process, print per-asset durations and the check
           results, exit non-zero if any step or blocking check failed
  prepare  parse the dbt project into dbt/target/dagster/manifest.json (build time)

DAGSTER_HOME is <lakehouse_home>/dagster (.lakehouse/dagster), with dagster/dagster.yaml copied
into it.
"""

import os
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from lakehouse.settings import get_settings

DAGSTER_DIR = Path(__file__).resolve().parent.parent  # the repository's dagster/ folder
INSTANCE_TEMPLATE = DAGSTER_DIR / "dagster.yaml"

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console(stderr=True)


def dagster_home() -> Path:
    """<lakehouse_home>/dagster with the instance config in place; exported as DAGSTER_HOME."""
    home = (get_settings().lakehouse_home / "dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists() or target.read_text() != INSTANCE_TEMPLATE.read_text():
        shutil.copyfile(INSTANCE_TEMPLATE, target)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def _child_env() -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    pythonpath = os.pathsep.join(p for p in (str(DAGSTER_DIR), os.environ.get("PYTHONPATH")) if p)
    return {
        **os.environ,
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
        "PYTHONPATH": pythonpath,
    }


@app.command()
def prepare() -> None:
    """Parse the dbt project into the manifest Dagster loads (run at build/deploy time)."""
    from .project import dbt_project, prepare_manifest

    t0 = time.monotonic()
    prepare_manifest(force=True)
    console.print(f"dbt manifest: {dbt_project.manifest_path} ({time.monotonic() - t0:.1f}s)")


@app.command()
def ui(
    host: str = typer.Option("127.0.0.1", help="Webserver host"),
    port: int = typer.Option(3000, help="Webserver port"),
) -> None:
    """`dagster dev -m taxi_dagster.definitions` (webserver + daemon) with the native
    DAGSTER_HOME; re-parses the dbt project at load (prepare_if_dev)."""
    home = dagster_home()
    dagster = Path(sys.executable).parent / "dagster"
    args = [
        str(dagster) if dagster.exists() else "dagster",
        "dev", "-m", "taxi_dagster.definitions", "-d", str(DAGSTER_DIR),
        "-h", host, "-p", str(port),
    ]  # fmt: skip
    console.print(f"DAGSTER_HOME={home}\nDagster UI: http://{host}:{port}")
    os.execvpe(args[0], args, _child_env())  # dagster dev handles Ctrl-C for its children


def _durations(result: Any) -> list[tuple[str, str, float | None, str]]:
    """(asset, step, seconds, source) for every materialization of the run."""
    from dagster import DagsterEventType

    step_start: dict[str, float] = {}
    rows = []
    for event in result.all_events:
        if event.event_type == DagsterEventType.STEP_START:
            step_start[event.step_key] = event.timestamp
        elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            mat = event.event_specific_data.materialization
            md = {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
            if "duration_s" in md:
                seconds, source = float(md["duration_s"]), "step"
            elif "Execution Duration" in md:
                seconds, source = float(md["Execution Duration"]), "dbt"
            else:
                seconds, source = (
                    event.timestamp - step_start.get(event.step_key, event.timestamp),
                    "since step start",
                )
            rows.append((mat.asset_key.to_user_string(), event.step_key, seconds, source))
    return rows


@app.command()
def run(
    events: Annotated[int, typer.Option("--events", "-n", help="Clean events to produce")] = 10_000,
    mode: Annotated[str, typer.Option(help="burst | realtime | batch")] = "burst",
    seed: Annotated[int | None, typer.Option(help="Random seed (default GENERATOR_SEED)")] = None,
    anomaly_rate: Annotated[float, typer.Option(help="Rate of each anomaly class")] = 0.01,
    days: Annotated[int, typer.Option(help="Days of pickups")] = 3,
) -> None:
    """Materialize the whole taxi_pipeline job in this process (recorded in DAGSTER_HOME, so it
    shows in the UI); exit 1 if a step or a blocking check failed."""
    dagster_home()
    sys.path.insert(0, str(DAGSTER_DIR))
    from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES

    from dagster import DagsterInstance, RunsFilter

    from .definitions import JOB_NAME, WRITER_TAG, defs

    instance = DagsterInstance.get()
    busy = instance.get_run_records(
        RunsFilter(statuses=list(IN_PROGRESS_RUN_STATUSES), tags=WRITER_TAG), limit=1
    )
    if busy:
        console.print(
            f"[bold red]error:[/] run {busy[0].dagster_run.run_id} of {JOB_NAME} is in progress; "
            "the lakehouse takes one writer at a time"
        )
        raise typer.Exit(1)

    run_config = {
        "ops": {
            "raw_trip_events": {
                "config": {
                    "events": events, "mode": mode, "seed": seed,
                    "anomaly_rate": anomaly_rate, "days": days,
                }
            }
        }
    }  # fmt: skip
    t0 = time.monotonic()
    result = defs.resolve_job_def(JOB_NAME).execute_in_process(
        run_config=run_config, instance=instance, raise_on_error=False
    )
    total = time.monotonic() - t0

    table = Table(title=f"{JOB_NAME} run {result.run_id[:8]}: per-asset durations")
    for col, justify in (
        ("asset", "left"),
        ("step", "left"),
        ("seconds", "right"),
        ("from", "left"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    step_total: dict[str, float] = defaultdict(float)
    for asset_key, step, seconds, source in _durations(result):
        table.add_row(asset_key, step, f"{seconds:.2f}" if seconds is not None else "-", source)
    for event in result.all_events:
        if event.is_step_success or event.is_step_failure:
            step_total[event.step_key] = (event.event_specific_data.duration_ms or 0) / 1000
    Console().print(table)
    steps = ", ".join(f"{k} {v:.1f}s" for k, v in step_total.items())
    console.print(f"steps: {steps}")

    evaluations = result.get_asset_check_evaluations()
    failed = [e for e in evaluations if not e.passed]
    console.print(f"asset checks: {len(evaluations) - len(failed)} passed, {len(failed)} failed")
    for e in failed:
        console.print(
            f"  [red]x[/] {e.asset_key.to_user_string()}:{e.check_name} {e.description or ''}"
        )
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                err = event.event_specific_data.error
                console.print(
                    f"[bold red]step {event.step_key} failed:[/] {err.message.strip() if err else ''}"
                )
        console.print(
            f"[bold red]run failed[/] after {total:.1f}s (DAGSTER_HOME={os.environ['DAGSTER_HOME']})"
        )
        raise typer.Exit(1)
    console.print(f"[green]run succeeded[/] in {total:.1f}s")


if __name__ == "__main__":
    app()
