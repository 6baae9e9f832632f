"""JSON vs Avro (Confluent wire format through the Schema Registry), measured in one run.

For each format, against the running stack (Kafka + Schema Registry; `make up`):
* serialisation ceiling: the generator's messages encoded without Kafka, events/s;
* generator: ``run_generator`` into a fresh topic of its own, acknowledged events/s (the
  manifest's rate: first produce to last ack, librdkafka and the broker included);
* topic bytes per event: mean value size as produced (consumed back), and, natively, the topic's
  log segments on disk (lz4-compressed batches) divided by the messages.

    python benchmarks/event_formats.py [-n 200000] [--repeat 2] [--json-out FILE]

Settings come from the environment / .env like every step (LAKEHOUSE_HOME, KAFKA_BOOTSTRAP_SERVERS,
SCHEMA_REGISTRY_URL). The benchmark topics are deleted afterwards.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from measure import append_results  # benchmarks/measure.py: one results format
from taxi_generator.encoding import avro_encoder, json_encoder
from taxi_generator.producer import run_generator, trip_encoder
from taxi_generator.stream import EventStream

from lakehouse import schema_registry, topics
from lakehouse.settings import Settings, get_settings

FORMATS = ("json", "avro")


def _encoders(settings: Settings, fmt: str) -> tuple[Any, Any]:
    """(message encoder, clean-trip encoder) exactly as run_generator builds them."""
    if fmt == "json":
        return json_encoder(), None
    wire = schema_registry.wire_format(settings, settings.topic_raw)
    return avro_encoder(wire.encode), trip_encoder(wire.header, wire.layout, wire.encode)


def serialisation_rate(settings: Settings, fmt: str, n: int) -> float:
    # the generator's own path: Avro clean trips are encoded straight from the trip
    encode, trips = _encoders(settings, fmt)
    stream = EventStream(n, seed=1, start_date=date(2026, 3, 2), encode_trip=trips)
    t0 = time.perf_counter()
    for _key, text, _t, kind in stream:
        encode(text, kind)
    return n / (time.perf_counter() - t0)


def producer_alone_rate(settings: Settings, fmt: str, n: int) -> float:
    """The producer alone: the same messages, encoded beforehand, sent with the generator's
    producer settings; acknowledged events/s (first produce to last ack). The generator's ceiling
    on this machine: what librdkafka and the broker take."""
    from confluent_kafka import Producer

    from lakehouse.topics import PRODUCER_TUNING

    encode, trips = _encoders(settings, fmt)
    stream = EventStream(n, seed=2, start_date=date(2026, 3, 2), encode_trip=trips)
    messages = [(key, encode(value, kind)) for key, value, _t, kind in stream]
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers, **PRODUCER_TUNING})
    t0 = time.perf_counter()
    for i, (key, value) in enumerate(messages):
        while True:
            try:
                producer.produce(settings.topic_raw, value, key)
                break
            except BufferError:
                producer.poll(0.01)
        if i % 1024 == 0:
            producer.poll(0)
    if producer.flush(120) != 0:
        raise RuntimeError("producer-alone run: messages not acknowledged")
    return n / (time.perf_counter() - t0)


def value_bytes(settings: Settings, topic: str) -> tuple[int, int]:
    """(messages, summed value bytes) of the whole topic, read back."""
    marks = topics.watermarks(settings, topic)
    want = sum(high - low for low, high in marks.values())
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            "group.id": f"bench-{topic}",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, p, low) for p, (low, _) in marks.items()])
    seen = total = 0
    while seen < want:
        for msg in consumer.consume(10_000, timeout=10):
            if msg.error():
                raise RuntimeError(str(msg.error()))
            seen += 1
            total += len(msg.value())
    consumer.close()
    return seen, total


def disk_bytes(settings: Settings, topic: str) -> int | None:
    """Bytes of the topic's log segments, if the broker's data is local (native stack)."""
    data = Path(settings.lakehouse_home) / "kafka" / "data"
    parts = list(data.glob(f"{topic}-*"))
    if not parts:
        return None
    return sum(f.stat().st_size for p in parts for f in p.glob("*.log"))


def run(n: int, repeat: int) -> list[dict[str, Any]]:
    base = get_settings()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    rows: list[dict[str, Any]] = []
    for fmt in FORMATS:
        for i in range(repeat):
            topic = f"bench.formats.{fmt}.{stamp}.{i}"
            # own topic, and own home for its manifest: it must not join the pipeline's
            # reconciliation (the Kafka data dir stays the base home's)
            settings = base.model_copy(
                update={"topic_raw": topic, "topic_dlq": f"{topic}.dlq", "event_format": fmt,
                        "lakehouse_home": base.lakehouse_home / "bench" / topic}
            )  # fmt: skip
            topics.create_topics(settings)
            try:
                ceiling = serialisation_rate(settings, fmt, n)
                manifest = run_generator(settings, events=n, seed=100 + i, progress=False)
                messages, vbytes = value_bytes(settings, topic)
                alone = producer_alone_rate(settings, fmt, n)
                on_disk = disk_bytes(base, topic)
            finally:
                topics.delete_topics(settings)
            row = {
                "format": fmt,
                "events": n,
                "serialisation_events_per_s": round(ceiling),
                "generator_events_per_s": manifest.events_per_s,
                "producer_alone_events_per_s": round(alone),
                "generator_vs_producer_alone": round(manifest.events_per_s / alone, 2),
                "value_bytes_per_event": round(vbytes / messages, 1),
                "disk_bytes_per_event": round(on_disk / messages, 1) if on_disk else None,
            }
            rows.append(row)
            print(
                f"{fmt:>4} run {i + 1}: serialisation {row['serialisation_events_per_s']:>9,} ev/s"
                f" | generator (acked) {row['generator_events_per_s']:>9,.0f} ev/s"
                f" = {row['generator_vs_producer_alone']:.0%} of the producer alone"
                f" ({row['producer_alone_events_per_s']:,} ev/s)"
                f" | value {row['value_bytes_per_event']:>6.1f} B/event"
                + (
                    f" | on disk (lz4) {row['disk_bytes_per_event']:.1f} B/event"
                    if row["disk_bytes_per_event"]
                    else ""
                )
            )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--events", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()
    rows = run(args.events, args.repeat)
    best = {
        fmt: max((r for r in rows if r["format"] == fmt),
                 key=lambda r: r["generator_events_per_s"])
        for fmt in FORMATS
    }  # fmt: skip
    j, a = best["json"], best["avro"]
    print(
        f"best of {args.repeat}: JSON {j['generator_events_per_s']:,.0f} ev/s, "
        f"{j['value_bytes_per_event']:.0f} B/event | Avro {a['generator_events_per_s']:,.0f} ev/s, "
        f"{a['value_bytes_per_event']:.0f} B/event | Avro = "
        f"{a['value_bytes_per_event'] / j['value_bytes_per_event']:.0%} of the bytes at "
        f"{a['generator_events_per_s'] / j['generator_events_per_s']:.0%} of the speed"
    )
    if args.json_out:
        append_results(args.json_out, "event_formats", rows)


if __name__ == "__main__":
    main()
