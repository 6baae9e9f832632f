"""Bronze and silver as Flink SQL jobs: render flink/sql/*.sql with the settings, submit them
through the SQL Gateway, wait for the jobs, and report what they did."""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lakehouse import catalog as cat
from lakehouse import contract, silver_rules, topics
from lakehouse.flink.gateway import JobResult, SqlGateway
from lakehouse.settings import REPO_ROOT, Settings

SQL_DIR = REPO_ROOT / "flink" / "sql"
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def render(text: str, params: dict[str, str]) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in params:
            raise KeyError(f"SQL placeholder ${{{name}}} has no value")
        return params[name]

    return _PLACEHOLDER.sub(sub, text)


def split_statements(text: str) -> list[str]:
    """Split a SQL script on ';' at line ends; EXECUTE STATEMENT SET ... END; stays whole."""
    statements: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("--")):
            continue
        if stripped.startswith("--"):
            continue
        current.append(line)
        head = " ".join(" ".join(current).split()).upper()
        in_set = head.startswith("EXECUTE STATEMENT SET")
        if (in_set and stripped.upper() == "END;") or (not in_set and stripped.endswith(";")):
            statements.append("\n".join(current).strip().rstrip(";"))
            current = []
    if current and "".join(current).strip():
        statements.append("\n".join(current).strip().rstrip(";"))
    return statements


#: Every table's Iceberg properties (one list for the CREATE TABLEs of flink/sql).
#: 16 MB row groups: Iceberg 1.11 always reads Parquet with vectored IO, and Hadoop's local file
#: system intermittently never completed a ~36 MB row-group range (1M-row runs).
ICEBERG_TABLE_PROPERTIES = ",\n  ".join(
    f"'{k}' = '{v}'"
    for k, v in {
        "format-version": "2",
        "write.format.default": "parquet",
        "write.parquet.compression-codec": "zstd",
        "write.parquet.row-group-size-bytes": "16777216",
    }.items()
)


def _quote(value: str) -> str:
    return value.replace("'", "''")


def base_params(settings: Settings) -> dict[str, str]:
    options = settings.java_catalog_options()
    catalog_options = "".join(f",\n  '{k}' = '{_quote(v)}'" for k, v in options.items())
    return {
        "catalog": settings.iceberg_catalog_name,
        "jdbc_uri": settings.jdbc_catalog_uri,
        "warehouse": settings.warehouse_uri,
        "catalog_options": catalog_options,
        "bronze_db": settings.bronze_namespace,
        "silver_db": settings.silver_namespace,
        "topic": settings.topic_raw,
        "dlq_topic": settings.topic_dlq,
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "runtime_mode": "batch",
        "event_format": settings.event_format,
        # silver, batch (streaming.py overrides these for the long-running job)
        "proctime_column": "",
        "bronze_read_options": "",
        "silver_write_options": "",
        "dedup_order": "kafka_partition, kafka_offset",
        "silver_insert": "INSERT OVERWRITE",
        "silver_rule_case": silver_rules.flink_case(),
        "silver_flag_columns": silver_rules.flink_flag_columns(),
        "silver_flag_ddl": silver_rules.flink_flag_ddl(),
        "silver_flag_names": silver_rules.flag_names(),
        "iceberg_table_properties": ICEBERG_TABLE_PROPERTIES,
        # the event's columns (contracts/raw_trip.avsc)
        **contract.sql_params(),
        # silver, full recompute (plan_silver narrows these for an incremental run)
        "bronze_new_rows": "TRUE",
        "not_in_silver": "",
        "rejected_after": "TRUE",
        "schema_registry_url": _quote(settings.schema_registry_url),
    }


_CREATE_TABLE = re.compile(r"^CREATE TABLE IF NOT EXISTS (\S+)\.(\w+) \((.*)\n\)", re.S)
_COLUMN = re.compile(r"^\s*(\w+)\s+([A-Z]+(?:\(\d+(?:,\s*\d+)?\))?)(\s+NOT NULL)?,?\s*$")


def declared_tables(params: dict[str, str]) -> dict[str, list[cat.DeclaredColumn]]:
    """The Iceberg tables flink/sql's CREATE TABLEs declare (``namespace.table`` -> columns), as
    rendered with ``params``: what an existing table must have (``catalog.add_missing_columns``)."""
    tables: dict[str, list[cat.DeclaredColumn]] = {}
    for script in ("10_bronze.sql", "20_silver.sql"):
        for stmt in split_statements((SQL_DIR / script).read_text()):
            if not stmt.startswith("CREATE TABLE IF NOT EXISTS"):
                continue
            m = _CREATE_TABLE.match(render(stmt, params))
            if m is None:
                raise ValueError(f"{script}: cannot read the columns of: {stmt[:80]}")
            namespace = m.group(1).split(".", 1)[-1]  # catalog.namespace
            columns = [_COLUMN.match(line) for line in m.group(3).splitlines()]
            tables[f"{namespace}.{m.group(2)}"] = [
                cat.DeclaredColumn(c.group(1), c.group(2), bool(c.group(3))) for c in columns if c
            ]
    return tables


@dataclass
class StepResult:
    step: str
    skipped: bool = False
    reason: str = ""
    job: dict[str, Any] | None = None
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    offsets: dict[str, Any] = field(default_factory=dict)
    snapshots: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: session properties of the bounded (batch) jobs
BATCH_PROPERTIES = {
    # a bounded job that fails is retried once, then reported (no endless restarts)
    "restart-strategy.type": "fixed-delay",
    "restart-strategy.fixed-delay.attempts": "1",
    "restart-strategy.fixed-delay.delay": "1s",
}


def submit_script(
    settings: Settings,
    script: Path,
    params: dict[str, str],
    properties: dict[str, str],
    on_job: Any = None,
) -> list[str]:
    """Run the catalog DDL and ``script``'s statements in one SQL Gateway session with
    ``properties``; returns the ids of the jobs the script submitted. ``on_job(job_id)`` is called
    as each job is submitted (the batch path waits for it there)."""
    # tables created by an older release get the columns added since
    cat.add_missing_columns(settings, declared_tables(params))
    gateway = SqlGateway(settings.flink_gateway_url, settings.flink_rest_url)
    session = gateway.open_session(properties)
    job_ids: list[str] = []
    try:
        # split first, render after: comments never receive rendered values
        for stmt in split_statements((SQL_DIR / "00_catalog.sql").read_text()):
            gateway.execute(session, render(stmt, params))
        gateway.execute(session, f"USE CATALOG {settings.iceberg_catalog_name}")
        for stmt in split_statements(script.read_text()):
            result = gateway.execute(session, render(stmt, params))
            if result["job_id"]:
                job_ids.append(result["job_id"])
                if on_job is not None:
                    on_job(gateway, result["job_id"])
    finally:
        gateway.close_session(session)
        gateway.close()
    return job_ids


def _run_script(settings: Settings, script: Path, params: dict[str, str]) -> list[JobResult]:
    jobs: list[JobResult] = []

    def wait(gateway: SqlGateway, job_id: str) -> None:
        jobs.append(gateway.wait_for_job(job_id, settings.flink_job_timeout_s))

    submit_script(
        settings,
        script,
        params,
        {"parallelism.default": str(settings.flink_parallelism), **BATCH_PROPERTIES},
        on_job=wait,
    )
    return jobs


def _offset_spec(offsets: dict[int, int]) -> str:
    return ";".join(f"partition:{p},offset:{o}" for p, o in sorted(offsets.items()))


@dataclass
class BronzePlan:
    """Where a bronze run starts and stops, per partition.

    bronze.raw_trips and bronze.trips_dead_letter are two Iceberg tables, each committed on its
    own: a failed run can leave one committed and not the other (in batch mode a failed region
    is retried on its own, and each sink commits when its input ends). So each table has its
    own high-water mark (``*_done``: highest offset it holds per partition), the Kafka read
    starts after the lower one, and each insert keeps only the records after its own table's
    mark: a rerun completes whichever table is behind and duplicates nothing in the other.
    """

    start: dict[int, int]
    stop: dict[int, int]
    raw_done: dict[int, int]
    dlq_done: dict[int, int]
    #: the dead-letter sink's producer request size: the raw topic's record limit plus headroom
    #: for the headers (topics.ensure_dead_letter_capacity), so any record Kafka took fits
    dlq_max_request_bytes: int = 1_048_588 + topics.DLQ_HEADROOM_BYTES

    @property
    def new_messages(self) -> int:
        return sum(max(0, self.stop[p] - self.start[p]) for p in self.stop)


def _after(done: dict[int, int]) -> str:
    """SQL predicate: the record is after ``done`` (highest stored offset) of its partition."""
    if not done:
        return "TRUE"
    cases = " ".join(f"WHEN {p} THEN {o}" for p, o in sorted(done.items()))
    return f"kafka_offset > CASE kafka_partition {cases} ELSE -1 END"


def _done_property(topic: str) -> str:
    return f"lakehouse.bronze.processed-offsets.{topic}"


def _done_marks(table: Any, topic: str) -> dict[int, int]:
    """The per-partition offsets a finished bronze run recorded on the table (see run_bronze)."""
    if table is None:
        return {}
    raw = table.properties.get(_done_property(topic))
    return {int(p): int(o) for p, o in json.loads(raw).items()} if raw else {}


def _merge_max(*marks: dict[int, int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for m in marks:
        for p, o in m.items():
            out[p] = max(out.get(p, -1), o)
    return out


def plan_bronze(settings: Settings) -> BronzePlan:
    """Start/stop offsets per partition: after what the table that is behind (bronze or dead
    letter) already holds, up to the current end of the topic.

    A table's mark is the highest offset it holds, or what the last *finished* run recorded on it
    (a run reads every record up to its stop offsets: the dead letter is complete through them
    even where its last row is far earlier), whichever is higher."""
    catalog = cat.load_catalog(settings)
    ns = settings.bronze_namespace
    topic = settings.topic_raw
    raw = cat.load_table(catalog, f"{ns}.raw_trips")
    dlq = cat.load_table(catalog, f"{ns}.trips_dead_letter")
    raw_done = _merge_max(cat.max_offsets([raw], topic), _done_marks(raw, topic))
    dlq_done = _merge_max(cat.max_offsets([dlq], topic), _done_marks(dlq, topic))
    dlq_bytes = topics.ensure_dead_letter_capacity(settings)
    marks = topics.watermarks(settings, settings.topic_raw)
    start = {
        p: max(low, min(raw_done.get(p, -1), dlq_done.get(p, -1)) + 1)
        for p, (low, _high) in marks.items()
    }
    stop = {p: high for p, (_low, high) in marks.items()}
    return BronzePlan(start, stop, raw_done, dlq_done, dlq_bytes)


def bronze_params(settings: Settings, plan: BronzePlan, bounded: bool) -> dict[str, str]:
    params = base_params(settings)
    options = [
        "'scan.startup.mode' = 'specific-offsets'",
        f"'scan.startup.specific-offsets' = '{_offset_spec(plan.start)}'",
    ]
    if bounded:
        options += [
            "'scan.bounded.mode' = 'specific-offsets'",
            f"'scan.bounded.specific-offsets' = '{_offset_spec(plan.stop)}'",
        ]
    params["startup_options"] = ",\n  ".join(options)
    params["dlq_max_request_bytes"] = str(plan.dlq_max_request_bytes)
    params["raw_after"] = _after(plan.raw_done)
    params["dlq_after"] = _after(plan.dlq_done)
    return params


def run_bronze(settings: Settings) -> StepResult:
    t0 = time.monotonic()
    plan = plan_bronze(settings)
    new = plan.new_messages
    params = bronze_params(settings, plan, bounded=True)
    result = StepResult(
        step="bronze", offsets={"start": plan.start, "stop": plan.stop, "new_messages": new}
    )
    script = SQL_DIR / "10_bronze.sql"
    if new == 0:
        # create the tables (idempotent DDL) but submit no job: nothing to read
        _run_script(settings, _ddl_only(settings, script, "bronze"), params)
        result.skipped, result.reason = True, "no new messages since the last bronze run"
    else:
        result.job = _last_job(_run_script(settings, script, params))
        _record_done(settings, plan)
    _describe_tables(
        result,
        settings,
        settings.bronze_namespace,
        {"raw_trips": "bronze_rows", "trips_dead_letter": "dead_letter_rows"},
    )
    result.seconds = round(time.monotonic() - t0, 3)
    return result


def _record_done(settings: Settings, plan: BronzePlan) -> None:
    """After a finished run (both tables committed): record its stop offsets on both tables, so
    the next plan starts there even for the table whose last row is earlier."""
    catalog = cat.load_catalog(settings)
    ns = settings.bronze_namespace
    key = _done_property(settings.topic_raw)
    reached = {p: o - 1 for p, o in plan.stop.items() if o > 0}
    for name in ("raw_trips", "trips_dead_letter"):
        table = cat.load_table(catalog, f"{ns}.{name}")
        if table is None:
            continue
        marks = _merge_max(_done_marks(table, settings.topic_raw), reached)
        with table.transaction() as tx:
            tx.set_properties({key: json.dumps({str(p): o for p, o in sorted(marks.items())})})


def _silver_done_property(topic: str) -> str:
    return f"lakehouse.silver.processed-offsets.{topic}"


@dataclass
class SilverPlan:
    """The bronze rows a silver run reads: per Kafka partition, offsets in (start, stop].

    A finished run records ``stop`` on both silver tables (``lakehouse.silver.processed-offsets.
    <topic>``); the next one reads only the bronze rows after it, up to what bronze's finished
    runs recorded. ``full``: recompute everything (asked for, or nothing usable recorded: a
    table from an older release, or silver written by the streaming job).
    """

    full: bool
    start: dict[int, int]
    stop: dict[int, int]
    touched_dates: list[str] = field(default_factory=list)
    new_rows: int = 0
    rejected_done: dict[int, int] = field(default_factory=dict)


def _offset_range(start: dict[int, int], stop: dict[int, int]) -> str:
    """Predicate (Flink SQL and pyiceberg alike): offsets in (start, stop] per partition."""
    parts = [
        f"(kafka_partition = {p} AND kafka_offset >= {start.get(p, -1) + 1} "
        f"AND kafka_offset <= {o})"
        for p, o in sorted(stop.items())
        if o > start.get(p, -1)
    ]
    return "(" + " OR ".join(parts) + ")" if parts else ""


def plan_silver(settings: Settings, *, full: bool = False) -> SilverPlan:
    catalog = cat.load_catalog(settings)
    topic = settings.topic_raw
    raw = cat.load_table(catalog, f"{settings.bronze_namespace}.raw_trips")
    trips = cat.load_table(catalog, f"{settings.silver_namespace}.trips")
    rejected = cat.load_table(catalog, f"{settings.silver_namespace}.trips_rejected")
    # what bronze's finished runs hold (a failed run's rows are processed once it completes)
    stop = _done_marks(raw, topic) or cat.max_offsets([raw], topic)
    key = _silver_done_property(topic)
    recorded = [
        {int(p): int(o) for p, o in json.loads(t.properties[key]).items()}
        for t in (trips, rejected)
        if t is not None and key in t.properties
    ]
    first_run = cat.row_count(trips) == 0 and cat.row_count(rejected) == 0
    if full or (len(recorded) < 2 and not first_run):
        return SilverPlan(full=True, start={}, stop=stop)
    start = (
        {p: min(recorded[0].get(p, -1), recorded[1].get(p, -1)) for p in stop}
        if len(recorded) == 2
        else {}
    )
    plan = SilverPlan(full=False, start=start, stop=stop)
    predicate = _offset_range(start, stop)
    if not predicate:
        return plan
    import pyarrow as pa
    import pyarrow.compute as pc

    # the filter's columns must be selected too (pyiceberg evaluates residuals on the rows)
    new = cat.read_columns(
        raw,
        ("pickup_ts", "kafka_topic", "kafka_partition", "kafka_offset"),
        f"kafka_topic = '{topic}' AND {predicate}",
    )
    plan.new_rows = new.num_rows
    dates = pc.unique(pc.cast(new["pickup_ts"], pa.date32())).to_pylist() if new.num_rows else []
    plan.touched_dates = sorted(str(d) for d in dates if d is not None)
    plan.rejected_done = cat.max_offsets([rejected], topic)
    return plan


def silver_params(settings: Settings, plan: SilverPlan) -> dict[str, str]:
    params = base_params(settings)
    if plan.full:
        return params
    params["silver_insert"] = "INSERT INTO"
    params["bronze_new_rows"] = _offset_range(plan.start, plan.stop) or "FALSE"
    if plan.touched_dates:
        dates = ", ".join(f"DATE '{d}'" for d in plan.touched_dates)
        params["not_in_silver"] = (
            f" AND trip_id NOT IN (SELECT trip_id FROM {settings.iceberg_catalog_name}."
            f"{settings.silver_namespace}.trips WHERE pickup_date IN ({dates}))"
        )
    params["rejected_after"] = _after(plan.rejected_done)
    return params


def run_silver(settings: Settings, *, full: bool = False) -> StepResult:
    """Silver from the bronze rows that are new since the last run (``full``: from all of
    bronze); records the bronze offsets it processed on both silver tables."""
    t0 = time.monotonic()
    plan = plan_silver(settings, full=full)
    result = StepResult(
        step="silver",
        offsets={"mode": "full" if plan.full else "incremental", "start": plan.start,
                 "stop": plan.stop, "new_rows": plan.new_rows,
                 "touched_dates": len(plan.touched_dates)},
    )  # fmt: skip
    script = SQL_DIR / "20_silver.sql"
    if not plan.full and plan.new_rows == 0:
        _run_script(settings, _ddl_only(settings, script, "silver"), base_params(settings))
        result.skipped, result.reason = True, "no new bronze rows since the last silver run"
    else:
        result.job = _last_job(_run_script(settings, script, silver_params(settings, plan)))
    _record_silver_done(settings, plan.stop)
    _describe_tables(
        result,
        settings,
        settings.silver_namespace,
        {"trips": "silver_rows", "trips_rejected": "rejected_rows"},
    )
    result.seconds = round(time.monotonic() - t0, 3)
    return result


def _ddl_only(settings: Settings, script: Path, name: str) -> Path:
    """The script's CREATE DATABASE / CREATE TABLE IF NOT EXISTS statements alone."""
    ddl = "\n".join(
        s + ";"
        for s in split_statements(script.read_text())
        if s.upper().startswith(("CREATE DATABASE", "CREATE TABLE IF NOT EXISTS"))
    )
    tmp = settings.lakehouse_home / "run" / f"{name}_ddl.sql"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(ddl)
    return tmp


def _record_silver_done(settings: Settings, stop: dict[int, int]) -> None:
    catalog = cat.load_catalog(settings)
    key = _silver_done_property(settings.topic_raw)
    value = json.dumps({str(p): o for p, o in sorted(stop.items())})
    for name in ("trips", "trips_rejected"):
        table = cat.load_table(catalog, f"{settings.silver_namespace}.{name}")
        if table is not None and table.properties.get(key) != value:
            with table.transaction() as tx:
                tx.set_properties({key: value})


def _last_job(jobs: list[JobResult]) -> dict[str, Any] | None:
    if not jobs:
        return None
    job = asdict(jobs[-1])
    job.pop("vertices", None)
    return job


def _describe_tables(
    result: StepResult, settings: Settings, namespace: str, tables: dict[str, str]
) -> None:
    """Row counts (as result.counts[label]) and current snapshots of the step's output tables."""
    catalog = cat.load_catalog(settings)
    for name, label in tables.items():
        table = cat.load_table(catalog, f"{namespace}.{name}")
        result.counts[label] = cat.row_count(table)
        result.snapshots[name] = cat.snapshot_info(table)
