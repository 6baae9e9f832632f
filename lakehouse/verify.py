"""Reconciliation: generator manifests vs Kafka offsets vs bronze vs dead letter vs silver vs gold.

The rules are in docs/contracts.md section 3. Every check is reported; any mismatch fails the step
with a readable diff.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from taxi_generator.encoding import DEAD_LETTER_REASON, reason_key

from lakehouse import catalog as cat
from lakehouse import topics
from lakehouse.settings import Settings

ANOMALY_KEYS = (
    "clean",
    "late",
    "duplicate",
    "malformed_json",
    "missing_field",
    "wrong_type",
    "negative_amount",
    "dropoff_before_pickup",
)


class VerificationError(RuntimeError):
    def __init__(self, report: VerifyReport):
        self.report = report
        super().__init__("reconciliation failed:\n" + report.diff())


@dataclass
class Check:
    name: str
    expected: int
    actual: int
    rule: str

    @property
    def ok(self) -> bool:
        return self.expected == self.actual


@dataclass
class VerifyReport:
    checks: list[Check]
    figures: dict[str, Any]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def diff(self) -> str:
        lines = []
        for c in self.checks:
            if not c.ok:
                delta = c.actual - c.expected
                lines.append(
                    f"  x {c.name}: expected {c.expected}, found {c.actual} ({delta:+d})  [{c.rule}]"
                )
        return "\n".join(lines) or "  (no differences)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checks": [{**asdict(c), "ok": c.ok} for c in self.checks],
            "figures": self.figures,
        }


def load_manifests(settings: Settings) -> list[dict[str, Any]]:
    out = []
    for path in sorted(Path(settings.manifests_dir).glob("*.json")):
        data = json.loads(path.read_text())
        if data.get("topic") == settings.topic_raw:
            out.append(data)
    return out


def manifest_totals(manifests: list[dict[str, Any]]) -> dict[str, int]:
    totals = {k: 0 for k in ANOMALY_KEYS}
    totals["messages_acked"] = 0
    for m in manifests:
        totals["messages_acked"] += int(m["messages_acked"])
        for k in ANOMALY_KEYS:
            totals[k] += int(m["counts"].get(k, 0))
    return totals


def expected_dead_letter(manifests: list[dict[str, Any]]) -> dict[str, int]:
    """Dead-letter rows expected per reason class, from each run's structural anomalies and its
    event format (a JSON run's missing_field is an Avro run's avro:unknown_schema_id)."""
    expected: dict[str, int] = {}
    for m in manifests:
        reasons = DEAD_LETTER_REASON[m.get("event_format", "json")]
        for kind, reason in reasons.items():
            expected[reason] = expected.get(reason, 0) + int(m["counts"].get(kind, 0))
    return expected


def gold_fact_count(settings: Settings) -> int | None:
    path = settings.gold_path
    if not path.exists():
        return None
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        tables = {
            r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()
        }
        if "fct_trips" not in tables:
            return None
        return int(con.execute("select count(*) from fct_trips").fetchone()[0])


def late_events_in_gold(settings: Settings, manifests: list[dict[str, Any]]) -> tuple[int, int]:
    """(late events listed in the manifests, how many of them are in fct_trips)."""
    keys = [tuple(e) for m in manifests for e in m.get("late_event_keys", [])]
    if not keys or not settings.gold_path.exists():
        return len(keys), 0
    import duckdb

    with duckdb.connect(str(settings.gold_path), read_only=True) as con:
        con.execute(
            "create temp table late(vendor_id int, pickup varchar, pu int, do_ int, total double)"
        )
        con.executemany("insert into late values (?, ?, ?, ?, ?)", keys)
        found = con.execute(
            """
            select count(*) from late l
            where exists (
              select 1 from fct_trips f
              where f.vendor_id = l.vendor_id
                and strftime(f.pickup_at, '%Y-%m-%d %H:%M:%S') = l.pickup
                and f.pickup_location_id = l.pu and f.dropoff_location_id = l.do_
                and abs(f.total_amount - l.total) < 0.005)
            """
        ).fetchone()[0]
    return len(keys), int(found)


def run_verify(settings: Settings, *, include_gold: bool = True) -> VerifyReport:
    manifests = load_manifests(settings)
    if not manifests:
        raise RuntimeError(
            f"no generator manifests for topic {settings.topic_raw} in {settings.manifests_dir}: "
            "nothing to reconcile (run `make generate` first)"
        )
    m = manifest_totals(manifests)
    marks = topics.watermarks(settings, settings.topic_raw)
    kafka_messages = sum(high - low for low, high in marks.values())

    catalog = cat.load_catalog(settings)
    b, s = settings.bronze_namespace, settings.silver_namespace
    bronze = cat.row_count(cat.load_table(catalog, f"{b}.raw_trips"))
    dlq_table = cat.load_table(catalog, f"{b}.trips_dead_letter")
    dlq = cat.row_count(dlq_table)
    reasons = cat.read_columns(dlq_table, ("reason",))
    by_reason: dict[str, int] = {}
    for r in reasons["reason"].to_pylist() if reasons.num_rows else []:
        key = reason_key(r)
        by_reason[key] = by_reason.get(key, 0) + 1
    silver = cat.row_count(cat.load_table(catalog, f"{s}.trips"))
    rejected = cat.row_count(cat.load_table(catalog, f"{s}.trips_rejected"))

    dead_expected = m["malformed_json"] + m["missing_field"] + m["wrong_type"]
    per_reason = expected_dead_letter(manifests)
    unexpected = sorted(set(by_reason) - set(per_reason))
    rejected_expected = m["negative_amount"] + m["dropoff_before_pickup"]
    checks = [
        Check("kafka messages", m["messages_acked"], kafka_messages,
              "end - start offsets = messages acknowledged by the broker (all manifests)"),
        Check("dead letter rows", dead_expected, dlq,
              "malformed_json + missing_field + wrong_type"),
        *(Check(f"dead letter: {reason}", n, by_reason.get(reason, 0), "per reason")
          for reason, n in sorted(per_reason.items()) if n or by_reason.get(reason)),
        *(Check(f"dead letter: {reason}", 0, by_reason[reason], "no run produced this reason")
          for reason in unexpected),
        Check("bronze rows", kafka_messages - dlq, bronze, "kafka messages - dead letter rows"),
        Check("silver rejected rows", rejected_expected, rejected,
              "negative_amount + dropoff_before_pickup"),
        Check("silver rows", m["clean"], silver, "clean events (late ones included)"),
        Check("silver = bronze - duplicates - rejected", bronze - m["duplicate"] - rejected, silver,
              "deduplication removes exactly the resent copies"),
    ]  # fmt: skip
    figures: dict[str, Any] = {
        "manifests": len(manifests),
        "messages_acked": m["messages_acked"],
        "kafka_messages": kafka_messages,
        "bronze_rows": bronze,
        "dead_letter_rows": dlq,
        "silver_rows": silver,
        "silver_rejected_rows": rejected,
        "duplicates_removed": bronze - rejected - silver,
        "late_events": m["late"],
    }
    if include_gold:
        facts = gold_fact_count(settings)
        checks.append(
            Check("gold fct_trips rows", silver, facts if facts is not None else -1,
                  "one fact per silver trip (-1: gold not built)")
        )  # fmt: skip
        listed, found = late_events_in_gold(settings, manifests)
        checks.append(Check("late events in fct_trips", listed, found, "late events reach facts"))
        figures["fct_trips_rows"] = facts
    report = VerifyReport(checks, figures)
    if not report.ok:
        raise VerificationError(report)
    return report
