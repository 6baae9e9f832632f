"""What every benchmark records, in one format: peak resident memory while it runs, the machine and
versions it ran on, and one JSON line per invocation appended to a results file.

The scripts beside this one import it by name (benchmarks/ is their sys.path[0]).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse.stack.engine import pom_property

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "benchmarks" / "results"


# ----------------------------------------------------------------------------- memory sampling
def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def _children(pid: int) -> list[int]:
    try:
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True
        ).stdout
    except OSError:
        return []
    kids = [int(x) for x in out.split()]
    return kids + [g for k in kids for g in _children(k)]


class MemorySampler:
    """Peak resident memory (MB), sampled every `interval` seconds: of each engine's process tree
    (`peak_mb[name]`), of this process with its children ("pipeline (python, dbt)"), of the
    children alone (`children_mb`: dbt runs in one), and of all of them together."""

    def __init__(self, engines: dict[str, int | None] | None = None, interval: float = 0.5):
        self.engines = {k: v for k, v in (engines or {}).items() if v}
        self.interval = interval
        self.peak_mb: dict[str, float] = dict.fromkeys(self.engines, 0.0)
        self.peak_total_mb = 0.0
        self.children_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0.0
            for name, pid in self.engines.items():
                mb = sum(_rss_kb(p) for p in [pid, *_children(pid)]) / 1024
                self.peak_mb[name] = max(self.peak_mb[name], mb)
                total += mb
            kids = sum(_rss_kb(p) for p in _children(os.getpid())) / 1024
            self.children_mb = max(self.children_mb, kids)
            me = _rss_kb(os.getpid()) / 1024 + kids
            self.peak_mb["pipeline (python, dbt)"] = max(
                self.peak_mb.get("pipeline (python, dbt)", 0.0), me
            )
            self.peak_total_mb = max(self.peak_total_mb, total + me)
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# ----------------------------------------------------------------------------- environment
def environment() -> dict[str, Any]:
    from importlib.metadata import version

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "unknown"

    mem_kb = 0
    try:
        with open("/proc/meminfo") as fh:
            mem_kb = int(fh.readline().split()[1])
    except OSError:
        pass
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    return {
        "cpu_count": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "java": java.splitlines()[0] if java else "unknown",
        "git_commit": git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain")),
        "versions": {
            "flink": pom_property(REPO / "flink" / "jars" / "pom.xml", "flink.version"),
            "kafka": pom_property(REPO / "kafka" / "pom.xml", "kafka.version"),
            "iceberg": pom_property(REPO / "flink" / "jars" / "pom.xml", "iceberg.version"),
            **{p: version(p) for p in ("pyiceberg", "dbt-core", "dbt-duckdb", "duckdb")},
            "confluent-kafka": version("confluent-kafka"),
        },
    }


def append_results(path: Path, benchmark: str, runs: list[dict[str, Any]]) -> None:
    """One JSON line per benchmark invocation: its runs, when, where (environment()), how."""
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": benchmark,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python " + " ".join(sys.argv),
        "environment": environment(),
        "runs": runs,
    }
    with path.open("a") as out:
        out.write(json.dumps(record) + "\n")
