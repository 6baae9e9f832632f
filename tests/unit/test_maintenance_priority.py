"""The maintenance JVM runs at a lower CPU priority than the streaming jobs beside it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lakehouse.maintenance import _lower_priority
from lakehouse.settings import Settings


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_child_process_gets_the_configured_niceness() -> None:
    stat = subprocess.run(
        ["cat", "/proc/self/stat"],
        preexec_fn=_lower_priority(7),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    niceness = int(stat.rsplit(")", 1)[1].split()[16])  # field 19 of proc_pid_stat(5)
    assert niceness == min(19, os.nice(0) + 7)


def test_zero_keeps_the_priority_and_the_default_is_the_lowest() -> None:
    assert _lower_priority(0) is None
    assert Settings().maintenance_nice == 19
    with pytest.raises(ValueError):
        Settings(maintenance_nice=25)
