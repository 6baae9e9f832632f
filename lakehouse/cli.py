"""`lakehouse` — one CLI for every pipeline step. Make, Kestra, Dagster and the tests call it (or
the functions behind it); no step is implemented twice."""

from __future__ import annotations

import atexit
import gc
import sys
import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from lakehouse.dbt_runner import DOCS_HOST, DOCS_PORT
from lakehouse.output import emit
from lakehouse.query import DEFAULT_MAX_ROWS
from lakehouse.settings import REPO_ROOT, Settings, get_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
stack_app = typer.Typer(no_args_is_help=True, help="Native runtime: start/stop/inspect engines.")
topics_app = typer.Typer(no_args_is_help=True, help="Kafka topics.")
flink_app = typer.Typer(no_args_is_help=True, help="Flink SQL jobs (bronze, silver).")
dbt_app = typer.Typer(no_args_is_help=True, help="dbt gold marts.")
env_app = typer.Typer(no_args_is_help=True, help="Configuration (.env).")
schema_app = typer.Typer(no_args_is_help=True, help="The event schema in the Schema Registry.")
stream_app = typer.Typer(
    no_args_is_help=True, help="Streaming mode: long-running bronze + silver Flink jobs."
)
app.add_typer(stack_app, name="stack")
app.add_typer(topics_app, name="topics")
app.add_typer(flink_app, name="flink")
app.add_typer(dbt_app, name="dbt")
app.add_typer(env_app, name="env")
app.add_typer(schema_app, name="schema")
app.add_typer(stream_app, name="stream")
deadletter_app = typer.Typer(
    no_args_is_help=True,
    help="Dead letters (bronze) and rejected rows (silver): counts, records, re-publishing.",
)
app.add_typer(deadletter_app, name="deadletter")

console = Console(stderr=True)
# Skip the interpreter's final garbage collection: after a dbt invocation it walks dbt's object
# graph for ~0.9 s on 2 cores (measured at the end of `lakehouse pipeline`). Every connection and
# file this CLI writes through is closed explicitly before exit; nothing relies on that pass.
atexit.register(gc.freeze)
JsonOut = Annotated[
    Path | None, typer.Option("--json-out", help="Also write the step's result as JSON here.")
]


def _fail(exc: Exception) -> None:
    console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(1)


# ----------------------------------------------------------------------------- env
@env_app.command("init")
def env_init(
    force: bool = typer.Option(False, help="Overwrite an existing .env"),
    path: Path = typer.Option(REPO_ROOT / ".env", help="Where to write it"),  # noqa: B008
) -> None:
    """Create .env from .env.example, filling every CHANGE_ME with a generated secret."""
    from lakehouse.env_file import write_env_file

    if not write_env_file(path, REPO_ROOT / ".env.example", force=force):
        console.print(f".env exists: {path} (kept)")
        return
    console.print(f"wrote {path} with generated secrets")


# ----------------------------------------------------------------------------- stack
@stack_app.command("up")
def stack_up(
    with_s3: bool = typer.Option(False, "--with-s3", help="Also start MinIO"),
    with_postgres: bool = typer.Option(False, "--with-postgres", help="Also start PostgreSQL"),
    with_registry: bool = typer.Option(
        False, "--with-registry", help="Also start the Schema Registry (on with EVENT_FORMAT=avro)"
    ),
) -> None:
    """Start Kafka, Flink (JobManager, TaskManager, SQL Gateway) and, if asked or configured,
    MinIO, PostgreSQL and the Schema Registry. Health-gated; idempotent."""
    from lakehouse.stack.stack import Stack

    t0 = time.monotonic()
    try:
        Stack(get_settings()).up(
            with_s3=with_s3, with_postgres=with_postgres, with_registry=with_registry
        )
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    console.print(f"native stack up in {time.monotonic() - t0:.1f}s")
    stack_status()


@stack_app.command("down")
def stack_down() -> None:
    """Stop every native service (data is kept)."""
    from lakehouse.stack.stack import Stack

    Stack(get_settings()).down()
    console.print("native stack stopped")


@stack_app.command("serve")
def stack_serve(
    service: str = typer.Argument(
        ...,
        help="kafka | flink-jobmanager | flink-taskmanager | flink-sql-gateway | "
        "schema-registry | postgres | trino-coordinator | trino-worker",
    ),
    database: list[str] | None = typer.Option(  # noqa: B008
        None, "--database", help="postgres: also create this database (repeatable)"
    ),
) -> None:
    """Run one service in the foreground with the native stack's configuration, listening on
    every interface: the main process of a compose container (the images run this)."""
    from lakehouse.stack.stack import Stack

    try:
        Stack(get_settings()).serve(service, database or [])
    except Exception as exc:  # noqa: BLE001
        _fail(exc)


@stack_app.command("status")
def stack_status() -> None:
    """Show each service, its pid, endpoint and health."""
    from lakehouse.stack.stack import Stack

    settings = get_settings()
    table = Table(title=f"native stack ({settings.lakehouse_home})")
    for col in ("service", "pid", "endpoint", "healthy"):
        table.add_column(col)
    for st in Stack(settings).status():
        style = {"yes": "green", "no": "bold red"}.get(st.state, "dim")  # not used: no alarm
        table.add_row(st.name, str(st.pid or "-"), st.endpoint, f"[{style}]{st.state}[/]")
    Console().print(table)
    console.print(f"logs: {settings.logs_dir}")


@stack_app.command("reset")
def stack_reset(
    yes: bool = typer.Option(False, "--yes", help="Do not ask"),
) -> None:
    """Delete the pipeline's data: topics, Iceberg tables, manifests, gold (engines keep running)."""
    settings = get_settings()
    if not yes:
        typer.confirm(
            f"Delete topics, tables and gold under {settings.lakehouse_home}?", abort=True
        )
    from lakehouse.reset import reset_data

    reset_data(settings)
    console.print("pipeline data deleted")


# ----------------------------------------------------------------------------- topics
@topics_app.command("create")
def topics_create(json_out: JsonOut = None) -> None:
    """Create the raw and dead-letter topics and, for EVENT_FORMAT=avro, register the event
    schema under <topic>-value (idempotent)."""
    from lakehouse import topics

    try:
        setup = topics.setup_topics(get_settings())
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    for r in setup.topics:
        console.print(
            f"{r.name}: {'created' if r.created else 'exists'} ({r.partitions} partitions)"
        )
    if setup.schema is not None:
        _print_registered(setup.schema)
    emit(
        setup.to_dict(),
        json_out,
        counters={"topics_created": sum(1 for r in setup.topics if r.created)},
    )


# ----------------------------------------------------------------------------- schema
def _register_schema(settings: Settings, schema_file: Path | None) -> Any:
    from lakehouse import schema_registry

    try:
        result = schema_registry.register(settings, schema_file)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    _print_registered(result)
    return result


def _print_registered(result: Any) -> None:
    console.print(
        f"schema {result.schema_file} registered under {result.subject}: id {result.schema_id}, "
        f"version {result.version}, compatibility {result.compatibility}"
    )


SchemaFile = Annotated[
    Path | None,
    typer.Option("--file", "-f", help="Avro schema file (default: EVENT_SCHEMA_FILE)"),
]


@schema_app.command("register")
def schema_register(schema_file: SchemaFile = None, json_out: JsonOut = None) -> None:
    """Register the event schema under <topic>-value with the configured compatibility level;
    the registry refuses an incompatible change (exit 1, its message printed)."""
    result = _register_schema(get_settings(), schema_file)
    emit(result.to_dict(), json_out)


@schema_app.command("check")
def schema_check(schema_file: SchemaFile = None, json_out: JsonOut = None) -> None:
    """Ask the registry whether a (changed) schema file is compatible with the subject; registers
    nothing. Exit 1 if it is not."""
    from lakehouse import schema_registry

    settings = get_settings()
    path = schema_file or settings.event_schema_file
    try:
        result = schema_registry.check(settings, path)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    emit(result.to_dict(), json_out)
    verdict = "[green]compatible[/]" if result.compatible else "[bold red]INCOMPATIBLE[/]"
    console.print(
        f"{path}: {verdict} with {result.subject} versions {result.versions} "
        f"({result.compatibility})"
    )
    for message in result.messages:
        console.print(f"  {message}")
    if not result.compatible:
        raise typer.Exit(1)


# ----------------------------------------------------------------------------- generate
@app.command()
def generate(
    events: int = typer.Option(10_000, "--events", "-n", help="Clean events to produce"),
    mode: str = typer.Option("burst", help="burst | realtime | batch"),
    rate: float | None = typer.Option(None, help="Cap at this many messages/s"),
    speedup: float = typer.Option(60.0, help="realtime: event seconds per wall second"),
    batch_size: int = typer.Option(1000, help="batch: messages per interval"),
    batch_interval: float = typer.Option(1.0, help="batch: seconds between batches"),
    seed: str = typer.Option(
        "auto",
        help="Random seed; 'auto' = GENERATOR_SEED + runs already on the topic (a rerun adds "
        "new trips; the same explicit seed twice re-sends the same trips)",
    ),
    start_date: str | None = typer.Option(None, help="First pickup date, YYYY-MM-DD"),
    days: int = typer.Option(1, help="Days of pickups to spread the events over"),
    anomaly_rate: float = typer.Option(
        0.0, help="Rate of each anomaly class (duplicates, malformed, ...) per clean event"
    ),
    late_rate: float | None = typer.Option(
        None, help="Share of late events (default: anomaly rate)"
    ),
    progress: bool = typer.Option(True, help="Show a progress bar"),
    from_path: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Replay NYC TLC yellow-trip Parquet files (a file or a directory) instead of "
            "generating: real rows, pickups shifted to the recent past by whole weeks",
        ),
    ] = None,
    json_out: JsonOut = None,
) -> None:
    """Produce taxi-trip events to Kafka and write the run manifest."""
    from taxi_generator.anomalies import AnomalyRates
    from taxi_generator.producer import run_generator, run_replay

    try:
        if from_path is not None:
            manifest = run_replay(
                get_settings(), from_path, rate=rate, progress=progress and sys.stderr.isatty()
            )
        else:
            manifest = run_generator(
                get_settings(),
                events=events,
                mode=mode,
                rate=rate,
                speedup=speedup,
                batch_size=batch_size,
                batch_interval_s=batch_interval,
                seed=None if seed == "auto" else int(seed),
                start_date=date.fromisoformat(start_date) if start_date else None,
                days=days,
                anomalies=AnomalyRates.uniform(anomaly_rate, late=late_rate),
                progress=progress and sys.stderr.isatty(),
            )
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    d = manifest.to_dict()
    console.print(
        f"generated run {d['run_id']} ({d['event_format']}): {d['messages_acked']} messages acked "
        f"({d['events_per_s']:.0f} events/s), counts {d['counts']}"
    )
    if "rows_read" in d:  # a replay: every row read is sent, or not sent and reported
        line = f"replay: {d['rows_read']} rows read, {d['messages_acked']} sent, "
        line += f"{d['not_sent']} not sent"
        if d["not_sent"]:
            line += f" (the Avro schema cannot carry them: {d['not_sent_by_reason']}), "
            line += f"listed in {d['not_sent_report']}"
        console.print(line, highlight=False, markup=False, soft_wrap=True)  # the path in one piece
    emit(
        d,
        json_out,
        counters={
            "messages_acked": d["messages_acked"],
            **{f"events_{k}": v for k, v in d["counts"].items()},
        },
        timers={"generate_duration": d["duration_s"]},
        tags={"mode": d["mode"]},
        # up to 10,000 keys: kept in the manifest and --json-out, not in Kestra's outputs
        omit_from_outputs=("late_event_keys",),
    )


# ----------------------------------------------------------------------------- flink
@flink_app.command("bronze")
def flink_bronze(json_out: JsonOut = None) -> None:
    """Kafka -> bronze.raw_trips + dead letter (bounded, incremental, idempotent)."""
    from lakehouse.flink.jobs import run_bronze

    try:
        result = run_bronze(get_settings())
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    console.print(
        f"bronze: {'skipped (' + result.reason + ')' if result.skipped else 'job finished'} "
        f"in {result.seconds:.1f}s; {result.counts}"
    )
    emit(
        result.to_dict(),
        json_out,
        counters={**result.counts, "new_messages": result.offsets.get("new_messages", 0)},
        timers={"bronze_duration": result.seconds},
    )


@flink_app.command("silver")
def flink_silver(
    full: bool = typer.Option(
        False, "--full", help="Recompute silver from all of bronze (default: only new rows)"
    ),
    json_out: JsonOut = None,
) -> None:
    """bronze -> silver.trips (clean, deduplicated) + silver.trips_rejected, incrementally."""
    from lakehouse.flink.jobs import run_silver

    try:
        result = run_silver(get_settings(), full=full)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    o = result.offsets
    what = (
        "nothing new" if result.skipped
        else f"{o['mode']}, {o['new_rows']} new bronze rows in {o['touched_dates']} pickup dates"
        if o["mode"] == "incremental" else "full recompute"
    )  # fmt: skip
    console.print(f"silver ({what}): {result.seconds:.1f}s; {result.counts}")
    emit(
        result.to_dict(),
        json_out,
        counters=result.counts,
        timers={"silver_duration": result.seconds},
    )


@flink_app.command("wait")
def flink_wait(
    timeout: float = typer.Option(600.0, help="Give up after this many seconds"),
    interval: float = typer.Option(5.0, help="Seconds between checks"),
    json_out: JsonOut = None,
) -> None:
    """Wait until bronze covers the topic's end offsets and silver is newer than bronze."""
    from lakehouse.flink.wait import ProcessingIncomplete, wait_for_processing

    try:
        status = wait_for_processing(get_settings(), timeout_s=timeout, interval_s=interval)
    except ProcessingIncomplete as exc:
        emit(exc.status.to_dict(), json_out)
        _fail(exc)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    console.print(
        f"processing complete after {status.waited_s:.1f}s ({status.checks} checks): "
        f"end offsets {status.end_offsets}"
    )
    emit(status.to_dict(), json_out, timers={"wait_duration": status.waited_s})


# ----------------------------------------------------------------------------- stream
@stream_app.command("start")
def stream_start(
    fresh: bool = typer.Option(
        False, help="Ignore savepoints/checkpoints: bronze from the stored offsets, silver rebuilt"
    ),
    json_out: JsonOut = None,
) -> None:
    """Start the streaming bronze and silver jobs (checkpointed, exactly-once), resuming each
    from its newest savepoint or retained checkpoint."""
    from lakehouse.flink import streaming

    try:
        result = streaming.start(get_settings(), fresh=fresh)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    for job, info in result.jobs.items():
        restored = info.get("restored_from")
        console.print(
            f"{job}: {info['action']} ({info['job_id']})"
            + (f", restored from {restored}" if restored else "")
        )
    emit(result.to_dict(), json_out)


@stream_app.command("stop")
def stream_stop(
    savepoint: bool = typer.Option(True, help="Stop with a savepoint (else cancel)"),
    json_out: JsonOut = None,
) -> None:
    """Stop the streaming jobs, silver first, each with a savepoint the next start resumes from."""
    from lakehouse.flink import streaming

    try:
        result = streaming.stop(get_settings(), savepoint=savepoint)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    for job, info in result.items():
        console.print(f"{job}: {info['action']}" + (f" -> {info['savepoint']}" if info.get(
            "savepoint") else ""))  # fmt: skip
    emit(result, json_out)


@stream_app.command("status")
def stream_status(json_out: JsonOut = None) -> None:
    """Job states, checkpoints, lag (messages not yet in bronze), last Iceberg commits."""
    from lakehouse.flink import streaming

    try:
        st = streaming.status(get_settings())
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    table = Table(title="streaming jobs")
    for col in ("job", "state", "job id", "checkpoints", "last checkpoint"):
        table.add_column(col)
    for job, info in st.jobs.items():
        last = info.get("last_checkpoint_ms")
        table.add_row(
            job, info["state"], str(info.get("job_id") or "-"),
            str(info.get("checkpoints_completed") or "-"),
            time.strftime("%H:%M:%S", time.localtime(last / 1000)) if last else "-",
        )  # fmt: skip
    Console().print(table)
    console.print(f"lag (messages not yet committed to bronze): {st.total_lag} {st.lag}")
    for name, snap in st.last_commit.items():
        at = snap.get("committed_at_ms")
        console.print(
            f"last commit {name}: "
            + (time.strftime("%H:%M:%S", time.localtime(at / 1000)) if at else "none")
        )
    emit(st.to_dict(), json_out, counters={"kafka_lag": st.total_lag})


@stream_app.command("freshness")
def stream_freshness(
    since_ms: int | None = typer.Option(None, help="Only rows produced at/after (epoch ms)"),
    json_out: JsonOut = None,
) -> None:
    """Production -> visible in silver, p50/p95/max seconds (Kafka timestamp vs commit)."""
    from lakehouse.freshness import silver_freshness

    try:
        fr = silver_freshness(get_settings(), since_ms)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    console.print(
        f"silver freshness over {fr.rows} rows: p50 {fr.p50_s}s, p95 {fr.p95_s}s, max {fr.max_s}s"
    )
    emit(fr.to_dict(), json_out)


# ----------------------------------------------------------------------------- maintain
@app.command()
def maintain(
    table: Annotated[
        list[str] | None,
        typer.Option("--table", "-t", help="ns.table (repeatable; default: bronze + silver)"),
    ] = None,
    compact: bool = typer.Option(True, help="Compact small data files"),
    expire: bool = typer.Option(True, help="Expire old snapshots (MAINTENANCE_* settings)"),
    orphans: bool = typer.Option(True, help="Delete orphan files older than the orphan age"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report only; commit/delete nothing"),
    json_out: JsonOut = None,
) -> None:
    """Iceberg maintenance with Iceberg's own APIs: compaction, snapshot expiry, orphan cleanup."""
    from lakehouse.maintenance import run_maintenance

    try:
        result = run_maintenance(
            get_settings(), table, compact=compact, expire=expire, orphans=orphans,
            dry_run=dry_run,
        )  # fmt: skip
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    for t in result.tables:
        comp = t.get("compaction") or {}
        console.print(
            f"{t['table']}: data files {t.get('data_files_before')} -> {t.get('data_files_after')}"
            f" (rewrote {comp.get('rewritten_data_files', 0)}), snapshots "
            f"{t.get('snapshots_before')} -> {t.get('snapshots_after')}, orphans deleted "
            f"{t.get('orphan_files_deleted')}"
        )
    emit(
        result.to_dict(),
        json_out,
        counters=result.counters(),
        timers={"maintenance_duration": result.seconds},
    )


# ----------------------------------------------------------------------------- dbt
def _dbt(command: str, json_out: Path | None, extra: list[str] | None = None) -> None:
    from lakehouse.dbt_runner import run_dbt

    try:
        result = run_dbt(get_settings(), command, extra)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    console.print(f"dbt {command}: {result.summary} ({result.seconds:.1f}s)")
    emit(result.__dict__, json_out, timers={f"dbt_{command}_duration": result.seconds})


@dbt_app.command("build")
def dbt_build(
    full_refresh: bool = typer.Option(
        False, "--full-refresh", help="Rebuild gold from every silver row (default: only new rows)"
    ),
    if_new_silver: bool = typer.Option(
        False,
        "--if-new-silver",
        help="Skip the build when gold has consumed silver's current snapshots (the streaming "
        "gold refresh polls with it)",
    ),
    json_out: JsonOut = None,
) -> None:
    """dbt build: seeds, models, data tests and unit tests; fails on any error-severity test.

    Incremental: gold takes the silver rows committed since the snapshot it last consumed."""
    if if_new_silver and not full_refresh:
        from lakehouse.gold import silver_changes

        changes = silver_changes(get_settings())
        if not any(c.new for c in changes):
            console.print("gold is current: no silver snapshot since the last build")
            emit({"skipped": True, "silver": [c.__dict__ for c in changes]}, json_out,
                  counters={"dbt_build_skipped": 1})  # fmt: skip
            return
    _dbt("build", json_out, ["--full-refresh"] if full_refresh else None)


@dbt_app.command("compare-full-refresh")
def dbt_compare_full_refresh(json_out: JsonOut = None) -> None:
    """Build gold incrementally, rebuild it from scratch into a second DuckDB file
    (gold_full_refresh.duckdb beside it) and compare every gold table row for row.
    Run it while silver is quiet (no streaming job committing)."""
    from lakehouse.gold import compare_full_refresh

    try:
        result = compare_full_refresh(get_settings())
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    table = Table(title="gold: incremental vs full refresh")
    for col in ("table", "rows", "only incremental", "only full refresh"):
        table.add_column(col, justify="left" if col == "table" else "right")
    for t in result.tables:
        table.add_row(t.table, str(t.rows), str(t.only_incremental), str(t.only_full))
    console.print(table)
    data = {"equal": result.equal, "same_silver": result.same_silver, "missing": result.missing,
            "tables": [t.__dict__ for t in result.tables]}  # fmt: skip
    emit(data, json_out)
    if not result.same_silver:
        _fail(RuntimeError(f"silver moved between the two builds {result.silver_snapshots}: "
                           "rerun when no streaming job is committing"))  # fmt: skip
    if not result.equal:
        _fail(RuntimeError(f"incremental gold differs from a full refresh (missing tables: "
                           f"{result.missing or 'none'}); see the table above"))  # fmt: skip
    console.print(f"equal: {len(result.tables)} tables, row for row ({result.full})")


@dbt_app.command("test")
def dbt_test(json_out: JsonOut = None) -> None:
    """dbt test only (data and unit tests against the existing gold)."""
    _dbt("test", json_out)


@dbt_app.command("docs")
def dbt_docs(
    port: int = typer.Option(DOCS_PORT, help="Port of the docs server"),
    host: str = typer.Option(
        DOCS_HOST,
        help="Address to bind: this machine only by default (in a container: 0.0.0.0, "
        "published on the host's 127.0.0.1)",
    ),  # fmt: skip
) -> None:
    """dbt docs generate, then serve them (models, columns, tests, lineage) until Ctrl-C."""
    from lakehouse.dbt_runner import serve_docs
    from lakehouse.gold import require_gold

    settings = get_settings()
    try:
        if settings.gold_engine == "duckdb":
            require_gold(settings)  # dbt would create an empty gold file to describe
        serve_docs(
            settings, port, lambda url: console.print(f"dbt docs: {url}  (Ctrl-C stops)"), host
        )
    except KeyboardInterrupt:
        console.print("dbt docs stopped")
    except Exception as exc:  # noqa: BLE001
        _fail(exc)


# ----------------------------------------------------------------------------- gold: query, report
@app.command()
def query(
    sql: Annotated[
        str | None,
        typer.Argument(help="SQL to run and exit (or -c); none: the interactive shell"),
    ] = None,
    command: Annotated[
        str | None, typer.Option("--command", "-c", help="SQL to run and exit")
    ] = None,
    max_rows: int = typer.Option(DEFAULT_MAX_ROWS, help="Rows to print per result"),
) -> None:
    """SQL on the gold marts (DuckDB, read-only): run SQL and exit, or an interactive shell
    (`.tables` lists the marts). SQL piped on stdin runs too."""
    from lakehouse import query as q

    if sql is not None and command is not None:
        _fail(ValueError("give the SQL once: as the argument or with -c"))
    text = command if command is not None else sql
    if text is None and not sys.stdin.isatty():
        text = sys.stdin.read()
    settings, out = get_settings(), Console()
    try:
        if text is None:
            q.repl(settings, out, console, max_rows)
        elif text.strip().startswith("."):
            q.meta(text, settings, out, max_rows)
        else:
            q.run_sql(settings, text, out, max_rows)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)


@app.command()
def report(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="HTML file to write (default: <LAKEHOUSE_HOME>/report/index.html)"
        ),
    ] = None,
    top_zones: int = typer.Option(10, help="Pickup zones to chart"),
) -> None:
    """A static HTML page on the gold marts: daily revenue, demand per pickup hour, the top
    pickup zones (charts and their figures; no network needed to view it)."""
    from lakehouse.report import write_report

    try:
        path, data = write_report(get_settings(), out, top_zones)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    console.print(
        f"report on {data.trips:,} trips, {len(data.days)} days, top {len(data.zones)} zones:"
    )
    print(path.resolve())


# ----------------------------------------------------------------------------- verify
@app.command()
def verify(
    gold: bool = typer.Option(True, help="Also reconcile gold fct_trips"),
    json_out: JsonOut = None,
) -> None:
    """Reconcile manifests, Kafka offsets, bronze, dead letter, silver and gold."""
    from lakehouse.verify import VerificationError, run_verify

    try:
        report = run_verify(get_settings(), include_gold=gold)
    except VerificationError as exc:
        _print_checks(exc.report)
        emit(exc.report.to_dict(), json_out, counters=exc.report.counters())
        _fail(exc)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    _print_checks(report)
    emit(report.to_dict(), json_out, counters=report.counters())


def _print_checks(report: Any) -> None:
    table = Table(title="reconciliation")
    for col in ("check", "expected", "actual", "ok", "rule"):
        table.add_column(col)
    for c in report.checks:
        table.add_row(
            c.name,
            str(c.expected),
            str(c.actual),
            "[green]ok[/]" if c.ok else "[red]FAIL[/]",
            c.rule,
        )
    Console(stderr=True).print(table)


# ----------------------------------------------------------------------------- dead letters
@deadletter_app.command("list")
def deadletter_list(json_out: JsonOut = None) -> None:
    """Rows per reason: bronze's dead letter and silver's rejected rows."""
    from lakehouse import deadletter

    try:
        counts = deadletter.summary(get_settings())
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    out = Console()
    for title, key in (("bronze dead letter", "dead_letter"), ("silver rejected", "rejected")):
        table = Table(title=title)
        table.add_column("reason")
        table.add_column("rows", justify="right")
        for reason, n in counts[key].items():
            table.add_row(reason, str(n))
        table.add_row("[bold]total[/]", f"[bold]{sum(counts[key].values())}[/]")
        out.print(table)
    out.print(
        "show records: lakehouse deadletter show --reason <reason>; correct and re-publish: "
        "lakehouse deadletter export --out FILE, edit 'value', lakehouse deadletter republish FILE"
    )
    emit(counts, json_out)


@deadletter_app.command("show")
def deadletter_show(
    reason: str | None = typer.Option(None, help="A reason or reason class (e.g. out_of_range)"),
    limit: int = typer.Option(10, help="Records to show (0 = all)"),
    width: int = typer.Option(200, help="Characters of each value to show"),
) -> None:
    """Show dead letters: source, reason, size and value (text, or hex when it is not UTF-8)."""
    from lakehouse import deadletter

    try:
        rows = deadletter.records(get_settings(), reason=reason, limit=limit)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    if not rows:
        console.print("no dead letters" + (f" with reason {reason}" if reason else ""))
        return
    for r in rows:
        for line in r.preview(width):
            print(line)


@deadletter_app.command("export")
def deadletter_export(
    out: Annotated[Path, typer.Option("--out", help="JSON lines file to write")],
    reason: str | None = typer.Option(None, help="Only this reason or reason class"),
) -> None:
    """Write dead letters as JSON lines to correct by hand ('value' = the event as JSON text)."""
    from lakehouse import deadletter

    try:
        n = deadletter.export(get_settings(), out, reason=reason)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    console.print(
        f"wrote {n} dead letters to {out}: correct each 'value', then "
        f"`lakehouse deadletter republish {out}`"
    )


@deadletter_app.command("republish")
def deadletter_republish(
    path: Annotated[Path, typer.Argument(help="A file written by `deadletter export`, corrected")],
    json_out: JsonOut = None,
) -> None:
    """Produce corrected records to the raw topic, once each (then run bronze, silver, gold)."""
    from lakehouse import deadletter

    try:
        result = deadletter.republish(get_settings(), path)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    skipped = len(result.skipped_already_done)
    console.print(
        f"republished {result.republished} records"
        + (f"; skipped {skipped} already republished" if skipped else "")
        + (f"; manifest {result.manifest}" if result.manifest else "")
    )
    emit(
        {"republished": result.republished, "skipped": result.skipped_already_done,
         "manifest": result.manifest},
        json_out,
    )  # fmt: skip


# ----------------------------------------------------------------------------- pipeline
@app.command()
def pipeline(
    events: int = typer.Option(10_000, "--events", "-n"),
    anomaly_rate: float = typer.Option(0.01),
    seed: int | None = typer.Option(None),
    days: int = typer.Option(3),
    json_out: JsonOut = None,
) -> None:
    """All steps in order: topics, generate, bronze, silver, dbt build, verify; prints a summary."""
    from lakehouse.pipeline import run_pipeline, summary_table

    try:
        result = run_pipeline(
            get_settings(), events=events, anomaly_rate=anomaly_rate, seed=seed, days=days
        )
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    Console().print(summary_table(result))
    emit(result, json_out)


@app.command("next-steps")
def next_steps() -> None:
    """Where gold is and what to try next (printed at the end of `make demo`)."""
    s = get_settings()
    lines = [
        f"Gold (DuckDB):       {s.gold_path}",
        "  query it:          make query  (SQL shell; .tables lists fct_trips, dim_*, mart_*)",
        f"  dbt docs:          make dbt-docs  (models, tests, lineage: http://127.0.0.1:{DOCS_PORT})",
        f"  report:            make report  -> {s.report_path}",
        f"Flink dashboard:     {s.flink_rest_url}  (the finished bronze and silver jobs)",
        "More events:         make pipeline EVENTS=50000  (incremental: only the new rows are "
        "processed)",
        "Streaming:           make stream-start, make stream-status, make stream-stop",
        "Dagster UI:          make dagster-ui  (http://127.0.0.1:3000)",
        "Dead letters:        make deadletter",
        "Measure:             make benchmark-native",
        "Stop (data kept):    make down        Delete everything: make clean",
    ]
    console.print("[bold]Next steps[/bold]")
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
