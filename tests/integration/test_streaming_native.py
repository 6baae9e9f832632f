"""Streaming mode on the real stack, with faults: every test ends with an exact reconciliation
(lakehouse verify: Kafka = manifests, bronze + dead letter = Kafka, silver = clean events, no
duplicate), never a timing assertion.

Each test has its own home (catalog, warehouse, checkpoints, manifests) and topic on the shared
session stack.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pyarrow.compute as pc
import pytest
from taxi_generator.manifest import Manifest
from taxi_generator.producer import run_generator

from lakehouse import catalog as cat
from lakehouse import topics
from lakehouse.flink import streaming
from lakehouse.flink.jobs import run_bronze, run_silver
from lakehouse.freshness import silver_freshness
from lakehouse.reset import reset_data
from lakehouse.settings import Settings
from lakehouse.stack.stack import Stack
from lakehouse.verify import VerificationError, VerifyReport, run_verify

from .conftest import TEST_HOME, make_settings
from .test_pipeline_native import ANOMALIES

pytestmark = pytest.mark.integration

CATCH_UP_TIMEOUT_S = 240


def _settings(name: str) -> Settings:
    home = TEST_HOME / "streams" / name
    settings = make_settings(
        lakehouse_home=home, topic_raw=f"taxi.{name}", topic_dlq=f"taxi.{name}.dlq"
    )
    reset_data(settings)
    shutil.rmtree(home, ignore_errors=True)
    return settings


@pytest.fixture
def stream_settings(stack: Stack, request: pytest.FixtureRequest) -> Iterator[Settings]:
    settings = _settings(request.node.name.split("[")[0].removeprefix("test_")[:40])
    topics.setup_topics(settings)
    yield settings
    try:  # never leave streaming jobs holding the TaskManager's slots
        streaming.stop(settings, savepoint=False)
    except Exception:  # noqa: BLE001
        for job in streaming._running_jobs(settings):
            httpx.patch(f"{settings.flink_rest_url}/jobs/{job['jid']}", params={"mode": "cancel"})


def _wait_reconciled(settings: Settings, timeout_s: float = CATCH_UP_TIMEOUT_S) -> VerifyReport:
    """Poll verify until everything produced is in bronze/dead letter/silver exactly once."""
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            return run_verify(settings, include_gold=False)
        except VerificationError as exc:
            last = exc
        time.sleep(3)
    raise AssertionError(f"not reconciled after {timeout_s}s: {last}")


def _in_background(fn: Callable[[], Manifest]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["manifest"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised by the test
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def _rows(settings: Settings, table: str) -> int:
    return cat.row_count(cat.load_table(cat.load_catalog(settings), table))


def _exceptions(settings: Settings, job_id: str) -> list[dict]:
    body = httpx.get(f"{settings.flink_rest_url}/jobs/{job_id}/exceptions", timeout=10).json()
    return (body.get("exceptionHistory") or {}).get("entries") or []


def test_poison_messages_are_dead_lettered_and_the_job_keeps_running(
    stream_settings: Settings,
) -> None:
    s = stream_settings
    started = streaming.start(s)
    assert {info["action"] for info in started.jobs.values()} == {"started"}
    manifest = run_generator(s, events=3000, seed=51, anomalies=ANOMALIES, progress=False)
    report = _wait_reconciled(s)
    assert report.figures["silver_rows"] == 3000
    dead = {c.name: c.actual for c in report.checks if c.name.startswith("dead letter: ")}
    assert dead == {
        "dead letter: avro:not_wire_format": manifest.counts["malformed_json"],
        "dead letter: avro:unknown_schema_id": manifest.counts["missing_field"],
        "dead letter: avro:undecodable": manifest.counts["wrong_type"],
        "dead letter: out_of_range": manifest.counts["out_of_range"],
    }
    st = streaming.status(s)
    assert {j: i["state"] for j, i in st.jobs.items()} == {"bronze": "RUNNING", "silver": "RUNNING"}
    for info in st.jobs.values():  # poison never failed (and restarted) a job
        assert _exceptions(s, info["job_id"]) == []
    assert st.total_lag == 0  # every message is in bronze or the dead letter
    fresh = silver_freshness(s)
    assert fresh.rows == 3000 and fresh.p95_s is not None and fresh.min_s > 0


def test_a_fresh_silver_job_rebuilds_silver_from_all_of_bronze(
    stream_settings: Settings,
) -> None:
    """Streaming started on a bronze that batch runs filled (several snapshots): the fresh silver
    job reads all of bronze, then follows new snapshots. (Iceberg's FLIP-27 source starts from the
    newest snapshot by default: silver held only the last batch and what came after.)"""
    s = stream_settings
    for seed in (41, 42):  # two batch bronze runs: two appended snapshots of history
        run_generator(s, events=1000, seed=seed, anomalies=ANOMALIES, progress=False)
        run_bronze(s)
    run_silver(s)
    started = streaming.start(s)
    assert started.jobs["silver"]["restored_from"] is None
    run_generator(s, events=1000, seed=43, anomalies=ANOMALIES, progress=False)
    report = _wait_reconciled(s)
    assert report.figures["silver_rows"] == 3000


def test_taskmanager_kill_mid_stream_restarts_from_the_last_checkpoint(
    stream_settings: Settings, stack: Stack
) -> None:
    s = stream_settings
    streaming.start(s)
    thread, out = _in_background(
        lambda: run_generator(
            s, events=6000, rate=300, seed=61, anomalies=ANOMALIES, progress=False
        )
    )
    # wait until both jobs have committed to Iceberg at least once, then kill the TaskManager
    deadline = time.monotonic() + 120
    bronze, silver = f"{s.bronze_namespace}.raw_trips", f"{s.silver_namespace}.trips"
    while _rows(s, bronze) == 0 or _rows(s, silver) == 0:
        assert time.monotonic() < deadline, "no checkpoint committed within 120 s"
        time.sleep(1)
    pid = stack.flink.pid("taskexecutor")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    time.sleep(3)
    stack.flink.up()  # the supervisor's part: a new TaskManager registers, the jobs recover
    thread.join(timeout=180)
    assert "error" not in out, out.get("error")
    report = _wait_reconciled(s)
    assert report.figures["silver_rows"] == 6000
    states = streaming.status(s).jobs
    for job, info in states.items():
        assert info["state"] == "RUNNING", (job, info)
        assert _exceptions(s, info["job_id"]), f"{job}: no failure recorded, was it restarted?"
    silver_ids = cat.read_columns(cat.load_table(cat.load_catalog(s), silver), ("trip_id",))
    assert pc.count_distinct(silver_ids["trip_id"]).as_py() == 6000


def test_stop_with_savepoint_and_restart_of_the_whole_stack(
    stream_settings: Settings, stack: Stack
) -> None:
    s = stream_settings
    streaming.start(s)
    run_generator(s, events=1500, seed=71, anomalies=ANOMALIES, progress=False)
    _wait_reconciled(s)
    stopped = streaming.stop(s)
    assert all(info["action"] == "stopped" and info["savepoint"] for info in stopped.values())

    stack.down()
    stack.up(with_s3=True, with_postgres=True, with_registry=True)

    resumed = streaming.start(s)
    for job, info in resumed.jobs.items():
        assert info["restored_from"] == stopped[job]["savepoint"].removeprefix("file:"), job
    # new trips, and the first run once more (same seed and rates: byte-identical messages,
    # late events included): the dedup state restored from the savepoint must drop every
    # re-sent trip
    run_generator(s, events=1000, seed=72, anomalies=ANOMALIES, progress=False)
    run_generator(s, events=1500, seed=71, anomalies=ANOMALIES, progress=False)
    streaming.wait_caught_up(s, CATCH_UP_TIMEOUT_S)
    silver_ids = cat.read_columns(
        cat.load_table(cat.load_catalog(s), f"{s.silver_namespace}.trips"), ("trip_id",)
    )["trip_id"]
    assert len(silver_ids) == 2500
    assert pc.count_distinct(silver_ids).as_py() == 2500


def test_broker_restart_during_generation_loses_and_duplicates_nothing(
    stream_settings: Settings, stack: Stack
) -> None:
    s = stream_settings
    thread, out = _in_background(
        lambda: run_generator(
            s, events=4000, rate=400, seed=81, anomalies=ANOMALIES, progress=False
        )
    )
    time.sleep(3)
    stack.kafka.down()  # the broker goes away mid-run ...
    time.sleep(5)
    stack.kafka.up()  # ... and comes back: the idempotent producer retries
    thread.join(timeout=300)
    assert "error" not in out, out.get("error")
    manifest: Manifest = out["manifest"]
    marks = topics.watermarks(s, s.topic_raw)
    assert sum(high - low for low, high in marks.values()) == manifest.messages_acked
    run_bronze(s)
    run_silver(s)
    report = run_verify(s, include_gold=False)
    assert report.figures["silver_rows"] == 4000


def test_compaction_while_the_streaming_jobs_commit_loses_and_duplicates_nothing(
    stream_settings: Settings,
) -> None:
    """Iceberg maintenance (compaction, snapshot expiry, orphan cleanup: lakehouse maintain)
    committing on bronze and silver while both streaming jobs commit every checkpoint: the
    optimistic commits interleave, and every event still lands exactly once."""
    from lakehouse.maintenance import run_maintenance

    s = stream_settings.model_copy(update={"maintenance_min_input_files": 2})
    streaming.start(s)
    thread, out = _in_background(
        lambda: run_generator(
            s, events=8000, rate=300, seed=91, anomalies=ANOMALIES, progress=False
        )
    )
    silver = f"{s.silver_namespace}.trips"
    deadline = time.monotonic() + 120
    while len(cat.load_table(cat.load_catalog(s), silver).snapshots()) < 3:
        assert time.monotonic() < deadline, "silver did not commit three checkpoints in 120 s"
        time.sleep(1)
    rewritten: dict[str, int] = {}
    rounds: list[float] = []  # seconds per maintenance run, for the failure message
    while thread.is_alive():  # compact again and again while events are still flowing
        result = run_maintenance(s)
        rounds.append(result.seconds)
        for table in result.tables:
            done = (table.get("compaction") or {}).get("rewritten_data_files", 0)
            rewritten[table["table"]] = rewritten.get(table["table"], 0) + done
    thread.join(timeout=120)
    assert "error" not in out, out.get("error")
    # compaction really committed beside the streaming commits, on both layers
    assert rewritten.get("bronze.raw_trips", 0) >= 2, (rewritten, rounds)
    assert rewritten.get(silver, 0) >= 2, (rewritten, rounds)
    report = _wait_reconciled(s)
    assert report.figures["silver_rows"] == 8000
    ids = cat.read_columns(cat.load_table(cat.load_catalog(s), silver), ("trip_id",))
    assert ids.num_rows == pc.count_distinct(ids["trip_id"]).as_py() == 8000
    states = streaming.status(s).jobs
    assert {job: info["state"] for job, info in states.items()} == {
        "bronze": "RUNNING", "silver": "RUNNING",
    }  # fmt: skip


def test_the_shipped_schema_v2_evolves_a_running_deployment_without_a_restart(
    stack: Stack, tmp_path: Any
) -> None:
    """A deployment of the first release (event schema v1, no CBD fee) streaming: `make
    create-topics` with this release registers the shipped v2 as the subject's next version
    (BACKWARD-checked by the registry) while the jobs run; v2 events carry the fee to silver,
    decoded by their writer schema's id, and neither job restarts."""
    import json

    from lakehouse import schema_registry

    v2 = _settings("schema_v2_live")
    shipped = json.loads(v2.event_schema_file.read_text())
    v1_file = tmp_path / "raw_trip_v1.avsc"
    fields = [f for f in shipped["fields"] if f["name"] != "cbd_congestion_fee"]
    v1_file.write_text(json.dumps({**shipped, "fields": fields}))
    v1 = v2.model_copy(update={"event_schema_file": v1_file})

    assert topics.setup_topics(v1).schema.version == 1
    started = streaming.start(v1)
    jobs = {name: info["job_id"] for name, info in started.jobs.items()}
    try:
        first = run_generator(v1, events=500, seed=101, progress=False)
        setup = topics.setup_topics(v2)  # what `make up` / `make create-topics` runs
        assert setup.schema.version == 2
        second = run_generator(v2, events=500, seed=102, progress=False)
        report = _wait_reconciled(v2)
        assert report.figures["silver_rows"] == first.requested + second.requested

        st = streaming.status(v2)
        assert {n: i["job_id"] for n, i in st.jobs.items()} == jobs  # the same jobs
        for info in st.jobs.values():
            assert info["state"] == "RUNNING" and _exceptions(v2, info["job_id"]) == []
        fees = cat.read_columns(
            cat.load_table(cat.load_catalog(v2), f"{v2.silver_namespace}.trips"),
            ("cbd_congestion_fee",),
        )["cbd_congestion_fee"]
        # v1 events cannot carry the fee; every v2 event does (0.75 or 0, never missing)
        assert fees.null_count == first.requested
        assert len(fees) - fees.null_count == second.requested
        versions = schema_registry.client(v2).get_versions(v2.event_subject)
        assert versions == [1, 2]
    finally:
        streaming.stop(v2, savepoint=False)
