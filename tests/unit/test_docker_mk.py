"""make/docker.mk (RUNTIME=docker): each target runs the compose command or CLI step it should
(GNU make's dry run; no Docker engine needed)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- make/docker.mk
_C = r"(?:docker compose|\S*docker-compose) --env-file \S+"  # $(COMPOSE) (+ profiles after it)
_LH = _C + r"(?: --profile \w+)* run --rm tools lakehouse"  # $(LH_DOCKER)
_API = _C + r" run --rm --no-deps -T tools python scripts/"  # $(TOOLS_API)
#: every target of the native runtime and the Docker-only ones, with the command it must run:
#: the compose invocation or CLI step a user gets (dry-run, make -n)
DOCKER_MK_TARGETS: dict[str, list[str]] = {
    "up": [_C + r".* up -d --wait"],
    "down": [_C + r".* down --remove-orphans"],
    "clean": [_C + r".* down --volumes --remove-orphans"],
    "status": [_C + r".* ps --all"],
    "ps": [_C + r".* ps --all"],
    "logs": [_C + r".* logs -f --tail=100"],
    "reset": [_LH + r" stack reset --yes"],
    "create-topics": [_LH + r" topics create"],
    "schema-register": [_LH + r" schema register"],
    "schema-check": [_LH + r" schema check"],
    "stream-start": [_LH + r" stream start"],
    "stream-stop": [_LH + r" stream stop"],
    "stream-status": [_LH + r" stream status"],
    "generate": [_LH + r" generate --events 10000"],
    "process": [_LH + r" flink bronze", _LH + r" flink silver"],
    "process-bronze": [_LH + r" flink bronze"],
    "process-silver": [_LH + r" flink silver"],
    "dbt-build": [_LH + r" dbt build"],
    "dbt-test": [_LH + r" dbt test"],
    "verify": [_LH + r" verify"],
    "pipeline": [_LH + r" pipeline --events"],
    "demo": [_C + r".* up -d --wait", _API + r"kestra_run\.py"],
    "benchmark": [_API + r"kestra_run\.py --json"],
    "kestra-ui": [r"Kestra UI: http://127\.0\.0\.1:8080"],
    "kestra-run": [_API + r"kestra_run\.py --input events="],
    "dagster-up": [_C + r".* --profile dagster up -d --build --wait"],
    "dagster-ui": [r"Dagster UI: http://127\.0\.0\.1:3000"],
    "dagster-run": [_API + r"dagster_run\.py --job taxi_pipeline"],
    "env": [r"lakehouse env init --path"],
}


def _dry_run(target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-n", "-f", str(REPO / "make" / "docker.mk"), "-C", str(REPO), target],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize("target", sorted(DOCKER_MK_TARGETS))
def test_docker_mk_runs_the_compose_command_of_each_target(target: str) -> None:
    """GNU make parses make/docker.mk and prints (-n) each target's commands: the right compose
    subcommand, or the CLI step in the tools container (what Kestra's tasks run too)."""
    proc = _dry_run(target)
    assert proc.returncode == 0, proc.stderr
    for pattern in DOCKER_MK_TARGETS[target]:
        assert re.search(pattern, proc.stdout), f"{target}: no {pattern!r} in:\n{proc.stdout}"


def test_docker_mk_dry_run_fails_on_a_target_it_does_not_have() -> None:
    assert _dry_run("no-such-target").returncode != 0
