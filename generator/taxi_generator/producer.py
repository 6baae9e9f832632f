"""Produce the event stream to Kafka and write the run manifest.

``run_generator`` produces generated trips, ``run_replay`` the rows of real TLC Parquet files;
both share the producer loop and the manifest writing. Delivery is all-or-error: the producer is
idempotent with ``acks=all``; every delivery report is counted, the first error is kept, and a
run whose acknowledged count is not exactly the number of messages handed to the producer raises
``GeneratorError`` (after writing ``<run_id>.json.failed`` next to the manifests, which is not a
manifest: reconciliation must not count it).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from lakehouse import topics

from .anomalies import AnomalyRates
from .encoding import FORMATS, Encoder, avro_encoder
from .manifest import REPLAY_MODE, REPLAYED, Manifest
from .model import (
    AVRO_V2_LAYOUT,
    Clock,
    Trip,
    resolve_start_date,
    trip_to_avro,
    trip_to_record,
)
from .stream import EventStream
from .tlc import UNSENT_SUFFIX, ReplayEncoder, ReplayReport, TlcReplay

log = logging.getLogger(__name__)

MODES = ("burst", "realtime", "batch")

POLL_EVERY = 1024  # serve delivery reports every N messages (power of two)
METADATA_TIMEOUT_S = 15.0


class GeneratorError(RuntimeError):
    """The run did not deliver every message; the message says what happened."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(ts: datetime) -> str:
    return ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def end_offsets(
    bootstrap_servers: str, topic: str, timeout_s: float = METADATA_TIMEOUT_S
) -> dict[str, int]:
    """High watermark (next offset) of every partition of ``topic``, keyed by partition id; a
    topic that cannot be read fails the run."""
    try:
        return topics.end_offsets(bootstrap_servers, topic, timeout_s)
    except topics.TopicUnusable as e:
        raise GeneratorError(str(e)) from e


def _previous_runs(manifests_dir: Any, topic: str) -> int:
    import json
    from pathlib import Path

    count = 0
    for path in Path(manifests_dir).glob("*.json"):
        try:
            if json.loads(path.read_text(encoding="utf-8")).get("topic") == topic:
                count += 1
        except (OSError, ValueError):
            continue
    return count


class _Delivery:
    """Delivery-report bookkeeping (called from ``poll``/``flush`` on this thread)."""

    __slots__ = ("acked", "failed", "first_error", "fatal")

    def __init__(self) -> None:
        self.acked = 0
        self.failed = 0
        self.first_error: str | None = None
        self.fatal: str | None = None

    def on_delivery(self, err: KafkaError | None, msg: Any) -> None:
        if err is None:
            self.acked += 1
            return
        self.failed += 1
        if self.first_error is None:
            self.first_error = (
                f"delivery to {msg.topic()}[{msg.partition()}] failed: {err.str()} "
                f"(code {err.code()}, retriable={err.retriable()}, fatal={err.fatal()})"
            )

    def on_error(self, err: KafkaError) -> None:
        if err.fatal():
            self.fatal = self.fatal or f"fatal producer error: {err.str()}"
        else:
            log.warning("kafka: %s", err.str())

    @property
    def error(self) -> str | None:
        return self.fatal or self.first_error


def _make_pacer(
    mode: str,
    *,
    rate: float | None,
    speedup: float,
    batch_size: int,
    batch_interval_s: float,
    wait: Callable[[float], None],
) -> Callable[[int, int], None] | None:
    """A function ``pace(sent, event_s)`` called before each message, or None for no pacing."""
    if mode == "burst" and rate is None:
        return None
    start: list[float] = []  # wall clock and event time of the first message
    first_event: list[int] = []

    def pace(sent: int, event_s: int) -> None:
        now = time.perf_counter()
        if not start:
            start.append(now)
            first_event.append(event_s)
            return
        target = start[0]
        if mode == "realtime":
            target += max(0, event_s - first_event[0]) / speedup
        elif mode == "batch":
            target += (sent // batch_size) * batch_interval_s
        if rate is not None:
            target = max(target, start[0] + sent / rate)
        delay = target - now
        if delay > 0.001:
            wait(delay)

    return pace


def run_generator(
    settings: Any,
    *,
    events: int,
    mode: str = "burst",
    rate: float | None = None,
    speedup: float = 60.0,
    batch_size: int = 1000,
    batch_interval_s: float = 1.0,
    seed: int | None = None,
    start_date: date | None = None,
    days: int = 1,
    anomalies: AnomalyRates | None = None,
    progress: bool = True,
    flush_timeout_s: float = 120.0,
    producer_overrides: dict[str, Any] | None = None,
    event_format: str | None = None,
) -> Manifest:
    """Produce ``events`` clean trips (plus the anomalies asked for) to ``settings.topic_raw``.

    Modes: ``burst`` as fast as possible; ``realtime`` paced by event time, ``speedup`` event
    seconds per wall second; ``batch`` ``batch_size`` messages every ``batch_interval_s``.
    ``rate`` caps any mode at that many messages per second. ``event_format`` (default
    ``settings.event_format``): ``json`` text, or ``avro`` in the Confluent wire format through the
    Schema Registry (the schema file is registered first; a schema the registry refuses stops the
    run before any message is produced). Returns the manifest, also written
    to ``settings.manifests_dir/<run_id>.json``; raises ``GeneratorError`` unless every message
    was acknowledged.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if events < 0:
        raise ValueError("events must be >= 0")
    if rate is not None and rate <= 0:
        raise ValueError("rate must be > 0 events/s")
    if speedup <= 0:
        raise ValueError("speedup must be > 0")
    if batch_size < 1 or batch_interval_s < 0:
        raise ValueError("batch_size must be >= 1 and batch_interval_s >= 0")
    event_format = event_format or settings.event_format
    if event_format not in FORMATS:
        raise ValueError(f"event_format must be one of {FORMATS}, got {event_format!r}")

    if seed is None:
        # A run without an explicit seed continues the sequence: base seed + runs already on this
        # topic. Reproducible from a reset, and a second run never re-sends the first one's trips
        # (identical trips would be deduplicated in silver and no longer reconcile).
        seed = settings.generator_seed + _previous_runs(settings.manifests_dir, settings.topic_raw)
    start = resolve_start_date(start_date or settings.generator_start_date)
    topic = settings.topic_raw
    bootstrap = settings.kafka_bootstrap_servers
    started = _utc_now()
    run_id = _new_run_id(settings.manifests_dir, started, str(seed))
    offsets_before = end_offsets(bootstrap, topic)
    encode: Encoder | None = None  # JSON: the text as is (no per-message work)
    encode_trip = None
    if event_format == "avro":  # the registry accepts the schema before any message is made
        wire = _registry_wire_format(settings, topic)
        encode = avro_encoder(wire.encode)
        encode_trip = trip_encoder(wire.header, wire.layout, wire.encode)
    stream = EventStream(
        events, seed=seed, start_date=start, days=days, anomalies=anomalies,
        encode_trip=encode_trip,
    )  # fmt: skip

    def pacing(wait: Callable[[float], None]) -> Callable[[int, int], None] | None:
        return _make_pacer(
            mode,
            rate=rate,
            speedup=speedup,
            batch_size=batch_size,
            batch_interval_s=batch_interval_s,
            wait=wait,
        )

    def make_manifest(acked: int, sent: int, duration: float) -> Manifest:
        counts = stream.counts.as_dict()  # final: the stream is closed by now
        return Manifest(
            run_id=run_id,
            topic=topic,
            seed=seed,
            mode=mode,
            event_format=event_format,
            requested=events,
            started_at=_iso(started),
            finished_at=_iso(_utc_now()),
            duration_s=round(duration, 3),
            events_per_s=round(counts["clean"] / duration, 1) if duration > 0 else 0.0,
            messages_acked=acked,
            counts=counts,
            offsets_before=offsets_before,
            offsets_after={},
            late_event_keys=stream.late_event_keys,
        )

    return _produce_run(
        "generator run",
        settings,
        run_id,
        iter(stream),
        encode,
        pacing=pacing,
        progress=(stream.planned_messages, f"{topic} ({mode})") if progress else None,
        make_manifest=make_manifest,
        flush_timeout_s=flush_timeout_s,
        producer_overrides=producer_overrides,
    )


def run_replay(
    settings: Any,
    path: str | Path,
    *,
    rate: float | None = None,
    progress: bool = False,
    now: datetime | None = None,
    event_format: str | None = None,
    flush_timeout_s: float = 120.0,
    producer_overrides: dict[str, Any] | None = None,
) -> Manifest:
    """Produce every row of a TLC yellow-trip Parquet file (or directory of them) to
    ``settings.topic_raw``, as fast as possible or capped at ``rate`` messages per second.

    Rows become event records as ``tlc.TlcReplay`` maps them (real quirks kept, timestamps moved
    by whole weeks so the newest plausible pickup is before ``now``); key = PULocationID as text
    (none when null). Producer, delivery accounting and errors are run_generator's. In ``avro``,
    a row the schema cannot carry is not sent: it is written to ``<run_id>.unsent.jsonl`` next to
    the manifest, with its reason, and counted in the manifest's ``not_sent`` (``rows_read`` =
    ``counts.replayed`` + ``not_sent``; ``messages_acked`` = ``counts.replayed`` as for any run).
    The manifest (mode ``replay``, ``exact_counts: false``) is written like a generator run's; a
    file without the required columns fails before any message.
    """
    if rate is not None and rate <= 0:
        raise ValueError("rate must be > 0 events/s")
    event_format = event_format or settings.event_format
    if event_format not in FORMATS:
        raise ValueError(f"event_format must be one of {FORMATS}, got {event_format!r}")
    replay = TlcReplay(path, now=now)  # checks every file's columns first
    topic = settings.topic_raw
    bootstrap = settings.kafka_bootstrap_servers

    started = _utc_now()
    run_id = _new_run_id(settings.manifests_dir, started, REPLAY_MODE)
    offsets_before = end_offsets(bootstrap, topic)
    if event_format == "avro":
        from lakehouse.schema_registry import load_schema

        serialize = _registry_serializer(settings, topic)  # registered before the first message
        schema = json.loads(load_schema(settings.event_schema_file))
        encoder = ReplayEncoder(serialize, schema, cbd_in_source=replay.has_cbd_congestion_fee)
    else:
        encoder = ReplayEncoder()
    report = ReplayReport(Path(settings.manifests_dir) / f"{run_id}{UNSENT_SUFFIX}")

    def pacing(wait: Callable[[float], None]) -> Callable[[int, int], None] | None:
        return _make_pacer(
            "burst", rate=rate, speedup=1.0, batch_size=1, batch_interval_s=0.0, wait=wait
        )

    def make_manifest(acked: int, sent: int, duration: float) -> Manifest:
        return replay_manifest(
            replay,
            encoder,
            report,
            run_id=run_id,
            topic=topic,
            event_format=event_format,
            started=started,
            finished=_utc_now(),
            duration=duration,
            sent=sent,
            acked=acked,
            offsets_before=offsets_before,
        )

    return _produce_run(
        "replay run",
        settings,
        run_id,
        _replay_messages(replay, encoder, report),
        None,  # values encoded by _replay_messages: rows the schema cannot carry never get here
        pacing=pacing,
        progress=(replay.rows, f"{topic} (replay)") if progress else None,
        make_manifest=make_manifest,
        flush_timeout_s=flush_timeout_s,
        producer_overrides=producer_overrides,
    )


_KEYS = [str(i) for i in range(512)]


def _replay_messages(
    replay: TlcReplay, encoder: ReplayEncoder, report: ReplayReport
) -> Iterator[tuple[str | None, str | bytes, int, str]]:
    """``(key, value, 0, kind)`` of every row the encoder can carry; the others go to
    ``report`` (which counts every row read). Closing the generator closes the report."""
    keys = _KEYS
    try:
        for record in replay:
            report.rows_read += 1
            value = encoder(record)
            if value is None:  # the Avro schema cannot carry it: reported, not sent
                reason = encoder.reason(record) or "unknown"
                report.unsent(reason, record, *replay.locate(report.rows_read - 1))
                continue
            pu = record["PULocationID"]
            if type(pu) is int and 0 <= pu < 512:
                key: str | None = keys[pu]
            else:  # no key for a null PULocationID (dead-lettered downstream anyway)
                key = None if pu is None else str(pu)
            yield key, value, 0, REPLAYED
    finally:
        report.close()


def replay_manifest(
    replay: TlcReplay,
    encoder: ReplayEncoder,
    report: ReplayReport,
    *,
    run_id: str,
    topic: str,
    event_format: str,
    started: datetime,
    finished: datetime,
    duration: float,
    sent: int,
    acked: int,
    offsets_before: dict[str, int],
) -> Manifest:
    """The manifest of a replay that handed ``sent`` records to the producer and ``report``ed
    the rows it did not send (offsets_after is filled in by the caller): no Kafka involved, so it
    is unit-testable."""
    return Manifest(
        run_id=run_id,
        topic=topic,
        seed=None,
        mode=REPLAY_MODE,
        event_format=event_format,
        requested=replay.rows,
        started_at=_iso(started),
        finished_at=_iso(finished),
        duration_s=round(duration, 3),
        events_per_s=round(sent / duration, 1) if duration > 0 else 0.0,
        messages_acked=acked,
        counts={REPLAYED: sent},
        offsets_before=offsets_before,
        offsets_after={},
        source=str(replay.source),
        exact_counts=False,
        shift_days=replay.shift_days,
        dropped_fields=list(encoder.dropped_fields),
        rows_read=report.rows_read,
        not_sent=report.not_sent,
        not_sent_by_reason=dict(sorted(report.by_reason.items())),
        not_sent_report=str(report.path) if report.written else None,
    )


def _new_run_id(manifests_dir: Path, started: datetime, tag: str) -> str:
    run_id = f"{started:%Y%m%dT%H%M%SZ}-{tag}"
    k = 1
    while (manifests_dir / f"{run_id}.json").exists():  # two runs in the same second
        k += 1
        run_id = f"{started:%Y%m%dT%H%M%SZ}-{tag}-{k}"
    return run_id


def _registry_wire_format(settings: Any, topic: str) -> Any:
    """The registered schema's wire format (lakehouse.schema_registry.WireFormat); registers the
    schema file first (refused: nothing produced)."""
    from lakehouse import schema_registry

    try:
        return schema_registry.wire_format(settings, topic)
    except Exception as e:  # noqa: BLE001 - nothing was produced; say why
        raise GeneratorError(
            f"the event schema could not be used, no message was produced: {e}"
        ) from e


def _registry_serializer(settings: Any, topic: str) -> Callable[[dict[str, Any]], bytes]:
    """The registry serializer (record -> wire-format bytes); see _registry_wire_format."""
    return _registry_wire_format(settings, topic).encode


def trip_encoder(
    header: bytes,
    layout: tuple[tuple[str, str], ...],
    encode_record: Callable[[dict[str, Any]], bytes],
) -> Callable[[Trip, Clock], bytes]:
    """Clean trips straight to wire-format bytes: ``trip_to_avro`` when the registered schema
    has the layout it writes (v2, the shipped schema), else the record through
    ``encode_record`` (fastavro): an older or newer registered schema still gets valid bytes."""
    if tuple(layout) == AVRO_V2_LAYOUT:
        return lambda trip, clock: header + trip_to_avro(trip, clock)
    return lambda trip, clock: encode_record(trip_to_record(trip, clock))


def _produce_run(
    label: str,
    settings: Any,
    run_id: str,
    messages: Iterator[tuple[str | None, Any, int, str]],
    encode: Callable[[Any, str], str | bytes] | None,
    *,
    pacing: Callable[[Callable[[float], None]], Callable[[int, int], None] | None],
    progress: tuple[int, str] | None,
    make_manifest: Callable[[int, int, float], Manifest],
    flush_timeout_s: float,
    producer_overrides: dict[str, Any] | None,
) -> Manifest:
    """Produce ``(key, value, event_s, kind)`` messages (``encode(value, kind)`` first unless
    None), account for every delivery and write the manifest ``make_manifest(acked, sent,
    duration)`` builds; a run that is not fully acknowledged raises ``GeneratorError`` after
    writing ``<run_id>.json.failed``."""
    topic = settings.topic_raw
    bootstrap = settings.kafka_bootstrap_servers
    manifests_dir = settings.manifests_dir
    delivery = _Delivery()
    config = {
        "bootstrap.servers": bootstrap,
        "client.id": f"taxi-generator-{run_id}",
        **topics.PRODUCER_TUNING,
        **(producer_overrides or {}),
        "on_delivery": delivery.on_delivery,
        "error_cb": delivery.on_error,
    }
    producer = Producer(config)

    def wait(seconds: float) -> None:  # sleep while serving delivery reports
        end = time.perf_counter() + seconds
        while (left := end - time.perf_counter()) > 0:
            producer.poll(min(left, 0.05))

    pacer = pacing(wait)
    bar = _Progress(*progress) if progress is not None else None
    sent = 0
    error: str | None = None
    t0 = time.perf_counter()
    try:
        produce = producer.produce
        poll = producer.poll
        mask = POLL_EVERY - 1
        for key, text, event_s, kind in messages:
            if pacer is not None:
                pacer(sent, event_s)
            value = text if encode is None else encode(text, kind)
            while True:
                try:
                    produce(topic, value, key)
                    break
                except BufferError:  # local queue full: let librdkafka drain it
                    poll(0.05)
            sent += 1
            if not sent & mask:
                poll(0)
                if delivery.error:
                    break
                if bar is not None:
                    bar.update(sent, delivery.acked)
    except KafkaException as e:
        error = f"produce failed after {sent} messages: {e}"
    except KeyboardInterrupt:
        error = f"interrupted after {sent} messages"
        raise
    except Exception as e:  # noqa: BLE001 - e.g. a record the Avro serializer refuses
        error = f"encoding failed after {sent} messages: {type(e).__name__}: {e}"
    finally:
        close = getattr(messages, "close", None)
        if close is not None:
            close()  # final counts (also when stopped early)
        remaining = producer.flush(flush_timeout_s)
        t1 = time.perf_counter()
        if bar is not None:
            bar.update(sent, delivery.acked, force=True)
            bar.close()
        if error is None:
            error = delivery.error
        if error is None and remaining:
            error = f"{remaining} messages not acknowledged within {flush_timeout_s} s"
        if error is None and delivery.acked != sent:
            error = f"acknowledged {delivery.acked} of {sent} messages"

        manifest = make_manifest(delivery.acked, sent, t1 - t0)
        if error is not None:
            # not a manifest (a different suffix): the counts of a broken run cannot be trusted
            try:
                manifest.offsets_after = end_offsets(bootstrap, topic)
            except GeneratorError as e:
                log.warning("%s", e)
            path = manifest.write(manifests_dir, suffix=".json.failed")
            raise GeneratorError(
                f"{label} {run_id} failed: {error}; sent {sent}, acked {delivery.acked}, "
                f"failed {delivery.failed}; partial manifest {path}"
            )

    manifest.offsets_after = end_offsets(bootstrap, topic)
    problems = manifest.problems()
    if problems:  # a bug in the generator, not in Kafka
        manifest.write(manifests_dir, suffix=".json.failed")
        raise GeneratorError(f"{label} {run_id} is inconsistent: {'; '.join(problems)}")
    if manifest.offsets_delta() != manifest.messages_acked:
        log.warning(
            "topic %s grew by %d messages during run %s, which acked %d (another producer?)",
            topic,
            manifest.offsets_delta(),
            run_id,
            manifest.messages_acked,
        )
    manifest.write(manifests_dir)
    return manifest


class _Progress:
    """A rich progress bar: messages sent / planned, acked, rate."""

    def __init__(self, total: int, description: str) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("[bold blue]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("acked {task.fields[acked]:,}"),
            TextColumn("{task.fields[rate]:,.0f} msg/s"),
            TimeElapsedColumn(),
            refresh_per_second=4,
        )
        self._task = self._progress.add_task(description, total=total, acked=0, rate=0.0)
        self._t0 = time.perf_counter()
        self._last = 0.0
        self._progress.start()

    def update(self, sent: int, acked: int, force: bool = False) -> None:
        now = time.perf_counter()
        if now - self._last < 0.2 and not force:
            return
        self._last = now
        rate = sent / (now - self._t0) if now > self._t0 else 0.0
        self._progress.update(self._task, completed=sent, acked=acked, rate=rate)

    def close(self) -> None:
        self._progress.stop()
