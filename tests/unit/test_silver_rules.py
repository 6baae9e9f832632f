"""The silver rules: one list (dbt_project.yml vars.silver_rules) used by Flink and by dbt.

Checked here without the engines: the list, docs/contracts.md's table and the generator's
anomaly classes agree (a rule on one side only fails); the rendered Flink CASE carries every
rule; and the rules themselves, evaluated by DuckDB (the SQL dbt's test runs), keep every clean
generated trip and reject each anomaly class by exactly its own rule, for any seed (Hypothesis).
The integration tests run the same list in Flink.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from taxi_generator.anomalies import REJECTED_KINDS, AnomalyRates
from taxi_generator.stream import EventStream

from lakehouse import silver_rules
from lakehouse.settings import REPO_ROOT

CONTRACTS = REPO_ROOT / "docs" / "contracts.md"


def _doc_reasons() -> list[str]:
    text = CONTRACTS.read_text()
    section = text[text.index("### Silver rules") :]
    section = section[: section.index("\n## ")]
    return re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M)


def test_docs_list_the_same_rules_in_the_same_order() -> None:
    assert _doc_reasons() == list(silver_rules.reasons())


def test_generator_has_one_class_per_rule() -> None:
    assert set(REJECTED_KINDS) == set(silver_rules.reasons())


def test_flink_case_has_every_rule_in_order() -> None:
    case = silver_rules.flink_case()
    found = re.findall(r"THEN '([a-z_]+)'", case)
    assert found == list(silver_rules.reasons())
    for rule in silver_rules.rules():
        assert f"NOT COALESCE(({rule.valid}), FALSE)" in case


def test_rendered_silver_sql_uses_the_rules() -> None:
    from lakehouse.flink.jobs import SQL_DIR, render, split_statements

    sql = (SQL_DIR / "20_silver.sql").read_text()
    rendered = [
        render(s, {"silver_rule_case": silver_rules.flink_case()})
        for s in split_statements(sql)
        if "${silver_rule_case}" in s
    ]
    assert len(rendered) == 1 and "'total_mismatch'" in rendered[0]


# ---------------------------------------------------------------- the rules on real SQL

_COLUMNS = {  # silver column <- event field
    "vendor_id": "VendorID",
    "rate_code_id": "RatecodeID",
    "payment_type": "payment_type",
    "pu_location_id": "PULocationID",
    "do_location_id": "DOLocationID",
    "store_and_fwd_flag": "store_and_fwd_flag",
    "passenger_count": "passenger_count",
    "trip_distance": "trip_distance",
    "fare_amount": "fare_amount",
    "extra": "extra",
    "mta_tax": "mta_tax",
    "tip_amount": "tip_amount",
    "tolls_amount": "tolls_amount",
    "improvement_surcharge": "improvement_surcharge",
    "total_amount": "total_amount",
    "congestion_surcharge": "congestion_surcharge",
    "airport_fee": "Airport_fee",
    "cbd_congestion_fee": "cbd_congestion_fee",
}
_AMOUNTS = {k for k in _COLUMNS if k.endswith(("amount", "extra", "tax", "surcharge", "fee"))}


def _first_broken_rules(records: list[dict], kafka_ts: datetime) -> list[str | None]:
    """The first failing rule per record, as DuckDB evaluates vars.silver_rules."""
    con = duckdb.connect()
    cols = ", ".join(
        f"{c} DECIMAL(10, 2)"
        if c in _AMOUNTS
        else f"{c} {'DOUBLE' if c == 'trip_distance' else 'VARCHAR' if c == 'store_and_fwd_flag' else 'INTEGER'}"
        for c in _COLUMNS
    )
    con.execute(
        f"create table t (n integer, {cols}, pickup_ts timestamp, dropoff_ts timestamp, "
        "kafka_timestamp timestamp)"
    )
    rows = [
        (i, *(r.get(f) for f in _COLUMNS.values()), r["tpep_pickup_datetime"],
         r["tpep_dropoff_datetime"], kafka_ts)
        for i, r in enumerate(records)
    ]  # fmt: skip
    con.executemany(f"insert into t values ({', '.join('?' * (len(_COLUMNS) + 4))})", rows)
    whens = " ".join(
        f"when not coalesce(({r.valid}), false) then '{r.reason}'" for r in silver_rules.rules()
    )
    out = con.execute(f"select case {whens} end from t order by n").fetchall()
    return [r[0] for r in out]


def _stream(seed: int, start: date, rates: AnomalyRates, events: int) -> list[tuple[str, dict]]:
    out = []
    for _key, value, _t, kind in EventStream(
        events, seed=seed, start_date=start, days=2, anomalies=rates
    ):
        if kind in ("clean", "late", "duplicate") or kind in REJECTED_KINDS:
            out.append((kind, json.loads(value)))
    return out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31),
    start=st.dates(date(2001, 1, 1), date(2026, 11, 1)),
)
def test_clean_trips_pass_and_each_class_breaks_exactly_its_rule(seed: int, start: date) -> None:
    rates = AnomalyRates(**{k: 0.02 for k in REJECTED_KINDS}, duplicate=0.01, late=0.02)
    messages = _stream(seed, start, rates, 400)
    # Kafka time: the day after the generated window (a producer sends as trips end)
    kafka_ts = datetime.combine(start, datetime.min.time()) + timedelta(days=3)
    broken = _first_broken_rules([r for _, r in messages], kafka_ts)
    for (kind, record), rule in zip(messages, broken, strict=True):
        expected = kind if kind in REJECTED_KINDS else None
        assert rule == expected, (kind, record)
    assert {k for k, _ in messages} >= set(REJECTED_KINDS)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("VendorID", None, "invalid_vendor_id"),
        ("payment_type", None, "invalid_payment_type"),
        ("trip_distance", float("nan"), "implausible_distance"),
        ("trip_distance", float("inf"), "implausible_distance"),
        ("RatecodeID", None, None),
        ("store_and_fwd_flag", None, None),
        ("passenger_count", None, None),
    ],
)
def test_null_and_nan_handling(field: str, value: object, reason: str | None) -> None:
    (_, record), *_ = _stream(1, date(2025, 1, 1), AnomalyRates(), 1)
    record[field] = value
    kafka_ts = datetime(2025, 1, 5)
    assert _first_broken_rules([record], kafka_ts) == [reason]
