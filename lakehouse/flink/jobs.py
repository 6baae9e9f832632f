"""Bronze and silver as Flink SQL jobs: render flink/sql/*.sql with the settings, submit them
through the SQL Gateway, wait for the jobs, and report what they did."""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lakehouse import catalog as cat
from lakehouse import topics
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


def _quote(value: str) -> str:
    return value.replace("'", "''")


def base_params(settings: Settings) -> dict[str, str]:
    options: dict[str, str] = {}
    if settings.catalog_backend == "postgres":
        options["jdbc.user"] = settings.postgres_user
        options["jdbc.password"] = settings.postgres_password.get_secret_value()
    if settings.warehouse_is_s3:
        options.update(
            {
                "io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
                "s3.endpoint": settings.s3_endpoint,
                "s3.path-style-access": "true",
                "s3.access-key-id": settings.s3_access_key.get_secret_value(),
                "s3.secret-access-key": settings.s3_secret_key.get_secret_value(),
                "client.region": settings.s3_region,
            }
        )
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
        "schema_registry_url": _quote(settings.schema_registry_url),
    }


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


def _run_script(settings: Settings, script: Path, params: dict[str, str]) -> list[JobResult]:
    cat.add_missing_columns(settings)  # tables created by an older release get the new columns
    gateway = SqlGateway(settings.flink_gateway_url, settings.flink_rest_url)
    session = gateway.open_session(
        {
            "parallelism.default": str(settings.flink_parallelism),
            # a bounded job that fails is retried once, then reported (no endless restarts)
            "restart-strategy.type": "fixed-delay",
            "restart-strategy.fixed-delay.attempts": "1",
            "restart-strategy.fixed-delay.delay": "1s",
        }
    )
    jobs: list[JobResult] = []
    try:
        # split first, render after: comments never receive rendered values
        for stmt in split_statements((SQL_DIR / "00_catalog.sql").read_text()):
            gateway.execute(session, render(stmt, params))
        gateway.execute(session, f"USE CATALOG {settings.iceberg_catalog_name}")
        for stmt in split_statements(script.read_text()):
            result = gateway.execute(session, render(stmt, params))
            if result["job_id"]:
                jobs.append(gateway.wait_for_job(result["job_id"], settings.flink_job_timeout_s))
    finally:
        gateway.close_session(session)
        gateway.close()
    return jobs


def _offset_spec(offsets: dict[int, int]) -> str:
    return ";".join(f"partition:{p},offset:{o}" for p, o in sorted(offsets.items()))


def plan_bronze(settings: Settings) -> tuple[dict[int, int], dict[int, int]]:
    """Start/stop offsets per partition: after what bronze + dead letter already hold, up to the
    current end of the topic."""
    catalog = cat.load_catalog(settings)
    ns = settings.bronze_namespace
    done = cat.max_offsets(
        [
            cat.load_table(catalog, f"{ns}.raw_trips"),
            cat.load_table(catalog, f"{ns}.trips_dead_letter"),
        ],
        settings.topic_raw,
    )
    marks = topics.watermarks(settings, settings.topic_raw)
    start = {p: max(low, done.get(p, -1) + 1) for p, (low, _high) in marks.items()}
    stop = {p: high for p, (_low, high) in marks.items()}
    return start, stop


def run_bronze(settings: Settings) -> StepResult:
    t0 = time.monotonic()
    start, stop = plan_bronze(settings)
    new = sum(max(0, stop[p] - start[p]) for p in stop)
    params = base_params(settings)
    result = StepResult(step="bronze", offsets={"start": start, "stop": stop, "new_messages": new})
    script = SQL_DIR / "10_bronze.sql"
    if new == 0:
        # create the tables (idempotent DDL) but submit no job: nothing to read
        ddl_only = "\n".join(
            s + ";"
            for s in split_statements(script.read_text())
            if s.upper().startswith("CREATE DATABASE")
            or s.upper().startswith("CREATE TABLE IF NOT EXISTS")
        )
        tmp = settings.lakehouse_home / "run" / "bronze_ddl.sql"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(ddl_only)
        _run_script(settings, tmp, params)
        result.skipped, result.reason = True, "no new messages since the last bronze run"
    else:
        params["startup_options"] = (
            "'scan.startup.mode' = 'specific-offsets',\n"
            f"  'scan.startup.specific-offsets' = '{_offset_spec(start)}',\n"
            "  'scan.bounded.mode' = 'specific-offsets',\n"
            f"  'scan.bounded.specific-offsets' = '{_offset_spec(stop)}'"
        )
        result.job = _last_job(_run_script(settings, script, params))
    _describe_tables(
        result,
        settings,
        settings.bronze_namespace,
        {"raw_trips": "bronze_rows", "trips_dead_letter": "dead_letter_rows"},
    )
    result.seconds = round(time.monotonic() - t0, 3)
    return result


def run_silver(settings: Settings) -> StepResult:
    t0 = time.monotonic()
    params = base_params(settings)
    result = StepResult(step="silver")
    result.job = _last_job(_run_script(settings, SQL_DIR / "20_silver.sql", params))
    _describe_tables(
        result,
        settings,
        settings.silver_namespace,
        {"trips": "silver_rows", "trips_rejected": "rejected_rows"},
    )
    result.seconds = round(time.monotonic() - t0, 3)
    return result


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
