"""The Dagster definitions load and describe the pipeline: every dbt model is an asset, the dbt
source silver.trips is the silver_trips asset, the checks exist, the job runs in-process."""

import json
import os

import pytest
from dagster import AssetCheckKey, AssetKey, DefaultScheduleStatus, DefaultSensorStatus
from taxi_dagster.definitions import JOB_NAME, WRITER_TAG, build_definitions, defs
from taxi_dagster.project import dbt_project
from taxi_dagster.resources import LakehouseResource, patched_environ

from lakehouse.settings import Settings


@pytest.fixture(scope="module")
def graph():
    return defs.resolve_asset_graph()


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(dbt_project.manifest_path.read_text())


def _parents(graph, key: str) -> set[str]:
    return {k.to_user_string() for k in graph.get(AssetKey(key)).parent_keys}


def test_definitions_load_with_job_schedule_and_resources() -> None:
    defs.validate_loadable(defs)
    job = defs.resolve_job_def(JOB_NAME)
    assert job.executor_def.name == "in_process"
    assert WRITER_TAG.items() <= job.tags.items()
    schedule = defs.resolve_schedule_def("taxi_pipeline_hourly")
    assert schedule.default_status == DefaultScheduleStatus.STOPPED
    assert schedule.job_name == JOB_NAME
    nightly = defs.resolve_schedule_def("iceberg_maintenance_nightly")
    assert nightly.default_status == DefaultScheduleStatus.STOPPED
    assert nightly.job_name == "iceberg_maintenance"
    assert defs.resolve_job_def("iceberg_maintenance").tags["taxi-lakehouse/writer"] == "gold"
    assert set(defs.resources) >= {"lakehouse", "dbt"}
    # streaming's gold refresh: a sensor on silver snapshots starts the gold-only job
    refresh = defs.resolve_job_def("gold_refresh")
    assert WRITER_TAG.items() <= refresh.tags.items()
    gold_keys = refresh.asset_layer.selected_asset_keys
    assert AssetKey("fct_trips") in gold_keys and AssetKey("bronze_trips") not in gold_keys
    sensor = defs.resolve_sensor_def("silver_snapshot_sensor")
    assert sensor.job_name == "gold_refresh"
    assert sensor.default_status == DefaultSensorStatus.STOPPED


def test_every_dbt_model_and_seed_is_an_asset(graph, manifest) -> None:
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    nodes = [n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed")]
    assert {n["name"] for n in nodes} <= keys
    assert {"stg_trips", "int_trips_enriched", "fct_trips", "mart_daily_revenue"} <= keys


def test_ingest_chain_and_dbt_source_maps_to_silver_trips(graph) -> None:
    assert _parents(graph, "raw_trip_events") == {"kafka_topics"}
    assert _parents(graph, "bronze_trips") == {"raw_trip_events"}
    assert _parents(graph, "silver_trips") == {"bronze_trips"}
    # the dbt source silver.trips is the silver_trips asset, not a separate source asset
    assert _parents(graph, "stg_trips") == {"silver_trips"}
    assert "silver/trips" not in {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"fct_trips", "silver_trips"} <= _parents(graph, "verification")


def test_checks_exist(graph) -> None:
    checks = graph.asset_check_keys
    assert AssetCheckKey(AssetKey("verification"), "reconciliation") in checks
    assert AssetCheckKey(AssetKey("silver_trips"), "snapshot_freshness") in checks
    dbt_checks = {c.name for c in checks if c.asset_key == AssetKey("fct_trips")}
    assert "unique_fct_trips_trip_id" in dbt_checks
    assert "fct_trips_row_count_equals_silver_trips" in dbt_checks
    job_checks = defs.resolve_job_def(JOB_NAME).asset_layer.asset_graph.asset_check_keys
    assert AssetCheckKey(AssetKey("verification"), "reconciliation") in job_checks


def test_lakehouse_resource_round_trips_settings(tmp_path) -> None:
    settings = Settings(
        lakehouse_home=tmp_path, kafka_bootstrap_servers="localhost:19092", s3_secret_key="s3cr3t"
    )
    resource = LakehouseResource.from_settings(settings)
    again = resource.get_settings()
    assert again.lakehouse_home == tmp_path
    assert again.kafka_bootstrap_servers == "localhost:19092"
    assert again.s3_secret_key.get_secret_value() == "s3cr3t"
    env = resource.dbt_env()
    assert env["GOLD_DUCKDB_PATH"] == str((tmp_path / "gold" / "gold.duckdb").resolve())
    assert build_definitions(resource).resources["lakehouse"] is resource


def test_dbt_environment_is_only_set_around_the_call(monkeypatch) -> None:
    monkeypatch.delenv("GOLD_DUCKDB_PATH", raising=False)
    monkeypatch.setenv("DBT_THREADS", "7")
    with patched_environ({"GOLD_DUCKDB_PATH": "/x/gold.duckdb", "DBT_THREADS": "2"}):
        assert os.environ["GOLD_DUCKDB_PATH"] == "/x/gold.duckdb"
        assert os.environ["DBT_THREADS"] == "2"
    assert "GOLD_DUCKDB_PATH" not in os.environ
    assert os.environ["DBT_THREADS"] == "7"
