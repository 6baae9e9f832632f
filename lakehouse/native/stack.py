"""The native runtime: the same engines the compose stack runs, as local processes.

Kafka (KRaft, Maven Central jars), a Flink session cluster + SQL Gateway (the apache-flink wheel's
distribution), and optionally MinIO (S3 warehouse) and PostgreSQL (catalog database). Installed by
scripts/bootstrap.sh into the cache; data and logs under settings.lakehouse_home.
"""

from __future__ import annotations

import base64
import contextlib
import os
import pwd
import shutil
import subprocess
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlparse

import httpx

from lakehouse.native.processes import Service, StackError, port_open, wait_until
from lakehouse.settings import REPO_ROOT, Settings


def pom_property(pom: Path, name: str) -> str:
    """A <properties> value of one of our poms: the one place engine versions are defined."""
    import re

    match = re.search(rf"<{re.escape(name)}>(.+?)</{re.escape(name)}>", pom.read_text())
    if not match:
        raise StackError(f"{pom} has no <{name}>")
    return match.group(1)


FLINK_VERSION = pom_property(REPO_ROOT / "flink" / "jars" / "pom.xml", "flink.version")


def _kafka_version() -> str:
    return pom_property(REPO_ROOT / "kafka" / "pom.xml", "kafka.version")


def _host_port(url_or_hostport: str) -> tuple[str, int]:
    if "://" in url_or_hostport:
        parsed = urlparse(url_or_hostport)
        return parsed.hostname or "localhost", parsed.port or 80
    host, _, port = url_or_hostport.split(",")[0].rpartition(":")
    return host or "localhost", int(port)


NOT_USED = "not used by this configuration"


@dataclass
class ServiceStatus:
    name: str
    pid: int | None
    endpoint: str
    healthy: bool
    used: bool = True  # False: this configuration does not need the service (nor start it)

    @property
    def state(self) -> str:
        if self.healthy:
            return "yes"
        # a service the configuration does not need is down by design, not failing
        return "no" if self.used else NOT_USED


class NativeStack:
    def __init__(self, settings: Settings):
        self.s = settings
        self.home = settings.lakehouse_home.resolve()
        self.run_dir = self.home / "run"
        self.logs = settings.logs_dir.resolve()
        self.cache = settings.cache_dir
        self.flink_home = Path(os.environ.get("FLINK_HOME", self.cache / f"flink-{FLINK_VERSION}"))
        self.kafka_home = Path(
            os.environ.get("KAFKA_HOME", self.cache / f"kafka-{_kafka_version()}")
        )

    # ------------------------------------------------------------------ helpers
    def _svc(self, name: str) -> Service:
        return Service(name, self.run_dir, self.logs / f"{name}.log")

    def _require(self, path: Path, what: str) -> None:
        if not path.exists():
            raise StackError(f"{what} not found at {path}. Run `make bootstrap` first.")

    def _java(self) -> str:
        java = shutil.which("java")
        if not java:
            raise StackError("Java 17+ not found on PATH (Flink 2.0 and Kafka 4 need it).")
        return java

    def _check_port_free(self, name: str, host: str, port: int, owner: Service) -> None:
        if port_open(host, port) and not owner.pid():
            raise StackError(
                f"{name}: port {host}:{port} is already in use by another process. "
                f"Stop that process or change the port in .env."
            )

    # ------------------------------------------------------------------ Kafka
    def kafka_command(self, bind: str | None = None, external: str | None = None) -> list[str]:
        """Write the broker's configuration (KRaft, single node), format its storage once, and
        return the command that runs it. ``bind``: listen on this address instead of the
        bootstrap host (a container: 0.0.0.0); ``external``: host:port advertised to clients
        outside the container network (an EXTERNAL listener on the same port)."""
        self._require(self.kafka_home / "libs", "Kafka jars")
        host, port = _host_port(self.s.kafka_bootstrap_servers)
        listen = bind or host
        kdir = self.home / "kafka"
        data = kdir / "data"
        kdir.mkdir(parents=True, exist_ok=True)
        listeners = [f"PLAINTEXT://{listen}:{port}", f"CONTROLLER://{listen}:{port + 1}"]
        advertised = [f"PLAINTEXT://{host}:{port}"]
        protocols = ["CONTROLLER:PLAINTEXT", "PLAINTEXT:PLAINTEXT"]
        if bind:  # the controller's bind address (0.0.0.0) is not one others can reach
            advertised.append(f"CONTROLLER://{host}:{port + 1}")
        if external:
            ext_port = _host_port(external)[1]
            listeners.append(f"EXTERNAL://{listen}:{ext_port}")
            advertised.append(f"EXTERNAL://{external}")
            protocols.append("EXTERNAL:PLAINTEXT")
        props = kdir / "server.properties"
        props.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.bootstrap.servers={host}:{port + 1}",
                    f"listeners={','.join(listeners)}",
                    f"advertised.listeners={','.join(advertised)}",
                    "controller.listener.names=CONTROLLER",
                    f"listener.security.protocol.map={','.join(protocols)}",
                    "inter.broker.listener.name=PLAINTEXT",
                    f"log.dirs={data}",
                    f"num.partitions={self.s.topic_partitions}",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=3",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=false",
                    "",
                ]
            )
        )
        log4j = kdir / "log4j2.properties"
        log4j.write_text(
            "rootLogger.level=INFO\nrootLogger.appenderRef.stdout.ref=STDOUT\n"
            "appender.stdout.type=Console\nappender.stdout.name=STDOUT\n"
            "appender.stdout.layout.type=PatternLayout\n"
            "appender.stdout.layout.pattern=[%d] %p %m (%c)%n\n"
            "logger.kafka.name=kafka\nlogger.kafka.level=WARN\n"
            "logger.state.name=state.change.logger\nlogger.state.level=WARN\n"
            "logger.controller.name=kafka.controller\nlogger.controller.level=WARN\n"
            "logger.apache.name=org.apache.kafka\nlogger.apache.level=WARN\n"
        )
        java = self._java()
        cp = f"{self.kafka_home / 'libs'}/*"
        jvm = ["-Xms256m", "-Xmx1g", "-XX:+UseG1GC", f"-Dlog4j2.configurationFile={log4j}"]
        if not (data / "meta.properties").exists():
            cluster_id = "-"
            while cluster_id.startswith("-"):  # a leading '-' would read as an option
                cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
            fmt = subprocess.run(
                [java, *jvm, "-cp", cp, "kafka.tools.StorageTool", "format", "-t", cluster_id,
                 "-c", str(props), "--standalone"],
                capture_output=True, text=True,
            )  # fmt: skip
            if fmt.returncode != 0:
                raise StackError(f"Kafka storage format failed:\n{fmt.stdout}\n{fmt.stderr}")
        return [java, *jvm, "-cp", cp, "kafka.Kafka", str(props)]

    def kafka_up(self) -> None:
        svc = self._svc("kafka")
        host, port = _host_port(self.s.kafka_bootstrap_servers)
        if svc.pid() and port_open(host, port):
            return
        self._check_port_free("Kafka", host, port, svc)
        self._check_port_free("Kafka controller", host, port + 1, svc)
        svc.start(self.kafka_command())
        wait_until(
            "Kafka broker", lambda: self._kafka_healthy(), 90, svc.log_file, lambda: bool(svc.pid())
        )

    def _kafka_healthy(self) -> bool:
        from confluent_kafka.admin import AdminClient

        # a probe: "connection refused" while the broker starts is the expected answer, not
        # an error for the terminal (librdkafka logs it to stderr at level 3)
        admin = AdminClient({"bootstrap.servers": self.s.kafka_bootstrap_servers, "log_level": 0})
        md = admin.list_topics(timeout=2)
        return len(md.brokers) >= 1

    # ------------------------------------------------------------------ Flink
    def _flink_env(self) -> dict[str, str]:
        return {
            "FLINK_CONF_DIR": str(self.home / "flink" / "conf"),
            "FLINK_LOG_DIR": str(self.logs / "flink"),
            "FLINK_PID_DIR": str(self.run_dir),
            "FLINK_HOME": str(self.flink_home),
            # Flink names its pid files after $USER, which is unset in some containers
            "USER": pwd.getpwuid(os.getuid()).pw_name,
            # glibc's default of 8 malloc arenas per core let the TaskManager's native
            # allocations (Parquet/Iceberg writers, RocksDB) grow its resident set ~1.3 GB past
            # Flink's memory budget; Flink's own images use jemalloc for the same reason
            "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "2"),
        }

    def _write_flink_conf(
        self, conf: Path | None = None, tmp: Path | None = None, container: bool = False
    ) -> None:
        """Flink's config.yaml for the native stack, or (``container``) for one process of the
        compose stack: listen on every interface, the JobManager and gateway reached by the
        hosts of FLINK_REST_URL / FLINK_GATEWAY_URL, a TaskManager by its own IP address."""
        conf = conf or self.home / "flink" / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        for f in (self.flink_home / "conf").glob("log4j*.properties"):
            shutil.copy(f, conf / f.name)
        rest_host, rest_port = _host_port(self.s.flink_rest_url)
        gw_host, gw_port = _host_port(self.s.flink_gateway_url)
        tmp = tmp or self.home / "flink" / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        if container:
            import socket

            bind = gw_bind = rest_bind = "0.0.0.0"
            rpc_host, tm_host = rest_host, socket.gethostbyname(socket.gethostname())
        else:
            bind, gw_bind, rest_bind = "localhost", gw_host, rest_host
            rpc_host = tm_host = "localhost"
        import yaml

        # keep the distribution's JVM flags (--add-opens etc. that Java 17 needs)
        default = yaml.safe_load((self.flink_home / "conf" / "config.yaml").read_text()) or {}
        java_opts = default.get("env", {}).get("java", {}).get("opts", {}).get("all", "")
        (conf / "config.yaml").write_text(
            f"""# generated by lakehouse.native.stack (settings in .env)
jobmanager.rpc.address: {rpc_host}
jobmanager.rpc.port: {self.s.flink_rpc_port}
jobmanager.bind-host: {bind}
taskmanager.bind-host: {bind}
taskmanager.host: {tm_host}
taskmanager.rpc.port: {self.s.flink_rpc_port + 1 if container else 0}
rest.address: {rest_host}
rest.bind-address: {rest_bind}
rest.port: {rest_port}
jobmanager.memory.process.size: 1280m
taskmanager.memory.process.size: 3072m
taskmanager.memory.managed.fraction: 0.25
taskmanager.numberOfTaskSlots: {max(2, self.s.flink_parallelism)}
parallelism.default: {self.s.flink_parallelism}
io.tmp.dirs: {tmp}
sql-gateway.endpoint.rest.address: {gw_host}
sql-gateway.endpoint.rest.bind-address: {gw_bind}
sql-gateway.endpoint.rest.port: {gw_port}
sql-gateway.session.idle-timeout: 30min
execution.checkpointing.dir: file://{self.home / "flink" / "checkpoints"}
state.savepoints.dir: file://{self.home / "flink" / "savepoints"}
restart-strategy.type: fixed-delay
restart-strategy.fixed-delay.attempts: 3
restart-strategy.fixed-delay.delay: 5s
env.java.opts.all: {java_opts} -XX:+UseG1GC
# the gateway only plans (live heap ~60 MB after runs up to 1M events); uncapped, the JVM's
# default of a quarter of RAM let it grow past 1 GB resident over a benchmark
env.java.opts.sql-gateway: -Xms128m -Xmx512m
"""
        )

    def _flink_script(self, script: str, *args: str) -> None:
        self._require(self.flink_home / "bin" / script, "Flink distribution")
        proc = subprocess.run(
            [str(self.flink_home / "bin" / script), *args],
            env={**os.environ, **self._flink_env()},
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise StackError(f"{script} {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")

    def _flink_pid(self, kind: str) -> int | None:
        from lakehouse.native.processes import pid_alive

        user = pwd.getpwuid(os.getuid()).pw_name
        pid_file = self.run_dir / f"flink-{user}-{kind}.pid"
        try:
            pids = [int(x) for x in pid_file.read_text().split()]
        except (OSError, ValueError):
            return None
        alive = [p for p in pids if pid_alive(p)]
        return alive[0] if alive else None

    def flink_up(self) -> None:
        self._java()
        rest_host, rest_port = _host_port(self.s.flink_rest_url)
        gw_host, gw_port = _host_port(self.s.flink_gateway_url)
        self._write_flink_conf()
        (self.logs / "flink").mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        log = self.logs / "flink"
        if not self._flink_pid("standalonesession"):
            if port_open(rest_host, rest_port):
                raise StackError(f"Flink: port {rest_host}:{rest_port} is already in use.")
            self._flink_script("jobmanager.sh", "start")
        if not self._flink_pid("taskexecutor"):
            self._flink_script("taskmanager.sh", "start")
        wait_until(
            "Flink JobManager + TaskManager",
            lambda: (
                httpx.get(f"{self.s.flink_rest_url}/overview", timeout=2).json()["taskmanagers"]
                >= 1
            ),
            120,
            next(iter(sorted(log.glob("*standalonesession*.log"))), None),
            lambda: bool(self._flink_pid("standalonesession")),
        )
        if not self._flink_pid("sql-gateway"):
            if port_open(gw_host, gw_port):
                raise StackError(f"Flink SQL Gateway: port {gw_host}:{gw_port} is already in use.")
            self._flink_script("sql-gateway.sh", "start")
        wait_until(
            "Flink SQL Gateway",
            lambda: httpx.get(f"{self.s.flink_gateway_url}/v1/info", timeout=2).status_code == 200,
            90,
            next(iter(sorted(log.glob("*sql-gateway*.log"))), None),
            lambda: bool(self._flink_pid("sql-gateway")),
        )

    def flink_down(self) -> None:
        if not self.flink_home.exists():
            return
        for script, args in (
            ("sql-gateway.sh", ["stop"]),
            ("taskmanager.sh", ["stop-all"]),
            ("jobmanager.sh", ["stop"]),
        ):
            with contextlib.suppress(StackError):
                self._flink_script(script, *args)

    # ------------------------------------------------------------------ MinIO (S3)
    def minio_up(self) -> None:
        binary = self.cache / "bin" / "minio"
        self._require(binary, "MinIO binary (scripts/bootstrap.sh --with-s3)")
        key = self.s.s3_access_key.get_secret_value()
        secret = self.s.s3_secret_key.get_secret_value()
        if not key or len(secret) < 8:
            raise StackError(
                "S3_ACCESS_KEY / S3_SECRET_KEY (8+ chars) must be set in .env for MinIO "
                "(`make env` generates them)."
            )
        svc = self._svc("minio")
        host, port = _host_port(self.s.s3_endpoint)
        if not svc.pid():
            self._check_port_free("MinIO", host, port, svc)
            data = self.home / "minio"
            data.mkdir(parents=True, exist_ok=True)
            svc.start(
                [str(binary), "server", str(data), "--address", f"{host}:{port}",
                 "--console-address", f"{host}:{port + 1}", "--quiet"],
                env={"MINIO_ROOT_USER": key, "MINIO_ROOT_PASSWORD": secret,
                     "MINIO_BROWSER": "off", "MINIO_UPDATE": "off"},
            )  # fmt: skip
        wait_until(
            "MinIO",
            lambda: (
                httpx.get(f"{self.s.s3_endpoint}/minio/health/live", timeout=2).status_code == 200
            ),
            60,
            svc.log_file,
            lambda: bool(svc.pid()),
        )
        self.ensure_bucket()

    def ensure_bucket(self) -> None:
        """Create the warehouse bucket (private) if the warehouse is on S3."""
        if not self.s.warehouse_is_s3:
            return
        from pyarrow import fs

        bucket = urlparse(self.s.warehouse_uri).netloc
        s3 = fs.S3FileSystem(
            access_key=self.s.s3_access_key.get_secret_value(),
            secret_key=self.s.s3_secret_key.get_secret_value(),
            endpoint_override=self.s.s3_endpoint,
            region=self.s.s3_region,
            allow_bucket_creation=True,
        )
        if s3.get_file_info(bucket).type == fs.FileType.NotFound:
            s3.create_dir(bucket)

    # ------------------------------------------------------------------ PostgreSQL
    def _pg_bin(self) -> Path:
        for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
            if (candidate / "postgres").exists():
                return candidate
        raise StackError(
            "PostgreSQL server not found. Run `scripts/bootstrap.sh --with-postgres` "
            "(Debian's postgresql package)."
        )

    def _run(self, cmd: list[str], what: str) -> None:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise StackError(
                f"{what} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )

    def _as_pg_user(self, cmd: list[str]) -> list[str]:
        if os.getuid() == 0:  # initdb/postgres refuse to run as root
            return ["runuser", "-u", "postgres", "--", *cmd]
        return cmd

    def _postgres_init(self) -> tuple[Path, Path]:
        """initdb once (password auth, the superuser of .env); returns (bindir, data dir)."""
        password = self.s.postgres_password.get_secret_value()
        if not password:
            raise StackError("POSTGRES_PASSWORD must be set in .env (`make env` generates it).")
        bindir = self._pg_bin()
        pgdir = self.home / "postgres"
        data = pgdir / "data"
        svc_log = self.logs / "postgres.log"
        self.logs.mkdir(parents=True, exist_ok=True)
        if os.getuid() == 0:
            pgdir.mkdir(parents=True, exist_ok=True)
            shutil.chown(pgdir, "postgres", "postgres")
            if not svc_log.exists():
                svc_log.touch()
            shutil.chown(svc_log, "postgres", "postgres")
        if not (data / "PG_VERSION").exists():
            pwfile = pgdir / "pwfile"
            pwfile.write_text(password + "\n")
            if os.getuid() == 0:
                shutil.chown(pwfile, "postgres", "postgres")
            self._run(
                self._as_pg_user([str(bindir / "initdb"), "-D", str(data), "-U",
                                  self.s.postgres_user, "--auth=scram-sha-256",
                                  f"--pwfile={pwfile}", "-E", "UTF8"]),
                "PostgreSQL initdb",
            )  # fmt: skip
            pwfile.unlink()
        return bindir, data

    def _pg_ctl_start(self, bindir: Path, data: Path, host: str, port: int) -> None:
        svc_log = self.logs / "postgres.log"
        self._run(
            self._as_pg_user([str(bindir / "pg_ctl"), "start", "-w", "-D", str(data), "-l",
                              str(svc_log), "-o",
                              f"-p {port} -k {data} -c listen_addresses={host}"]),
            f"PostgreSQL start (log: {svc_log})",
        )  # fmt: skip

    def postgres_up(self) -> None:
        bindir, data = self._postgres_init()
        host, port = self.s.postgres_host, self.s.postgres_port
        status = subprocess.run(
            self._as_pg_user([str(bindir / "pg_ctl"), "status", "-D", str(data)]),
            capture_output=True,
        )
        if status.returncode != 0:
            if port_open(host, port):
                raise StackError(f"PostgreSQL: port {host}:{port} is already in use.")
            self._pg_ctl_start(bindir, data, host, port)
        self.ensure_database(self.s.catalog_postgres_db)

    def postgres_serve_command(self, databases: Sequence[str] = ()) -> list[str]:
        """A container's PostgreSQL: initdb, the databases created on loopback, then the
        server command listening on every interface (password auth from any address)."""
        bindir, data = self._postgres_init()
        hba = data / "pg_hba.conf"
        rule = "host all all all scram-sha-256"
        if rule not in hba.read_text():
            with hba.open("a") as f:
                f.write(f"# the compose network (added by lakehouse stack serve)\n{rule}\n")
        port = self.s.postgres_port
        self._pg_ctl_start(bindir, data, "127.0.0.1", port)
        try:
            for name in dict.fromkeys([self.s.catalog_postgres_db, *databases]):
                self.ensure_database(name, host="127.0.0.1")
        finally:
            self._run(
                self._as_pg_user([str(bindir / "pg_ctl"), "stop", "-w", "-D", str(data),
                                  "-m", "fast"]),
                "PostgreSQL stop after creating the databases",
            )  # fmt: skip
        return self._as_pg_user(
            [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(data),
             "-c", "listen_addresses=*"]
        )  # fmt: skip

    def ensure_database(self, name: str, host: str | None = None) -> None:
        import psycopg2

        conn = psycopg2.connect(
            host=host or self.s.postgres_host,
            port=self.s.postgres_port,
            user=self.s.postgres_user,
            password=self.s.postgres_password.get_secret_value(),
            dbname="postgres",
        )
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", (name,))
            if not cur.fetchone():
                cur.execute(f'create database "{name}"')
        conn.close()

    def postgres_down(self) -> None:
        data = self.home / "postgres" / "data"
        if not (data / "PG_VERSION").exists():
            return
        try:
            bindir = self._pg_bin()
        except StackError:
            return
        subprocess.run(
            self._as_pg_user([str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "fast"]),
            capture_output=True,
        )

    # ------------------------------------------------------------------ Schema Registry
    def registry_up(self) -> None:
        """Apicurio Registry (Confluent-compatible API) with its ``kafkasql`` storage: schemas
        live in a journal topic on our Kafka, as Confluent's registry keeps them in ``_schemas``,
        so ids survive a restart and every Avro message stays decodable."""
        from registry import native_registry as reg

        parsed = urlparse(self.s.schema_registry_url)
        if not parsed.path.rstrip("/").endswith(reg.CCOMPAT_PATH):
            raise StackError(
                f"SCHEMA_REGISTRY_URL={self.s.schema_registry_url}: the native registry serves "
                f"the Confluent API under {reg.CCOMPAT_PATH}"
            )
        if not reg.installed():
            raise StackError(
                "Schema Registry (Apicurio) not installed: run `make bootstrap` "
                "(scripts/bootstrap.sh --with-registry)."
            )
        reg.start(
            parsed.port or 80,
            self.s.kafka_bootstrap_servers,
            self.home,
            management_port=(parsed.port or 80) + 1,
        )

    def registry_healthy(self) -> bool:
        from registry import native_registry as reg

        port = urlparse(self.s.schema_registry_url).port or 80
        return reg.healthy(port, port + 1)

    # ------------------------------------------------------------------ Trino (gold)
    def trino_up(self) -> None:
        """Trino for gold (GOLD_ENGINE=trino): one coordinator that also runs tasks, on
        127.0.0.1, its configuration written from the settings (lakehouse/native/trino_server.py)."""
        from lakehouse.native import trino_server

        svc = self._svc("trino")
        host, port = _host_port(self.s.trino_url)
        if svc.pid() and self.trino_healthy():
            return
        self._check_port_free("Trino", host, port, svc)
        etc, data = self.home / "trino" / "etc", self.home / "trino" / "data"
        trino_server.write_config(self.s, etc, data)
        cmd, env = trino_server.command(self.s, etc, data)
        svc.start(cmd, env=env)
        wait_until("Trino", self.trino_healthy, 180, svc.log_file, lambda: bool(svc.pid()))

    def trino_healthy(self) -> bool:
        """Started (`starting: false`) and at least one active worker (itself)."""
        try:
            info = httpx.get(self.s.trino_url + "/v1/info", timeout=1).json()
        except (httpx.HTTPError, ValueError):
            return False
        return info.get("starting") is False

    # ------------------------------------------------------------------ one service, foreground
    SERVABLE = (
        "kafka", "flink-jobmanager", "flink-taskmanager", "flink-sql-gateway", "schema-registry",
        "postgres", "trino-coordinator", "trino-worker",
    )  # fmt: skip

    def serve(self, service: str, databases: Sequence[str] = ()) -> NoReturn:
        """Run one service in the foreground as a container's main process (the compose stack):
        the configuration the native stack writes, listening on every interface. The process
        replaces this one (exec), so `docker stop` signals the engine itself."""
        import tempfile

        if service == "kafka":
            cmd = self.kafka_command(bind="0.0.0.0", external=os.environ.get("KAFKA_EXTERNAL"))
            os.execvp(cmd[0], cmd)
        if service.startswith("flink-"):
            base = Path(tempfile.gettempdir()) / "flink"  # per container, not the shared volume
            self._write_flink_conf(base / "conf", base / "tmp", container=True)
            env = {**os.environ, **self._flink_env(), "FLINK_CONF_DIR": str(base / "conf"),
                   "FLINK_LOG_DIR": str(base / "log")}  # fmt: skip
            script = {"flink-jobmanager": "jobmanager.sh", "flink-taskmanager": "taskmanager.sh",
                      "flink-sql-gateway": "sql-gateway.sh"}[service]  # fmt: skip
            path = self.flink_home / "bin" / script
            self._require(path, "Flink distribution")
            os.execve(path, [script, "start-foreground"], env)
        if service == "schema-registry":
            from registry import native_registry as reg

            port = urlparse(self.s.schema_registry_url).port or 80
            cmd = reg.command(port, port + 1, self.s.kafka_bootstrap_servers, host="0.0.0.0")
            os.chdir(reg.DIST)
            os.execvp(cmd[0], cmd)
        if service == "postgres":
            cmd = self.postgres_serve_command(databases)
            os.execvp(cmd[0], cmd)
        if service in ("trino-coordinator", "trino-worker"):
            from lakehouse.native import trino_server

            base = Path(tempfile.gettempdir()) / "trino"  # per container: node id, spill, logs
            role = "coordinator" if service == "trino-coordinator" else "worker"
            trino_server.write_config(self.s, base / "etc", base / "data", role=role)
            cmd, env = trino_server.command(self.s, base / "etc", base / "data")
            os.execvpe(cmd[0], cmd, {**os.environ, **env})
        raise StackError(f"unknown service {service!r}: one of {', '.join(self.SERVABLE)}")

    # ------------------------------------------------------------------ whole stack
    def up(
        self, with_s3: bool = False, with_postgres: bool = False, with_registry: bool = False
    ) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        needed = self.s.optional_services
        if with_postgres or needed["postgres"]:
            self.postgres_up()
        if with_s3 or needed["minio"]:
            self.minio_up()
        self.kafka_up()
        if with_registry or needed["schema-registry"]:
            self.registry_up()
        self.flink_up()
        if needed["trino"]:
            self.trino_up()

    def down(self) -> None:
        from registry import native_registry as reg

        self._svc("trino").stop(timeout=30)
        self.flink_down()
        reg.stop(self.home)  # before Kafka: its storage is a Kafka topic
        self._svc("kafka").stop(timeout=30)
        self._svc("minio").stop(timeout=10)
        self.postgres_down()

    def status(self) -> list[ServiceStatus]:
        out: list[ServiceStatus] = []
        host, port = _host_port(self.s.kafka_bootstrap_servers)
        out.append(
            ServiceStatus(
                "kafka", self._svc("kafka").pid(), f"{host}:{port}", port_open(host, port)
            )
        )
        for name, kind, url, path in (
            ("flink-jobmanager", "standalonesession", self.s.flink_rest_url, "/overview"),
            ("flink-taskmanager", "taskexecutor", self.s.flink_rest_url, "/overview"),
            ("flink-sql-gateway", "sql-gateway", self.s.flink_gateway_url, "/v1/info"),
        ):
            try:
                ok = httpx.get(url + path, timeout=1).status_code == 200
            except httpx.HTTPError:
                ok = False
            out.append(ServiceStatus(name, self._flink_pid(kind), url, ok))
        # the optional services: `up` starts each only when the configuration uses it
        needed = self.s.optional_services
        out.append(
            ServiceStatus("schema-registry", self._svc("schema-registry").pid(),
                          self.s.schema_registry_url, self.registry_healthy(),
                          used=needed["schema-registry"])
        )  # fmt: skip
        out.append(
            ServiceStatus("trino", self._svc("trino").pid(), self.s.trino_url,
                          self.trino_healthy(), used=needed["trino"])
        )  # fmt: skip
        mhost, mport = _host_port(self.s.s3_endpoint)
        out.append(
            ServiceStatus("minio", self._svc("minio").pid(), self.s.s3_endpoint,
                          port_open(mhost, mport), used=needed["minio"])
        )  # fmt: skip
        out.append(
            ServiceStatus("postgres", None, f"{self.s.postgres_host}:{self.s.postgres_port}",
                          port_open(self.s.postgres_host, self.s.postgres_port),
                          used=needed["postgres"])
        )  # fmt: skip
        return out
