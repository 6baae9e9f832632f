"""The Kestra flow, checked by Kestra 2.0's own parser and validator (scripts/validate_kestra_flow.sh
runs kestra/validate, a Maven project on Kestra's Maven Central artifacts)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from lakehouse.settings import REPO_ROOT

from ..kestra_embedded import KESTRA_JAVA_HOME as JAVA_HOME
from ..kestra_embedded import SCRIPT

FLOW = REPO_ROOT / "kestra" / "flows" / "taxi_pipeline.yml"

pytestmark = [
    pytest.mark.skipif(
        not (JAVA_HOME / "bin" / "java").exists(),
        reason=f"Kestra 2.x needs a JDK 25; none at {JAVA_HOME} (set KESTRA_JAVA_HOME)",
    ),
    pytest.mark.skipif(shutil.which("mvn") is None, reason="Maven (mvn) is not installed"),
]


def _validate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=900, check=False
    )


def test_kestra_accepts_the_flow_and_rejects_broken_copies() -> None:
    proc = _validate()
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "kestra validate taxi_pipeline.yml: flow=lakehouse.taxi_pipeline constraints=null" in (
        proc.stdout
    )
    # the Java suite's own negative cases ran and were rejected
    assert proc.stdout.count("rejected (") >= 5, proc.stdout[-4000:]


def test_the_script_fails_on_an_invalid_flow(tmp_path: Path) -> None:
    broken = FLOW.read_text().replace("    commands:\n", "    command:\n", 1)
    assert broken != FLOW.read_text()
    (tmp_path / FLOW.name).write_text(broken)
    proc = _validate(f"-Dflows.dir={tmp_path}", "-Dtest=FlowValidationTest#everyFlowIsValid")
    assert proc.returncode != 0
    assert 'Unrecognized field "command"' in proc.stdout + proc.stderr
