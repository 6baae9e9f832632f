"""Streaming mode: bronze and silver as long-running Flink jobs with exactly-once checkpoints.

The same SQL files as the batch steps (flink/sql/10_bronze.sql, 20_silver.sql), rendered for
streaming:

* **bronze** reads Kafka continuously (no bounded mode). A fresh start begins right after what
  bronze and the dead letter already hold (the batch plan); a resumed job continues from the
  Kafka offsets in its checkpoint/savepoint. Iceberg commits on every checkpoint, exactly once
  (the committer records the checkpoint id in the snapshot; a replayed checkpoint is not
  committed twice).
* **silver** reads bronze incrementally (Iceberg streaming source) and deduplicates with Flink's
  keep-first on processing time: insert-only output, appended per checkpoint, no equality
  deletes, so pyiceberg/DuckDB read it while it runs. The trip_ids seen are Flink state with a TTL
  (``STREAM_DEDUP_TTL``), checkpointed. A *fresh* silver job has no state, so it rebuilds silver
  from all of bronze (the silver tables are emptied first): exact, like the batch overwrite.

Checkpoints are retained on cancellation and a stop takes a savepoint; ``start`` resumes each job
from its newest savepoint or retained checkpoint, so a stopped or crashed stack continues where
it was (dedup state included). Restart strategy: exponential delay, unbounded (a streaming job
outlives a TaskManager loss). Stream mode and the batch steps are exclusive: ``start`` refuses
while batch jobs run and ``run_bronze``/``run_silver`` should not run while streams do.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from lakehouse import catalog as cat
from lakehouse import topics
from lakehouse.flink.gateway import FlinkError
from lakehouse.flink.jobs import (
    SQL_DIR,
    base_params,
    bronze_params,
    plan_bronze,
    submit_script,
)
from lakehouse.settings import Settings

JOBS = ("bronze", "silver")
RUNNING_STATES = ("CREATED", "INITIALIZING", "RUNNING", "RESTARTING", "RECONCILING")


class StreamError(RuntimeError):
    """A streaming job could not be started, stopped or found."""


def _state_file(settings: Settings) -> Path:
    return settings.streams_dir / "state.json"


def _read_state(settings: Settings) -> dict[str, Any]:
    path = _state_file(settings)
    return json.loads(path.read_text()) if path.exists() else {}


def _write_state(settings: Settings, state: dict[str, Any]) -> None:
    path = _state_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2) + "\n")


def _rest(settings: Settings) -> httpx.Client:
    return httpx.Client(base_url=settings.flink_rest_url.rstrip("/"), timeout=30)


def job_state(settings: Settings, job_id: str) -> str:
    with _rest(settings) as rest:
        resp = rest.get(f"/jobs/{job_id}")
    if resp.status_code == 404:
        return "UNKNOWN"
    resp.raise_for_status()
    return str(resp.json().get("state", "UNKNOWN"))


def _running_jobs(settings: Settings) -> list[dict[str, Any]]:
    with _rest(settings) as rest:
        jobs = rest.get("/jobs/overview").json().get("jobs", [])
    return [j for j in jobs if j.get("state") in RUNNING_STATES]


def _latest_restore_point(settings: Settings, job: str) -> str | None:
    """Newest savepoint or retained checkpoint of ``job`` (a directory with _metadata)."""
    root = settings.streams_dir / job
    candidates = [p.parent for p in root.glob("savepoints/*/_metadata")]
    candidates += [p.parent for p in root.glob("checkpoints/*/chk-*/_metadata")]
    if not candidates:
        return None
    return str(max(candidates, key=lambda p: p.stat().st_mtime))


def stream_properties(settings: Settings, job: str, restore: str | None) -> dict[str, str]:
    root = (settings.streams_dir / job).resolve()
    props = {
        "parallelism.default": str(settings.stream_parallelism),
        "execution.checkpointing.interval": f"{settings.stream_checkpoint_interval_s}s",
        "execution.checkpointing.mode": "EXACTLY_ONCE",
        "execution.checkpointing.dir": (root / "checkpoints").as_uri(),
        "execution.checkpointing.savepoint-dir": (root / "savepoints").as_uri(),
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "execution.checkpointing.num-retained": "2",
        "restart-strategy.type": "exponential-delay",
        "restart-strategy.exponential-delay.initial-backoff": "1s",
        "restart-strategy.exponential-delay.max-backoff": "20s",
        "table.exec.state.ttl": settings.stream_dedup_ttl,
        "state.backend.type": settings.stream_state_backend,
        "execution.checkpointing.incremental": str(
            settings.stream_state_backend == "rocksdb"
        ).lower(),
        # most trip_ids are new: a bloom filter answers "not seen" without reading RocksDB's files
        "state.backend.rocksdb.use-bloom-filter": "true",
        # chained operators pass rows without a defensive copy (a third of silver's source
        # thread, a tenth of bronze's; with both, 20k events/s kept up): Flink SQL's operators
        # copy what they buffer, the Iceberg and Kafka writers encode each row as it arrives
        "pipeline.object-reuse": "true",
    }
    if restore:
        props["execution.state-recovery.path"] = restore
    return props


def _params(settings: Settings, job: str) -> dict[str, str]:
    if job == "bronze":
        params = bronze_params(settings, plan_bronze(settings), bounded=False)
    else:
        params = base_params(settings)
        params.update(
            {
                "proctime_column": ",\n  PROCTIME() AS proc_time",
                # the FLIP-27 source's default strategy (INCREMENTAL_FROM_LATEST_SNAPSHOT)
                # reads only the newest snapshot onwards: a fresh job must read all of bronze
                "bronze_read_options": (
                    " /*+ OPTIONS('streaming'='true', 'monitor-interval'='1s',"
                    " 'starting-strategy'='TABLE_SCAN_THEN_INCREMENTAL') */"
                ),
                "dedup_order": "proc_time",
                # the tables' hash distribution groups rows by partition across writers; with
                # one writer it is only a network exchange per row (a serialization each way)
                "silver_write_options": (
                    " /*+ OPTIONS('distribution-mode'='none') */"
                    if settings.stream_parallelism == 1
                    else ""
                ),
                "silver_insert": "INSERT INTO",
            }
        )
    params["runtime_mode"] = "streaming"
    return params


def _empty_silver(settings: Settings) -> None:
    """A fresh silver job rebuilds silver from all of bronze: drop the silver tables first (the
    job's DDL creates them again)."""
    catalog = cat.load_catalog(settings)
    for name in ("trips", "trips_rejected"):
        if cat.load_table(catalog, f"{settings.silver_namespace}.{name}") is not None:
            catalog.purge_table(f"{settings.silver_namespace}.{name}")


@dataclass
class StartResult:
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def start(settings: Settings, fresh: bool = False) -> StartResult:
    """Start the bronze and silver streaming jobs (a no-op for one already running). Each resumes
    from its newest savepoint/checkpoint unless ``fresh``."""
    state = _read_state(settings)
    result = StartResult()
    running = {j["jid"] for j in _running_jobs(settings)}
    for job in JOBS:
        known = state.get(job, {}).get("job_id")
        if known in running:
            result.jobs[job] = {"job_id": known, "action": "already running"}
            continue
        if running - {state.get(j, {}).get("job_id") for j in JOBS}:
            raise StreamError(
                f"other Flink jobs are running ({sorted(running)}): batch steps and streaming "
                "are exclusive; wait for them or cancel them first"
            )
        restore = None if fresh else _latest_restore_point(settings, job)
        if job == "silver" and restore is None:
            _empty_silver(settings)
        script = SQL_DIR / ("10_bronze.sql" if job == "bronze" else "20_silver.sql")
        # A restored job must be the same program as the one that took the savepoint (Flink maps
        # state to operators by the plan): reuse the parameters of its fresh start. They stay
        # right: the restored Kafka offsets are past the start offsets and marks planned then.
        params = state.get(job, {}).get("params") if restore else None
        params = params or _params(settings, job)
        ids = submit_script(settings, script, params, stream_properties(settings, job, restore))
        if len(ids) != 1:
            raise StreamError(f"{job}: expected one job from {script.name}, got {ids}")
        state[job] = {
            "job_id": ids[0],
            "started_at": time.time(),
            "restored_from": restore,
            "params": params,
        }
        _write_state(settings, state)
        _wait_running(settings, ids[0], job)
        result.jobs[job] = {"job_id": ids[0], "action": "started", "restored_from": restore}
    return result


def _wait_running(settings: Settings, job_id: str, job: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        st = job_state(settings, job_id)
        if st == "RUNNING":
            return
        if st in ("FAILED", "CANCELED", "FINISHED"):
            raise StreamError(f"{job} job {job_id} is {st} right after submission")
        time.sleep(0.5)
    raise StreamError(f"{job} job {job_id} not RUNNING after {timeout_s:.0f}s")


def stop(settings: Settings, savepoint: bool = True, timeout_s: float = 180) -> dict[str, Any]:
    """Stop both jobs, silver first, each with a savepoint (or cancel without one)."""
    state = _read_state(settings)
    out: dict[str, Any] = {}
    with _rest(settings) as rest:
        for job in reversed(JOBS):
            job_id = state.get(job, {}).get("job_id")
            if not job_id or job_state(settings, job_id) not in RUNNING_STATES:
                out[job] = {"job_id": job_id, "action": "not running"}
                continue
            if not savepoint:
                rest.patch(f"/jobs/{job_id}", params={"mode": "cancel"}).raise_for_status()
                out[job] = {"job_id": job_id, "action": "cancelled"}
                continue
            target = (settings.streams_dir / job / "savepoints").resolve().as_uri()
            resp = rest.post(
                f"/jobs/{job_id}/stop", json={"targetDirectory": target, "drain": False}
            )
            resp.raise_for_status()
            trigger = resp.json()["request-id"]
            location = _await_savepoint(rest, job_id, trigger, timeout_s)
            state[job]["savepoint"] = location
            out[job] = {"job_id": job_id, "action": "stopped", "savepoint": location}
    _write_state(settings, state)
    return out


def _await_savepoint(rest: httpx.Client, job_id: str, trigger: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = rest.get(f"/jobs/{job_id}/savepoints/{trigger}").json()
        if body.get("status", {}).get("id") == "COMPLETED":
            op = body.get("operation", {})
            if "location" in op:
                return str(op["location"])
            raise StreamError(f"savepoint of {job_id} failed: {op.get('failure-cause')}")
        time.sleep(0.5)
    raise StreamError(f"savepoint of {job_id} not complete after {timeout_s:.0f}s")


@dataclass
class StreamStatus:
    jobs: dict[str, dict[str, Any]]
    lag: dict[str, int]
    total_lag: int
    last_commit: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def bronze_lag(settings: Settings) -> dict[int, int]:
    """Messages on the raw topic that are not yet committed to bronze or the dead letter, per
    partition: end offset minus (highest offset either table holds + 1). What the Iceberg tables
    show is the truth of an exactly-once pipeline (the group offsets the Kafka source commits
    after a checkpoint are informational only)."""
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
    return {p: max(0, high - max(low, done.get(p, -1) + 1)) for p, (low, high) in marks.items()}


def status(settings: Settings) -> StreamStatus:
    state = _read_state(settings)
    jobs: dict[str, dict[str, Any]] = {}
    for job in JOBS:
        info = dict(state.get(job, {}))
        job_id = info.get("job_id")
        info["state"] = job_state(settings, job_id) if job_id else "NOT STARTED"
        if job_id and info["state"] in RUNNING_STATES:
            with _rest(settings) as rest:
                cp = rest.get(f"/jobs/{job_id}/checkpoints").json()
            latest = (cp.get("latest") or {}).get("completed") or {}
            info["checkpoints_completed"] = (cp.get("counts") or {}).get("completed")
            info["last_checkpoint_ms"] = latest.get("latest_ack_timestamp")
        jobs[job] = info
    lag = bronze_lag(settings)
    catalog = cat.load_catalog(settings)
    last_commit = {
        name: cat.snapshot_info(cat.load_table(catalog, name))
        for name in (f"{settings.bronze_namespace}.raw_trips", f"{settings.silver_namespace}.trips")
    }
    return StreamStatus(jobs, {str(p): n for p, n in lag.items()}, sum(lag.values()), last_commit)


def _rows(settings: Settings, table: str) -> int:
    return cat.row_count(cat.load_table(cat.load_catalog(settings), table))


def wait_caught_up(settings: Settings, timeout_s: float = 300) -> float:
    """Wait until bronze + dead letter hold every message on the topic and silver has not changed
    for three checkpoint intervals since; returns the seconds waited. Raises StreamError on
    timeout (and if a job is no longer running)."""
    bronze = f"{settings.bronze_namespace}.raw_trips"
    dlq = f"{settings.bronze_namespace}.trips_dead_letter"
    silver = f"{settings.silver_namespace}.trips"
    quiet = 3 * settings.stream_checkpoint_interval_s + 2
    t0 = time.monotonic()
    last, since = -1, t0
    while time.monotonic() - t0 < timeout_s:
        marks = topics.watermarks(settings, settings.topic_raw)
        on_topic = sum(high - low for low, high in marks.values())
        caught_up = on_topic == _rows(settings, bronze) + _rows(settings, dlq)
        now = _rows(settings, silver)
        if now != last or not caught_up:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return round(since - t0, 3)
        time.sleep(1)
    states = {job: info["state"] for job, info in status(settings).jobs.items()}
    raise StreamError(f"streams not caught up after {timeout_s:.0f}s (jobs: {states})")


def require_running(settings: Settings) -> None:
    st = status(settings)
    bad = {j: i["state"] for j, i in st.jobs.items() if i["state"] != "RUNNING"}
    if bad:
        raise FlinkError(f"streaming jobs not running: {bad}")
