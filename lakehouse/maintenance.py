"""Iceberg table maintenance: compaction of the small files streaming commits, snapshot expiry and
orphan-file cleanup, with Iceberg's own Java APIs (flink/maintenance; Flink SQL has no Iceberg
maintenance procedures).

Runs the maintenance tool with Flink's lib/ on the classpath (Iceberg runtime, Hadoop, JDBC
drivers: the jar set the jobs use) against the same catalog as the jobs. Credentials go through
a 0600 properties file, never the command line. Every table's result comes back as one JSON line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.settings import Settings
from lakehouse.stack.flink import FLINK_VERSION

JAR = "taxi-iceberg-maintenance.jar"
MAIN = "taxi.lakehouse.maintenance.Maintain"


class MaintenanceError(RuntimeError):
    """The tool failed; the message carries its error line."""


@dataclass
class MaintenanceResult:
    tables: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def counters(self) -> dict[str, int]:
        """Kestra metrics of the step: work done over every table."""
        return {
            "files_rewritten": sum(
                (t.get("compaction") or {}).get("rewritten_data_files", 0) for t in self.tables
            ),
            "snapshots_expired": sum(t.get("expired_snapshots") or 0 for t in self.tables),
            "orphans_deleted": sum(t.get("orphan_files_deleted") or 0 for t in self.tables),
        }


def catalog_properties(settings: Settings) -> dict[str, str]:
    """The Iceberg catalog as the Java JdbcCatalog wants it (the Flink catalog DDL's options)."""
    return {
        "catalog-impl": "org.apache.iceberg.jdbc.JdbcCatalog",
        "uri": settings.jdbc_catalog_uri,
        "jdbc.schema-version": "V1",
        "warehouse": settings.warehouse_uri,
        **settings.java_catalog_options(),
    }


def _escape(value: str) -> str:
    """java.util.Properties escaping for a value."""
    out = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    return out.replace("=", "\\=").replace(":", "\\:")


def _flink_home(settings: Settings) -> Path:
    return Path(os.environ.get("FLINK_HOME", settings.cache_dir / f"flink-{FLINK_VERSION}"))


def command(settings: Settings, properties_file: Path, tables: list[str], **ops: Any) -> list[str]:
    home = _flink_home(settings)
    jar = home / "opt" / JAR
    if not jar.exists():
        raise MaintenanceError(f"{jar} not found: run `make bootstrap` (builds flink/maintenance)")
    java = settings.maintenance_java or shutil.which("java")
    if not java:
        raise MaintenanceError("Java 17+ not found on PATH (or set MAINTENANCE_JAVA)")
    now_ms = int(time.time() * 1000)
    args = [
        java, "-Xmx1g", "-cp", f"{home / 'lib'}/*:{jar}", MAIN,
        "--catalog-name", settings.iceberg_catalog_name,
        "--catalog-properties", str(properties_file),
    ]  # fmt: skip
    for table in tables:
        args += ["--table", table]
    if ops.get("compact", True):
        args += [
            "--compact",
            "--target-file-size-bytes", str(settings.maintenance_target_file_mb * 1024 * 1024),
            "--min-input-files", str(settings.maintenance_min_input_files),
        ]  # fmt: skip
    if ops.get("expire", True):
        retention_ms = int(settings.maintenance_snapshot_retention_h * 3600 * 1000)
        args += [
            "--expire-older-than-ms", str(now_ms - retention_ms),
            "--retain-last", str(settings.maintenance_retain_last),
        ]  # fmt: skip
    if ops.get("orphans", True):
        age_ms = int(settings.maintenance_orphan_age_h * 3600 * 1000)
        args += ["--remove-orphans-older-than-ms", str(now_ms - age_ms)]
    if ops.get("dry_run"):
        args.append("--dry-run")
    return args


def _lower_priority(niceness: int) -> Callable[[], None] | None:
    """Run in the child before exec: the maintenance JVM yields the CPU to the streaming jobs."""
    if niceness <= 0:
        return None

    def lower() -> None:
        os.nice(niceness)

    return lower


def default_tables(settings: Settings) -> list[str]:
    b, s = settings.bronze_namespace, settings.silver_namespace
    return [f"{b}.raw_trips", f"{b}.trips_dead_letter", f"{s}.trips", f"{s}.trips_rejected"]


def run_maintenance(
    settings: Settings,
    tables: list[str] | None = None,
    *,
    compact: bool = True,
    expire: bool = True,
    orphans: bool = True,
    dry_run: bool = False,
    timeout_s: float = 1800,
) -> MaintenanceResult:
    """Maintain ``tables`` (default: bronze and silver, those that exist)."""
    from lakehouse import catalog as cat

    catalog = cat.load_catalog(settings)
    wanted = tables or [t for t in default_tables(settings) if cat.load_table(catalog, t)]
    result = MaintenanceResult()
    if not wanted:
        return result
    props_file = settings.lakehouse_home / "run" / "maintenance-catalog.properties"
    props_file.parent.mkdir(parents=True, exist_ok=True)
    props_file.touch(mode=0o600, exist_ok=True)
    props_file.chmod(0o600)
    props_file.write_text(
        "".join(f"{k}={_escape(v)}\n" for k, v in catalog_properties(settings).items())
    )
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            command(settings, props_file, wanted, compact=compact, expire=expire,
                    orphans=orphans, dry_run=dry_run),
            capture_output=True, text=True, timeout=timeout_s,
            preexec_fn=_lower_priority(settings.maintenance_nice),
        )  # fmt: skip
    finally:
        props_file.unlink(missing_ok=True)
    result.seconds = round(time.monotonic() - t0, 3)
    result.tables = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if "ERROR" in line]
        raise MaintenanceError(
            (errors[-1] if errors else proc.stderr.strip()[-2000:])
            + f" (exit {proc.returncode}; tables done before: "
            f"{[t.get('table') for t in result.tables]})"
        )
    return result
