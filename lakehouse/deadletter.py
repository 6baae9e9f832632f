"""Dead letters: what bronze and silver set aside, and how corrected records flow through again.

``summary`` counts bronze's dead letter and silver's rejected rows by reason; ``records`` shows
them; ``export`` writes them as JSON lines a person can correct; ``republish`` produces the
corrected values to the raw topic once each.

Once: every republished record names its source (topic/partition/offset of the dead letter)
in a ``lakehouse.republished_from`` header and in the run's manifest (mode ``republish``,
``republished_from``); a source already in a manifest is skipped. The manifest is written
after every message is acknowledged, like a generator run's, and has ``exact_counts: false``
(a corrected record may still break a rule), so verify checks conservation for the topic.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from taxi_generator.encoding import reason_key

from lakehouse import catalog as cat
from lakehouse import topics
from lakehouse.settings import Settings

REPUBLISH_MODE = "republish"
HEADER = "lakehouse.republished_from"


def _source(topic: str, partition: int, offset: int) -> str:
    return f"{topic}/{partition}/{offset}"


def summary(settings: Settings) -> dict[str, dict[str, int]]:
    """Rows per reason: ``{"dead_letter": {...}, "dead_letter_class": {...}, "rejected": {...}}``."""
    catalog = cat.load_catalog(settings)
    dlq = cat.read_columns(
        cat.load_table(catalog, f"{settings.bronze_namespace}.trips_dead_letter"), ("reason",)
    )
    rej = cat.read_columns(
        cat.load_table(catalog, f"{settings.silver_namespace}.trips_rejected"), ("reason",)
    )
    out: dict[str, dict[str, int]] = {"dead_letter": {}, "dead_letter_class": {}, "rejected": {}}
    for r in dlq["reason"].to_pylist() if dlq.num_rows else []:
        out["dead_letter"][r] = out["dead_letter"].get(r, 0) + 1
        k = reason_key(r)
        out["dead_letter_class"][k] = out["dead_letter_class"].get(k, 0) + 1
    for r in rej["reason"].to_pylist() if rej.num_rows else []:
        out["rejected"][r] = out["rejected"].get(r, 0) + 1
    return {k: dict(sorted(v.items())) for k, v in out.items()}


@dataclass
class DeadLetter:
    topic: str
    partition: int
    offset: int
    reason: str
    key: bytes | None
    value: bytes | None
    payload: str | None

    @property
    def source(self) -> str:
        return _source(self.topic, self.partition, self.offset)

    def value_text(self) -> str | None:
        """The value as text when it is UTF-8 (the decoded payload for Avro), else None."""
        if self.payload is not None:
            return self.payload
        if self.value is None:
            return None
        try:
            return self.value.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def preview(self, width: int) -> tuple[str, str]:
        """Two lines for people: source, reason and size; the value as text (hex when it is not
        UTF-8), cut after ``width`` characters."""
        size = len(self.value) if self.value is not None else 0
        text = self.value_text()
        shown = text if text is not None else (self.value or b"").hex()
        if len(shown) > width:
            shown = shown[:width] + f"... ({len(shown) - width} more)"
        hex_note = "" if text is not None else " (hex)"
        return f"{self.source}  {self.reason}  {size} bytes{hex_note}", f"  {shown}"

    def to_json(self) -> dict[str, Any]:
        text = self.value_text()
        out: dict[str, Any] = {
            "source": {"topic": self.topic, "partition": self.partition, "offset": self.offset},
            "reason": self.reason,
            "key": self.key.decode("utf-8", "replace") if self.key is not None else None,
            "value": text,
        }
        if text is None and self.value is not None:
            out["value_base64"] = base64.b64encode(self.value).decode()
        return out


def records(settings: Settings, *, reason: str | None = None, limit: int = 20) -> list[DeadLetter]:
    """Dead letters in source order; ``reason`` matches the full reason or its class."""
    table = cat.load_table(
        cat.load_catalog(settings), f"{settings.bronze_namespace}.trips_dead_letter"
    )
    cols = ("kafka_topic", "kafka_partition", "kafka_offset", "reason", "key_bytes",
            "value_bytes", "payload")  # fmt: skip
    data = cat.read_columns(table, cols)
    rows = data.to_pylist() if data.num_rows else []
    if reason:
        rows = [r for r in rows if r["reason"] == reason or reason_key(r["reason"]) == reason]
    rows.sort(key=lambda r: (r["kafka_topic"], r["kafka_partition"], r["kafka_offset"]))
    return [
        DeadLetter(r["kafka_topic"], r["kafka_partition"], r["kafka_offset"], r["reason"],
                   r["key_bytes"], r["value_bytes"], r["payload"])
        for r in rows[: limit if limit > 0 else None]
    ]  # fmt: skip


def export(settings: Settings, out: Path, *, reason: str | None = None) -> int:
    """Write the dead letters as JSON lines (source, reason, key, value): correct ``value`` (the
    event as JSON text) and hand the file to ``republish``."""
    rows = records(settings, reason=reason, limit=0)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as f:
        for r in rows:
            f.write(json.dumps(r.to_json(), ensure_ascii=False) + "\n")
    return len(rows)


def already_republished(settings: Settings) -> set[str]:
    """Sources some earlier republish run delivered (from the manifests)."""
    done: set[str] = set()
    for path in Path(settings.manifests_dir).glob("*.json"):
        data = json.loads(path.read_text())
        if data.get("mode") == REPUBLISH_MODE and data.get("topic") == settings.topic_raw:
            done.update(data.get("republished_from", []))
    return done


@dataclass
class RepublishResult:
    republished: int = 0
    skipped_already_done: list[str] = field(default_factory=list)
    manifest: str | None = None


def _read_corrections(path: Path) -> list[tuple[str, str | None, str]]:
    """(source, key, corrected JSON value) per line; a clear error for a line that has none."""
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            src = item["source"]
            source = _source(src["topic"], int(src["partition"]), int(src["offset"]))
            value = item["value"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"{path}:{n}: expected a line written by `lakehouse deadletter export` with "
                f"'source' and 'value' ({exc})"
            ) from exc
        if not isinstance(value, str):
            raise ValueError(f"{path}:{n}: 'value' must be the corrected event as JSON text")
        try:
            json.loads(value)
        except ValueError as exc:
            raise ValueError(
                f"{path}:{n}: 'value' is not JSON yet: correct it first ({exc})"
            ) from exc
        out.append((source, item.get("key"), value))
    return out


def republish(settings: Settings, path: Path) -> RepublishResult:
    """Produce each corrected value of ``path`` to the raw topic, in the topic's format, once."""
    from confluent_kafka import Producer
    from taxi_generator.manifest import Manifest

    corrections = _read_corrections(path)
    done = already_republished(settings)
    result = RepublishResult()
    todo = []
    for source, key, value in corrections:
        if source in done:
            result.skipped_already_done.append(source)
        else:
            todo.append((source, key, value))
            done.add(source)  # a source listed twice in the file goes once
    if not todo:
        return result

    if settings.event_format == "avro":
        from lakehouse import schema_registry

        avro = schema_registry.avro_encoder(settings, settings.topic_raw)

        def encode(value: str) -> bytes:
            return avro(json.loads(value))
    else:

        def encode(value: str) -> bytes:
            return value.encode("utf-8")

    encoded = [(s, k, encode(v)) for s, k, v in todo]  # fails before anything is produced
    errors: list[str] = []
    acked = 0

    def on_delivery(err: Any, _msg: Any) -> None:
        nonlocal acked
        if err is not None:
            errors.append(str(err))
        else:
            acked += 1

    started = datetime.now(UTC)
    before = topics.end_offsets(settings.kafka_bootstrap_servers, settings.topic_raw)
    producer = Producer(
        {"bootstrap.servers": settings.kafka_bootstrap_servers, **topics.PRODUCER_TUNING}
    )
    for source, key, value in encoded:
        producer.produce(
            settings.topic_raw, value, key.encode() if key is not None else None,
            headers=[(HEADER, source.encode())], on_delivery=on_delivery,
        )  # fmt: skip
        producer.poll(0)
    remaining = producer.flush(60)
    if remaining or errors or acked != len(encoded):
        raise RuntimeError(
            f"republish: {acked} of {len(encoded)} records acknowledged "
            f"({errors[0] if errors else f'{remaining} still queued'}); no manifest written, "
            "so verify will report the difference: check Kafka and rerun"
        )
    after = topics.end_offsets(settings.kafka_bootstrap_servers, settings.topic_raw)
    manifest = Manifest.republish(
        run_id=f"{started:%Y%m%dT%H%M%S%fZ}-republish",
        topic=settings.topic_raw,
        event_format=settings.event_format,
        started=started,
        finished=datetime.now(UTC),
        sources=[s for s, _, _ in encoded],
        offsets_before=before,
        offsets_after=after,
    )
    result.republished = len(encoded)
    result.manifest = str(manifest.write(Path(settings.manifests_dir)))
    return result
