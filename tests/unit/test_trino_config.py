"""Trino's configuration is written from the settings (lakehouse/stack/trino.py): the
Iceberg catalog is the one Flink and pyiceberg share, the server listens on 127.0.0.1 only and
is sized by TRINO_HEAP_GB; dbt gets the planned silver snapshots only on Trino."""

from __future__ import annotations

from pathlib import Path

from lakehouse.dbt_runner import dbt_env, engine_args
from lakehouse.settings import Settings
from lakehouse.stack import trino as trino_server


def _settings(tmp_path: Path, **config: object) -> Settings:
    return Settings(_env_file=None, lakehouse_home=tmp_path, **config)  # type: ignore[call-arg]


def _props(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


def test_the_default_catalog_is_the_shared_sqlite_catalog_on_the_local_warehouse(
    tmp_path: Path,
) -> None:
    s = _settings(tmp_path)
    props = trino_server.catalog_properties(s)
    assert props["iceberg.catalog.type"] == "jdbc"
    assert props["iceberg.jdbc-catalog.driver-class"] == "org.sqlite.JDBC"
    assert props["iceberg.jdbc-catalog.connection-url"] == s.jdbc_catalog_uri
    assert props["iceberg.jdbc-catalog.catalog-name"] == s.iceberg_catalog_name
    assert props["iceberg.jdbc-catalog.schema-version"] == "V1"  # as Flink and pyiceberg
    assert props["iceberg.jdbc-catalog.default-warehouse-dir"] == s.warehouse_uri
    assert props["fs.native-local.enabled"] == "true" and "fs.native-s3.enabled" not in props


def test_a_postgres_catalog_and_an_s3_warehouse_get_their_credentials(tmp_path: Path) -> None:
    s = _settings(tmp_path, catalog_backend="postgres", postgres_password="pw-1",
                  warehouse="s3://warehouse/lakehouse", s3_access_key="ak", s3_secret_key="sk")  # fmt: skip
    props = trino_server.catalog_properties(s)
    assert props["iceberg.jdbc-catalog.driver-class"] == "org.postgresql.Driver"
    assert props["iceberg.jdbc-catalog.connection-password"] == "pw-1"
    assert props["fs.native-s3.enabled"] == "true" and "fs.native-local.enabled" not in props
    assert (props["s3.aws-access-key"], props["s3.aws-secret-key"]) == ("ak", "sk")
    assert props["s3.endpoint"] == s.s3_endpoint


def test_the_server_binds_127_0_0_1_and_a_query_gets_half_the_heap(tmp_path: Path) -> None:
    s = _settings(tmp_path, trino_url="http://127.0.0.1:18089", trino_heap_gb=6)
    etc, data = tmp_path / "etc", tmp_path / "data"
    trino_server.write_config(s, etc, data)
    node, config = _props(etc / "node.properties"), _props(etc / "config.properties")
    assert node["node.bind-ip"] == "127.0.0.1" and node["node.data-dir"] == str(data)
    assert config["http-server.http.port"] == "18089"
    assert config["query.max-memory-per-node"] == "3072MB"
    assert "-Xmx6G" in (etc / "jvm.config").read_text().split()
    catalog = etc / "catalog" / f"{s.iceberg_catalog_name}.properties"
    assert _props(catalog) == trino_server.catalog_properties(s)
    assert catalog.stat().st_mode & 0o077 == 0  # it may hold credentials


def test_compose_runs_a_coordinator_that_schedules_on_workers_which_find_it(
    tmp_path: Path,
) -> None:
    s = _settings(tmp_path, trino_url="http://trino-coordinator:8080", trino_heap_gb=2)
    coord, worker = tmp_path / "coord", tmp_path / "worker"
    trino_server.write_config(s, coord / "etc", coord / "data", role="coordinator")
    trino_server.write_config(s, worker / "etc", worker / "data", role="worker")
    c, w = _props(coord / "etc" / "config.properties"), _props(worker / "etc" / "config.properties")
    assert c["coordinator"] == "true" and c["node-scheduler.include-coordinator"] == "false"
    assert w["coordinator"] == "false" and w["discovery.uri"] == "http://trino-coordinator:8080"
    assert w["query.max-memory-per-node"] == "1024MB"
    for node in (coord, worker):  # every interface in a container; a unique id per container
        props = _props(node / "etc" / "node.properties")
        assert "node.bind-ip" not in props and props["node.id"] != "native"
        assert _props(node / "etc" / "catalog" / f"{s.iceberg_catalog_name}.properties") == (
            trino_server.catalog_properties(s)
        )


def test_only_a_trino_build_plans_silver_snapshots_for_dbt(tmp_path: Path) -> None:
    duck = _settings(tmp_path)
    assert engine_args(duck, "build") == []
    trino = _settings(tmp_path, gold_engine="trino")
    assert engine_args(trino, "test") == []  # tests read the views the last build made
    env = dbt_env(trino)
    assert env["GOLD_ENGINE"] == "trino" and env["TRINO_PORT"] == "8089"
