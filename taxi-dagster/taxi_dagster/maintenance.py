"""Iceberg maintenance as a Dagster job: compaction, snapshot expiry, orphan cleanup of the bronze
and silver tables (lakehouse.maintenance.run_maintenance, the code `lakehouse maintain`, `make
maintain` and Kestra's taxi_maintenance flow run). Not an asset: it changes files, not data."""

from dagster import (
    Config,
    DefaultScheduleStatus,
    OpExecutionContext,
    ScheduleDefinition,
    in_process_executor,
    job,
    op,
)

from lakehouse.maintenance import run_maintenance

from .resources import LakehouseResource


class MaintenanceConfig(Config):
    dry_run: bool = False


@op(description="Compact small files, expire snapshots, delete orphan files (Iceberg APIs)")
def maintain_tables(
    context: OpExecutionContext, config: MaintenanceConfig, lakehouse: LakehouseResource
) -> dict:
    result = run_maintenance(lakehouse.get_settings(), dry_run=config.dry_run)
    for t in result.tables:
        comp = t.get("compaction") or {}
        context.log.info(
            f"{t['table']}: data files {t.get('data_files_before')} -> "
            f"{t.get('data_files_after')} (rewrote {comp.get('rewritten_data_files', 0)}), "
            f"snapshots {t.get('snapshots_before')} -> {t.get('snapshots_after')}, "
            f"orphans deleted {t.get('orphan_files_deleted')}"
        )
    return result.to_dict()


@job(
    description="Iceberg maintenance of bronze + silver (lakehouse maintain)",
    executor_def=in_process_executor,
    # a writer of the same Iceberg catalog as the pipeline: queued behind a running pipeline
    tags={"taxi-lakehouse/writer": "gold"},
)
def iceberg_maintenance() -> None:
    maintain_tables()


iceberg_maintenance_nightly = ScheduleDefinition(
    name="iceberg_maintenance_nightly",
    job=iceberg_maintenance,
    cron_schedule="30 3 * * *",
    default_status=DefaultScheduleStatus.STOPPED,  # off until switched on in the UI
    description="Nightly compaction, snapshot expiry and orphan cleanup (off by default).",
)
