"""What every engine module shares: where its files go, its status row, and small helpers."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from lakehouse.settings import Settings
from lakehouse.stack.processes import Service, StackError, port_open


def pom_property(pom: Path, name: str) -> str:
    """A <properties> value of one of our poms: the one place engine versions are defined."""
    match = re.search(rf"<{re.escape(name)}>(.+?)</{re.escape(name)}>", pom.read_text())
    if not match:
        raise StackError(f"{pom} has no <{name}>")
    return match.group(1)


def host_port(url_or_hostport: str) -> tuple[str, int]:
    if "://" in url_or_hostport:
        parsed = urlparse(url_or_hostport)
        return parsed.hostname or "localhost", parsed.port or 80
    host, _, port = url_or_hostport.split(",")[0].rpartition(":")
    return host or "localhost", int(port)


def java() -> str:
    path = shutil.which("java")
    if not path:
        raise StackError("Java 17+ not found on PATH (Flink 2.0 and Kafka 4 need it).")
    return path


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


class Engine:
    """One engine of the stack: its settings, and the data, pid and log directories it shares
    with the others (under settings.lakehouse_home)."""

    def __init__(self, settings: Settings):
        self.s = settings
        self.home = settings.lakehouse_home.resolve()
        self.run_dir = self.home / "run"
        self.logs = settings.logs_dir.resolve()
        self.cache = settings.cache_dir

    def service(self, name: str) -> Service:
        return Service(name, self.run_dir, self.logs / f"{name}.log")

    @staticmethod
    def require(path: Path, what: str) -> None:
        if not path.exists():
            raise StackError(f"{what} not found at {path}. Run `make bootstrap` first.")

    @staticmethod
    def check_port_free(name: str, host: str, port: int, owner: Service) -> None:
        if port_open(host, port) and not owner.pid():
            raise StackError(
                f"{name}: port {host}:{port} is already in use by another process. "
                f"Stop that process or change the port in .env."
            )
