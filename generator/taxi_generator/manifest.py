"""The generator run manifest (contracts.md §2): one JSON file per run."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .anomalies import COUNT_KEYS, EXTRA_KINDS


def expected_messages(counts: dict[str, int]) -> int:
    """``clean + duplicate + malformed_json + missing_field + wrong_type + negative_amount +
    dropoff_before_pickup`` (late is a subset of clean)."""
    return counts["clean"] + sum(counts[k] for k in EXTRA_KINDS)


@dataclass
class Manifest:
    run_id: str
    topic: str
    seed: int
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

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["counts"] = {k: self.counts.get(k, 0) for k in COUNT_KEYS}
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Manifest:
        optional = {"late_event_keys", "event_format"}
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d or k not in optional})

    @classmethod
    def read(cls, path: Path) -> Manifest:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def problems(self) -> list[str]:
        """Violations of the contract's arithmetic (empty when consistent)."""
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
