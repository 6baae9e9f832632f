"""The real native stack for integration tests: Kafka, Flink + SQL Gateway, MinIO, PostgreSQL.

It runs on its own ports and data directory so it never touches a user's running demo stack.
Set KEEP_STACK=1 to leave it running after the session (faster local iterations).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse.reset import reset_data
from lakehouse.settings import REPO_ROOT, Settings
from lakehouse.stack.stack import Stack

TEST_HOME = REPO_ROOT / ".lakehouse" / "test"
SECRETS_FILE = TEST_HOME / "secrets"


def _secret() -> str:
    if not SECRETS_FILE.exists():
        SECRETS_FILE.parent.mkdir(parents=True, exist_ok=True)
        SECRETS_FILE.write_text("Aa1" + secrets.token_hex(12))
    return SECRETS_FILE.read_text().strip()


def make_settings(**overrides: object) -> Settings:
    base: dict[str, object] = {
        "lakehouse_home": TEST_HOME,
        "kafka_bootstrap_servers": "localhost:19092",
        "flink_rest_url": "http://localhost:18081",
        "flink_gateway_url": "http://localhost:18083",
        "flink_rpc_port": 16123,
        "s3_endpoint": "http://localhost:19000",
        "s3_access_key": "lakehouse-test",
        "s3_secret_key": _secret(),
        "postgres_port": 15432,
        "schema_registry_url": "http://127.0.0.1:18085/apis/ccompat/v7",
        # the product's default (.env.example); the JSON path has its own end-to-end test
        "event_format": "avro",
        "postgres_password": _secret(),
        "catalog_backend": "sqlite",
        "warehouse": "",
        "zone_lookup_csv": None,
    }
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    settings = make_settings()
    native = Stack(settings)
    try:
        native.up(with_s3=True, with_postgres=True, with_registry=True)
    except BaseException:
        native.down()
        raise
    yield native
    if not os.environ.get("KEEP_STACK"):
        native.down()


@pytest.fixture
def fresh(stack: Stack) -> Settings:
    """Settings for a clean pipeline: topics, tables, manifests and gold deleted first."""
    settings = make_settings()
    reset_data(settings)
    return settings


@pytest.fixture
def trino(fresh: Settings) -> Iterator[Settings]:
    """The test stack's settings with gold on Trino (GOLD_ENGINE=trino), Trino started by the
    native stack (and stopped after)."""
    settings = make_settings(gold_engine="trino", trino_url="http://127.0.0.1:18089",
                             trino_heap_gb=3)  # fmt: skip
    native = Stack(settings)
    native.trino.up()
    try:
        yield settings
    finally:
        native.trino.down()


def copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, dirs_exist_ok=True)


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as environment variables (for subprocesses and get_settings())."""
    out: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        out[name.upper()] = str(value)
    return out


def topic_messages(settings: Settings, topic: str) -> list:
    """Every message on ``topic`` (confluent-kafka Messages: key, value, headers, partition,
    offset), read from the earliest offsets up to the current end."""
    from confluent_kafka import Consumer, TopicPartition

    from lakehouse import topics

    consumer = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": "test-topic-reader",
         "enable.auto.commit": False}
    )  # fmt: skip
    marks = topics.watermarks(settings, topic)
    consumer.assign([TopicPartition(topic, p, low) for p, (low, _) in marks.items()])
    want = sum(high - low for low, high in marks.values())
    out = []
    try:
        while len(out) < want:
            msg = consumer.poll(10)
            assert msg is not None, f"{topic}: read {len(out)} of {want} messages"
            out.append(msg)
    finally:
        consumer.close()
    return out
