"""Kafka: one KRaft broker + controller (Maven Central jars, installed by scripts/bootstrap.sh)."""

from __future__ import annotations

import base64
import os
import subprocess
import uuid
from pathlib import Path

from lakehouse.settings import REPO_ROOT, Settings
from lakehouse.stack.engine import Engine, ServiceStatus, host_port, java, pom_property
from lakehouse.stack.processes import StackError, port_open, wait_until


def kafka_version() -> str:
    return pom_property(REPO_ROOT / "kafka" / "pom.xml", "kafka.version")


class Kafka(Engine):
    NAME = "kafka"

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.kafka_home = Path(
            os.environ.get("KAFKA_HOME", self.cache / f"kafka-{kafka_version()}")
        )

    def command(self, bind: str | None = None, external: str | None = None) -> list[str]:
        """Write the broker's configuration (KRaft, single node), format its storage once, and
        return the command that runs it. ``bind``: listen on this address instead of the
        bootstrap host (a container: 0.0.0.0); ``external``: host:port advertised to clients
        outside the container network (an EXTERNAL listener on the same port)."""
        self.require(self.kafka_home / "libs", "Kafka jars")
        host, port = host_port(self.s.kafka_bootstrap_servers)
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
            ext_port = host_port(external)[1]
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
        java_bin = java()
        cp = f"{self.kafka_home / 'libs'}/*"
        jvm = ["-Xms256m", "-Xmx1g", "-XX:+UseG1GC", f"-Dlog4j2.configurationFile={log4j}"]
        if not (data / "meta.properties").exists():
            cluster_id = "-"
            while cluster_id.startswith("-"):  # a leading '-' would read as an option
                cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
            fmt = subprocess.run(
                [java_bin, *jvm, "-cp", cp, "kafka.tools.StorageTool", "format", "-t", cluster_id,
                 "-c", str(props), "--standalone"],
                capture_output=True, text=True,
            )  # fmt: skip
            if fmt.returncode != 0:
                raise StackError(f"Kafka storage format failed:\n{fmt.stdout}\n{fmt.stderr}")
        return [java_bin, *jvm, "-cp", cp, "kafka.Kafka", str(props)]

    def up(self) -> None:
        svc = self.service(self.NAME)
        host, port = host_port(self.s.kafka_bootstrap_servers)
        if svc.pid() and port_open(host, port):
            return
        self.check_port_free("Kafka", host, port, svc)
        self.check_port_free("Kafka controller", host, port + 1, svc)
        svc.start(self.command())
        wait_until("Kafka broker", self.healthy, 90, svc.log_file, lambda: bool(svc.pid()))

    def healthy(self) -> bool:
        from confluent_kafka.admin import AdminClient

        # a probe: "connection refused" while the broker starts is the expected answer, not
        # an error for the terminal (librdkafka logs it to stderr at level 3)
        admin = AdminClient({"bootstrap.servers": self.s.kafka_bootstrap_servers, "log_level": 0})
        md = admin.list_topics(timeout=2)
        return len(md.brokers) >= 1

    def down(self) -> None:
        self.service(self.NAME).stop(timeout=30)

    def status(self) -> list[ServiceStatus]:
        host, port = host_port(self.s.kafka_bootstrap_servers)
        pid = self.service(self.NAME).pid()
        return [ServiceStatus(self.NAME, pid, f"{host}:{port}", port_open(host, port))]

    def serve_command(self) -> list[str]:
        """The broker of a compose container: every interface, and the host's listener."""
        return self.command(bind="0.0.0.0", external=os.environ.get("KAFKA_EXTERNAL"))
