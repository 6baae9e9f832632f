"""The silver rules: one list (``vars.silver_rules`` in dbt/dbt_project.yml), two engines.

Flink's silver job rejects a bronze row by the first rule whose ``valid`` condition is not TRUE
(this module renders that CASE into flink/sql/20_silver.sql); dbt's ``satisfies_silver_rules``
test checks silver against the same list. docs/contracts.md documents it, and
tests/unit/test_silver_rules.py fails when the three disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import yaml

from lakehouse.settings import REPO_ROOT

DBT_PROJECT = REPO_ROOT / "dbt" / "dbt_project.yml"
_REASON = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Rule:
    reason: str
    valid: str


@cache
def rules() -> tuple[Rule, ...]:
    """The rules in order (the first failing one names the reason)."""
    project = yaml.safe_load(DBT_PROJECT.read_text())
    raw = project.get("vars", {}).get("silver_rules")
    if not raw:
        raise RuntimeError(f"{DBT_PROJECT}: vars.silver_rules is missing or empty")
    out = []
    for item in raw:
        reason, valid = item.get("reason", ""), item.get("valid", "")
        if not _REASON.match(reason) or not valid.strip():
            raise RuntimeError(f"{DBT_PROJECT}: bad silver rule {item!r}")
        out.append(Rule(reason, valid.strip()))
    if len({r.reason for r in out}) != len(out):
        raise RuntimeError(f"{DBT_PROJECT}: silver rule reasons must be unique")
    return tuple(out)


def reasons() -> tuple[str, ...]:
    return tuple(r.reason for r in rules())


def flink_case() -> str:
    """``CASE WHEN NOT COALESCE((valid), FALSE) THEN 'reason' ... END``: NULL is not valid."""
    whens = "\n".join(
        f"    WHEN NOT COALESCE(({r.valid}), FALSE) THEN '{r.reason}'" for r in rules()
    )
    return f"CASE\n{whens}\n  END"
