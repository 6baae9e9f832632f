"""The Schema Registry: Apicurio Registry 3.3.3, Confluent-compatible, run by the stack like the
other engines (``SchemaRegistry``) or on its own (the functions below).

Apicurio serves the Confluent Schema Registry REST API under ``/apis/ccompat/v7``; point
confluent-kafka's ``SchemaRegistryClient`` at :func:`url`. Storage is in-memory H2 (Apicurio's
default) unless ``kafka_bootstrap`` is given, in which case it is Apicurio's ``kafkasql`` storage
(a journal topic on that Kafka, so schemas survive a registry restart).

Installed by ``registry/install.sh`` into ``$TAXI_CACHE/registry``. Processes are supervised like
the rest of the stack (pid file + log file under ``home``, health-gated start).

    from lakehouse.stack import schema_registry_server as reg
    reg.start(28081, None, Path("/tmp/sr"))      # blocks until healthy
    reg.healthy(28081)                           # True
    reg.stop(Path("/tmp/sr"))
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlparse

import httpx

from lakehouse.stack.engine import Engine, ServiceStatus
from lakehouse.stack.processes import Service, StackError, port_open, wait_until

APICURIO_VERSION = "3.3.3"
CACHE = Path(os.environ.get("TAXI_CACHE", Path.home() / ".cache" / "taxi-lakehouse"))
REGISTRY_CACHE = CACHE / "registry"
DIST = REGISTRY_CACHE / f"apicurio-registry-{APICURIO_VERSION}"
CCOMPAT_PATH = "/apis/ccompat/v7"
SERVICE_NAME = "schema-registry"
START_TIMEOUT_S = 120.0  # ~10-20 s on 2 cores; kafkasql replays its journal first


@dataclass(frozen=True)
class Registry:
    port: int
    management_port: int
    pid: int
    log_file: Path

    @property
    def url(self) -> str:
        return url(self.port)


def url(port: int, host: str = "127.0.0.1") -> str:
    """Base URL of the Confluent-compatible API (what SchemaRegistryClient's ``url`` takes)."""
    return f"http://{host}:{port}{CCOMPAT_PATH}"


def _service(home: Path) -> Service:
    return Service(
        SERVICE_NAME, run_dir=home / "run", log_file=home / "logs" / f"{SERVICE_NAME}.log"
    )


def java_bin() -> str:
    """A Java >= 21 (Apicurio 3.3 is compiled for 21): APICURIO_JAVA_HOME, install.sh's pick."""
    candidates = [os.environ.get("APICURIO_JAVA_HOME")]
    pick = REGISTRY_CACHE / "java-home"
    if pick.exists():
        candidates.append(pick.read_text().strip())
    for home in filter(None, candidates):
        java = Path(home) / "bin" / "java"
        if java.exists():
            return str(java)
    raise StackError(
        f"No Java 21+ recorded for the schema registry: run registry/install.sh "
        f"(or set APICURIO_JAVA_HOME). Checked: {pick}"
    )


def command(
    port: int,
    management_port: int,
    kafka_bootstrap: str | None = None,
    heap_mb: int = 512,
    host: str = "127.0.0.1",
) -> list[str]:
    jar = DIST / "quarkus-run.jar"
    if not jar.exists():
        raise StackError(
            f"Apicurio Registry is not installed ({jar} missing): run registry/install.sh"
        )
    props = {
        "quarkus.http.host": host,
        "quarkus.http.port": port,
        # health (/health/ready) and metrics live on the management interface; its default is
        # 0.0.0.0:9000, so pin it to loopback and a port of our own
        "quarkus.management.host": host,
        "quarkus.management.port": management_port,
        # one line per request at INFO from the audit and access logs: keep the log readable
        'quarkus.log.category."io.apicurio.registry.logging.audit".level': "WARN",
        'quarkus.log.category."io.quarkus.vertx.http.runtime.filters.accesslog".level': "WARN",
        # a single-user dev registry: the default pool opens 20 H2 connections up front
        "apicurio.datasource.jdbc.initial-size": 2,
        "apicurio.datasource.jdbc.min-size": 2,
        "apicurio.datasource.jdbc.max-size": 10,
    }
    if kafka_bootstrap:
        props |= {
            "apicurio.storage.kind": "kafkasql",
            "apicurio.kafkasql.bootstrap.servers": kafka_bootstrap,
        }
    return [
        java_bin(),
        f"-Xmx{heap_mb}m",
        "-Xms64m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",  # C1 only: faster start, the registry is not hot
        *(f"-D{k}={v}" for k, v in props.items()),
        "-jar",
        str(jar),
    ]


def healthy(port: int, management_port: int | None = None, timeout: float = 2.0) -> bool:
    """Ready on the management interface and the Confluent API answers with JSON."""
    mport = management_port or port + 1
    try:
        ready = httpx.get(f"http://127.0.0.1:{mport}/health/ready", timeout=timeout)
        api = httpx.get(f"{url(port)}/config", timeout=timeout)
    except httpx.HTTPError:
        return False
    return (
        ready.status_code == 200
        and ready.json().get("status") == "UP"
        and api.status_code == 200
        and "compatibilityLevel" in api.json()
    )


def start(
    port: int = 28081,
    kafka_bootstrap: str | None = None,
    home: Path = Path("/tmp/taxi-schema-registry"),
    management_port: int | None = None,
    timeout: float = START_TIMEOUT_S,
) -> Registry:
    """Start the registry (no-op if ours already runs) and wait until it is healthy."""
    mport = management_port or port + 1
    svc = _service(home)
    if not svc.pid():
        for p in (port, mport):
            if port_open("127.0.0.1", p):
                raise StackError(f"port {p} is already in use; pick another registry port")
        svc.start(command(port, mport, kafka_bootstrap), cwd=DIST)
    wait_until(
        f"Apicurio Registry on port {port}",
        lambda: healthy(port, mport),
        timeout,
        log_file=svc.log_file,
        alive=lambda: svc.pid() is not None,
    )
    pid = svc.pid()
    assert pid is not None
    return Registry(port=port, management_port=mport, pid=pid, log_file=svc.log_file)


def stop(home: Path = Path("/tmp/taxi-schema-registry"), timeout: float = 30.0) -> bool:
    """Stop the registry started with this ``home``; False if none was running."""
    return _service(home).stop(timeout=timeout)


def installed() -> bool:
    try:
        java_bin()
    except StackError:
        return False
    return (DIST / "quarkus-run.jar").exists()


class SchemaRegistry(Engine):
    """The registry of SCHEMA_REGISTRY_URL, its storage on the stack's Kafka."""

    @property
    def port(self) -> int:
        return urlparse(self.s.schema_registry_url).port or 80

    def up(self) -> None:
        """Apicurio Registry (Confluent-compatible API) with its ``kafkasql`` storage: schemas
        live in a journal topic on our Kafka, as Confluent's registry keeps them in ``_schemas``,
        so ids survive a restart and every Avro message stays decodable."""
        parsed = urlparse(self.s.schema_registry_url)
        if not parsed.path.rstrip("/").endswith(CCOMPAT_PATH):
            raise StackError(
                f"SCHEMA_REGISTRY_URL={self.s.schema_registry_url}: the native registry serves "
                f"the Confluent API under {CCOMPAT_PATH}"
            )
        if not installed():
            raise StackError(
                "Schema Registry (Apicurio) not installed: run `make bootstrap` "
                "(scripts/bootstrap.sh --with-registry)."
            )
        start(self.port, self.s.kafka_bootstrap_servers, self.home, management_port=self.port + 1)

    def healthy(self) -> bool:
        return healthy(self.port, self.port + 1)  # the module's function, on this port pair

    def down(self) -> None:
        stop(self.home)

    def status(self, used: bool = True) -> list[ServiceStatus]:
        pid = self.service(SERVICE_NAME).pid()
        return [ServiceStatus(SERVICE_NAME, pid, self.s.schema_registry_url, self.healthy(), used)]

    def serve(self) -> NoReturn:
        """The registry in the foreground on every interface (a compose container)."""
        cmd = command(self.port, self.port + 1, self.s.kafka_bootstrap_servers, host="0.0.0.0")
        os.chdir(DIST)
        os.execvp(cmd[0], cmd)
