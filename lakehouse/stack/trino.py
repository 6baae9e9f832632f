"""Trino for gold (GOLD_ENGINE=trino): its configuration, written from the settings, and the
command that runs it. The native stack runs one process that is both coordinator and worker,
bound to 127.0.0.1; the compose stack runs a coordinator and N workers from the same code
(`lakehouse stack serve trino-coordinator|trino-worker`).

Installed by trino/install.sh (scripts/bootstrap.sh --with-trino) into the cache: the core
server with only the Iceberg plugin, and the path of a JDK 24+ in `java-home`.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path
from typing import Literal, NoReturn
from urllib.parse import urlparse

import httpx

from lakehouse.settings import REPO_ROOT, Settings
from lakehouse.stack.engine import Engine, ServiceStatus, host_port, pom_property
from lakehouse.stack.processes import StackError, wait_until


def trino_version() -> str:
    return pom_property(REPO_ROOT / "trino" / "pom.xml", "trino.version")


def trino_home(settings: Settings) -> Path:
    return Path(os.environ.get("TRINO_HOME", settings.cache_dir / f"trino-{trino_version()}"))


def java_home(settings: Settings) -> Path:
    if settings.trino_java_home:
        return Path(settings.trino_java_home)
    recorded = trino_home(settings) / "java-home"
    if not recorded.exists():
        raise StackError(
            f"Trino is not installed in {trino_home(settings)}: run "
            "`scripts/bootstrap.sh --with-trino` (make bootstrap GOLD_ENGINE=trino)"
        )
    return Path(recorded.read_text().strip())


def catalog_properties(settings: Settings) -> dict[str, str]:
    """Trino's Iceberg connector on the project's catalog: the JDBC catalog Flink and pyiceberg
    share (same database, same V1 schema), and the warehouse's file system."""
    props = {
        "connector.name": "iceberg",
        "iceberg.catalog.type": "jdbc",
        "iceberg.jdbc-catalog.catalog-name": settings.iceberg_catalog_name,
        "iceberg.jdbc-catalog.connection-url": settings.jdbc_catalog_uri,
        "iceberg.jdbc-catalog.default-warehouse-dir": settings.warehouse_uri,
        "iceberg.jdbc-catalog.schema-version": "V1",
    }
    if settings.catalog_backend == "sqlite":
        props["iceberg.jdbc-catalog.driver-class"] = "org.sqlite.JDBC"
    else:
        props["iceberg.jdbc-catalog.driver-class"] = "org.postgresql.Driver"
        props["iceberg.jdbc-catalog.connection-user"] = settings.postgres_user
        props["iceberg.jdbc-catalog.connection-password"] = (
            settings.postgres_password.get_secret_value()
        )
    if settings.warehouse_is_s3:
        props.update(
            {
                "fs.native-s3.enabled": "true",
                "s3.endpoint": settings.s3_endpoint,
                "s3.region": settings.s3_region,
                "s3.path-style-access": "true",
                "s3.aws-access-key": settings.s3_access_key.get_secret_value(),
                "s3.aws-secret-key": settings.s3_secret_key.get_secret_value(),
            }
        )
    else:
        # file:///abs/path locations: the local file system rooted at /
        props.update({"fs.native-local.enabled": "true", "local.location": "/"})
    return props


Role = Literal["single", "coordinator", "worker"]


def write_config(
    settings: Settings, etc: Path, data: Path, role: Role = "single", bind: str = "127.0.0.1"
) -> None:
    """etc/ of one Trino node, sized by TRINO_HEAP_GB: half the heap for one query on this node,
    the rest Trino's headroom.

    single      : the native stack's one process, coordinator and worker, on `bind` (127.0.0.1)
    coordinator : plans and schedules only (compose): queries run on the workers
    worker      : runs tasks; finds the coordinator at TRINO_URL (compose: trino-coordinator)
    """
    port = urlparse(settings.trino_url).port or 8080
    heap = settings.trino_heap_gb
    per_query = f"{heap * 512}MB"  # half the heap
    (etc / "catalog").mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    node = {
        "node.environment": "lakehouse",
        # workers scale with `--scale`: each container's hostname is unique
        "node.id": "native" if role == "single" else socket.gethostname(),
        "node.data-dir": str(data),
    }
    if role == "single":
        node |= {"node.bind-ip": bind, "node.internal-address": "127.0.0.1"}
    config = {
        "coordinator": str(role != "worker").lower(),
        "http-server.http.port": str(port),
        "query.max-memory-per-node": per_query,
    }
    if role == "worker":
        config["discovery.uri"] = settings.trino_url
    else:
        config |= {
            "node-scheduler.include-coordinator": str(role == "single").lower(),
            "discovery.uri": f"http://127.0.0.1:{port}",
            # the web UI's and the query history's defaults are sized for a cluster
            "query.max-history": "200",
        }
        if role == "single":
            config["query.max-memory"] = per_query
    files = {
        "node.properties": node,
        "config.properties": config,
        f"catalog/{settings.iceberg_catalog_name}.properties": catalog_properties(settings),
    }
    for name, props in files.items():
        path = etc / name
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        path.chmod(0o600)  # the catalog file may hold credentials
    (etc / "jvm.config").write_text(
        "\n".join(
            [
                "-server",
                f"-Xmx{heap}G",
                "-XX:+UseG1GC",
                "-XX:G1HeapRegionSize=32M",
                "-XX:+ExplicitGCInvokesConcurrent",
                "-XX:+ExitOnOutOfMemoryError",
                "-XX:-OmitStackTraceInFastThrow",
                "-XX:ReservedCodeCacheSize=256M",
                "-XX:PerMethodRecompilationCutoff=10000",
                "-XX:PerBytecodeRecompilationCutoff=10000",
                "-Djdk.attach.allowAttachSelf=true",
                "-Djdk.nio.maxCachedBufferSize=2000000",
                "-Dfile.encoding=UTF-8",
                "-XX:+EnableDynamicAgentLoading",
            ]
        )
        + "\n"
    )


def command(settings: Settings, etc: Path, data: Path) -> tuple[list[str], dict[str, str]]:
    """Trino's launcher in the foreground (`run`), and the environment naming its Java."""
    home = trino_home(settings)
    launcher = home / "bin" / "launcher"
    if not launcher.exists():
        raise StackError(
            f"Trino not found at {home}: run `scripts/bootstrap.sh --with-trino` "
            "(make bootstrap GOLD_ENGINE=trino)"
        )
    jh = java_home(settings)
    env = {"JAVA_HOME": str(jh), "PATH": f"{jh / 'bin'}:{os.environ.get('PATH', '')}"}
    return [str(launcher), "run", f"--etc-dir={etc}", f"--data-dir={data}"], env


class Trino(Engine):
    NAME = "trino"

    def up(self) -> None:
        """Trino for gold (GOLD_ENGINE=trino): one coordinator that also runs tasks, on
        127.0.0.1, its configuration written from the settings (write_config)."""
        svc = self.service(self.NAME)
        host, port = host_port(self.s.trino_url)
        if svc.pid() and self.healthy():
            return
        self.check_port_free("Trino", host, port, svc)
        etc, data = self.home / "trino" / "etc", self.home / "trino" / "data"
        write_config(self.s, etc, data)
        cmd, env = command(self.s, etc, data)
        svc.start(cmd, env=env)
        wait_until("Trino", self.healthy, 180, svc.log_file, lambda: bool(svc.pid()))

    def healthy(self) -> bool:
        """Started (`starting: false`) and at least one active worker (itself)."""
        try:
            info = httpx.get(self.s.trino_url + "/v1/info", timeout=1).json()
        except (httpx.HTTPError, ValueError):
            return False
        return info.get("starting") is False

    def pid(self) -> int | None:
        return self.service(self.NAME).pid()

    def down(self) -> None:
        self.service(self.NAME).stop(timeout=30)

    def status(self, used: bool = True) -> list[ServiceStatus]:
        return [ServiceStatus(self.NAME, self.pid(), self.s.trino_url, self.healthy(), used)]

    def serve(self, role: Role) -> NoReturn:
        """One node of the compose stack's cluster in the foreground; node id, spill and logs
        in the container's own temporary directory."""
        base = Path(tempfile.gettempdir()) / "trino"
        write_config(self.s, base / "etc", base / "data", role=role)
        cmd, env = command(self.s, base / "etc", base / "data")
        os.execvpe(cmd[0], cmd, {**os.environ, **env})
