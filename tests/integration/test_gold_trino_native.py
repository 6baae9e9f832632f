"""Gold on Trino (GOLD_ENGINE=trino): the same dbt project through dbt-trino on the project's
Iceberg catalog writes gold as Iceberg tables; verify, the query shell and the report read it
from Trino; the build is incremental (Trino's table_changes over the snapshots since the
consumed one), also when Dagster's sensor and gold_refresh job drive it; it survives a
compaction and a full silver recompute, and equals a rebuild from scratch (Kafka, Flink,
Iceberg, Trino, dbt, Dagster; Trino started by the native stack)."""

from __future__ import annotations

import pytest
from dagster import DagsterEventType, SkipReason, build_sensor_context
from rich.console import Console
from taxi_dagster.definitions import build_definitions, silver_snapshot_sensor
from taxi_dagster.resources import LakehouseResource
from taxi_generator.anomalies import AnomalyRates
from taxi_generator.producer import run_generator

from lakehouse import catalog as cat
from lakehouse import topics
from lakehouse.dbt_runner import run_dbt
from lakehouse.flink.jobs import run_bronze, run_silver
from lakehouse.gold import compare_full_refresh, gold_rows, silver_changes
from lakehouse.maintenance import run_maintenance
from lakehouse.query import QueryError, run_sql
from lakehouse.report import write_report
from lakehouse.settings import Settings
from lakehouse.silver_increment import trino_silver_loads
from lakehouse.verify import run_verify

pytestmark = pytest.mark.integration

RATES = AnomalyRates(
    duplicate=0.03, dropoff_before_pickup=0.01, invalid_location_id=0.01, late=0.05
)


def _batch(s: Settings, events: int, seed: int) -> None:
    run_generator(s, events=events, seed=seed, days=3, anomalies=RATES, progress=False)
    run_bronze(s)
    run_silver(s)


def _facts(s: Settings, where: str = "") -> int:
    return int(gold_rows(s, f"select count(*) from fct_trips {where}")[0][0])


def _silver_rows(s: Settings) -> int:
    return cat.row_count(cat.load_table(cat.load_catalog(s), f"{s.silver_namespace}.trips"))


def test_gold_on_trino_is_iceberg_incremental_and_equals_a_full_rebuild(trino: Settings) -> None:
    s = trino
    topics.setup_topics(s)
    _batch(s, 1500, seed=11)
    assert trino_silver_loads(s)["trips"]["mode"] == "full"  # no gold yet
    result = run_dbt(s, "build")
    assert "ERROR=0" in result.summary and "PASS=" in result.summary, result.summary
    report = run_verify(s)
    assert report.ok, [c for c in report.checks if not c.ok]
    assert _facts(s) == _silver_rows(s) > 1000

    # the query shell and the report read gold from Trino; the shell refuses to write
    shell = Console(record=True, width=200)
    run_sql(s, "select count(*) as facts from fct_trips; show tables", shell)
    printed = shell.export_text()
    assert f"{_facts(s)}" in printed and "mart_daily_revenue" in printed, printed
    with pytest.raises(QueryError, match="only reads gold"):
        run_sql(s, "drop table fct_trips", shell)
    _, report = write_report(s, s.lakehouse_home / "report" / "trino.html")
    # the report counts trips: the facts hold ~2 % voids and refunds besides
    assert report.trips == _facts(s, "where is_trip") and len(report.hours) == 24

    # gold is Iceberg tables in namespace gold: any engine reads them (here pyiceberg)
    catalog = cat.load_catalog(s)
    assert cat.row_count(cat.load_table(catalog, f"{s.gold_namespace}.fct_trips")) == _facts(s)
    assert not any(change.new for change in silver_changes(s))  # gold consumed silver

    # a second batch, then a compaction before gold reads it: the build reads only the
    # appended snapshots (the compaction's replace adds no rows) and keeps each trip once
    _batch(s, 500, seed=12)
    # (two small files per day partition are enough to compact here)
    compact = s.model_copy(update={"maintenance_min_input_files": 2})
    compacted = run_maintenance(compact, [f"{s.silver_namespace}.trips"], expire=False,
                                orphans=False)  # fmt: skip
    assert compacted.tables[0]["compaction"]["rewritten_data_files"] >= 2
    plan = trino_silver_loads(s)["trips"]
    assert plan["mode"] == "incremental" and plan["after_snapshot_id"] is not None, plan
    # ... built by Dagster this time: its sensor sees the snapshots gold has not consumed and
    # asks for a gold_refresh run, whose dbt assets get the planned snapshots (engine_args)
    resource = LakehouseResource.from_settings(s)
    requested = silver_snapshot_sensor(build_sensor_context(resources={"lakehouse": resource}))
    assert not isinstance(requested, SkipReason), requested
    (request,) = requested.run_requests
    job = build_definitions(resource).resolve_job_def("gold_refresh")
    result = job.execute_in_process(tags=request.tags, raise_on_error=False)
    assert result.success, [e.event_specific_data.error.message
                            for e in result.all_events if e.is_step_failure]  # fmt: skip
    assert _facts(s) == _silver_rows(s)
    mats = [e.event_specific_data.materialization for e in result.all_events
            if e.event_type == DagsterEventType.ASSET_MATERIALIZATION]  # fmt: skip
    counts = {m.asset_key.path[-1]: m.metadata["dagster/row_count"].value
              for m in mats if "dagster/row_count" in m.metadata}  # fmt: skip
    assert counts["fct_trips"] == _facts(s), counts  # counted on Trino
    assert 0 < counts["stg_trips"] < _facts(s), counts  # only the new rows
    assert isinstance(
        silver_snapshot_sensor(build_sensor_context(resources={"lakehouse": resource})), SkipReason
    )
    assert run_verify(s).ok

    # a full silver recompute (an Iceberg overwrite): gold is rebuilt from all of silver
    run_silver(s, full=True)
    plan = trino_silver_loads(s)["trips"]
    assert plan["mode"] == "full" and "overwrite" in plan["reason"], plan
    run_dbt(s, "build")
    assert _facts(s) == _silver_rows(s)

    # built run by run == rebuilt from scratch (dbt --full-refresh into a second namespace)
    comparison = compare_full_refresh(s)
    assert comparison.same_silver, comparison.silver_snapshots
    assert not comparison.missing and len(comparison.tables) >= 9
    assert comparison.equal, [t for t in comparison.tables if not t.equal]
    assert {t.table: t.rows for t in comparison.tables}["fct_trips"] == _silver_rows(s)
