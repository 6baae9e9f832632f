"""The generator run manifest (contracts.md §2): one JSON file per run.

A replay of real TLC files (``producer.run_replay``, mode ``replay``) writes the same file with
other ``counts`` (``replayed``: the messages sent) and ``exact_counts: false``: the real rows'
classes (dead letter, rejected, duplicates) are not known up front, so verify can only check
conservation for it. It also accounts for every row it read: ``rows_read = replayed +
not_sent``, ``not_sent`` being the rows the Avro schema cannot carry (never sent; listed in the
``not_sent_report`` JSON-lines file, counted per reason in ``not_sent_by_reason``). Its extra
fields are left out of generator manifests.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .anomalies import COUNT_KEYS, EXTRA_KINDS

REPLAY_MODE = "replay"
#: corrected dead letters produced again (lakehouse.deadletter.republish)
REPUBLISH_MODE = "republish"
REPUBLISHED = "republished"
#: ``counts`` of a replay: the messages produced (its rows not sent are not messages: they are
#: the manifest's ``not_sent``).
REPLAYED = "replayed"
#: Fields of replay manifests only, and their defaults: a field at its default is not written.
_REPLAY_DEFAULTS: dict[str, Any] = {
    "source": None,
    "exact_counts": True,
    "shift_days": None,
    "dropped_fields": [],
    "rows_read": None,
    "not_sent": None,
    "not_sent_by_reason": None,
    "not_sent_report": None,
    "republished_from": [],
}


def expected_messages(counts: dict[str, int]) -> int:
    """``clean + duplicate + malformed_json + missing_field + wrong_type + negative_amount +
    dropoff_before_pickup`` (late is a subset of clean)."""
    return counts["clean"] + sum(counts[k] for k in EXTRA_KINDS)


@dataclass
class Manifest:
    run_id: str
    topic: str
    #: None for a replay (no randomness)
    seed: int | None
    mode: str
    requested: int
    started_at: str
    finished_at: str
    duration_s: float
    #: clean events per second over ``duration_s`` (first produce to last ack), as in the
    #: contract's example (10000 requested / 0.8 s = 12500.0)
    events_per_s: float
    messages_acked: int
    counts: dict[str, int] = field(default_factory=dict)
    offsets_before: dict[str, int] = field(default_factory=dict)
    offsets_after: dict[str, int] = field(default_factory=dict)
    #: Not in contracts.md §2 (an optional addition read by verify): ``[VendorID,
    #: tpep_pickup_datetime, PULocationID, DOLocationID, total_amount]`` of (up to 10,000)
    #: late events, to check that they reach the facts.
    late_event_keys: list[list] = field(default_factory=list)
    #: value encoding of the run's messages: "json" or "avro" (Confluent wire format); decides
    #: which dead-letter reason each structural anomaly produces (encoding.DEAD_LETTER_REASON)
    event_format: str = "json"
    #: replay only: the Parquet file or directory replayed
    source: str | None = None
    #: False for a replay: per-class expected counts are unknown, only conservation is checkable
    exact_counts: bool = True
    #: replay only: days added to every timestamp (a multiple of 7)
    shift_days: int | None = None
    #: replay only: record fields left out because the registered Avro schema lacks them
    dropped_fields: list[str] = field(default_factory=list)
    #: replay only: rows read from the source (= counts["replayed"] + not_sent)
    rows_read: int | None = None
    #: replay only: rows not sent because the Avro schema cannot carry them (0 in json)
    not_sent: int | None = None
    #: replay only: not_sent per reason (``null:VendorID``, ``out_of_range:PULocationID``, ...)
    not_sent_by_reason: dict[str, int] | None = None
    #: replay only: the JSON-lines file listing the rows not sent (when there are any)
    not_sent_report: str | None = None
    #: republish only: the dead letters' sources (topic/partition/offset), each republished once
    republished_from: list[str] = field(default_factory=list)

    @property
    def is_replay(self) -> bool:
        """Not a generator run (a replay or a republish): counts are not per anomaly class."""
        return self.mode in (REPLAY_MODE, REPUBLISH_MODE)

    @classmethod
    def republish(
        cls,
        *,
        run_id: str,
        topic: str,
        event_format: str,
        started: datetime,
        finished: datetime,
        sources: list[str],
        offsets_before: dict[str, int],
        offsets_after: dict[str, int],
    ) -> Manifest:
        duration = max((finished - started).total_seconds(), 1e-9)
        return cls(
            run_id=run_id, topic=topic, seed=None, mode=REPUBLISH_MODE, requested=len(sources),
            started_at=started.isoformat(), finished_at=finished.isoformat(),
            duration_s=round(duration, 3), events_per_s=round(len(sources) / duration, 1),
            messages_acked=len(sources), counts={REPUBLISHED: len(sources)},
            offsets_before=offsets_before, offsets_after=offsets_after,
            event_format=event_format, exact_counts=False, republished_from=list(sources),
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if self.is_replay:
            d["counts"] = dict(self.counts)
        else:
            d["counts"] = {k: self.counts.get(k, 0) for k in COUNT_KEYS}
        for k, default in _REPLAY_DEFAULTS.items():  # generator manifests keep their shape
            if d[k] == default:
                del d[k]
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Manifest:
        optional = {"late_event_keys", "event_format", *_REPLAY_DEFAULTS}
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d or k not in optional})

    @classmethod
    def read(cls, path: Path) -> Manifest:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def problems(self) -> list[str]:
        """Violations of the contract's arithmetic (empty when consistent)."""
        if self.is_replay:
            return self._replay_problems()
        out = []
        missing = [k for k in COUNT_KEYS if k not in self.counts]
        if missing:
            return [f"counts lack {', '.join(missing)}"]
        if self.messages_acked != expected_messages(self.counts):
            out.append(
                f"messages_acked {self.messages_acked} != clean + extra classes "
                f"{expected_messages(self.counts)}"
            )
        if self.counts["clean"] != self.requested:
            out.append(f"clean {self.counts['clean']} != requested {self.requested}")
        if self.counts["late"] > self.counts["clean"]:
            out.append("late is not a subset of clean")
        return out

    def _replay_problems(self) -> list[str]:
        if self.mode == REPUBLISH_MODE:
            n = len(self.republished_from)
            ok = self.counts == {REPUBLISHED: n} and self.messages_acked == n == self.requested
            return [] if ok and not self.exact_counts else [f"inconsistent republish counts ({n})"]
        out = []
        if REPLAYED not in self.counts:
            return [f"counts lack {REPLAYED}"]
        unknown = sorted(set(self.counts) - {REPLAYED})
        if unknown:
            out.append(f"counts of a replay cannot have {', '.join(unknown)}")
        replayed = self.counts[REPLAYED]
        if self.messages_acked != replayed:
            out.append(f"messages_acked {self.messages_acked} != replayed {replayed}")
        if self.rows_read is None or self.not_sent is None or self.not_sent_by_reason is None:
            return [*out, "a replay must account for its rows (rows_read, not_sent, by reason)"]
        if self.rows_read != replayed + self.not_sent:
            out.append(
                f"rows_read {self.rows_read} != replayed {replayed} + not_sent {self.not_sent}"
            )
        if self.rows_read != self.requested:
            out.append(
                f"rows_read {self.rows_read} != requested (rows in the source) {self.requested}"
            )
        if sum(self.not_sent_by_reason.values()) != self.not_sent:
            out.append(f"not_sent_by_reason does not add up to not_sent {self.not_sent}")
        if self.not_sent and self.event_format != "avro":
            out.append(f"a {self.event_format} replay sends every row (not_sent {self.not_sent})")
        if bool(self.not_sent) != bool(self.not_sent_report):
            out.append("not_sent_report is the report of the rows not sent, when there are any")
        if self.exact_counts:
            out.append("a replay cannot have exact counts")
        return out

    def offsets_delta(self) -> int:
        """Messages that arrived on the topic between the two offset snapshots."""
        return sum(
            self.offsets_after.get(p, 0) - self.offsets_before.get(p, 0) for p in self.offsets_after
        )

    def write(self, directory: Path, suffix: str = ".json") -> Path:
        """Write atomically to ``<directory>/<run_id><suffix>``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.run_id}{suffix}"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        os.replace(tmp, path)
        return path
