"""The whole stack: the engines started in dependency order (health-gated, idempotent), stopped
in reverse, their status in one table, and one of them served in the foreground.

Natively every engine is a local process (installed by scripts/bootstrap.sh into the cache; data
and logs under settings.lakehouse_home); in the compose stack each container runs one through
``serve``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NoReturn

from lakehouse.settings import Settings
from lakehouse.stack.engine import Engine, ServiceStatus
from lakehouse.stack.flink import SCRIPTS as FLINK_SERVICES
from lakehouse.stack.flink import Flink
from lakehouse.stack.kafka import Kafka
from lakehouse.stack.minio import MinIO
from lakehouse.stack.postgres import Postgres
from lakehouse.stack.processes import StackError
from lakehouse.stack.schema_registry_server import SchemaRegistry
from lakehouse.stack.trino import Trino

#: what `lakehouse stack serve` runs
SERVABLE = (
    "kafka", *FLINK_SERVICES, "schema-registry", "postgres", "trino-coordinator", "trino-worker",
)  # fmt: skip


class Stack(Engine):
    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.kafka = Kafka(settings)
        self.flink = Flink(settings)
        self.minio = MinIO(settings)
        self.postgres = Postgres(settings)
        self.registry = SchemaRegistry(settings)
        self.trino = Trino(settings)

    def up(
        self, with_s3: bool = False, with_postgres: bool = False, with_registry: bool = False
    ) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        needed = self.s.optional_services
        if with_postgres or needed["postgres"]:
            self.postgres.up()
        if with_s3 or needed["minio"]:
            self.minio.up()
        self.kafka.up()
        if with_registry or needed["schema-registry"]:
            self.registry.up()
        self.flink.up()
        if needed["trino"]:
            self.trino.up()

    def down(self) -> None:
        self.trino.down()
        self.flink.down()
        self.registry.down()  # before Kafka: its storage is a Kafka topic
        self.kafka.down()
        self.minio.down()
        self.postgres.down()

    def status(self) -> list[ServiceStatus]:
        # the optional services: `up` starts each only when the configuration uses it
        needed = self.s.optional_services
        return [
            *self.kafka.status(),
            *self.flink.status(),
            *self.registry.status(used=needed["schema-registry"]),
            *self.trino.status(used=needed["trino"]),
            *self.minio.status(used=needed["minio"]),
            *self.postgres.status(used=needed["postgres"]),
        ]

    def serve(self, service: str, databases: Sequence[str] = ()) -> NoReturn:
        """Run one service in the foreground as a container's main process (the compose stack):
        the configuration the native stack writes, listening on every interface. The process
        replaces this one (exec), so `docker stop` signals the engine itself."""
        if service == "kafka":
            cmd = self.kafka.serve_command()
            os.execvp(cmd[0], cmd)
        if service in FLINK_SERVICES:
            self.flink.serve(service)
        if service == "schema-registry":
            self.registry.serve()
        if service == "postgres":
            cmd = self.postgres.serve_command(databases)
            os.execvp(cmd[0], cmd)
        if service in ("trino-coordinator", "trino-worker"):
            self.trino.serve("coordinator" if service == "trino-coordinator" else "worker")
        raise StackError(f"unknown service {service!r}: one of {', '.join(SERVABLE)}")
