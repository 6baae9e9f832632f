"""`defs`: the taxi-lakehouse asset graph, its job, schedule and resources.

dagster dev -m taxi_dagster.definitions -d dagster     (or: python -m taxi_dagster.cli ui)
"""

from __future__ import annotations

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    ScheduleDefinition,
    define_asset_job,
    in_process_executor,
)

from lakehouse.dbt_runner import DBT_DIR, _dbt_executable

from .assets import (
    GeneratorConfig,
    bronze_trips,
    build_gold_dbt_assets,
    kafka_topics,
    raw_trip_events,
    silver,
    silver_snapshot_freshness,
    verification,
)
from .maintenance import iceberg_maintenance, iceberg_maintenance_nightly
from .project import dbt_project, prepare_manifest
from .resources import LakehouseDbtCliResource, LakehouseResource

JOB_NAME = "taxi_pipeline"
#: Runs carrying this tag are limited to one at a time by dagster.yaml's run queue.
WRITER_TAG = {"taxi-lakehouse/writer": "gold"}

prepare_manifest()  # `dagster dev`: re-parse; otherwise use the prepared manifest (project.py)
gold_dbt = build_gold_dbt_assets()

# Serializing the writers. gold.duckdb accepts a single writer process, and the Flink jobs commit
# to the same Iceberg catalog (an SQLite file natively). Two layers keep writers from overlapping:
#  * inside a run, the in-process executor runs one step at a time in the run's own process (the
#    graph is a chain anyway; the multiprocess executor would only add a Python start-up with
#    dagster + dbt imports per step on this 2-core machine, and could overlap the freshness check
#    with dbt);
#  * across runs (the schedule firing while a manual run is going), every run of this job carries
#    WRITER_TAG and dagster.yaml's run queue admits one run with that tag at a time
#    (run_queue.tag_concurrency_limits); the others wait queued instead of failing on a lock.
taxi_pipeline = define_asset_job(
    JOB_NAME,
    selection=AssetSelection.all(),
    description="topics -> generate -> Flink bronze -> Flink silver -> dbt build -> verify",
    executor_def=in_process_executor,
    tags=WRITER_TAG,
    config={"ops": {"raw_trip_events": {"config": GeneratorConfig().model_dump()}}},
)

taxi_pipeline_hourly = ScheduleDefinition(
    name="taxi_pipeline_hourly",
    job=taxi_pipeline,
    cron_schedule="0 * * * *",
    default_status=DefaultScheduleStatus.STOPPED,  # off until switched on in the UI
    description="One generator batch through every layer each hour (off by default).",
)


def build_definitions(lakehouse: LakehouseResource | None = None) -> Definitions:
    """The definitions against the lakehouse `lakehouse` describes (default: the environment
    and .env, like the `lakehouse` CLI); tests pass LakehouseResource.from_settings(...)."""
    lakehouse = lakehouse or LakehouseResource()
    dbt = LakehouseDbtCliResource(
        project_dir=dbt_project,
        profiles_dir=str(DBT_DIR),
        dbt_executable=_dbt_executable(),
        lakehouse=lakehouse,
    )
    return Definitions(
        assets=[kafka_topics, raw_trip_events, bronze_trips, silver, gold_dbt, verification],
        asset_checks=[silver_snapshot_freshness],
        jobs=[taxi_pipeline, iceberg_maintenance],
        schedules=[taxi_pipeline_hourly, iceberg_maintenance_nightly],
        resources={"lakehouse": lakehouse, "dbt": dbt},
    )


defs = build_definitions()
