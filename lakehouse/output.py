"""A step's machine-readable result: a JSON file when asked, Kestra outputs and metrics when Kestra
runs the step. Every CLI command that has a result goes through `emit`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def emit(
    result: dict[str, Any],
    json_out: Path | None,
    counters: dict[str, int | float] | None = None,
    timers: dict[str, float] | None = None,
    tags: dict[str, str] | None = None,
    omit_from_outputs: tuple[str, ...] = (),
) -> None:
    """Machine-readable result: to a file if asked, and as Kestra outputs and metrics (counters,
    timers in seconds) when run by Kestra (the `kestra` package prints ::{json}:: lines the
    Kestra worker collects). `omit_from_outputs` keeps bulky keys out of Kestra's outputs."""
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    if os.environ.get("KESTRA_EXECUTION_ID") or os.environ.get("LAKEHOUSE_KESTRA_OUTPUTS"):
        try:
            from kestra import Kestra

            outputs = {k: v for k, v in result.items() if k not in omit_from_outputs}
            Kestra.outputs(json.loads(json.dumps(outputs, default=str)))
            for name, value in (counters or {}).items():
                if value is not None:
                    Kestra.counter(name, value, tags or {})
            for name, seconds in (timers or {}).items():
                if seconds is not None:
                    Kestra.timer(name, seconds, tags or {})
        except ImportError:  # pragma: no cover - the tools image installs it
            pass
