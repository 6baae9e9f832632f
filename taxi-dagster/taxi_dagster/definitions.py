"""`defs`: the taxi-lakehouse asset graph, its job, schedule and resources.

dagster dev -m taxi_dagster.definitions -d dagster     (or: python -m taxi_dagster.cli ui)
"""

from __future__ import annotations

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    in_process_executor,
    sensor,
)

from lakehouse.dbt_runner import DBT_DIR, _dbt_executable
from lakehouse.gold import silver_changes

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

# Streaming: gold follows silver. The sensor polls the silver snapshots gold reads (catalog
# metadata only) and asks for one incremental dbt build per new pair of snapshots; the run key
# keeps a pair from being built twice, WRITER_TAG queues it behind any other gold writer.
gold_refresh = define_asset_job(
    "gold_refresh",
    selection=AssetSelection.groups("gold"),
    description="Incremental dbt build of gold from the silver rows committed since the last one",
    executor_def=in_process_executor,
    tags=WRITER_TAG,
)


@sensor(
    job=gold_refresh,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.STOPPED,  # on while streaming: switch on in the UI
    description="A gold refresh when silver.trips or silver.trips_rejected has a snapshot gold "
    "has not consumed (lakehouse.gold.silver_changes).",
)
def silver_snapshot_sensor(
    context: SensorEvaluationContext, lakehouse: LakehouseResource
) -> SensorResult | SkipReason:
    changes = silver_changes(lakehouse.get_settings())
    new = [c for c in changes if c.new]
    if not new:
        return SkipReason("gold has consumed every silver snapshot")
    run_key = "silver-" + "-".join(f"{c.table}:{c.current}" for c in changes)
    context.log.info("new silver snapshots: " + ", ".join(f"{c.table} {c.current}" for c in new))
    return SensorResult(run_requests=[RunRequest(run_key=run_key)])


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
        jobs=[taxi_pipeline, gold_refresh, iceberg_maintenance],
        schedules=[taxi_pipeline_hourly, iceberg_maintenance_nightly],
        sensors=[silver_snapshot_sensor],
        resources={"lakehouse": lakehouse, "dbt": dbt},
    )


defs = build_definitions()
