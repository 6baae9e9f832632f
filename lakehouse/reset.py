"""Delete the pipeline's data (`lakehouse stack reset`; the tests and benchmarks start from none):
topics, Iceberg tables, manifests and gold. The engines keep running."""

from __future__ import annotations

import shutil
from pathlib import Path

from lakehouse import catalog as cat
from lakehouse import topics
from lakehouse.settings import Settings


def reset_data(settings: Settings) -> None:
    topics.delete_topics(settings)
    catalog = cat.load_catalog(settings)
    # gold on Trino (GOLD_ENGINE=trino) lives in the catalog too: gold, its silver inputs, and
    # compare-full-refresh's copy (lakehouse/gold.py)
    gold = settings.gold_namespace
    gold_namespaces = (
        gold,
        f"{gold}_silver",
        f"{gold}_full_refresh",
        f"{gold}_full_refresh_silver",
    )
    for ns in (settings.bronze_namespace, settings.silver_namespace, *gold_namespaces):
        try:
            for ident in catalog.list_tables(ns):
                catalog.purge_table(ident)
            catalog.drop_namespace(ns)
        except Exception:  # noqa: BLE001 - namespace absent
            pass
    shutil.rmtree(settings.manifests_dir, ignore_errors=True)
    settings.gold_path.unlink(missing_ok=True)
    Path(str(settings.gold_path) + ".wal").unlink(missing_ok=True)
