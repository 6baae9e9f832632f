"""The status table tells a service this configuration does not use apart from a failing one;
`up` and `status` take the services a configuration needs from the same place (the settings)."""

from pathlib import Path

import httpx
import pytest

from lakehouse.settings import Settings
from lakehouse.stack import kafka, minio, postgres
from lakehouse.stack.engine import NOT_USED, ServiceStatus
from lakehouse.stack.flink import Flink
from lakehouse.stack.kafka import Kafka
from lakehouse.stack.minio import MinIO
from lakehouse.stack.postgres import Postgres
from lakehouse.stack.schema_registry_server import SchemaRegistry
from lakehouse.stack.stack import Stack
from lakehouse.stack.trino import Trino

# the shipped default: SQLite catalog, local warehouse, Avro events through the registry
DEFAULT = {"catalog_backend": "sqlite", "warehouse": "", "event_format": "avro"}
# the compose stack's combination, with JSON events and gold on Trino
EVERYTHING_BUT_REGISTRY = {
    "catalog_backend": "postgres",
    "warehouse": "s3://warehouse/lakehouse",
    "event_format": "json",
    "gold_engine": "trino",
}


def _settings(tmp_path: Path, **config: str) -> Settings:
    return Settings(_env_file=None, lakehouse_home=tmp_path, **config)  # type: ignore[call-arg]


def test_a_down_service_reads_not_used_only_when_the_configuration_does_not_need_it() -> None:
    assert ServiceStatus("minio", None, "http://localhost:9000", False, used=False).state == (
        NOT_USED
    )
    assert ServiceStatus("kafka", None, "localhost:9092", False).state == "no"
    assert ServiceStatus("minio", 42, "http://localhost:9000", True, used=False).state == "yes"


@pytest.mark.parametrize(
    ("config", "needed"),
    [
        (DEFAULT, {"postgres": False, "minio": False, "schema-registry": True, "trino": False}),
        (
            EVERYTHING_BUT_REGISTRY,
            {"postgres": True, "minio": True, "schema-registry": False, "trino": True},
        ),
    ],
)
def test_the_settings_say_which_optional_services_the_configuration_needs(
    tmp_path: Path, config: dict[str, str], needed: dict[str, bool]
) -> None:
    assert _settings(tmp_path, **config).optional_services == needed


@pytest.fixture
def nothing_running(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every probe fails, whatever runs on this machine's default ports."""

    def refused(*_args: object, **_kwargs: object) -> None:
        raise httpx.ConnectError("refused")

    for module in (kafka, minio, postgres):  # the engines whose status is an open port
        monkeypatch.setattr(module, "port_open", lambda *_a, **_k: False)
    monkeypatch.setattr(httpx, "get", refused)
    monkeypatch.setattr(SchemaRegistry, "healthy", lambda self: False)
    monkeypatch.setattr(Trino, "healthy", lambda self: False)


@pytest.mark.parametrize("config", [DEFAULT, EVERYTHING_BUT_REGISTRY])
def test_status_marks_unhealthy_only_what_the_configuration_needs(
    tmp_path: Path, config: dict[str, str], nothing_running: None
) -> None:
    settings = _settings(tmp_path, **config)
    states = {st.name: st.state for st in Stack(settings).status()}
    for name in ("kafka", "flink-jobmanager", "flink-taskmanager", "flink-sql-gateway"):
        assert states[name] == "no"
    for name, needed in settings.optional_services.items():
        assert states[name] == ("no" if needed else NOT_USED), name


@pytest.mark.parametrize("config", [DEFAULT, EVERYTHING_BUT_REGISTRY])
def test_up_starts_what_status_checks(
    tmp_path: Path, config: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []
    engines = {"postgres": Postgres, "minio": MinIO, "kafka": Kafka, "registry": SchemaRegistry,
               "flink": Flink, "trino": Trino}  # fmt: skip
    for name, engine in engines.items():
        monkeypatch.setattr(engine, "up", lambda self, name=name: started.append(name))
    settings = _settings(tmp_path, **config)
    Stack(settings).up()
    needed = settings.optional_services
    assert ("postgres" in started) == needed["postgres"]
    assert ("minio" in started) == needed["minio"]
    assert ("registry" in started) == needed["schema-registry"]
    assert ("trino" in started) == needed["trino"]
    assert {"kafka", "flink"} <= set(started)
