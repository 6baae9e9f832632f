"""An unwritable warehouse fails the step with a clear error and commits nothing; once it is
writable again, a rerun completes and everything reconciles exactly (no partial commit, no
duplicate).

The warehouse is a local directory here; its data directories are made immutable with chattr
(root ignores permission bits, not the immutable attribute), as a full or read-only volume would
refuse the writes.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from taxi_generator.anomalies import AnomalyRates
from taxi_generator.producer import run_generator

from lakehouse import catalog as cat
from lakehouse import topics
from lakehouse.flink.gateway import FlinkError
from lakehouse.flink.jobs import run_bronze, run_silver
from lakehouse.reset import reset_data
from lakehouse.verify import run_verify

from .conftest import TEST_HOME, make_settings

pytestmark = pytest.mark.integration


def _chattr(flag: str, paths: list[Path]) -> None:
    if paths:
        subprocess.run(["chattr", flag, *map(str, paths)], check=True)


@pytest.fixture
def immutable() -> Iterator[list[Path]]:
    if shutil.which("chattr") is None:
        pytest.skip("chattr (e2fsprogs) is needed to make a directory unwritable for root")
    frozen: list[Path] = []
    yield frozen
    _chattr("-i", frozen)


def test_unwritable_warehouse_fails_clearly_and_commits_nothing(
    stack, immutable: list[Path]
) -> None:
    home = TEST_HOME / "unwritable"
    settings = make_settings(
        lakehouse_home=home, topic_raw="taxi.unwritable", topic_dlq="taxi.unwritable.dlq"
    )
    reset_data(settings)
    shutil.rmtree(home, ignore_errors=True)
    topics.setup_topics(settings)
    anomalies = AnomalyRates.uniform(0.01)
    run_generator(settings, events=500, seed=91, anomalies=anomalies, progress=False)
    run_bronze(settings)

    catalog = cat.load_catalog(settings)
    table = cat.load_table(catalog, f"{settings.bronze_namespace}.raw_trips")
    before = (table.current_snapshot().snapshot_id, cat.row_count(table))
    data = Path(table.location().removeprefix("file:").removeprefix("//")) / "data"
    immutable.extend([data, *(p for p in data.rglob("*") if p.is_dir())])
    _chattr("+i", immutable)

    run_generator(settings, events=500, seed=92, anomalies=anomalies, progress=False)
    with pytest.raises(FlinkError) as failed:
        run_bronze(settings)
    message = str(failed.value)
    print(f"\nbronze on an unwritable warehouse: {message[:600]}")
    assert "FAILED" in message and "Operation not permitted" in message

    table = cat.load_table(cat.load_catalog(settings), f"{settings.bronze_namespace}.raw_trips")
    assert (table.current_snapshot().snapshot_id, cat.row_count(table)) == before
    dlq = cat.load_table(
        cat.load_catalog(settings), f"{settings.bronze_namespace}.trips_dead_letter"
    )
    # the dead letter is another table, committed on its own: it may hold this run's records
    # now; the rerun must then complete raw_trips without duplicating them (asserted below)
    print(f"dead letter rows after the failed run: {cat.row_count(dlq)}")

    _chattr("-i", immutable)
    immutable.clear()
    second = run_bronze(settings)
    assert second.offsets["new_messages"] > 0
    marks = topics.watermarks(settings, settings.topic_raw)
    on_topic = sum(high - low for low, high in marks.values())
    assert second.counts["bronze_rows"] + second.counts["dead_letter_rows"] == on_topic
    run_silver(settings)
    report = run_verify(settings, include_gold=False)
    assert report.figures["silver_rows"] == 2 * (500 + 5 + 5)  # + negative_amount, total_mismatch
