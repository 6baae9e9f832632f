"""Reconciliation: generator manifests vs Kafka offsets vs bronze vs dead letter vs silver vs gold.

The rules are in docs/contracts.md section 3. Every check is reported; any mismatch fails the step
with a readable diff.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from taxi_generator.anomalies import (
    COUNT_KEYS,
    DEAD_LETTER_KINDS,
    FLAGGED_KINDS,
    REJECTED_KINDS,
    expected_silver_rows,
)
from taxi_generator.encoding import DEAD_LETTER_REASON

from lakehouse import catalog as cat
from lakehouse import deadletter, topics
from lakehouse.settings import Settings

ANOMALY_KEYS = COUNT_KEYS


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

    def counters(self) -> dict[str, int]:
        """Kestra metrics of the step."""
        failed = sum(1 for c in self.checks if not c.ok)
        return {"checks_passed": len(self.checks) - failed, "checks_failed": failed}


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


def is_exact(manifest: dict[str, Any]) -> bool:
    """A generator run knows every message's class; a replay of real files does not."""
    return bool(manifest.get("exact_counts", True))


def expected_dead_letter(manifests: list[dict[str, Any]]) -> dict[str, int]:
    """Dead-letter rows expected per reason class, from each run's structural anomalies and its
    event format (a JSON run's missing_field is an Avro run's avro:unknown_schema_id)."""
    expected: dict[str, int] = {}
    for m in manifests:
        reasons = DEAD_LETTER_REASON[m.get("event_format", "json")]
        for kind, reason in reasons.items():
            expected[reason] = expected.get(reason, 0) + int(m["counts"].get(kind, 0))
    return expected


@dataclass
class _Conservation:
    """bronze = silver + rejected + duplicates, from the tables alone (any input)."""

    accepted: int  # bronze rows not in trips_rejected
    distinct_accepted: int  # their distinct trip_ids: what silver must hold
    duplicates: int


def _conservation(catalog: Any, settings: Settings) -> _Conservation:
    import pyarrow as pa
    import pyarrow.compute as pc

    b, s = settings.bronze_namespace, settings.silver_namespace
    cols = ("kafka_partition", "kafka_offset")
    bronze = cat.read_columns(
        cat.load_table(catalog, f"{b}.raw_trips"), ("trip_id", *cols),
        f"kafka_topic == '{settings.topic_raw}'",
    )  # fmt: skip
    rejected = cat.read_columns(cat.load_table(catalog, f"{s}.trips_rejected"), cols)

    def coords(t: pa.Table) -> pa.Array:
        if t.num_rows == 0:
            return pa.array([], pa.int64())
        part = pc.cast(t["kafka_partition"], pa.int64())
        off = pc.cast(t["kafka_offset"], pa.int64())
        return pc.add(pc.multiply(part, 1 << 40), off)

    accepted = bronze.filter(pc.invert(pc.is_in(coords(bronze), value_set=coords(rejected))))
    distinct = pc.count_distinct(accepted["trip_id"]).as_py() if accepted.num_rows else 0
    return _Conservation(accepted.num_rows, distinct, accepted.num_rows - distinct)


def gold_fact_count(settings: Settings) -> int | None:
    """Rows of fct_trips on the engine that built gold (None: not built)."""
    from lakehouse.gold import gold_rows, gold_tables

    tables = gold_tables(settings)
    if not tables or "fct_trips" not in tables:
        return None
    return int(gold_rows(settings, "select count(*) from fct_trips")[0][0])


def late_events_in_gold(settings: Settings, manifests: list[dict[str, Any]]) -> tuple[int, int]:
    """(late events listed in the manifests, how many of them are in fct_trips)."""
    from lakehouse.gold import gold_rows, gold_tables

    keys = [tuple(e) for m in manifests for e in m.get("late_event_keys", [])]
    tables = gold_tables(settings) if keys else None
    if not keys or not tables or "fct_trips" not in tables:
        return len(keys), 0
    found = 0
    for start in range(0, len(keys), 500):  # SQL that both gold engines read, in chunks
        values = ", ".join(
            f"({int(v)}, timestamp '{str(p)[:19]}', {int(pu)}, {int(do)}, {float(total)!r})"
            for v, p, pu, do, total in keys[start : start + 500]
        )
        found += int(gold_rows(settings, f"""
            with late (vendor_id, pickup, pu, do_, total) as (values {values})
            select count(*) from late l
            where exists (
              select 1 from fct_trips f
              where f.vendor_id = l.vendor_id
                and date_trunc('second', f.pickup_at) = l.pickup
                and f.pickup_location_id = l.pu and f.dropoff_location_id = l.do_
                and abs(cast(f.total_amount as double) - l.total) < 0.005)
            """)[0][0])  # fmt: skip
    return len(keys), found


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
    silver = cat.row_count(cat.load_table(catalog, f"{s}.trips"))
    rejected = cat.row_count(cat.load_table(catalog, f"{s}.trips_rejected"))
    reasons = deadletter.summary(settings)  # rows per reason: `lakehouse deadletter list`
    by_reason, rejected_by_reason = reasons["dead_letter_class"], reasons["rejected"]
    kept = _conservation(catalog, settings)

    checks = [
        Check("kafka messages", m["messages_acked"], kafka_messages,
              "end - start offsets = messages acknowledged by the broker (all manifests)"),
        # conservation: holds for any input, whatever its classes
        Check("bronze + dead letter = kafka messages", kafka_messages, bronze + dlq,
              "every message is typed into bronze or dead-lettered"),
        Check("silver = distinct accepted trips", kept.distinct_accepted, silver,
              "one silver row per trip_id among the bronze rows silver did not reject"),
        Check("bronze = silver + rejected + duplicates", bronze,
              silver + rejected + kept.duplicates, "nothing lost between bronze and silver"),
    ]  # fmt: skip
    if all(is_exact(x) for x in manifests):
        dead_expected = sum(m[k] for k in DEAD_LETTER_KINDS)
        per_reason = expected_dead_letter(manifests)
        unexpected = sorted(set(by_reason) - set(per_reason))
        rejected_expected = sum(m[k] for k in REJECTED_KINDS)
        unexpected_rej = sorted(set(rejected_by_reason) - set(REJECTED_KINDS))
        checks += [
            Check("dead letter rows", dead_expected, dlq, " + ".join(DEAD_LETTER_KINDS)),
            *(Check(f"dead letter: {reason}", n, by_reason.get(reason, 0), "per reason")
              for reason, n in sorted(per_reason.items()) if n or by_reason.get(reason)),
            *(Check(f"dead letter: {reason}", 0, by_reason[reason], "no run produced this reason")
              for reason in unexpected),
            Check("silver rejected rows", rejected_expected, rejected,
                  "the silver-rule classes (" + ", ".join(REJECTED_KINDS) + ")"),
            *(Check(f"rejected: {k}", m[k], rejected_by_reason.get(k, 0), "per silver rule")
              for k in REJECTED_KINDS if m[k] or rejected_by_reason.get(k)),
            *(Check(f"rejected: {reason}", 0, rejected_by_reason[reason],
                    "no run produced this reason")
              for reason in unexpected_rej),
            Check("silver rows", expected_silver_rows(m), silver,
                  "clean events (late ones included) + the flagged classes ("
                  + ", ".join(FLAGGED_KINDS) + ")"),
            Check("duplicates removed", m["duplicate"], kept.duplicates,
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
        "duplicates_removed": kept.duplicates,
        "dead_letter_by_reason": by_reason,
        "rejected_by_reason": rejected_by_reason,
        "exact_manifests": all(is_exact(x) for x in manifests),
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
