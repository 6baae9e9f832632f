"""The Dagster asset graph, materialized in-process on the native test stack: every asset calls
the lakehouse step functions, dbt tests and the reconciliation are asset checks."""

import time

import pytest
from confluent_kafka import Producer
from dagster import AssetKey, DagsterEventType, SkipReason, build_sensor_context
from taxi_dagster.definitions import JOB_NAME, build_definitions, silver_snapshot_sensor
from taxi_dagster.resources import LakehouseResource
from taxi_generator.anomalies import DEAD_LETTER_KINDS, REJECTED_KINDS, expected_silver_rows

from lakehouse.settings import Settings

pytestmark = pytest.mark.integration

EVENTS = 2000


def _job(settings: Settings):
    return build_definitions(LakehouseResource.from_settings(settings)).resolve_job_def(JOB_NAME)


def _generator_config(events: int, seed: int, anomaly_rate: float) -> dict:
    return {"events": events, "seed": seed, "anomaly_rate": anomaly_rate, "days": 2}


def _metadata(result, key: str) -> dict:
    """Metadata values of the last materialization of `key` in the run."""
    mats = [
        e.event_specific_data.materialization
        for e in result.all_events
        if e.event_type == DagsterEventType.ASSET_MATERIALIZATION
        and e.event_specific_data.materialization.asset_key == AssetKey(key)
    ]
    assert mats, f"{key} was not materialized"
    return {k: getattr(v, "value", v) for k, v in mats[-1].metadata.items()}


def test_whole_graph_materializes_with_every_check_passing(fresh: Settings) -> None:
    t0 = time.monotonic()
    result = _job(fresh).execute_in_process(
        run_config={"ops": {"raw_trip_events": {"config": _generator_config(EVENTS, 7, 0.01)}}},
        raise_on_error=False,
    )
    seconds = time.monotonic() - t0
    print(f"\nDagster materialization of the whole graph, {EVENTS} events: {seconds:.1f}s")
    assert result.success, [
        e.event_specific_data.error.message for e in result.all_events if e.is_step_failure
    ]

    raw = _metadata(result, "raw_trip_events")
    counts = raw["counts"]
    assert counts["clean"] == EVENTS and counts["duplicate"] == 20
    dead = sum(counts[k] for k in DEAD_LETTER_KINDS)
    rejected = sum(counts[k] for k in REJECTED_KINDS)
    assert sum(raw["kafka_offsets_after"].values()) == raw["messages_acked"]

    bronze = _metadata(result, "bronze_trips")
    assert bronze["dagster/row_count"] == raw["messages_acked"] - dead
    assert bronze["dead_letter_rows"] == dead
    assert bronze["new_messages"] == raw["messages_acked"]
    assert bronze["snapshot_id"] not in ("", "None")
    assert bronze["flink_job_state"] == "FINISHED" and bronze["flink_job_duration_s"] > 0

    silver = _metadata(result, "silver_trips")
    kept = expected_silver_rows(counts)  # + the classes silver keeps with a flag
    assert kept == EVENTS + 40
    assert silver["dagster/row_count"] == kept
    assert _metadata(result, "silver_trips_rejected")["dagster/row_count"] == rejected
    assert _metadata(result, "fct_trips")["dagster/row_count"] == kept
    assert _metadata(result, "stg_trips")["dagster/row_count"] == kept

    # every asset of the graph was materialized, every check ran and passed
    materialized = {
        e.event_specific_data.materialization.asset_key
        for e in result.all_events
        if e.event_type == DagsterEventType.ASSET_MATERIALIZATION
    }
    assert materialized == set(_job(fresh).asset_layer.asset_graph.get_all_asset_keys())
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations), [
        (e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed
    ]
    names = {(e.asset_key.to_user_string(), e.check_name) for e in evaluations}
    assert ("verification", "reconciliation") in names
    assert ("silver_trips", "snapshot_freshness") in names
    assert ("fct_trips", "fct_trips_row_count_equals_silver_trips") in names

    figures = _metadata(result, "verification")["figures"]
    assert figures["silver_rows"] == kept and figures["fct_trips_rows"] == kept
    assert figures["kafka_messages"] == raw["messages_acked"]


def _sensor(settings: Settings):  # type: ignore[no-untyped-def]
    context = build_sensor_context(
        resources={"lakehouse": LakehouseResource.from_settings(settings)}
    )
    return silver_snapshot_sensor(context)


def test_silver_snapshot_sensor_drives_an_incremental_gold_refresh(fresh: Settings) -> None:
    """Streaming's gold refresh, in Dagster: the sensor asks for a gold_refresh run when silver
    has a snapshot gold has not consumed, the run loads only the new rows, then the sensor skips."""
    from taxi_generator.producer import run_generator

    from lakehouse import topics
    from lakehouse.flink.jobs import run_bronze, run_silver
    from lakehouse.verify import run_verify

    defs = build_definitions(LakehouseResource.from_settings(fresh))
    topics.setup_topics(fresh)
    for seed in (11, 12):
        run_generator(fresh, events=500, seed=seed, days=2, progress=False)
        run_bronze(fresh)
        run_silver(fresh)
        requested = _sensor(fresh)
        assert not isinstance(requested, SkipReason)
        (request,) = requested.run_requests
        result = defs.resolve_job_def("gold_refresh").execute_in_process(
            tags=request.tags, raise_on_error=False
        )
        assert result.success
        assert _metadata(result, "fct_trips")["dagster/row_count"] == 500 * (seed - 10)
        assert isinstance(_sensor(fresh), SkipReason)  # gold is current: no second run
    assert _metadata(result, "stg_trips")["dagster/row_count"] == 500  # only the new rows
    assert run_verify(fresh).ok


def test_reconciliation_check_fails_the_run_when_kafka_has_an_unknown_message(
    fresh: Settings,
) -> None:
    job = _job(fresh)
    ingest = job.execute_in_process(
        run_config={"ops": {"raw_trip_events": {"config": _generator_config(300, 3, 0.0)}}},
        asset_selection=[AssetKey("kafka_topics"), AssetKey("raw_trip_events")],
    )
    assert ingest.success
    # an extra message no manifest knows about: Kafka (and the dead letter) no longer reconcile
    producer = Producer({"bootstrap.servers": fresh.kafka_bootstrap_servers})
    producer.produce(fresh.topic_raw, key=b"1", value=b"{}")
    producer.flush(10)

    result = job.execute_in_process(
        run_config={"ops": {"verification": {"config": {"include_gold": False}}}},
        asset_selection=[
            AssetKey("bronze_trips"),
            AssetKey("silver_trips"),
            AssetKey("silver_trips_rejected"),
            AssetKey("verification"),
        ],
        raise_on_error=False,
    )
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["verification"]
    assert "blocking asset check" in failures[0].event_specific_data.error.message

    (check,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "reconciliation"]
    assert not check.passed
    assert "kafka messages: expected 300, found 301 (+1)" in check.description
    # "{}" is JSON without a required field, and no Avro wire format at all
    reason = "missing_field" if fresh.event_format == "json" else "avro:not_wire_format"
    assert f"dead letter: {reason}: expected 0, found 1 (+1)" in check.description
    assert check.metadata["failed_checks"].value == 3
    assert _metadata(result, "silver_trips")["dagster/row_count"] == 300
