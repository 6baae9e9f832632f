"""The event contract (contracts/raw_trip.avsc) drives every layer: a new field is one edit.

Pure logic: the layers are rendered or checked here without the engines; tests/integration runs
the rendered SQL and the parser on Kafka, Flink and Iceberg.
"""

from __future__ import annotations

import io
import json
import re
import struct
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader
from taxi_generator.model import (
    AVRO_V2_LAYOUT,
    FIELDS,
    RECORD_FIELDS,
    REQUIRED_FIELDS,
    Clock,
    generate_trips,
    resolve_start_date,
    trip_to_record,
)
from taxi_generator.producer import trip_encoder

from lakehouse import contract
from lakehouse.flink.jobs import SQL_DIR, base_params, declared_tables, render, split_statements
from lakehouse.schema_registry import _layout, load_schema
from lakehouse.settings import Settings

NEW_FIELD = {"name": "new_fee", "type": ["null", "double"], "default": None}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(lakehouse_home=tmp_path)


def _schema_with(tmp_path: Path, *extra: dict[str, Any]) -> Path:
    """A copy of the shipped schema with ``extra`` fields appended: the one edit a new field
    costs."""
    schema = json.loads(contract.SCHEMA_FILE.read_text())
    schema["fields"] += list(extra)
    path = tmp_path / "raw_trip.avsc"
    path.write_text(json.dumps(schema, indent=2))
    return path


def _inserts(params: dict[str, str]) -> list[str]:
    """The INSERTs of both jobs' statement sets, rendered (plan placeholders as TRUE)."""
    out = []
    for script in ("10_bronze.sql", "20_silver.sql"):
        for stmt in split_statements((SQL_DIR / script).read_text()):
            if stmt.startswith("EXECUTE STATEMENT SET"):
                names = re.findall(r"\$\{(\w+)\}", stmt)
                text = render(stmt, {k: params.get(k, "TRUE") for k in names})
                out += [p.split(" ", 1)[1] for p in re.split(r"\b(?=INSERT )", text)[1:]]
    return out


def _params(settings: Settings, fields: tuple[contract.EventField, ...]) -> dict[str, str]:
    params = base_params(settings)
    params.update(contract.sql_params(fields))
    params.update(silver_insert="INSERT INTO", proctime_column="", bronze_read_options="")
    return params


# ---- the shipped schema and the text other layers keep -------------------------------------


def test_the_java_field_table_is_rendered_from_the_schema() -> None:
    """TripContract.java is generated (annotations need compile-time constants): stale = fail."""
    assert contract.JAVA_FILE.read_text() == contract.java_source(), (
        "flink/udf's TripContract.java is stale: run `make contract`"
    )


def test_dbt_staging_and_gold_contract_agree_with_the_schema() -> None:
    assert contract.dbt_mismatches() == []


def test_the_generator_and_the_parser_read_the_schema() -> None:
    fields = contract.fields()
    assert tuple(f.name for f in fields) == RECORD_FIELDS
    assert tuple(f.name for f in fields if f.required) == REQUIRED_FIELDS
    assert set(FIELDS) < set(RECORD_FIELDS)
    # the generator's hand-written Avro fast path writes the shipped schema's layout
    assert _layout(json.loads(load_schema(contract.SCHEMA_FILE))) == AVRO_V2_LAYOUT


def test_the_registry_gets_the_schema_without_the_lakehouse_annotations() -> None:
    text = contract.registry_text()
    registered = json.loads(text)
    assert all(contract.ANNOTATION not in f for f in registered["fields"])
    shipped = json.loads(contract.SCHEMA_FILE.read_text())
    assert any(contract.ANNOTATION in f for f in shipped["fields"])
    assert [f["name"] for f in registered["fields"]] == [f["name"] for f in shipped["fields"]]
    parse_schema(registered)


def test_the_sql_declares_every_event_column_with_its_type(settings: Settings) -> None:
    tables = declared_tables(base_params(settings))
    for table in ("bronze.raw_trips", "silver.trips", "silver.trips_rejected"):
        declared = {c.name: c.flink_type for c in tables[table]}
        for f in contract.fields():
            assert declared.get(f.column) == f.flink_type, (table, f.column)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lakehouse": {"colour": "red"}}, "unknown lakehouse attribute"),
        ({"type": ["null", "int"], "lakehouse": {"required": True}}, "cannot be required"),
        ({"type": "long"}, "is not int/string/double"),
        ({"lakehouse": {"kind": "timestamp"}}, "does not fit"),
        ({"lakehouse": {"trip_key": 9}}, "trip_key positions"),
        ({"lakehouse": {"column": "vendor_id"}}, "duplicate field column"),
    ],
)
def test_a_schema_the_layers_cannot_follow_is_refused_with_the_reason(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    field = {"name": "odd", "type": "double", **change}
    with pytest.raises(contract.ContractError, match=message):
        contract.load(_schema_with(tmp_path, field))


# ---- a new field: one edit to the schema, every layer follows ------------------------------


def test_an_optional_field_added_to_the_schema_reaches_every_layer(
    tmp_path: Path, settings: Settings
) -> None:
    path = _schema_with(tmp_path, NEW_FIELD)
    fields = contract.load(path)
    new = fields[-1]
    assert (new.column, new.kind, new.required, new.flink_type) == (
        "new_fee",
        "amount",
        False,
        "DECIMAL(10, 2)",
    )

    # Flink SQL: bronze, silver and rejected declare it, and every insert writes it
    params = _params(settings, fields)
    tables = declared_tables(params)
    for table in ("bronze.raw_trips", "silver.trips", "silver.trips_rejected"):
        assert ("new_fee", "DECIMAL(10, 2)") in [(c.name, c.flink_type) for c in tables[table]]
    inserts = {
        part.split("(", 1)[0].split(".")[-1].split("/*")[0].strip(): part
        for part in _inserts(params)
    }
    for table in ("raw_trips", "trips", "trips_rejected"):
        # named in the insert's column list and in its SELECT
        assert inserts[table].count("new_fee") == 2, inserts[table]
    assert "new_fee" not in "".join(_inserts(_params(settings, contract.fields())))

    # the Java parser's table: its name, type and position in the result row
    java = contract.java_source(fields)
    assert '"new_fee",' in java and "new_fee DECIMAL(10, 2)" in java
    assert f"FIELD_COUNT = {len(fields)};" in java
    assert "AMOUNT, // new_fee" in java

    # the registry gets it; the generator's records carry it (null) through fastavro
    schema = json.loads(contract.registry_text(path))
    layout = _layout(schema)
    assert layout[-1] == ("new_fee", "null|double") and layout != AVRO_V2_LAYOUT
    parsed = parse_schema(schema)

    def encode(record: dict[str, Any]) -> bytes:
        from fastavro import schemaless_writer

        out = io.BytesIO()
        out.write(struct.pack(">bI", 0, 7))
        schemaless_writer(out, parsed, record)
        return out.getvalue()

    clock = Clock(resolve_start_date("2025-03-01"))
    trip = next(generate_trips(1, seed=1, start_date="2025-03-01"))
    body = trip_encoder(struct.pack(">bI", 0, 7), layout, encode)(trip, clock)
    decoded = schemaless_reader(io.BytesIO(body[5:]), parsed, parsed)
    assert decoded == {**trip_to_record(trip, clock), "new_fee": None}

    # dbt keeps its own text (gold names are a modelling choice): the check names what to add
    problems = contract.dbt_mismatches(fields)
    assert problems == [
        "stg_trips.sql lacks cast(new_fee as decimal(10, 2)) as new_fee_amount (field new_fee)",
        "fct_trips' contract lacks new_fee_amount (field new_fee)",
    ]
