"""The asset graph: kafka_topics -> raw_trip_events -> bronze_trips -> silver_trips -> dbt models
(one asset per model and seed; dbt tests are asset checks) -> verification.

Each asset calls the step function the `lakehouse` CLI calls; this module only maps their
results (counts, offsets, snapshots, durations) to Dagster metadata.
"""

import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Config,
    MaterializeResult,
    MetadataValue,
    Output,
    asset,
    asset_check,
    multi_asset,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets
from pydantic import Field

from lakehouse import catalog as cat
from lakehouse import topics
from lakehouse.dbt_runner import engine_args
from lakehouse.flink.jobs import StepResult, run_bronze, run_silver
from lakehouse.settings import Settings
from lakehouse.verify import VerificationError, VerifyReport, run_verify

from .project import dbt_project
from .resources import LakehouseDbtCliResource, LakehouseResource

KAFKA_TOPICS = AssetKey("kafka_topics")
RAW_TRIP_EVENTS = AssetKey("raw_trip_events")
BRONZE_TRIPS = AssetKey("bronze_trips")
SILVER_TRIPS = AssetKey("silver_trips")
SILVER_TRIPS_REJECTED = AssetKey("silver_trips_rejected")
VERIFICATION = AssetKey("verification")

#: dbt sources (dbt/models/staging/_sources.yml) -> the assets that write those Iceberg tables
DBT_SOURCE_KEYS = {
    ("silver", "trips"): SILVER_TRIPS,
    ("silver", "trips_rejected"): SILVER_TRIPS_REJECTED,
}


def _json(value: Any) -> MetadataValue:
    """Kafka offsets and snapshots have int keys; JSON metadata wants strings."""

    def norm(v: Any) -> Any:
        if isinstance(v, Mapping):
            return {str(k): norm(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [norm(x) for x in v]
        return v

    return MetadataValue.json(norm(value))


def _job_metadata(result: StepResult) -> dict[str, Any]:
    job = result.job or {}
    return {
        "duration_s": result.seconds,
        "flink_job_id": job.get("job_id", ""),
        "flink_job_duration_s": round(job.get("duration_ms", 0) / 1000.0, 3),
        "flink_job_state": job.get("state", "skipped" if result.skipped else ""),
    }


# ----------------------------------------------------------------------------- ingest
@asset(key=KAFKA_TOPICS, group_name="ingest", kinds={"kafka"})
def kafka_topics(lakehouse: LakehouseResource) -> MaterializeResult:
    """The raw topic and its dead-letter topic, and the event schema in the registry for the avro
    format (idempotent, lakehouse.topics.setup_topics)."""
    t0 = time.monotonic()
    setup = topics.setup_topics(lakehouse.get_settings())
    return MaterializeResult(
        metadata={
            "topics": _json([r.__dict__ for r in setup.topics]),
            "created": sum(r.created for r in setup.topics),
            "schema": _json(setup.schema.to_dict() if setup.schema else {}),
            "duration_s": round(time.monotonic() - t0, 3),
        }
    )


class GeneratorConfig(Config):
    """Run config of one generator run (the `lakehouse generate` options)."""

    events: int = Field(default=10_000, ge=0, description="Clean events to produce.")
    mode: Literal["burst", "realtime", "batch"] = "burst"
    seed: int | None = Field(default=None, description="Random seed; empty = GENERATOR_SEED.")
    anomaly_rate: float = Field(
        default=0.01, ge=0.0, description="Rate of each anomaly class per clean event."
    )
    days: int = Field(default=3, ge=1, description="Days of pickups to spread the events over.")


@asset(key=RAW_TRIP_EVENTS, deps=[KAFKA_TOPICS], group_name="ingest", kinds={"kafka", "python"})
def raw_trip_events(config: GeneratorConfig, lakehouse: LakehouseResource) -> MaterializeResult:
    """Taxi-trip events produced to the raw topic, plus the run manifest that counts them."""
    from taxi_generator.anomalies import AnomalyRates
    from taxi_generator.producer import run_generator

    settings = lakehouse.get_settings()
    t0 = time.monotonic()
    manifest = run_generator(
        settings,
        events=config.events,
        mode=config.mode,
        seed=config.seed,
        days=config.days,
        anomalies=AnomalyRates.uniform(config.anomaly_rate),
        progress=False,
    )
    m = manifest.to_dict()
    return MaterializeResult(
        metadata={
            "dagster/row_count": m["messages_acked"],
            "run_id": m["run_id"],
            "manifest": MetadataValue.path(str(settings.manifests_dir / f"{m['run_id']}.json")),
            "messages_acked": m["messages_acked"],
            "events_per_s": m["events_per_s"],
            "counts": _json(m["counts"]),
            "kafka_offsets_before": _json(m["offsets_before"]),
            "kafka_offsets_after": _json(m["offsets_after"]),
            "duration_s": round(time.monotonic() - t0, 3),
        }
    )


# ----------------------------------------------------------------------------- Flink
@asset(key=BRONZE_TRIPS, deps=[RAW_TRIP_EVENTS], group_name="lakehouse", kinds={"flink", "iceberg"})
def bronze_trips(lakehouse: LakehouseResource) -> MaterializeResult:
    """bronze.raw_trips (+ bronze.trips_dead_letter): the Flink bronze job, incremental over
    the Kafka offsets not yet in bronze (lakehouse.flink.jobs.run_bronze)."""
    result = run_bronze(lakehouse.get_settings())
    return MaterializeResult(
        metadata={
            "dagster/row_count": result.counts["bronze_rows"],
            "dead_letter_rows": result.counts["dead_letter_rows"],
            "skipped": result.skipped,
            "new_messages": result.offsets.get("new_messages", 0),
            "kafka_offsets_start": _json(result.offsets.get("start", {})),
            "kafka_offsets_stop": _json(result.offsets.get("stop", {})),
            "snapshot_id": str(result.snapshots["raw_trips"].get("snapshot_id")),
            "dead_letter_snapshot_id": str(
                result.snapshots["trips_dead_letter"].get("snapshot_id")
            ),
            **_job_metadata(result),
        }
    )


@multi_asset(
    specs=[
        AssetSpec(
            SILVER_TRIPS,
            deps=[BRONZE_TRIPS],
            group_name="lakehouse",
            kinds={"flink", "iceberg"},
            description="silver.trips: clean, typed, deduplicated trips (Iceberg).",
        ),
        AssetSpec(
            SILVER_TRIPS_REJECTED,
            deps=[BRONZE_TRIPS],
            group_name="lakehouse",
            kinds={"flink", "iceberg"},
            description="silver.trips_rejected: trips failing a business rule, with the reason.",
        ),
    ],
    name="silver",
)
def silver(lakehouse: LakehouseResource) -> Iterator[MaterializeResult]:
    """One Flink job writes both silver tables (lakehouse.flink.jobs.run_silver)."""
    result = run_silver(lakehouse.get_settings())
    job = _job_metadata(result)
    yield MaterializeResult(
        asset_key=SILVER_TRIPS,
        metadata={
            "dagster/row_count": result.counts["silver_rows"],
            "snapshot_id": str(result.snapshots["trips"].get("snapshot_id")),
            "snapshot_committed_at_ms": result.snapshots["trips"].get("committed_at_ms"),
            **job,
        },
    )
    yield MaterializeResult(
        asset_key=SILVER_TRIPS_REJECTED,
        metadata={
            "dagster/row_count": result.counts["rejected_rows"],
            "snapshot_id": str(result.snapshots["trips_rejected"].get("snapshot_id")),
            **job,
        },
    )


class SilverFreshnessConfig(Config):
    max_age_minutes: float = Field(
        default=60.0, gt=0, description="Oldest acceptable age of silver.trips' last snapshot."
    )


@asset_check(asset=SILVER_TRIPS, name="snapshot_freshness")
def silver_snapshot_freshness(
    config: SilverFreshnessConfig, lakehouse: LakehouseResource
) -> AssetCheckResult:
    """The current Iceberg snapshot of silver.trips was committed less than
    `max_age_minutes` ago."""
    settings = lakehouse.get_settings()
    table = cat.load_table(cat.load_catalog(settings), f"{settings.silver_namespace}.trips")
    info = cat.snapshot_info(table)
    limit_s = config.max_age_minutes * 60
    if info.get("snapshot_id") is None:
        return AssetCheckResult(
            passed=False, metadata={"reason": "silver.trips has no snapshot", "limit_s": limit_s}
        )
    committed = datetime.fromtimestamp(info["committed_at_ms"] / 1000, tz=UTC)
    age_s = round((datetime.now(UTC) - committed).total_seconds(), 1)
    return AssetCheckResult(
        passed=age_s <= limit_s,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "snapshot_id": str(info["snapshot_id"]),
            "committed_at": committed.isoformat(),
            "age_s": age_s,
            "limit_s": limit_s,
        },
    )


# ----------------------------------------------------------------------------- dbt
class LakehouseDbtTranslator(DagsterDbtTranslator):
    """Default keys (the model/seed name) and groups, except that the dbt sources are the
    silver assets above, so the graph runs silver -> stg_trips -> ... in one lineage."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            key = (dbt_resource_props["source_name"], dbt_resource_props["name"])
            if key in DBT_SOURCE_KEYS:
                return DBT_SOURCE_KEYS[key]
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "gold"


# dbt tests on models and seeds become asset checks. The one source test (accepted_values on
# silver.trips_rejected.reason) still runs inside `dbt build` and fails the step if it fails;
# dagster-dbt records it as an observation of silver_trips_rejected (its default for sources).
dbt_translator = LakehouseDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
)


def _with_row_counts(
    events: list[Any], manifest: Mapping[str, Any], settings: Settings
) -> list[Any]:
    """Add dagster/row_count to each dbt model/seed output, counted on the engine that built gold
    (lakehouse.gold.gold_rows: DuckDB or Trino) after dbt has finished (while dbt runs on DuckDB
    it holds the single writer lock)."""
    import duckdb
    from trino.exceptions import TrinoQueryError

    from lakehouse.gold import gold_rows, gold_tables

    if gold_tables(settings) is None:
        return events
    nodes = manifest.get("nodes", {})
    out = []
    for event in events:
        unique_id = event.metadata.get("unique_id") if isinstance(event, Output) else None
        relation = nodes.get(getattr(unique_id, "value", unique_id), {}).get("relation_name")
        if relation:
            # the model's table, unqualified: gold's schema on either engine (the prepared
            # manifest names DuckDB's "gold"."main" even when the build ran on Trino)
            table = relation.split(".")[-1]
            try:
                count = gold_rows(settings, f"select count(*) from {table}")[0][0]
                event = event.with_metadata({**event.metadata, "dagster/row_count": count})
            except (duckdb.Error, TrinoQueryError):
                pass  # an ephemeral model has no table to count
        out.append(event)
    return out


def build_gold_dbt_assets():  # noqa: ANN201 - an AssetsDefinition
    """The dbt project as assets; needs the prepared manifest (project.prepare_manifest)."""

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        dagster_dbt_translator=dbt_translator,
        name="gold_dbt",
    )
    def gold_dbt(context: AssetExecutionContext, dbt: LakehouseDbtCliResource) -> Iterator[Any]:
        """`dbt build` of the selected models, seeds and their tests (asset checks)."""
        # on Trino, the silver snapshots to read (lakehouse.dbt_runner.engine_args)
        invocation = dbt.cli(["build", *engine_args(dbt.lakehouse.get_settings(), "build")],
                             context=context)  # fmt: skip
        events = list(invocation.stream())
        yield from _with_row_counts(events, invocation.manifest, dbt.lakehouse.get_settings())

    return gold_dbt


# ----------------------------------------------------------------------------- verify
class VerifyConfig(Config):
    include_gold: bool = Field(default=True, description="Also reconcile gold fct_trips.")


RECONCILIATION_CHECK = AssetCheckSpec(
    "reconciliation",
    asset=VERIFICATION,
    blocking=True,
    description="Manifests = Kafka offsets = bronze + dead letter; silver = clean events; "
    "fct_trips = silver; late events in fct_trips (docs/contracts.md section 3).",
)


def _report_metadata(report: VerifyReport) -> dict[str, Any]:
    table = "| check | expected | actual | ok |\n|---|---|---|---|\n" + "\n".join(
        f"| {c.name} | {c.expected} | {c.actual} | {'ok' if c.ok else 'FAIL'} |"
        for c in report.checks
    )
    return {"checks": MetadataValue.md(table), "figures": _json(report.figures)}


@asset(
    key=VERIFICATION,
    deps=[
        RAW_TRIP_EVENTS,
        BRONZE_TRIPS,
        SILVER_TRIPS,
        SILVER_TRIPS_REJECTED,
        AssetKey("fct_trips"),
    ],
    group_name="quality",
    kinds={"python"},
    check_specs=[RECONCILIATION_CHECK],
)
def verification(
    config: VerifyConfig, lakehouse: LakehouseResource
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """The reconciliation report (lakehouse.verify.run_verify). Its `reconciliation` check
    fails - and, being blocking, fails the run - when any count disagrees."""
    t0 = time.monotonic()
    try:
        report = run_verify(lakehouse.get_settings(), include_gold=config.include_gold)
    except VerificationError as exc:
        report = exc.report
    metadata = {**_report_metadata(report), "duration_s": round(time.monotonic() - t0, 3)}
    yield MaterializeResult(metadata=metadata)
    yield AssetCheckResult(
        check_name="reconciliation",
        passed=report.ok,
        severity=AssetCheckSeverity.ERROR,
        description=None if report.ok else "does not reconcile:\n" + report.diff(),
        metadata={
            "failed": MetadataValue.md(report.diff()),
            "failed_checks": sum(not c.ok for c in report.checks),
            **{k: v for k, v in report.figures.items() if isinstance(v, int)},
        },
    )
