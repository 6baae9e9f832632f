"""The benchmark harness runs end to end on a tiny input (no timing assertions)."""

from __future__ import annotations

import json
import sys

import pytest

from lakehouse.settings import REPO_ROOT, Settings, reset_settings_cache

from .conftest import settings_env

pytestmark = pytest.mark.integration


def test_harness_runs_and_writes_results_and_report(
    fresh: Settings, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in settings_env(fresh).items():
        monkeypatch.setenv(key, value)
    reset_settings_cache()
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    try:
        import run as harness

        results, report = tmp_path / "results.jsonl", tmp_path / "report.md"
        code = harness.main(
            ["--sizes", "300", "--reps", "1", "--results", str(results), "--report", str(report)]
        )
    finally:
        sys.path.remove(str(REPO_ROOT / "benchmarks"))
        reset_settings_cache()
    assert code == 0
    lines = [json.loads(x) for x in results.read_text().splitlines()]
    assert len(lines) == 1
    rec = lines[0]
    assert rec["size"] == 300 and rec["reconciled"] is True
    assert rec["silver_rows"] == 306  # + 1 % negative_amount and total_mismatch each, flagged
    assert rec["environment"]["cpu_count"] >= 1 and rec["command"].startswith(
        "python benchmarks/run.py"
    )
    for stage in ("generate_s", "bronze_s", "silver_s", "dbt_build_s", "verify_s", "total_s"):
        assert rec[stage] > 0
    assert rec["peak_rss_mb"]["kafka"] > 0
    text = report.read_text()
    assert "| plain | warm | 300 | 1 |" in text
    assert (tmp_path / "stages.png").stat().st_size > 0
