"""The one place configuration lives.

Every driver (Makefile, Kestra, Dagster, tests) reads the same settings: environment variables,
then `.env` at the repository root. Nothing else hard-codes hosts, credentials or paths.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lakehouse import contract

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=REPO_ROOT / ".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- where the native runtime keeps its data (git-ignored) and its downloads (outside git)
    lakehouse_home: Path = Field(default=REPO_ROOT / ".lakehouse")
    # engines and downloads: CACHE_DIR, else the TAXI_CACHE that make and bootstrap install into
    cache_dir: Path = Field(
        default_factory=lambda: Path(
            os.environ.get("TAXI_CACHE") or Path.home() / ".cache" / "taxi-lakehouse"
        )
    )

    # --- Kafka
    kafka_bootstrap_servers: str = "localhost:9092"
    topic_raw: str = "taxi.raw_trips"
    topic_dlq: str = "taxi.raw_trips.dlq"
    topic_partitions: int = 3
    topic_retention_ms: int = 7 * 24 * 3600 * 1000

    # --- event format on the raw topic: "avro" = Confluent wire format through the Schema
    # Registry (the governed contract, contracts/raw_trip.avsc); "json" = plain JSON text
    event_format: Literal["json", "avro"] = "avro"
    # Confluent-compatible API: Apicurio natively (/apis/ccompat/v7), Confluent's image in compose
    schema_registry_url: str = "http://localhost:8085/apis/ccompat/v7"
    event_schema_file: Path = contract.SCHEMA_FILE
    # compatibility level set on the subject before a schema is registered
    schema_compatibility: Literal["BACKWARD", "BACKWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"] = (
        "BACKWARD"
    )

    # --- Iceberg catalog (JDBC catalog in Flink == SqlCatalog in pyiceberg)
    iceberg_catalog_name: str = "lakehouse"
    catalog_backend: Literal["sqlite", "postgres"] = "sqlite"
    catalog_sqlite_path: Path | None = None  # default: <lakehouse_home>/catalog/iceberg.db
    postgres_host: str = "localhost"
    postgres_port: int = 5432
    postgres_user: str = "lakehouse"
    postgres_password: SecretStr = SecretStr("")
    catalog_postgres_db: str = "iceberg_catalog"

    # warehouse: a local directory (file://) or an S3 bucket (s3://bucket/prefix)
    warehouse: str = ""  # default: file://<lakehouse_home>/warehouse
    s3_endpoint: str = "http://localhost:9000"
    s3_access_key: SecretStr = SecretStr("")
    s3_secret_key: SecretStr = SecretStr("")
    s3_region: str = "us-east-1"

    bronze_namespace: str = "bronze"
    silver_namespace: str = "silver"

    # --- Flink
    flink_rest_url: str = "http://localhost:8081"
    flink_gateway_url: str = "http://localhost:8083"
    flink_rpc_port: int = 6123  # JobManager RPC (native runtime)
    flink_parallelism: int = 2
    flink_job_timeout_s: int = 1800
    # streaming mode (lakehouse stream start): long-running bronze and silver jobs
    stream_parallelism: int = 1  # per job; the native TaskManager has 2 slots: one job each
    # Iceberg commits on every checkpoint: freshness is about two intervals (bronze, then silver).
    # 2 s: p95 freshness 4.3-4.9 s at 20k events/s here (docs/measurements.md); 1 s fell behind
    # (commit cost); each table gets ~1,500 files an hour, which `lakehouse maintain` compacts
    stream_checkpoint_interval_s: int = 2
    # RocksDB with incremental checkpoints: a checkpoint writes only what changed, where the
    # heap backend writes all of silver's dedup state (every trip_id of the TTL) each time,
    # a cost growing with the state; with it, 20k events/s fell behind (benchmarks/streaming.py)
    stream_state_backend: Literal["rocksdb", "hashmap"] = "rocksdb"
    # how long silver remembers a trip_id to drop its resent copies (Flink state TTL)
    stream_dedup_ttl: str = "7 d"

    # --- Iceberg maintenance (lakehouse maintain; flink/maintenance)
    maintenance_target_file_mb: int = 128  # compaction output size
    maintenance_min_input_files: int = 5  # compact a partition from this many small files
    maintenance_snapshot_retention_h: float = 24.0  # expire snapshots older than this ...
    maintenance_retain_last: int = 5  # ... but keep at least this many
    # orphan files must be older than this to be deleted: a restarted streaming job may still
    # commit files written before its failure (days, not minutes)
    maintenance_orphan_age_h: float = 72.0
    # the Java that runs it (17+, the Flink jars' runtime); empty = `java` on PATH
    maintenance_java: str = ""
    # CPU priority of that JVM (nice, 0-19): compaction is background work and must not take the
    # cores from the streaming jobs beside it (at 20k events/s they have none to spare)
    maintenance_nice: int = Field(default=19, ge=0, le=19)

    # --- dbt / gold
    gold_duckdb_path: Path | None = None  # default: <lakehouse_home>/gold/gold.duckdb
    # Point at the official TLC taxi_zone_lookup.csv (local path) to replace the shipped zones.
    zone_lookup_csv: Path | None = None
    dbt_threads: int = 2
    # the engine dbt builds gold on: "duckdb" = one DuckDB file (gold_duckdb_path); "trino" =
    # Trino's Iceberg connector on this catalog, gold as Iceberg tables in gold_namespace
    gold_engine: Literal["duckdb", "trino"] = "duckdb"
    gold_namespace: str = "gold"
    # Trino (GOLD_ENGINE=trino): the coordinator's HTTP endpoint; natively one process that is
    # coordinator and worker, bound to 127.0.0.1
    trino_url: str = "http://127.0.0.1:8089"
    trino_user: str = "lakehouse"
    # JVM heap of the native Trino, and the share of it one query may use (2 cores, 24 GB)
    trino_heap_gb: int = 4
    # a JDK 24+ (Trino 476 needs it); empty = the newest under /usr/lib/jvm, then JAVA_HOME
    trino_java_home: str = ""

    @field_validator("gold_duckdb_path", "zone_lookup_csv", mode="before")
    @classmethod
    def _empty_path_is_unset(cls, value: object) -> object:
        # `ZONE_LOOKUP_CSV=` in .env means "not set", not the working directory (Path(""))
        return None if isinstance(value, str) and not value.strip() else value

    # --- generator defaults
    generator_seed: int = 42
    generator_start_date: str = ""  # ISO date; empty = 7 days before today (UTC)

    # ------------------------------------------------------------------ derived values
    @property
    def sqlite_path(self) -> Path:
        return self.catalog_sqlite_path or self.lakehouse_home / "catalog" / "iceberg.db"

    @property
    def warehouse_uri(self) -> str:
        return self.warehouse or (self.lakehouse_home / "warehouse").resolve().as_uri()

    @property
    def warehouse_is_s3(self) -> bool:
        return self.warehouse_uri.startswith("s3://")

    @property
    def optional_services(self) -> dict[str, bool]:
        """The services beyond Kafka and Flink, and whether this configuration needs each:
        PostgreSQL for a postgres catalog (else an SQLite file), MinIO for an s3:// warehouse
        (else a local directory), the Schema Registry for Avro events (else JSON text), Trino
        for gold on Trino (else DuckDB in-process). The native stack starts and health-checks
        exactly these."""
        return {
            "postgres": self.catalog_backend == "postgres",
            "minio": self.warehouse_is_s3,
            "schema-registry": self.event_format == "avro",
            "trino": self.gold_engine == "trino",
        }

    @property
    def event_subject(self) -> str:
        """Registry subject of the raw topic's values (Confluent's TopicNameStrategy)."""
        return f"{self.topic_raw}-value"

    @property
    def gold_path(self) -> Path:
        return self.gold_duckdb_path or self.lakehouse_home / "gold" / "gold.duckdb"

    @property
    def trino_inputs_namespace(self) -> str:
        """Where a Trino build reads silver from (views on the snapshots it reads) and keeps
        gold's position (dbt/macros/silver_loads.sql)."""
        return f"{self.gold_namespace}_silver"

    @property
    def report_path(self) -> Path:
        """The static HTML report on gold (`lakehouse report`)."""
        return self.lakehouse_home / "report" / "index.html"

    @property
    def manifests_dir(self) -> Path:
        return self.lakehouse_home / "manifests"

    @property
    def streams_dir(self) -> Path:
        """Checkpoints, savepoints and the state file of the streaming jobs."""
        return self.lakehouse_home / "streams"

    @property
    def logs_dir(self) -> Path:
        return self.lakehouse_home / "logs"

    @property
    def sqlalchemy_catalog_uri(self) -> str:
        """The catalog database as pyiceberg's SqlCatalog wants it."""
        if self.catalog_backend == "sqlite":
            return f"sqlite:///{self.sqlite_path.resolve()}"
        pw = self.postgres_password.get_secret_value()
        return (
            f"postgresql+psycopg2://{self.postgres_user}:{pw}@{self.postgres_host}:"
            f"{self.postgres_port}/{self.catalog_postgres_db}"
        )

    @property
    def jdbc_catalog_uri(self) -> str:
        """The same catalog database as Flink's JdbcCatalog wants it."""
        if self.catalog_backend == "sqlite":
            return f"jdbc:sqlite:{self.sqlite_path.resolve()}"
        return (
            f"jdbc:postgresql://{self.postgres_host}:{self.postgres_port}/"
            f"{self.catalog_postgres_db}"
        )

    def java_catalog_options(self) -> dict[str, str]:
        """Options of Iceberg's Java JdbcCatalog beyond uri and warehouse: database credentials
        and the S3 FileIO (the Flink catalog DDL and the maintenance tool both use them)."""
        options: dict[str, str] = {}
        if self.catalog_backend == "postgres":
            options["jdbc.user"] = self.postgres_user
            options["jdbc.password"] = self.postgres_password.get_secret_value()
        if self.warehouse_is_s3:
            options.update(
                {
                    "io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
                    "s3.endpoint": self.s3_endpoint,
                    "s3.path-style-access": "true",
                    "s3.access-key-id": self.s3_access_key.get_secret_value(),
                    "s3.secret-access-key": self.s3_secret_key.get_secret_value(),
                    "client.region": self.s3_region,
                }
            )
        return options

    def pyiceberg_properties(self) -> dict[str, str]:
        """Properties for pyiceberg.catalog.load_catalog / SqlCatalog (also used by dbt)."""
        props = {
            "type": "sql",
            "uri": self.sqlalchemy_catalog_uri,
            "warehouse": self.warehouse_uri,
            "schema_version": "v1",  # shared with Flink's jdbc.schema-version=V1
        }
        if self.warehouse_is_s3:
            props.update(
                {
                    "s3.endpoint": self.s3_endpoint,
                    "s3.access-key-id": self.s3_access_key.get_secret_value(),
                    "s3.secret-access-key": self.s3_secret_key.get_secret_value(),
                    "s3.region": self.s3_region,
                    "s3.path-style-access": "true",
                }
            )
        return props


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    get_settings.cache_clear()
