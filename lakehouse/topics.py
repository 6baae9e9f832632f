"""Kafka topics: idempotent creation with confluent-kafka's AdminClient, and offsets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential

from lakehouse.settings import Settings


@dataclass
class TopicResult:
    name: str
    created: bool
    partitions: int


def admin(settings: Settings) -> AdminClient:
    # warnings and errors only: librdkafka's level-6 notices ("Purging 1 unserved events from
    # background queue" as the client closes) are not for people
    return AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers, "log_level": 4})


def create_topics(settings: Settings, timeout: float = 30.0) -> list[TopicResult]:
    """Create the raw and dead-letter topics if missing. Existing topics are left as they are,
    but a raw topic with fewer partitions than configured is reported as an error."""
    client = admin(settings)
    existing = client.list_topics(timeout=timeout).topics
    wanted = {
        settings.topic_raw: {
            "retention.ms": str(settings.topic_retention_ms),
            "cleanup.policy": "delete",
            "compression.type": "producer",
            "min.insync.replicas": "1",
        },
        settings.topic_dlq: {
            "retention.ms": str(settings.topic_retention_ms * 4),
            "cleanup.policy": "delete",
        },
    }
    results: list[TopicResult] = []
    to_create = [
        NewTopic(name, num_partitions=settings.topic_partitions, replication_factor=1, config=cfg)
        for name, cfg in wanted.items()
        if name not in existing
    ]
    if to_create:
        for name, fut in client.create_topics(to_create, request_timeout=timeout).items():
            try:
                fut.result()
                results.append(TopicResult(name, True, settings.topic_partitions))
            except KafkaException as exc:
                if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                    raise RuntimeError(f"could not create topic {name}: {exc}") from exc
                results.append(TopicResult(name, False, settings.topic_partitions))
    for name in wanted:  # partitions have leaders before anyone produces or reads offsets
        read_watermarks(settings.kafka_bootstrap_servers, name)
    metadata = client.list_topics(timeout=timeout).topics
    for name in wanted:
        if name in existing:
            results.append(TopicResult(name, False, len(metadata[name].partitions)))
    _fit_dead_letter_limit(client, settings, timeout)
    return results


#: Room on the dead-letter topic for what a dead letter adds to the original record: the reason,
#: source topic/partition/offset and schema id travel as headers (a few hundred bytes at most).
DLQ_HEADROOM_BYTES = 64 * 1024


def max_message_bytes(client: AdminClient, topic: str, timeout: float = 30.0) -> int:
    """The topic's effective max.message.bytes (its own setting or the broker's default)."""
    resource = ConfigResource(ResourceType.TOPIC, topic)
    configs = client.describe_configs([resource], request_timeout=timeout)[resource].result()
    return int(configs["max.message.bytes"].value)


def ensure_dead_letter_capacity(settings: Settings, timeout: float = 30.0) -> int:
    """Make the dead-letter topic able to carry any record the raw topic accepted, byte for byte
    (its value is the original value; reason and source travel as headers), and return the
    producer request size the bronze job's dead-letter sink needs. Creates the topics if
    missing; raises an existing dead-letter topic's limit if it is lower."""
    client = admin(settings)
    existing = client.list_topics(timeout=timeout).topics
    if settings.topic_raw not in existing or settings.topic_dlq not in existing:
        create_topics(settings, timeout)
    return _fit_dead_letter_limit(client, settings, timeout)


def _fit_dead_letter_limit(client: AdminClient, settings: Settings, timeout: float) -> int:
    needed = max_message_bytes(client, settings.topic_raw, timeout) + DLQ_HEADROOM_BYTES
    if max_message_bytes(client, settings.topic_dlq, timeout) < needed:
        resource = ConfigResource(
            ResourceType.TOPIC,
            settings.topic_dlq,
            incremental_configs=[
                ConfigEntry(
                    "max.message.bytes",
                    str(needed),
                    incremental_operation=AlterConfigOpType.SET,
                )
            ],
        )
        for fut in client.incremental_alter_configs([resource]).values():
            fut.result()
    return needed


@dataclass
class TopicSetup:
    topics: list[TopicResult]
    #: the event schema's registration (``schema_registry.RegisterResult``) when the topic's
    #: format is avro, else None
    schema: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "topics": [t.__dict__ for t in self.topics],
            "schema": self.schema.to_dict() if self.schema is not None else None,
        }


def setup_topics(settings: Settings) -> TopicSetup:
    """The "create topics" step: the raw and dead-letter topics, and, for the avro format, the
    raw topic's value schema registered under <topic>-value (both idempotent)."""
    setup = TopicSetup(create_topics(settings))
    if settings.event_format == "avro":
        from lakehouse import schema_registry

        setup.schema = schema_registry.register(settings)
    return setup


def delete_topics(settings: Settings, timeout: float = 30.0) -> None:
    client = admin(settings)
    existing = client.list_topics(timeout=timeout).topics
    names = [t for t in (settings.topic_raw, settings.topic_dlq) if t in existing]
    if names:
        for fut in client.delete_topics(names, request_timeout=timeout).values():
            fut.result()


class TopicNotReady(RuntimeError):
    """Transient: the topic's partitions have no leader yet (e.g. right after creation)."""


_RETRIABLE = {
    "NOT_LEADER_FOR_PARTITION",
    "LEADER_NOT_AVAILABLE",
    "UNKNOWN_TOPIC_OR_PART",
    "_TRANSPORT",
    "_TIMED_OUT",
    "REQUEST_TIMED_OUT",
}


@retry(
    retry=retry_if_exception_type(TopicNotReady),
    stop=stop_after_delay(30),
    wait=wait_exponential(multiplier=0.1, max=2),
    reraise=True,
)
def read_watermarks(
    bootstrap_servers: str, topic: str, timeout: float = 10.0
) -> dict[int, tuple[int, int]]:
    """{partition: (low, high)} offsets of a topic; waits (30 s max) for partition leaders."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": "lakehouse-offsets",
            "enable.auto.commit": False,
            "allow.auto.create.topics": False,
        }
    )
    try:
        md = consumer.list_topics(topic, timeout=timeout)
        tmd = md.topics.get(topic)
        if tmd is None or tmd.error is not None:
            if tmd is not None and tmd.error is not None and tmd.error.name() in _RETRIABLE:
                raise TopicNotReady(str(tmd.error))
            raise RuntimeError(
                f"topic {topic} does not exist on {bootstrap_servers}: "
                "run `make create-topics` first"
            )
        out: dict[int, tuple[int, int]] = {}
        for p in sorted(tmd.partitions):
            try:
                out[p] = consumer.get_watermark_offsets(
                    TopicPartition(topic, p), timeout=timeout, cached=False
                )
            except KafkaException as exc:
                if exc.args[0].name() in _RETRIABLE:
                    raise TopicNotReady(str(exc)) from exc
                raise
        return out
    finally:
        consumer.close()


def watermarks(settings: Settings, topic: str, timeout: float = 10.0) -> dict[int, tuple[int, int]]:
    return read_watermarks(settings.kafka_bootstrap_servers, topic, timeout)


#: librdkafka settings for throughput with exactly-once delivery per partition: every producer of
#: the raw topic (the generator, the dead-letter republisher) uses them.
PRODUCER_TUNING: dict[str, Any] = {
    "enable.idempotence": True,  # implies acks=all, retries, max 5 in flight, ordering
    "acks": "all",
    "compression.type": "lz4",
    "linger.ms": 50,
    "batch.size": 1_000_000,  # bytes per partition batch (<= message.max.bytes)
    "batch.num.messages": 100_000,
    "queue.buffering.max.messages": 1_000_000,
    "queue.buffering.max.kbytes": 1_048_576,
    "delivery.timeout.ms": 300_000,
    # warnings and errors only: librdkafka's notices (level 6, e.g. "Purging 1 unserved events
    # from background queue" as the producer closes) are not for people; errors reach error_cb
    "log_level": 4,
}


class TopicUnusable(RuntimeError):
    """The topic cannot be read (absent, or its broker unreachable): create it first."""


def end_offsets(bootstrap_servers: str, topic: str, timeout_s: float = 15.0) -> dict[str, int]:
    """High watermark (next offset) of every partition of ``topic``, keyed by partition id (as
    run manifests record them)."""
    try:
        marks = read_watermarks(bootstrap_servers, topic, timeout_s)
    except Exception as e:  # noqa: BLE001 - reported with the topic and servers
        raise TopicUnusable(
            f"topic {topic!r} is not usable on {bootstrap_servers} ({e}); create it first"
        ) from e
    return {str(p): high for p, (_low, high) in marks.items()}
