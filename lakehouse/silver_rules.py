"""The silver contract: one list of rules and one list of flags (``vars.silver_rules`` and
``vars.silver_flags`` in dbt/dbt_project.yml), two engines.

Flink's silver job rejects a bronze row by the first rule whose ``valid`` condition is not TRUE
(this module renders that CASE into flink/sql/20_silver.sql) and computes each flag column
(``record_kind``, ``amount_check``) from its cases; dbt's ``satisfies_silver_rules`` test
checks silver against both lists. docs/contracts.md documents them, and
tests/unit/test_silver_rules.py fails when they disagree.

``evaluate`` runs the same SQL in DuckDB over event records (no Flink): the unit tests, the
real-data tests and the generator's calibration test use it to see what silver would decide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import yaml

from lakehouse import contract
from lakehouse.settings import REPO_ROOT

DBT_PROJECT = REPO_ROOT / "dbt" / "dbt_project.yml"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Rule:
    reason: str
    valid: str


@dataclass(frozen=True)
class Flag:
    """A silver column whose value is the first case whose ``when`` holds, else ``default``."""

    column: str
    cases: tuple[tuple[str, str], ...]  # (value, when)
    default: str

    @property
    def values(self) -> tuple[str, ...]:
        return (*(v for v, _ in self.cases), self.default)

    def case_sql(self) -> str:
        whens = " ".join(f"WHEN ({when}) THEN '{value}'" for value, when in self.cases)
        return f"CASE {whens} ELSE '{self.default}' END"


def _vars() -> dict[str, Any]:
    return yaml.safe_load(DBT_PROJECT.read_text()).get("vars", {})


@cache
def rules() -> tuple[Rule, ...]:
    """The rules in order (the first failing one names the reason)."""
    raw = _vars().get("silver_rules")
    if not raw:
        raise RuntimeError(f"{DBT_PROJECT}: vars.silver_rules is missing or empty")
    out = []
    for item in raw:
        reason, valid = item.get("reason", ""), item.get("valid", "")
        if not _NAME.match(reason) or not valid.strip():
            raise RuntimeError(f"{DBT_PROJECT}: bad silver rule {item!r}")
        out.append(Rule(reason, valid.strip()))
    if len({r.reason for r in out}) != len(out):
        raise RuntimeError(f"{DBT_PROJECT}: silver rule reasons must be unique")
    return tuple(out)


@cache
def flags() -> tuple[Flag, ...]:
    """The flag columns, in silver's column order."""
    out = []
    for item in _vars().get("silver_flags") or ():
        column, default = item.get("column", ""), item.get("else", "")
        cases = tuple((c.get("value", ""), c.get("when", "").strip()) for c in item["cases"])
        names = [column, default, *(v for v, _ in cases)]
        if not all(_NAME.match(n) for n in names) or not all(w for _, w in cases):
            raise RuntimeError(f"{DBT_PROJECT}: bad silver flag {item!r}")
        out.append(Flag(column, cases, default))
    return tuple(out)


def reasons() -> tuple[str, ...]:
    return tuple(r.reason for r in rules())


def flink_case() -> str:
    """``CASE WHEN NOT COALESCE((valid), FALSE) THEN 'reason' ... END``: NULL is not valid."""
    whens = "\n".join(
        f"    WHEN NOT COALESCE(({r.valid}), FALSE) THEN '{r.reason}'" for r in rules()
    )
    return f"CASE\n{whens}\n  END"


def flink_flag_columns() -> str:
    """``CASE ... END AS record_kind, CASE ... END AS amount_check`` for the silver SELECT."""
    return ",\n  ".join(f"{f.case_sql()} AS {f.column}" for f in flags())


def flink_flag_ddl() -> str:
    """The flag columns of silver.trips' CREATE TABLE (``record_kind STRING, ...``)."""
    return ",\n  ".join(f"{f.column:<22} STRING" for f in flags())


def flag_names() -> str:
    return ", ".join(f.column for f in flags())


# ------------------------------------------------------------------ DuckDB, over event records


@dataclass(frozen=True)
class Verdict:
    """What silver decides for one record: rejected with ``reason``, or kept with its flags."""

    reason: str | None
    flags: Mapping[str, str]


def evaluate(
    records: Iterable[Mapping[str, Any]], kafka_timestamp: datetime | Iterable[datetime]
) -> list[Verdict]:
    """The rules and flags, as DuckDB evaluates them (the SQL dbt's tests run), for each event
    record (TLC field names; absent fields are NULL). ``kafka_timestamp``: one for all records
    or one per record."""
    import duckdb
    import pyarrow as pa

    records = list(records)
    stamps = (
        [kafka_timestamp] * len(records)
        if isinstance(kafka_timestamp, datetime)
        else list(kafka_timestamp)
    )
    if len(stamps) != len(records):
        raise ValueError(f"{len(stamps)} Kafka timestamps for {len(records)} records")
    # Arrow in, typed by DuckDB's casts (silver's types, from the event contract): far faster
    # than inserting rows one by one
    fields = contract.fields()
    arrow_type = {"int": pa.int64(), "double": pa.float64(), "amount": pa.float64()}
    columns = {"n": pa.array(range(len(records)), pa.int64())}
    for f in fields:
        values = [r.get(f.name) for r in records]
        columns[f.column] = pa.array(values, arrow_type.get(f.kind, pa.string()))
    columns["kafka_timestamp"] = pa.array(stamps, pa.timestamp("us"))
    events = pa.table(columns)
    con = duckdb.connect()
    con.register("events", events)
    casts = ", ".join(
        f"cast({f.column} as {f.dbt_type or 'varchar'}) as {f.column}" for f in fields
    )
    con.execute(f"create table t as select n, {casts}, kafka_timestamp from events")
    # the very SQL Flink runs (flink_case, flink_flag_columns): DuckDB reads it as it is
    out = con.execute(
        f"select {flink_case()} as reason, {flink_flag_columns()} from t order by n"
    ).fetchall()
    names = [f.column for f in flags()]
    return [Verdict(row[0], dict(zip(names, row[1:], strict=True))) for row in out]
