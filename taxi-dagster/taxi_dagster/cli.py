"""Native entry points: `python -m taxi_dagster.cli ui|run|prepare` (taxi-dagster/ is on sys.path
through the editable install; the images set PYTHONPATH).

  ui       dagster dev on 127.0.0.1:3000 (webserver + daemon; the schedule starts off)
  run      materialize the whole graph in this process, print per-asset durations and the check
           results, exit non-zero if any step or blocking check failed
  prepare  parse the dbt project into dbt/target/dagster/manifest.json (build time)

DAGSTER_HOME is <lakehouse_home>/dagster (.lakehouse/dagster), with taxi-dagster/dagster.yaml copied
into it.
"""

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from lakehouse.settings import get_settings

DAGSTER_DIR = Path(__file__).resolve().parent.parent  # the repository's taxi-dagster/ folder
INSTANCE_TEMPLATE = DAGSTER_DIR / "dagster.yaml"

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Dagster for the taxi lakehouse: ui (dagster dev), run (materialize all), prepare (dbt manifest).",
)
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


def _durations(records: list[Any]) -> tuple[list[tuple[str, str, float, str]], dict[str, float]]:
    """From a run's event log: (asset, step, seconds, timed by) per materialization, and the
    wall-clock seconds of each step (start to success/failure)."""
    from dagster import DagsterEventType

    started: dict[str, float] = {}
    steps: dict[str, float] = {}
    rows = []
    for record in records:
        event = record.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            started[event.step_key] = record.timestamp
        elif event.is_step_success or event.is_step_failure:
            steps[event.step_key] = record.timestamp - started.get(event.step_key, record.timestamp)
        elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            mat = event.event_specific_data.materialization
            md = {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
            if "duration_s" in md:  # our assets: the lakehouse step's own timing
                seconds, source = float(md["duration_s"]), "lakehouse step"
            elif "Execution Duration" in md:  # dbt models and seeds: dbt's timing of the node
                seconds, source = float(md["Execution Duration"]), "dbt node"
            else:
                seconds = record.timestamp - started.get(event.step_key, record.timestamp)
                source = "since step start"
            rows.append((mat.asset_key.to_user_string(), event.step_key, seconds, source))
    return rows, steps


@app.command()
def run(
    events: Annotated[int, typer.Option("--events", "-n", help="Clean events to produce")] = 10_000,
    mode: Annotated[str, typer.Option(help="burst | realtime | batch")] = "burst",
    seed: Annotated[int | None, typer.Option(help="Random seed (default GENERATOR_SEED)")] = None,
    anomaly_rate: Annotated[float, typer.Option(help="Rate of each anomaly class")] = 0.01,
    days: Annotated[int, typer.Option(help="Days of pickups")] = 3,
    force: Annotated[
        bool, typer.Option(help="Start even if the instance lists a run in progress (stale).")
    ] = False,
) -> None:
    """Materialize the whole taxi_pipeline job in this process (recorded in DAGSTER_HOME, so it
    shows in the UI); exit 1 if a step or a blocking check failed."""
    dagster_home()
    from dagster import DagsterInstance, RunsFilter
    from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES

    from .definitions import JOB_NAME, WRITER_TAG, defs

    instance = DagsterInstance.get()
    busy = instance.get_run_records(
        RunsFilter(statuses=list(IN_PROGRESS_RUN_STATUSES), tags=WRITER_TAG), limit=1
    )
    if busy and not force:
        console.print(
            f"[bold red]error:[/] run {busy[0].dagster_run.run_id} of {JOB_NAME} is in progress; "
            "the lakehouse takes one writer at a time (--force if that run is stale)"
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
    # INFO: step and check outcomes and dbt's output, without Dagster's per-event DEBUG lines
    run_config["loggers"] = {"console": {"config": {"log_level": "INFO"}}}
    t0 = time.monotonic()
    result = defs.resolve_job_def(JOB_NAME).execute_in_process(
        run_config=run_config, instance=instance, raise_on_error=False
    )
    total = time.monotonic() - t0

    rows, steps = _durations(instance.all_logs(result.run_id))
    table = Table(title=f"{JOB_NAME} run {result.run_id[:8]}: per-asset durations")
    for col in ("asset", "step", "seconds", "timed by"):
        table.add_column(col, justify="right" if col == "seconds" else "left")
    for asset_key, step, seconds, source in rows:
        table.add_row(asset_key, step, f"{seconds:.2f}", source)
    Console().print(table)
    console.print("steps: " + ", ".join(f"{k} {v:.1f}s" for k, v in steps.items()))

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
