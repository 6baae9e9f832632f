"""Producer loop and manifest arithmetic, with a fake Kafka (no broker)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from taxi_generator import producer as prod
from taxi_generator.anomalies import COUNT_KEYS, AnomalyRates
from taxi_generator.manifest import Manifest, expected_messages
from taxi_generator.producer import GeneratorError, run_generator

from lakehouse.settings import Settings

PARTITIONS = 3


class FakeError:
    def str(self) -> str:
        return "Broker: Not enough in-sync replicas"

    def code(self) -> int:
        return 19

    def retriable(self) -> bool:
        return True

    def fatal(self) -> bool:
        return False


class FakeMsg:
    def __init__(self, topic: str, partition: int) -> None:
        self._t, self._p = topic, partition

    def topic(self) -> str:
        return self._t

    def partition(self) -> int:
        return self._p


class FakeKafka:
    """A topic with PARTITIONS partitions; the producer acks on poll/flush."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.logs: dict[int, list[tuple[str, str]]] = {p: [] for p in range(PARTITIONS)}
        self.fail_at = fail_at
        self.configs: list[dict] = []

    def offsets(self, bootstrap: str, topic: str, timeout_s: float = 0) -> dict[str, int]:
        return {str(p): len(v) for p, v in self.logs.items()}

    def producer(self, config: dict) -> FakeProducer:
        self.configs.append(config)
        return FakeProducer(self, config)


class FakeProducer:
    def __init__(self, kafka: FakeKafka, config: dict) -> None:
        self.kafka = kafka
        self.cb = config["on_delivery"]
        self.pending: list[tuple[str, str, str]] = []
        self.n = 0

    def produce(self, topic, value, key):
        assert isinstance(key, str) and isinstance(value, str)
        self.pending.append((topic, key, value))

    def poll(self, timeout=0):
        pending, self.pending = self.pending, []
        for topic, key, value in pending:
            p = int(key) % PARTITIONS
            self.n += 1
            if self.kafka.fail_at is not None and self.n >= self.kafka.fail_at:
                self.cb(FakeError(), FakeMsg(topic, p))
            else:
                self.kafka.logs[p].append((key, value))
                self.cb(None, FakeMsg(topic, p))
        return len(pending)

    def flush(self, timeout=None):
        self.poll()
        return 0


@pytest.fixture
def kafka(monkeypatch) -> FakeKafka:
    k = FakeKafka()
    monkeypatch.setattr(prod, "Producer", k.producer)
    monkeypatch.setattr(prod, "end_offsets", k.offsets)
    return k


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        lakehouse_home=tmp_path, topic_raw="taxi.test", generator_seed=42, event_format="json"
    )


RATES = AnomalyRates(
    duplicate=0.01,
    malformed_json=0.003,
    missing_field=0.003,
    wrong_type=0.003,
    negative_amount=0.002,
    dropoff_before_pickup=0.002,
    late=0.012,
)


def _parse(value: str):
    try:
        return json.loads(value)
    except ValueError:
        return None


def test_manifest_arithmetic_and_file(kafka, settings):
    m = run_generator(
        settings, events=10_000, start_date=date(2025, 3, 3), anomalies=RATES, progress=False
    )
    assert m.counts == {
        "clean": 10_000,
        "late": 120,
        "duplicate": 100,
        "malformed_json": 30,
        "missing_field": 30,
        "wrong_type": 30,
        "negative_amount": 20,
        "dropoff_before_pickup": 20,
    } | {k: 0 for k in COUNT_KEYS[8:]}  # classes added later: 0 here
    assert m.messages_acked == expected_messages(m.counts) == 10_230  # contracts.md §2
    assert m.problems() == []
    assert m.offsets_before == {"0": 0, "1": 0, "2": 0}
    assert sum(m.offsets_after.values()) == 10_230 == m.offsets_delta()
    assert m.requested == 10_000 and m.seed == 42 and m.mode == "burst"
    assert m.topic == "taxi.test"
    assert m.run_id.endswith("Z-42") and len(m.run_id) == len("20261125T142000Z-42")
    assert m.events_per_s == pytest.approx(10_000 / m.duration_s, rel=0.01)

    path = settings.manifests_dir / f"{m.run_id}.json"
    on_disk = json.loads(path.read_text())
    assert list(on_disk) == [
        "run_id",
        "topic",
        "seed",
        "mode",
        "requested",
        "started_at",
        "finished_at",
        "duration_s",
        "events_per_s",
        "messages_acked",
        "counts",
        "offsets_before",
        "offsets_after",
        "late_event_keys",
        "event_format",
    ]
    assert on_disk["event_format"] == "json"
    assert list(on_disk["counts"]) == list(COUNT_KEYS)
    assert len(on_disk["late_event_keys"]) == 120
    late_values = [_parse(v) for log in kafka.logs.values() for _, v in log]
    late_keys = {
        (r["VendorID"], r["tpep_pickup_datetime"], r["PULocationID"], r["DOLocationID"],
         r["total_amount"])
        for r in late_values
        if isinstance(r, dict) and all(isinstance(r.get(k), int | float | str) for k in
                                       ("VendorID", "tpep_pickup_datetime", "PULocationID",
                                        "DOLocationID", "total_amount"))
    }  # fmt: skip
    assert {tuple(k) for k in on_disk["late_event_keys"]} <= late_keys
    assert Manifest.read(path) == m
    assert on_disk["started_at"].endswith("Z") and on_disk["started_at"] <= on_disk["finished_at"]

    # what reached "Kafka": keys are the PULocationID of each value that has one
    msgs = [kv for log in kafka.logs.values() for kv in log]
    assert len(msgs) == 10_230
    parsed = 0
    for key, value in msgs:
        try:
            rec = json.loads(value)
        except ValueError:
            continue
        if "PULocationID" in rec and isinstance(rec["PULocationID"], int):
            assert key == str(rec["PULocationID"])
            parsed += 1
    assert parsed > 10_000


def test_producer_is_configured_for_safe_fast_delivery(kafka, settings):
    run_generator(settings, events=10, progress=False)
    cfg = kafka.configs[0]
    assert cfg["enable.idempotence"] is True and cfg["acks"] == "all"
    assert cfg["compression.type"] in ("lz4", "zstd") and cfg["linger.ms"] > 0
    assert cfg["bootstrap.servers"] == settings.kafka_bootstrap_servers


def test_second_run_appends_and_gets_its_own_manifest(kafka, settings):
    a = run_generator(settings, events=500, start_date=date(2025, 3, 3), progress=False)
    b = run_generator(settings, events=700, start_date=date(2025, 3, 3), progress=False)
    assert a.run_id != b.run_id
    assert b.offsets_before == a.offsets_after
    assert sum(b.offsets_after.values()) == 1200
    assert len(list(settings.manifests_dir.glob("*.json"))) == 2


def test_delivery_failure_fails_the_run_without_a_manifest(monkeypatch, settings):
    k = FakeKafka(fail_at=3000)
    monkeypatch.setattr(prod, "Producer", k.producer)
    monkeypatch.setattr(prod, "end_offsets", k.offsets)
    with pytest.raises(GeneratorError, match="not enough in-sync replicas|failed"):
        run_generator(settings, events=10_000, progress=False)
    assert list(settings.manifests_dir.glob("*.json")) == []
    failed = list(settings.manifests_dir.glob("*.json.failed"))
    assert len(failed) == 1
    partial = json.loads(failed[0].read_text())
    assert partial["messages_acked"] == 2999


def test_unacknowledged_messages_fail_the_run(monkeypatch, settings):
    k = FakeKafka()

    class Lossy(FakeProducer):
        def flush(self, timeout=None):  # loses the last message silently
            self.pending = self.pending[:-1]
            self.poll()
            return 0

    monkeypatch.setattr(prod, "Producer", lambda cfg: Lossy(k, cfg))
    monkeypatch.setattr(prod, "end_offsets", k.offsets)
    with pytest.raises(GeneratorError, match="acknowledged"):
        run_generator(settings, events=100, progress=False)


def test_seed_and_start_date_come_from_settings(kafka, tmp_path):
    s = Settings(
        lakehouse_home=tmp_path,
        generator_seed=7,
        generator_start_date="2024-06-01",
        event_format="json",
    )
    m = run_generator(s, events=50, progress=False)
    assert m.seed == 7 and m.run_id.endswith("-7")
    values = [json.loads(v) for log in kafka.logs.values() for _, v in log]
    assert {v["tpep_pickup_datetime"][:10] for v in values} == {"2024-06-01"}


def test_progress_bar_runs(kafka, settings, capsys):
    m = run_generator(settings, events=3000, progress=True)
    assert m.messages_acked == 3000


@pytest.mark.parametrize("bad", [{"mode": "fast"}, {"rate": 0}, {"speedup": 0}, {"events": -1}])
def test_bad_arguments(kafka, settings, bad):
    kwargs = {"events": 10, "progress": False} | bad
    with pytest.raises(ValueError):
        run_generator(settings, **kwargs)


def _pace(mode: str, events: list[int], **kw) -> list[float]:
    waits: list[float] = []
    clock = [0.0]
    opts = {"rate": None, "speedup": 60.0, "batch_size": 1000, "batch_interval_s": 1.0} | kw

    def wait(s: float) -> None:
        waits.append(s)
        clock[0] += s

    pacer = prod._make_pacer(mode, wait=wait, **opts)
    orig = prod.time.perf_counter
    prod.time.perf_counter = lambda: clock[0]
    try:
        for i, ev in enumerate(events):
            pacer(i, ev)
    finally:
        prod.time.perf_counter = orig
    return waits


def test_burst_without_rate_is_not_paced():
    assert (
        prod._make_pacer(
            "burst", rate=None, speedup=1, batch_size=1, batch_interval_s=1, wait=print
        )
        is None
    )


def test_realtime_follows_event_time_with_speedup():
    waits = _pace("realtime", [0, 60, 60, 600], speedup=60.0)
    assert waits == pytest.approx([1.0, 9.0])  # 60 event-s = 1 s, then 540 event-s = 9 s


def test_batch_mode_sends_batches_per_interval():
    waits = _pace("batch", [0] * 25, batch_size=10, batch_interval_s=2.0)
    assert waits == pytest.approx([2.0, 2.0])


def test_rate_limit_caps_burst():
    waits = _pace("burst", [0] * 101, rate=50.0)
    assert sum(waits) == pytest.approx(2.0)
    assert Counter(round(w, 6) for w in waits) == Counter({0.02: 100})
