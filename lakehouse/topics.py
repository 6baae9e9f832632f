"""Kafka topics: idempotent creation with confluent-kafka's AdminClient, and offsets."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from lakehouse.settings import Settings


@dataclass
class TopicResult:
    name: str
    created: bool
    partitions: int


def admin(settings: Settings) -> AdminClient:
    return AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})


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
    metadata = client.list_topics(timeout=timeout).topics
    for name in wanted:
        if name in existing:
            results.append(TopicResult(name, False, len(metadata[name].partitions)))
    return results


def delete_topics(settings: Settings, timeout: float = 30.0) -> None:
    client = admin(settings)
    existing = client.list_topics(timeout=timeout).topics
    names = [t for t in (settings.topic_raw, settings.topic_dlq) if t in existing]
    if names:
        for fut in client.delete_topics(names, request_timeout=timeout).values():
            fut.result()


def watermarks(settings: Settings, topic: str, timeout: float = 10.0) -> dict[int, tuple[int, int]]:
    """{partition: (low, high)} offsets of a topic."""
    consumer = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": "lakehouse-offsets"}
    )
    try:
        md = consumer.list_topics(topic, timeout=timeout)
        if topic not in md.topics or md.topics[topic].error is not None:
            raise RuntimeError(
                f"topic {topic} does not exist on {settings.kafka_bootstrap_servers}: "
                "run `make create-topics` first"
            )
        out: dict[int, tuple[int, int]] = {}
        for p in sorted(md.topics[topic].partitions):
            out[p] = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
        return out
    finally:
        consumer.close()
