"""Iceberg maintenance on the real tables (flink/maintenance through `lakehouse maintain`):
compaction leaves fewer files and the same rows, old snapshots expire, an orphan file is deleted
while every referenced file stays, and the pipeline still reconciles exactly afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from taxi_generator.anomalies import AnomalyRates
from taxi_generator.producer import run_generator

from lakehouse import catalog as cat
from lakehouse import topics
from lakehouse.flink.jobs import run_bronze, run_silver
from lakehouse.maintenance import run_maintenance
from lakehouse.reset import reset_data
from lakehouse.settings import REPO_ROOT
from lakehouse.verify import run_verify

from .conftest import TEST_HOME, make_settings, settings_env

pytestmark = pytest.mark.integration


def _files(table) -> int:  # noqa: ANN001
    return sum(1 for _ in table.scan().plan_files())


def test_compaction_expiry_and_orphans_keep_the_data_exact(stack) -> None:
    home = TEST_HOME / "maintenance"
    settings = make_settings(
        lakehouse_home=home, topic_raw="taxi.maintenance", topic_dlq="taxi.maintenance.dlq",
        maintenance_snapshot_retention_h=0, maintenance_retain_last=1,
        maintenance_min_input_files=2,
    )  # fmt: skip
    reset_data(settings)
    shutil.rmtree(home, ignore_errors=True)
    topics.setup_topics(settings)
    for run in range(5):  # five small commits: what a streaming job leaves behind
        run_generator(settings, events=200, seed=100 + run, anomalies=AnomalyRates.uniform(0.01),
                      progress=False)  # fmt: skip
        run_bronze(settings)
    run_silver(settings)
    before = run_verify(settings, include_gold=False).figures

    catalog = cat.load_catalog(settings)
    raw = cat.load_table(catalog, f"{settings.bronze_namespace}.raw_trips")
    files_before, snapshots_before = _files(raw), len(raw.snapshots())
    assert files_before >= 5 and snapshots_before >= 5
    data_dir = Path(raw.location().removeprefix("file:").removeprefix("//")) / "data"
    orphan = data_dir / "left-by-a-failed-writer.parquet"
    orphan.write_bytes(b"not referenced by any snapshot")
    ten_days_ago = time.time() - 10 * 86400
    os.utime(orphan, (ten_days_ago, ten_days_ago))

    # a dry run through the CLI (what make maintain / Kestra / Dagster run) changes nothing
    proc = subprocess.run(
        [sys.executable, "-m", "lakehouse.cli", "maintain", "--dry-run"],
        env=settings_env(settings), capture_output=True, text=True, timeout=600, cwd=REPO_ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert orphan.exists()
    assert _files(cat.load_table(cat.load_catalog(settings), raw.name())) == files_before

    result = run_maintenance(settings)
    by_table = {t["table"]: t for t in result.tables}
    assert set(by_table) == {
        "bronze.raw_trips", "bronze.trips_dead_letter", "silver.trips", "silver.trips_rejected",
    }  # fmt: skip
    report = by_table["bronze.raw_trips"]
    assert report["compaction"]["rewritten_data_files"] >= 2
    assert report["orphan_files_deleted"] == 1 and not orphan.exists()

    raw = cat.load_table(cat.load_catalog(settings), f"{settings.bronze_namespace}.raw_trips")
    assert _files(raw) < files_before
    assert len(raw.snapshots()) < snapshots_before
    # same rows everywhere: reconciliation is exact, and the next runs are still incremental
    assert run_verify(settings, include_gold=False).figures == before
    run_generator(settings, events=200, seed=200, progress=False)
    assert run_bronze(settings).offsets["new_messages"] == 200
    run_silver(settings)
    # 5 x (200 + 1 % negative_amount and total_mismatch, kept flagged) + 200
    assert run_verify(settings, include_gold=False).figures["silver_rows"] == 5 * 204 + 200
