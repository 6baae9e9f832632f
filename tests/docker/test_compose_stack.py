"""The Docker Compose stack, for real: images built here, the stack started with the Makefile.

`make up RUNTIME=docker` (health-gated) -> the steps through the tools container -> reconciled;
the Kestra flow in Kestra's embedded runner, its tasks running `lakehouse` in the tools container
of the stack -> reconciled; `make down` + `make up` keeps the data and the next gold build is
incremental; streaming on two TaskManagers, one killed with `docker kill`, exact recovery from
the checkpoint volume; gold on Trino (GOLD_ENGINE=trino), a coordinator and two workers. The
stack runs under its own project name, host ports and env file, and everything it made
(containers, networks, volumes) is removed at the end (KEEP_STACK=1 keeps it).

Needs a Docker Engine: docker/engine.sh installs and starts one where none answers, builds
Compose v2 and the Debian base image where no registry can be pulled from.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lakehouse.settings import REPO_ROOT

from ..kestra_embedded import KESTRA_JAVA_HOME, run_flow_in_kestra

pytestmark = pytest.mark.docker

PROJECT = "taxi-lakehouse-test"
HOME = REPO_ROOT / ".lakehouse" / "docker-test"
ENV_FILE = HOME / ".env"
PORTS = {
    "KAFKA_HOST_PORT": "29094",
    "SCHEMA_REGISTRY_HOST_PORT": "28085",
    "MINIO_HOST_PORT": "29000",
    "FLINK_UI_HOST_PORT": "28081",
    "FLINK_GATEWAY_HOST_PORT": "28083",
    "KESTRA_HOST_PORT": "28080",
    "DAGSTER_HOST_PORT": "23000",
    "TRINO_HOST_PORT": "28089",
}
# every default service but Kestra, whose server image cannot be built here (see docker/kestra/Dockerfile);
# minio-init (one-shot) runs as a dependency of the first tools container
SERVICES = (
    "kafka schema-registry minio postgres flink-jobmanager flink-taskmanager flink-sql-gateway"
)
FLINK = f"http://127.0.0.1:{PORTS['FLINK_UI_HOST_PORT']}"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def _env() -> dict[str, str]:
    env = {**os.environ, **PORTS, "COMPOSE_PROJECT_NAME": PROJECT,
           "LAKEHOUSE_ENV_FILE": str(ENV_FILE), "COMPOSE_BAKE": "false"}  # fmt: skip
    if CA_BUNDLE.exists():  # this machine's HTTPS goes through a TLS-intercepting proxy
        env["EXTRA_CA_BUNDLE"] = str(CA_BUNDLE)
    return env


def compose_cmd() -> list[str]:
    path = subprocess.run(
        ["bash", str(REPO_ROOT / "docker" / "engine.sh"), "compose-path"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    return [*shlex.split(path), "--project-directory", str(REPO_ROOT),
            "-f", str(REPO_ROOT / "docker-compose.yml"), "--env-file", str(ENV_FILE)]  # fmt: skip


def compose(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [*compose_cmd(), "--profile", "tools", "--profile", "generator", "--profile", "trino",
         *args],
        capture_output=True, text=True, env=_env(), cwd=REPO_ROOT, timeout=timeout,
    )  # fmt: skip
    if check and proc.returncode != 0:
        pytest.fail(f"docker compose {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n"
                    f"{proc.stderr[-3000:]}\n{diagnose()}")  # fmt: skip
    return proc


def diagnose() -> str:
    """Every container of the project that is not running/healthy, with its last log lines."""
    ps = subprocess.run(
        [*compose_cmd(), "ps", "--all", "--format", "json"],
        capture_output=True, text=True, env=_env(), cwd=REPO_ROOT,
    )  # fmt: skip
    out = []
    for line in ps.stdout.splitlines():
        try:
            c = json.loads(line)
        except json.JSONDecodeError:
            continue
        if c.get("Health") in ("", "healthy") and c.get("State") == "running":
            continue
        if c.get("State") == "exited" and c.get("ExitCode") == 0:
            continue
        logs = subprocess.run(
            ["docker", "logs", "--tail", "40", c["Name"]], capture_output=True, text=True
        )
        out.append(f"--- {c['Name']}: {c.get('State')} {c.get('Health', '')}\n"
                   f"{logs.stdout[-4000:]}{logs.stderr[-4000:]}")  # fmt: skip
    return "\n".join(out) or "(every container running and healthy)"


def make(*targets: str, timeout: float = 1800, **variables: object) -> str:
    """`make <targets> RUNTIME=docker` for the test project; fails with the output and the
    unhealthy services' last log lines."""
    args = [f"{k}={v}" for k, v in {"RUNTIME": "docker", "ENV_FILE": ENV_FILE,
                                    "SERVICES": SERVICES, **variables}.items()]  # fmt: skip
    proc = subprocess.run(
        ["make", "-s", "--no-print-directory", *targets, *args],
        capture_output=True, text=True, env=_env(), cwd=REPO_ROOT, timeout=timeout,
    )  # fmt: skip
    if proc.returncode != 0:
        pytest.fail(f"make {' '.join(targets)} failed (exit {proc.returncode}):\n"
                    f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}\n{diagnose()}")  # fmt: skip
    return proc.stdout


def tools(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    """A command in a one-off tools container (the stack's network and volumes)."""
    return compose("run", "--rm", "--no-deps", "-T", "tools", *cmd, check=check)


def verify_report() -> dict:
    tools("lakehouse", "verify", "--json-out", "/data/lakehouse/verify-test.json")
    return json.loads(tools("cat", "/data/lakehouse/verify-test.json").stdout)


def gold_loads() -> list[dict]:
    script = (
        "import duckdb, json; from lakehouse.settings import get_settings; "
        "c = duckdb.connect(str(get_settings().gold_path), read_only=True); "
        "cur = c.execute('select source_table, mode, reason, rows_loaded from "
        "silver.iceberg_loads order by loaded_at'); "
        "cols = [d[0] for d in cur.description]; "
        "print(json.dumps([dict(zip(cols, r)) for r in cur.fetchall()]))"
    )
    return json.loads(tools("python", "-c", script).stdout.strip().splitlines()[-1])


def taskmanagers() -> list[dict]:
    return httpx.get(f"{FLINK}/taskmanagers", timeout=5).json()["taskmanagers"]


def _project_objects(kind: str) -> list[str]:
    return subprocess.run(
        ["docker", kind, "ls", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}"]
        + (["-a"] if kind == "container" else []),
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip


def _remove_project_leftovers() -> None:
    for kind, remove in (("container", ["rm", "-f"]), ("volume", ["rm"]), ("network", ["rm"])):
        ids = _project_objects(kind)
        if ids:
            subprocess.run(["docker", kind, *remove, *ids], capture_output=True, check=True)


@pytest.fixture(scope="module")
def stack() -> Iterator[None]:
    engine = subprocess.run(
        ["bash", str(REPO_ROOT / "docker" / "engine.sh"), "ensure"],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert engine.returncode == 0, f"no Docker Engine:\n{engine.stdout}\n{engine.stderr}"
    if ENV_FILE.parent.exists():
        compose("down", "--volumes", "--remove-orphans", check=False)
        shutil.rmtree(HOME)
    # what an interrupted run of another checkout left under this project name (its volumes
    # hold a PostgreSQL initialized with that checkout's secrets): found by compose's label
    _remove_project_leftovers()
    HOME.mkdir(parents=True)
    t0 = time.monotonic()
    make("up")
    print(f"\nmake up RUNTIME=docker (images + health-gated start): {time.monotonic() - t0:.0f} s")
    yield
    if os.environ.get("KEEP_STACK") != "1":
        compose("down", "--volumes", "--remove-orphans", check=False)
        left = subprocess.run(
            ["docker", "ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}"],
            capture_output=True, text=True,
        ).stdout.split()  # fmt: skip
        volumes = subprocess.run(
            ["docker", "volume", "ls", "-q", "--filter",
             f"label=com.docker.compose.project={PROJECT}"],
            capture_output=True, text=True,
        ).stdout.split()  # fmt: skip
        assert not left and not volumes, f"left behind: containers {left}, volumes {volumes}"


def test_pipeline_through_the_tools_container_reconciles(stack: None, tmp_path: Path) -> None:
    t0 = time.monotonic()
    make("create-topics", "generate", "process", "dbt-build", EVENTS=10000, SEED=7)
    print(f"\n10k pipeline on the docker stack: {time.monotonic() - t0:.1f} s")
    report = verify_report()
    assert report["ok"], report
    assert report["figures"]["silver_rows"] > 9000, report

    # gold from this machine: the query shell and the report page, through the tools container
    rows = report["figures"]["fct_trips_rows"]
    out = make(
        "query",
        SQL="select 'fct_trips=' || count(*) || ' trips=' || count(*) filter (where is_trip) "
        "as n from fct_trips",
    )
    assert f"fct_trips={rows} " in out, out
    trips = int(re.search(r"trips=(\d+)", out.split("fct_trips=", 1)[1]).group(1))
    assert 0.95 * rows < trips < rows  # the facts hold ~2 % voids and refunds, not trips
    page = tmp_path / "report" / "index.html"
    assert make("report", OUT=page).strip() == str(page)
    assert f"{trips:,} trips" in page.read_text(), page.read_text()[:2000]


def test_kestra_flow_in_the_embedded_runner_against_the_stack(stack: None, tmp_path: Path) -> None:
    """Kestra 2.0 executes kestra/flows/taxi_pipeline.yml (embedded runner, Process task
    runner); each task's `lakehouse` is the stack's tools container, as in the Kestra image."""
    java = KESTRA_JAVA_HOME / "bin" / "java"
    assert java.exists(), f"Kestra 2 needs a JDK 25 at {KESTRA_JAVA_HOME}"
    shim = tmp_path / "bin" / "lakehouse"
    shim.parent.mkdir()
    run = shlex.join([*compose_cmd(), "run", "--rm", "--no-deps", "-T"])
    # the task's working directory (its outputFiles) is mounted as /task: the container's user
    # needs no access to the host's parent directories, only to the directory itself
    shim.write_text(
        '#!/bin/sh\nchmod a+rwx "$PWD"\n'
        # the task env of the flow (LAKEHOUSE_KESTRA_OUTPUTS) tells the CLI to print Kestra outputs
        f'exec {run} -v "$PWD:/task" -w /task -e LAKEHOUSE_KESTRA_OUTPUTS="$LAKEHOUSE_KESTRA_OUTPUTS" '
        'tools lakehouse "$@"\n'
    )
    shim.chmod(0o755)
    env = {k: v for k, v in _env().items() if not k.startswith("KESTRA_EXECUTION")}
    env["PATH"] = f"{shim.parent}{os.pathsep}{env['PATH']}"
    run_flow_in_kestra(env)


def test_down_and_up_keep_the_data_and_the_next_build_is_incremental(stack: None) -> None:
    before = verify_report()
    make("down")
    make("up")
    after_restart = verify_report()
    assert after_restart["figures"]["silver_rows"] == before["figures"]["silver_rows"], (
        before,
        after_restart,
    )
    make("generate", "process", "dbt-build", EVENTS=2000, SEED=8)
    report = verify_report()
    assert report["ok"], report
    trips = [row for row in gold_loads() if row["source_table"].endswith("trips")]
    assert trips[-1]["mode"] == "incremental", trips
    new_rows = report["figures"]["silver_rows"] - before["figures"]["silver_rows"]
    assert 0 < trips[-1]["rows_loaded"] == new_rows, (trips[-1], new_rows)


def _flink(path: str) -> dict:
    return httpx.get(f"{FLINK}{path}", timeout=10).json()


def _busiest_taskmanager() -> str:
    """The container of the TaskManager with the most occupied slots (the one running tasks)."""
    tm = max(taskmanagers(), key=lambda t: t["slotsNumber"] - t["freeSlots"])
    assert tm["slotsNumber"] > tm["freeSlots"], f"no TaskManager runs a task: {taskmanagers()}"
    ip = tm["id"].split(":")[0]
    for cid in compose("ps", "-q", "flink-taskmanager").stdout.split():
        addr = subprocess.run(
            ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
             cid], capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        if addr == ip:
            return cid
    raise AssertionError(f"no flink-taskmanager container has the address {ip}")


def test_streaming_on_two_taskmanagers_recovers_a_killed_taskmanager_exactly(
    stack: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streaming on a scaled-out cluster (FLINK_TASKMANAGERS=2): a fresh silver job rebuilds
    silver from the bronze history of the tests before; mid-stream the TaskManager running the
    tasks is killed with `docker kill`; the jobs restart from the last checkpoint on the shared
    volume (the replacement container registers) and every event lands exactly once; the stop
    takes a savepoint per job; gold is built and verify reconciles."""
    monkeypatch.setenv("FLINK_TASKMANAGERS", "2")  # every compose/make call below keeps two
    compose("up", "-d", "--wait", "flink-taskmanager")
    assert len(taskmanagers()) == 2
    make("stream-start")
    out: dict[str, object] = {}

    def generate() -> None:
        try:
            make("generate", EVENTS=6000, SEED=9, RATE=300)  # paced: ~20 s
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            out["error"] = exc

    producer = threading.Thread(target=generate, daemon=True)
    producer.start()
    jobs = {j["name"].split(":")[0]: j["jid"] for j in _flink("/jobs/overview")["jobs"]
            if j["state"] == "RUNNING"}  # fmt: skip
    assert set(jobs) == {"bronze", "silver"}, jobs
    deadline = time.monotonic() + 240
    while any(
        _flink(f"/jobs/{jid}/checkpoints")["counts"]["completed"] < 2 for jid in jobs.values()
    ):
        assert time.monotonic() < deadline, "no two checkpoints per job within 240 s"
        time.sleep(2)
    victim = _busiest_taskmanager()
    subprocess.run(["docker", "kill", victim], check=True, capture_output=True)
    # the supervisor's part (natively `stack up`): back to two TaskManagers, health-gated
    compose("up", "-d", "--wait", "flink-taskmanager")
    producer.join(timeout=300)
    assert not producer.is_alive() and "error" not in out, out.get("error")
    deadline = time.monotonic() + 420
    while (proc := tools("lakehouse", "verify", "--no-gold", check=False)).returncode != 0:
        if time.monotonic() > deadline:
            pytest.fail(
                f"not reconciled 420 s after the kill:\n{proc.stdout[-3000:]}\n{diagnose()}"
            )
        time.sleep(10)
    restarted = [name for name, jid in jobs.items()
                 if (_flink(f"/jobs/{jid}/exceptions").get("exceptionHistory") or {}).get("entries")]  # fmt: skip
    assert restarted, "no job recorded a failure: was the killed TaskManager running none?"
    states = {name: _flink(f"/jobs/{jid}")["state"] for name, jid in jobs.items()}
    assert states == {"bronze": "RUNNING", "silver": "RUNNING"}, states
    make("stream-stop")
    savepoints = tools(
        "sh", "-c", "ls -d /data/lakehouse/streams/*/savepoints/*/_metadata | wc -l"
    ).stdout
    assert int(savepoints.strip()) >= 2, savepoints
    make("dbt-build")
    report = verify_report()
    assert report["ok"], report


def test_gold_on_trino_a_coordinator_and_two_workers(
    stack: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GOLD_ENGINE=trino on the compose stack: `make up` adds the trino profile, a coordinator
    and TRINO_WORKERS=2 workers; the same dbt project builds gold as Iceberg tables in the
    stack's catalog (PostgreSQL, MinIO); verify reads gold from Trino; both workers ran tasks."""
    for name, value in {"GOLD_ENGINE": "trino", "TRINO_WORKERS": "2", "TRINO_HEAP_GB": "2"}.items():
        monkeypatch.setenv(name, value)  # every make and compose call below
    make("up", SERVICES="trino-coordinator trino-worker")
    assert len(compose("ps", "-q", "trino-worker").stdout.split()) == 2
    # a batch of its own (the test also runs alone: `-k trino`), then gold's first build on Trino
    make("create-topics", "generate", "process", "dbt-build", EVENTS=3000, SEED=31)
    report = verify_report()
    assert report["ok"], report
    facts = report["figures"]["fct_trips_rows"]
    assert facts == report["figures"]["silver_rows"] > 0, report

    script = (
        "import json; from lakehouse import catalog as cat; from lakehouse.trino_client "
        "import trino_connection; from lakehouse.settings import get_settings; s = get_settings(); "
        "c = trino_connection(s).cursor(); "
        "c.execute('select n.node_id, count(t.task_id) from system.runtime.nodes n left join "
        "system.runtime.tasks t on t.node_id = n.node_id where not n.coordinator group by 1'); "
        "tasks = dict(c.fetchall()); "
        "iceberg = cat.row_count(cat.load_table(cat.load_catalog(s), s.gold_namespace + '.fct_trips')); "
        "print(json.dumps({'tasks': tasks, 'iceberg_facts': iceberg}))"
    )
    out = json.loads(tools("python", "-c", script).stdout.strip().splitlines()[-1])
    # gold is Iceberg in the shared catalog: pyiceberg reads what Trino wrote
    assert out["iceberg_facts"] == facts, out
    assert len(out["tasks"]) == 2 and all(n > 0 for n in out["tasks"].values()), out
