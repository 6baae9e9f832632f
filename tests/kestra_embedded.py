"""Kestra 2.0 executes kestra/flows/taxi_pipeline.yml in its embedded runner (executor, worker,
controller in one JVM; Process task runner): kestra/validate's FlowExecutionTest, run by
scripts/validate_kestra_flow.sh. One helper for the native and the compose tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lakehouse.settings import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "validate_kestra_flow.sh"
#: Kestra 2.x needs Java 25: the script's default, or KESTRA_JAVA_HOME
KESTRA_JAVA_HOME = Path(os.environ.get("KESTRA_JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64"))


def _tail(output: str | bytes | None, chars: int) -> str:
    if isinstance(output, bytes):  # subprocess.TimeoutExpired keeps the raw bytes
        output = output.decode(errors="replace")
    return (output or "")[-chars:]


def run_flow_in_kestra(env: dict[str, str], timeout: float = 1200) -> str:
    """Run the flow to the end with `env` as the worker's environment; return the test's
    `kestra ...` report lines. Fails with the tails of Maven's output when the run fails or
    outlives `timeout` (the flow run itself waits 10 min)."""
    try:
        proc = subprocess.run(
            ["bash", str(SCRIPT), "-Dkestra.execute=true", "-Dtest=FlowExecutionTest"],
            env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"Kestra's embedded run did not end in {timeout:.0f} s\n"
            f"{_tail(exc.stdout, 6000)}\n{_tail(exc.stderr, 6000)}"
        )
    report = "\n".join(line for line in proc.stdout.splitlines() if line.startswith("kestra "))
    assert proc.returncode == 0, f"{report}\n{_tail(proc.stdout, 6000)}\n{_tail(proc.stderr, 6000)}"
    assert "SUCCESS flow outputs=" in report and "verified=true" in report, report
    return report
