"""Gold: run the dbt project (dbt/) against the Iceberg silver tables, into the DuckDB file."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lakehouse.settings import REPO_ROOT, Settings

DBT_DIR = REPO_ROOT / "dbt"


class DbtError(RuntimeError):
    pass


@dataclass
class DbtResult:
    command: str
    seconds: float
    returncode: int
    summary: str


def dbt_env(settings: Settings) -> dict[str, str]:
    """The environment dbt/profiles.yml reads (names documented in dbt/README.md)."""
    settings.gold_path.parent.mkdir(parents=True, exist_ok=True)
    env = {
        "GOLD_DUCKDB_PATH": str(settings.gold_path.resolve()),
        "DBT_THREADS": str(settings.dbt_threads),
        "ICEBERG_CATALOG_NAME": settings.iceberg_catalog_name,
        "ICEBERG_CATALOG_URI": settings.sqlalchemy_catalog_uri,
        "ICEBERG_WAREHOUSE": settings.warehouse_uri,
        "SILVER_NAMESPACE": settings.silver_namespace,
        "ZONE_LOOKUP_CSV": str(settings.zone_lookup_csv.resolve())
        if settings.zone_lookup_csv
        else "",
        "GOLD_ENGINE": settings.gold_engine,
        "GOLD_NAMESPACE": settings.gold_namespace,
    }
    if settings.gold_engine == "trino":
        url = urlparse(settings.trino_url)
        env.update({"TRINO_HOST": url.hostname or "127.0.0.1",
                    "TRINO_PORT": str(url.port or 8080), "TRINO_USER": settings.trino_user})  # fmt: skip
    if settings.warehouse_is_s3:
        env.update(
            {
                "ICEBERG_S3_ENDPOINT": settings.s3_endpoint,
                "DBT_ENV_SECRET_ICEBERG_S3_ACCESS_KEY_ID": settings.s3_access_key.get_secret_value(),
                "DBT_ENV_SECRET_ICEBERG_S3_SECRET_ACCESS_KEY": settings.s3_secret_key.get_secret_value(),
                "ICEBERG_S3_REGION": settings.s3_region,
                "ICEBERG_S3_PATH_STYLE_ACCESS": "true",
            }
        )
    return env


def _dbt_executable() -> str:
    local = Path(sys.executable).parent / "dbt"
    found = str(local) if local.exists() else shutil.which("dbt")
    if not found:
        raise DbtError("dbt not found: run `make bootstrap`")
    return found


# commands that write artifacts and logs: under LAKEHOUSE_HOME, not in the repository's dbt/
_OWN_TARGET = ("build", "run", "seed", "test", "parse", "docs generate", "docs serve")


def engine_args(settings: Settings, command: str, extra: list[str] | None = None) -> list[str]:
    """What a dbt invocation needs beyond the project's files on this gold engine: on Trino,
    the silver snapshots a build or run reads (var silver_loads), planned from the Iceberg
    metadata (lakehouse/silver_increment.py; on DuckDB the iceberg plugin plans them itself).
    Every driver that starts dbt adds these (this module, Dagster's dbt assets)."""
    if settings.gold_engine != "trino" or command not in ("build", "run"):
        return []
    from lakehouse.silver_increment import trino_silver_loads
    from lakehouse.trino_client import quiet_trino_client

    quiet_trino_client()
    loads = trino_silver_loads(settings, full_refresh="--full-refresh" in (extra or []))
    return ["--vars", json.dumps({"silver_loads": loads})]


def dbt_args(settings: Settings, command: str, extra: list[str] | None = None) -> list[str]:
    """`dbt <command>` (e.g. "build", "docs generate") as every invocation runs it: this
    project and profile, and one target path, so `docs serve` finds what `docs generate` and
    the builds wrote."""
    args = [
        _dbt_executable(), *command.split(), "--project-dir", str(DBT_DIR),
        "--profiles-dir", str(DBT_DIR), *(extra or []),
    ]  # fmt: skip
    args += engine_args(settings, command, extra)
    if command in _OWN_TARGET:
        args += ["--target-path", str(settings.lakehouse_home.resolve() / "dbt" / "target")]
        args += ["--log-path", str(settings.logs_dir.resolve() / "dbt")]
    return args


# dbt runs in this process (dbtRunner, dbt's programmatic entry point): importing dbt costs
# about 2-3 s and parsing the project another 1-2 s, which `prepare` pays in a background
# thread while the Flink steps run. dbt is not thread-safe: one invocation at a time.
_LOCK = threading.Lock()
_PREPARED: dict[tuple[tuple[str, str], ...], Future[Any]] = {}


def _env_key(settings: Settings) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(dbt_env(settings).items()))


def _invoke(settings: Settings, command: str, extra: list[str] | None,
            manifest: Any = None) -> tuple[Any, list[tuple[str, str]]]:  # fmt: skip
    """One dbt invocation in this process: (dbtRunnerResult, [(level, message)...]). Quiet on
    the terminal (its full log is in the log path); the profile's environment is set first."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.main import dbtRunner

    messages: list[tuple[str, str]] = []

    def collect(event: Any) -> None:
        if event.info.level in ("info", "warn", "error"):
            messages.append((event.info.level, event.info.msg))

    # what profiles.yml reads (env_var), for this invocation only: the process's own
    # environment (and its child processes') is left as it was
    env = dbt_env(settings)
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    args = dbt_args(settings, command, extra)[1:] + ["--log-level", "none"]
    try:
        result = dbtRunner(manifest=manifest, callbacks=[collect]).invoke(args)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        # dbt-duckdb keeps the gold file open for the next invocation: release it, so this
        # process (verify, the report) and others can open gold afterwards
        env = DuckDBConnectionManager._ENV
        if env is not None:
            with contextlib.suppress(Exception):
                env.close()
        DuckDBConnectionManager.close_all_connections()
    return result, messages


def _parse(settings: Settings) -> Any:
    with _LOCK:
        result, _ = _invoke(settings, "parse", None)
    return result.result if result.success else None


def prepare(settings: Settings) -> None:
    """Import dbt and parse the project in the background; the next `run_dbt` with these
    settings uses that manifest instead of parsing again."""
    key = _env_key(settings)
    if key not in _PREPARED:
        _PREPARED[key] = ThreadPoolExecutor(1, "dbt-prepare").submit(_parse, settings)


def _require_trino(settings: Settings) -> None:
    import httpx

    try:
        httpx.get(settings.trino_url.rstrip("/") + "/v1/info", timeout=3).raise_for_status()
    except httpx.HTTPError as exc:
        raise DbtError(
            f"GOLD_ENGINE=trino but Trino does not answer at {settings.trino_url} ({exc}): "
            "start it with `make up` (it starts Trino when GOLD_ENGINE=trino), or set TRINO_URL"
        ) from exc


def run_dbt(
    settings: Settings, command: str = "build", extra: list[str] | None = None
) -> DbtResult:
    t0 = time.monotonic()
    if settings.gold_engine == "trino":
        _require_trino(settings)
    prepared = _PREPARED.pop(_env_key(settings), None)
    manifest = None  # None: dbt parses the project itself (and reports what fails there)
    if prepared is not None:
        with contextlib.suppress(Exception):
            manifest = prepared.result()
    with _LOCK:
        result, messages = _invoke(settings, command, extra, manifest)
    seconds = round(time.monotonic() - t0, 3)
    summary = next((m for _, m in reversed(messages) if "Done. PASS=" in m), "")
    summary = summary.split("Done. ", 1)[-1] if summary else ""
    if not result.success:
        errors = [m for level, m in messages if level in ("error", "warn")]
        if result.exception is not None:
            errors.append(f"{type(result.exception).__name__}: {result.exception}")
        log = settings.logs_dir.resolve() / "dbt" / "dbt.log"
        raise DbtError(
            f"dbt {command} failed after {seconds}s (full log: {log}):\n"
            + "\n".join(errors[-30:] or [m for _, m in messages[-30:]])
        )
    return DbtResult(command=command, seconds=seconds, returncode=0, summary=summary.strip())


# ----------------------------------------------------------------------------- docs
DOCS_HOST = "127.0.0.1"  # the docs show the models' SQL and column names: this machine only
DOCS_PORT = 8088


def generate_docs(settings: Settings) -> None:
    """manifest.json (`dbt parse`) and catalog.json (`dbt docs generate --no-compile`) in the
    builds' target path. Not compiled: compiling resolves every source(), which has the iceberg
    plugin read silver into gold; the docs need only the parsed project and gold's catalog."""
    run_dbt(settings, "parse")
    run_dbt(settings, "docs generate", ["--no-compile"])


def serve_docs(
    settings: Settings, port: int, on_ready: Callable[[str], None], host: str = DOCS_HOST
) -> None:
    """Generate the docs, then `dbt docs serve` them on `host`:`port`; calls `on_ready(url)`
    once the server answers and returns when it stops (Ctrl-C). dbt's output, one line per
    request, goes to a log file."""
    from lakehouse.stack.processes import port_open

    probe = "127.0.0.1" if host == "0.0.0.0" else host
    url = f"http://{probe}:{port}"
    if port_open(probe, port):  # before generating: fail fast
        raise DbtError(
            f"port {port} is in use: pick another one with --port (make dbt-docs DOCS_PORT=N)"
        )
    generate_docs(settings)
    log = settings.logs_dir.resolve() / "dbt" / "docs-serve.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    args = dbt_args(settings, "docs serve", ["--host", host, "--port", str(port),
                                            "--no-browser"])  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(args, env={**os.environ, **dbt_env(settings)}, cwd=DBT_DIR,
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while not port_open(probe, port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
                    raise DbtError(f"dbt docs serve did not start ({log}):\n{tail}")
                time.sleep(0.2)
            on_ready(url)
            proc.wait()
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
