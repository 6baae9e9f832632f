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

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from taxi_generator.anomalies import FLAGGED_KINDS, REJECTED_KINDS, TOTAL_MISMATCH, AnomalyRates
from taxi_generator.stream import EventStream

from lakehouse import silver_rules
from lakehouse.settings import REPO_ROOT

CONTRACTS = REPO_ROOT / "docs" / "contracts.md"


def _doc_reasons() -> list[str]:
    text = CONTRACTS.read_text()
    section = text[text.index("### Silver rules") :]
    section = section[: section.index("\n### Silver flags")]
    return re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M)


def test_docs_list_the_same_rules_in_the_same_order() -> None:
    assert _doc_reasons() == list(silver_rules.reasons())


def test_generator_has_one_class_per_rule() -> None:
    assert set(REJECTED_KINDS) == set(silver_rules.reasons())


def _doc_flags() -> dict[str, list[str]]:
    """``| `column` | `value` | ...`` rows of the Silver flags table, per column in order."""
    text = CONTRACTS.read_text()
    section = text[text.index("### Silver flags") :]
    section = section[: section.index("\n## ")]
    out: dict[str, list[str]] = {}
    for column, value in re.findall(r"^\| `([a-z_]+)` \| `([a-z_]+)` \|", section, flags=re.M):
        out.setdefault(column, []).append(value)
    return out


def test_docs_list_the_same_flags_and_values_in_the_same_order() -> None:
    assert _doc_flags() == {f.column: list(f.values) for f in silver_rules.flags()}


def test_flink_flag_columns_render_every_case() -> None:
    from lakehouse.flink.jobs import SQL_DIR, render, split_statements

    rendered = silver_rules.flink_flag_columns()
    for flag in silver_rules.flags():
        assert f"ELSE '{flag.default}' END AS {flag.column}" in rendered
        for value, when in flag.cases:
            assert f"WHEN ({when}) THEN '{value}'" in rendered
    sql = (SQL_DIR / "20_silver.sql").read_text()
    checked = [s for s in split_statements(sql) if "${silver_flag_columns}" in s]
    assert len(checked) == 1
    params = {"silver_flag_columns": rendered, "silver_rule_case": silver_rules.flink_case()}
    assert "AS amount_check" in render(checked[0], params)


@pytest.mark.parametrize(
    ("changes", "kind", "check"),
    [
        ({}, "trip", "exact"),
        # VendorID 1: the congestion surcharge also inside extra (total without the double)
        ({"VendorID": 1, "extra": 3.5, "congestion_surcharge": 2.5, "total_amount": 17.0},
         "trip", "fees_in_extra"),
        # a null block: the congestion surcharge in the total, its column null
        ({"payment_type": 0, "congestion_surcharge": None, "total_amount": 17.0},
         "trip", "fee_not_itemized"),
        ({"total_amount": 16.55}, "trip", "mismatch"),
        # a dispute's negative twin and a cash refund
        ({"payment_type": 4, "fare_amount": -10.0, "extra": -1.0, "mta_tax": -0.5,
          "improvement_surcharge": -1.0, "congestion_surcharge": -2.5, "tip_amount": 0.0,
          "total_amount": -15.0},
         "void", "exact"),
        ({"payment_type": 2, "fare_amount": -10.0, "extra": -1.0, "mta_tax": -0.5,
          "improvement_surcharge": -1.0, "congestion_surcharge": -2.5, "tip_amount": 0.0,
          "total_amount": -15.0},
         "refund", "exact"),
    ],
)  # fmt: skip
def test_flags_of_real_conventions(changes: dict, kind: str, check: str) -> None:
    record = {
        "VendorID": 2, "tpep_pickup_datetime": "2025-01-05 10:00:00",
        "tpep_dropoff_datetime": "2025-01-05 10:12:00", "passenger_count": 1,
        "trip_distance": 2.1, "RatecodeID": 1, "store_and_fwd_flag": "N", "PULocationID": 161,
        "DOLocationID": 237, "payment_type": 1, "fare_amount": 10.0, "extra": 1.0,
        "mta_tax": 0.5, "tip_amount": 2.0, "tolls_amount": 0.0, "improvement_surcharge": 1.0,
        "total_amount": 17.0, "congestion_surcharge": 2.5, "Airport_fee": 0.0,
        "cbd_congestion_fee": 0.0,
    } | changes  # fmt: skip
    (verdict,) = silver_rules.evaluate([record], datetime(2025, 1, 6))
    assert verdict.reason is None
    assert verdict.flags == {"record_kind": kind, "amount_check": check}


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
        render(
            s,
            {
                "silver_rule_case": silver_rules.flink_case(),
                "silver_flag_columns": silver_rules.flink_flag_columns(),
            },
        )
        for s in split_statements(sql)
        if "${silver_rule_case}" in s
    ]
    assert len(rendered) == 1 and "'implausible_distance'" in rendered[0]


# ---------------------------------------------------------------- the rules on real SQL


def _first_broken_rules(records: list[dict], kafka_ts: datetime) -> list[str | None]:
    """The first failing rule per record, as DuckDB evaluates vars.silver_rules."""
    return [v.reason for v in silver_rules.evaluate(records, kafka_ts)]


def _stream(seed: int, start: date, rates: AnomalyRates, events: int) -> list[tuple[str, dict]]:
    out = []
    for _key, value, _t, kind in EventStream(
        events, seed=seed, start_date=start, days=2, anomalies=rates
    ):
        if kind in ("clean", "late", "duplicate", *REJECTED_KINDS, *FLAGGED_KINDS):
            out.append((kind, json.loads(value)))
    return out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31),
    start=st.dates(date(2001, 1, 1), date(2026, 11, 1)),
)
def test_clean_trips_pass_and_each_class_breaks_exactly_its_rule(seed: int, start: date) -> None:
    rates = AnomalyRates(
        **{k: 0.02 for k in (*REJECTED_KINDS, *FLAGGED_KINDS)}, duplicate=0.01, late=0.02
    )
    messages = _stream(seed, start, rates, 400)
    # Kafka time: the day after the generated window (a producer sends as trips end)
    kafka_ts = datetime.combine(start, datetime.min.time()) + timedelta(days=3)
    verdicts = silver_rules.evaluate([r for _, r in messages], kafka_ts)
    for (kind, record), verdict in zip(messages, verdicts, strict=True):
        expected = kind if kind in REJECTED_KINDS else None
        assert verdict.reason == expected, (kind, record)
        # only the total_mismatch class does not add up, in any of the ways TLC's data does
        mismatch = verdict.flags["amount_check"] == "mismatch"
        assert mismatch == (kind == TOTAL_MISMATCH) or expected, (kind, record, verdict)
    assert {k for k, _ in messages} >= {*REJECTED_KINDS, *FLAGGED_KINDS}


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
