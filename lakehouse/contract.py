"""The trip event's contract: ``contracts/raw_trip.avsc`` is the one definition of its fields.

Every layer reads the Avro schema or is rendered from it:

* the Schema Registry gets the schema without the lakehouse's annotations (``registry_text``);
* the Java parser's field table (``java_source`` -> ``TripContract.java``, checked in because
  Flink's annotations need compile-time constants; a unit test fails when it is stale);
* the generator's field lists (``taxi_generator.model``);
* the Flink SQL column lists of bronze, silver and rejected (``sql_params``: placeholders of
  flink/sql/*.sql, rendered like the silver rules);
* dbt staging and gold's contract keep their own text (gold names are a modelling choice), and
  ``dbt_mismatches`` fails a unit test when they disagree with the schema.

A field's optional ``"lakehouse"`` attribute holds what Avro cannot say, where the defaults below
do not fit: ``column`` (bronze/silver name; default the name in lower case), ``kind`` (how the
lakehouse types it; default by Avro type: int -> int, string -> text, double -> amount),
``required`` (default: not a union with null), ``gold`` (stg_trips' name), ``trip_key`` (position
in the natural key that names a trip) and ``since`` (the schema version that added it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = REPO_ROOT / "contracts"
SCHEMA_FILE = CONTRACTS_DIR / "raw_trip.avsc"
JAVA_FILE = (
    REPO_ROOT / "flink" / "udf" / "src" / "main" / "java" / "taxi" / "lakehouse" / "flink"
) / "TripContract.java"

#: How the lakehouse types a field: (Flink column type, the parser's result type, dbt cast type).
#: Timestamps are parsed at millisecond precision and stored as TIMESTAMP(6); text is not cast.
KINDS: dict[str, tuple[str, str, str | None]] = {
    "int": ("INT", "INT", "integer"),
    "timestamp": ("TIMESTAMP(6)", "TIMESTAMP(3)", "timestamp(6)"),
    "double": ("DOUBLE", "DOUBLE", "double"),
    "amount": ("DECIMAL(10, 2)", "DECIMAL(10, 2)", "decimal(10, 2)"),
    "text": ("STRING", "STRING", None),
}
#: The Avro type each kind accepts, and the kind a plain Avro type gets by default.
_AVRO_OF_KIND = {
    "int": "int",
    "timestamp": "string",
    "double": "double",
    "amount": "double",
    "text": "string",
}
_DEFAULT_KIND = {"int": "int", "string": "text", "double": "amount"}
_ATTRIBUTES = {"column", "kind", "required", "gold", "trip_key", "since"}
ANNOTATION = "lakehouse"


class ContractError(ValueError):
    """The schema file does not describe a usable event contract."""


@dataclass(frozen=True)
class EventField:
    name: str  # in the event (TLC's name)
    avro_type: str  # the non-null Avro type
    nullable: bool  # a union with null
    required: bool  # absent or null: the event is dead-lettered (missing_field:<name>)
    column: str  # in bronze and silver
    kind: str  # a key of KINDS
    gold: str  # in stg_trips and the marts
    trip_key: int | None  # 1-based position in the natural key, None if not part of it
    since: int  # the schema version that added it

    @property
    def flink_type(self) -> str:
        return KINDS[self.kind][0]

    @property
    def parser_type(self) -> str:
        return KINDS[self.kind][1]

    @property
    def dbt_type(self) -> str | None:
        return KINDS[self.kind][2]


def _field(raw: dict[str, Any], path: Path) -> EventField:
    name = raw["name"]
    extra = raw.get(ANNOTATION, {})
    unknown = set(extra) - _ATTRIBUTES
    if unknown:
        raise ContractError(f"{path}: field {name}: unknown {ANNOTATION} attribute(s) {unknown}")
    avro = raw["type"]
    nullable = isinstance(avro, list)
    if nullable:
        branches = [t for t in avro if t != "null"]
        if len(branches) != 1 or "null" not in avro:
            raise ContractError(f"{path}: field {name}: only [null, T] unions are supported")
        avro = branches[0]
    if avro not in _DEFAULT_KIND:
        raise ContractError(f"{path}: field {name}: Avro type {avro!r} is not int/string/double")
    kind = extra.get("kind", _DEFAULT_KIND[avro])
    if kind not in KINDS or _AVRO_OF_KIND[kind] != avro:
        raise ContractError(f"{path}: field {name}: kind {kind!r} does not fit Avro {avro!r}")
    required = bool(extra.get("required", not nullable))
    if required and nullable:
        raise ContractError(f"{path}: field {name}: a nullable field cannot be required")
    column = extra.get("column", name.lower())
    gold = extra.get("gold", column if kind != "amount" or column.endswith("_amount") else "")
    return EventField(
        name=name,
        avro_type=avro,
        nullable=nullable,
        required=required,
        column=column,
        kind=kind,
        gold=gold or f"{column}_amount",
        trip_key=extra.get("trip_key"),
        since=int(extra.get("since", 1)),
    )


def load(path: Path = SCHEMA_FILE) -> tuple[EventField, ...]:
    """The event's fields in schema order, checked for what the layers rely on."""
    try:
        schema = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ContractError(f"cannot read the event schema {path}: {exc}") from exc
    fields = tuple(_field(f, Path(path)) for f in schema["fields"])
    for attr in ("name", "column", "gold"):
        values = [getattr(f, attr) for f in fields]
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            raise ContractError(f"{path}: duplicate field {attr}(s): {dupes}")
    keys = sorted(f.trip_key for f in fields if f.trip_key is not None)
    if keys != list(range(1, len(keys) + 1)):
        raise ContractError(f"{path}: trip_key positions must be 1..n, got {keys}")
    for f in fields:
        if f.trip_key is not None and not f.required:
            raise ContractError(f"{path}: field {f.name}: a trip_key field must be required")
    return fields


@cache
def fields() -> tuple[EventField, ...]:
    """The shipped contract's fields."""
    return load()


def registry_text(path: Path = SCHEMA_FILE) -> str:
    """The schema as the registry gets it: compact JSON without the lakehouse annotations (they
    describe this lakehouse, not the event; registering them would make a new version)."""
    schema = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(schema, dict) and isinstance(schema.get("fields"), list):
        for f in schema["fields"]:
            if isinstance(f, dict):
                f.pop(ANNOTATION, None)
    return json.dumps(schema, separators=(",", ":"))


def trip_key(fs: Sequence[EventField]) -> tuple[EventField, ...]:
    return tuple(sorted((f for f in fs if f.trip_key is not None), key=lambda f: f.trip_key or 0))


# ---- Flink SQL ------------------------------------------------------------------------------


def sql_params(fs: Sequence[EventField] | None = None) -> dict[str, str]:
    """The event's column lists for flink/sql/*.sql:

    * ``event_columns_ddl``: ``<column> <type>`` lines of a CREATE TABLE (no trailing comma);
    * ``event_columns``: the columns, comma-separated (select and insert lists);
    * ``bronze_event_values``: the parser's values as bronze stores them (timestamps widened).
    """
    fs = fields() if fs is None else fs
    # aligned like the hand-written columns around them
    ddl = ",\n  ".join(f"{f.column:<22} {f.flink_type}" for f in fs)
    values = ", ".join(
        f"CAST({f.column} AS {f.flink_type})" if f.parser_type != f.flink_type else f.column
        for f in fs
    )
    return {
        "event_columns_ddl": ddl,
        "event_columns": ", ".join(f.column for f in fs),
        "bronze_event_values": values,
    }


# ---- Java (the bronze parser) ---------------------------------------------------------------

_JAVA_KIND = {"int": "INT", "timestamp": "TIMESTAMP", "double": "DOUBLE", "amount": "AMOUNT"}


def java_source(fs: Sequence[EventField] | None = None) -> str:
    """``TripContract.java``: the parser's field table, rendered from the schema."""
    fs = fields() if fs is None else fs
    result = ", ".join(
        ["reason STRING", "trip_key STRING"] + [f"{f.column} {f.parser_type}" for f in fs]
    )
    names = "".join(f'        "{f.name}",\n' for f in fs)
    kinds = "".join(f"        {_JAVA_KIND.get(f.kind, 'TEXT')}, // {f.name}\n" for f in fs)
    required = ", ".join(str(i) for i, f in enumerate(fs) if f.required)
    key = ", ".join(str(fs.index(f)) for f in trip_key(fs))
    return f"""package taxi.lakehouse.flink;

// GENERATED from contracts/raw_trip.avsc by `make contract` (python -m lakehouse.contract).
// Do not edit: change the schema and render again (tests/unit/test_contract.py checks it).

/** The event's fields as the parser sees them, in schema order (= the bronze SQL's order). */
final class TripContract {{

    private TripContract() {{}}

    /** The parser's result fields, in order (a compile-time constant for the annotations). */
    static final String RESULT_FIELDS =
            "{result}";

    /** How a field is typed. */
    static final byte INT = 0;
    static final byte TIMESTAMP = 1;
    static final byte DOUBLE = 2;
    static final byte AMOUNT = 3;
    static final byte TEXT = 4;

    /** Number of event fields; the result row has two more (reason, trip_key) before them. */
    static final int FIELD_COUNT = {len(fs)};

    static final String[] NAMES = {{
{names}    }};

    static final byte[] KINDS = {{
{kinds}    }};

    /** Required fields (missing_field when absent or null), in schema order. */
    static final int[] REQUIRED = {{{required}}};

    /** The natural key's fields, in key order (trip_key = their literal texts joined by '|'). */
    static final int[] TRIP_KEY = {{{key}}};
}}
"""


# ---- dbt --------------------------------------------------------------------------------------

STG_TRIPS = REPO_ROOT / "dbt" / "models" / "staging" / "stg_trips.sql"
MARTS_YML = REPO_ROOT / "dbt" / "models" / "marts" / "_marts.yml"


def dbt_mismatches(
    fs: Sequence[EventField] | None = None,
    stg_trips: str | None = None,
    marts: dict[str, Any] | None = None,
) -> list[str]:
    """What dbt's own text says differently from the schema: every event field reaches
    stg_trips as ``cast(<column> as <dbt type>) as <gold>`` (text: the column itself) and
    fct_trips' enforced contract with that type."""
    import re

    import yaml

    fs = fields() if fs is None else fs
    sql = " ".join((STG_TRIPS.read_text() if stg_trips is None else stg_trips).split())
    if marts is None:
        marts = yaml.safe_load(MARTS_YML.read_text())
    fct = next(m for m in marts["models"] if m["name"] == "fct_trips")
    contract = {c["name"]: str(c.get("data_type", "")).replace(" ", "") for c in fct["columns"]}
    problems: list[str] = []
    for f in fs:
        if f.dbt_type is None:
            pattern = rf"\b{f.column},"
            want = f"{f.column} (as is)"
        else:
            pattern = rf"cast\({f.column} as {re.escape(f.dbt_type)}\) as {f.gold}\b"
            want = f"cast({f.column} as {f.dbt_type}) as {f.gold}"
        if not re.search(pattern, sql):
            problems.append(f"stg_trips.sql lacks {want} (field {f.name})")
        if f.gold not in contract:
            problems.append(f"fct_trips' contract lacks {f.gold} (field {f.name})")
        elif f.dbt_type and contract[f.gold] != f.dbt_type.replace(" ", ""):
            problems.append(
                f"fct_trips' contract types {f.gold} as {contract[f.gold]}, the schema as "
                f"{f.dbt_type}"
            )
    return problems


def main() -> int:
    """``make contract``: render TripContract.java from the schema; report what dbt must add."""
    source = java_source()
    if not JAVA_FILE.exists() or JAVA_FILE.read_text() != source:
        JAVA_FILE.write_text(source)
        print(f"rendered {JAVA_FILE.relative_to(REPO_ROOT)}")
    problems = dbt_mismatches()
    for p in problems:
        print(f"dbt: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
