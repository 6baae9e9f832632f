"""Gold (what dbt builds: a DuckDB file, or Iceberg tables through Trino with GOLD_ENGINE=trino):
reading it, and its incremental build checked against a rebuild from scratch.

`lakehouse dbt compare-full-refresh` builds gold incrementally as usual, rebuilds it from every
silver row into a second DuckDB file or Trino namespace (`dbt build --full-refresh`), and
compares every gold table of the two row for row (EXCEPT ALL both ways: duplicates count)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.dbt_runner import run_dbt
from lakehouse.settings import Settings
from lakehouse.trino_client import trino_connection

if TYPE_CHECKING:
    import duckdb


class GoldUnavailable(RuntimeError):
    """Gold cannot be read: not built yet, or locked by a writer."""


def trino_unreachable(settings: Settings) -> GoldUnavailable:
    return GoldUnavailable(
        f"Trino is not reachable at {settings.trino_url} (GOLD_ENGINE=trino): start it with "
        "`make up`, or set TRINO_URL"
    )


def gold_rows(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    """The rows of one query on gold, on the engine that built it (table names unqualified:
    DuckDB's schema main, Trino's gold namespace)."""
    if settings.gold_engine == "trino":
        with contextlib.closing(trino_connection(settings)) as con:
            cursor = con.cursor()
            try:
                cursor.execute(sql)
            except OSError as exc:  # requests' ConnectionError is one
                raise trino_unreachable(settings) from exc
            return [tuple(row) for row in cursor.fetchall()]
    with contextlib.closing(connect_read_only(settings)) as con:
        return con.execute(sql).fetchall()


def gold_tables(settings: Settings) -> set[str] | None:
    """The tables of gold (None: no gold yet)."""
    if settings.gold_engine == "trino":
        return {r[0] for r in gold_rows(settings, "select table_name from information_schema.tables "
                f"where table_schema = '{settings.gold_namespace}' and table_type = 'BASE TABLE'")}  # fmt: skip
    if not settings.gold_path.exists():
        return None
    return {r[0] for r in gold_rows(settings, "select table_name from information_schema.tables "
            "where table_schema = 'main' and table_type = 'BASE TABLE'")}  # fmt: skip


def require_gold(settings: Settings) -> Path:
    """The gold DuckDB file, or an error that says how to build it."""
    path = settings.gold_path
    if not path.exists():
        raise GoldUnavailable(
            f"no gold yet ({path}): run `make demo` (starts the stack and runs the pipeline) or, "
            "with the stack up and silver loaded, `make dbt-build`"
        )
    return path


def connect_read_only(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A read-only connection to gold. Readers take a shared lock that a dbt build's write lock
    excludes, so callers keep it open only while they read (a build can run in between)."""
    import duckdb

    path = require_gold(settings)
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        raise GoldUnavailable(
            f"gold ({path}) is being written by another process (a dbt build?): "
            "try again when it has finished"
        ) from exc


@dataclass
class TableDiff:
    table: str
    rows: int
    only_incremental: int
    only_full: int

    @property
    def equal(self) -> bool:
        return self.only_incremental == 0 and self.only_full == 0


@dataclass
class GoldComparison:
    incremental: Path
    full: Path
    silver_snapshots: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    tables: list[TableDiff] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # tables in only one of the files

    @property
    def same_silver(self) -> bool:
        return all(a == b for a, b in self.silver_snapshots.values())

    @property
    def equal(self) -> bool:
        return not self.missing and all(t.equal for t in self.tables)


def _consumed(con: object, alias: str) -> dict[str, int | None]:
    rows = con.execute(  # type: ignore[attr-defined]
        f"select source_table, snapshot_id from {alias}.silver.iceberg_consumed"
    ).fetchall()
    return {name: snapshot for name, snapshot in rows}


def compare_gold(incremental: Path, full: Path) -> GoldComparison:
    """Every table of schema main in both DuckDB files, compared row for row."""
    import duckdb

    result = GoldComparison(incremental, full)
    with duckdb.connect() as con:
        con.execute(f"attach '{incremental}' as inc (read_only)")
        con.execute(f"attach '{full}' as fr (read_only)")
        tables = {}
        for alias in ("inc", "fr"):
            tables[alias] = {
                r[0]
                for r in con.execute(
                    "select table_name from information_schema.tables "
                    "where table_catalog = ? and table_schema = 'main' and table_type = 'BASE TABLE'",
                    [alias],
                ).fetchall()
            }
        result.missing = sorted(tables["inc"] ^ tables["fr"])
        a, b = _consumed(con, "inc"), _consumed(con, "fr")
        result.silver_snapshots = {k: (a.get(k), b.get(k)) for k in sorted(a.keys() | b.keys())}
        for table in sorted(tables["inc"] & tables["fr"]):
            rows, only_inc, only_full = con.execute(
                f"""select (select count(*) from inc.main.{table}),
                    (select count(*) from (select * from inc.main.{table}
                                           except all select * from fr.main.{table})),
                    (select count(*) from (select * from fr.main.{table}
                                           except all select * from inc.main.{table}))"""
            ).fetchone()  # type: ignore[misc]
            result.tables.append(TableDiff(table, rows, only_inc, only_full))
    return result


def compare_trino_namespaces(settings: Settings, full_namespace: str) -> GoldComparison:
    """Every gold table of the two Trino namespaces, compared row for row (in Trino)."""
    inc, full = settings.gold_namespace, full_namespace
    result = GoldComparison(Path(inc), Path(full))
    with contextlib.closing(trino_connection(settings)) as con:
        cursor = con.cursor()

        def rows(sql: str) -> list[Any]:
            cursor.execute(sql)
            return cursor.fetchall()

        tables = {
            ns: {r[0] for r in rows("select table_name from information_schema.tables where "
                                     f"table_schema = '{ns}' and table_type = 'BASE TABLE'")}
            for ns in (inc, full)
        }  # fmt: skip
        result.missing = sorted(tables[inc] ^ tables[full])
        consumed = {
            ns: dict(rows(f"select source_table, snapshot_id from {ns}_silver.iceberg_consumed"))
            for ns in (inc, full)
        }
        result.silver_snapshots = {
            k: (consumed[inc].get(k), consumed[full].get(k))
            for k in sorted(consumed[inc].keys() | consumed[full].keys())
        }
        for table in sorted(tables[inc] & tables[full]):
            (count, only_inc, only_full), = rows(
                f"""select (select count(*) from {inc}.{table}),
                    (select count(*) from (select * from {inc}.{table}
                                           except all select * from {full}.{table})),
                    (select count(*) from (select * from {full}.{table}
                                           except all select * from {inc}.{table}))"""
            )  # fmt: skip
            result.tables.append(TableDiff(table, count, only_inc, only_full))
    return result


def compare_full_refresh(settings: Settings, full_path: Path | None = None) -> GoldComparison:
    """Build gold incrementally, rebuild it from scratch into `full_path` (Trino: namespace
    <gold>_full_refresh), compare the two."""
    if settings.gold_engine == "trino":
        full_namespace = f"{settings.gold_namespace}_full_refresh"
        run_dbt(settings, "build")
        run_dbt(settings.model_copy(update={"gold_namespace": full_namespace}), "build",
                ["--full-refresh"])  # fmt: skip
        return compare_trino_namespaces(settings, full_namespace)
    full_path = full_path or settings.gold_path.with_name("gold_full_refresh.duckdb")
    full_path.unlink(missing_ok=True)
    run_dbt(settings, "build")
    run_dbt(
        settings.model_copy(update={"gold_duckdb_path": full_path}), "build", ["--full-refresh"]
    )
    return compare_gold(settings.gold_path, full_path)


# ----------------------------------------------------------------------------- refresh


@dataclass
class SilverChange:
    table: str
    consumed: int | None  # snapshot gold consumed (None: never)
    current: int | None  # silver's current snapshot (None: table missing or empty)

    @property
    def new(self) -> bool:
        return self.current is not None and self.current != self.consumed


def silver_changes(settings: Settings) -> list[SilverChange]:
    """Per silver table gold reads: the snapshot gold consumed and silver's current one.
    Cheap (catalog metadata and one small DuckDB table): what the gold-refresh schedules poll."""
    import duckdb

    from lakehouse import catalog as cat
    from lakehouse.silver_increment import GOLD_SOURCES, consumed_positions

    consumed: dict[str, int | None] = {}
    if settings.gold_engine == "trino":
        consumed = {k: p.snapshot_id for k, p in consumed_positions(settings).items()}
    elif settings.gold_path.exists():
        with duckdb.connect(str(settings.gold_path), read_only=True) as con:
            exists = con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = 'silver' and table_name = 'iceberg_consumed'"
            ).fetchone()[0]  # type: ignore[index]
            if exists:
                consumed = dict(
                    con.execute(
                        "select source_table, snapshot_id from silver.iceberg_consumed"
                    ).fetchall()  # fmt: skip
                )
    catalog = cat.load_catalog(settings)
    changes = []
    for name in GOLD_SOURCES:
        table = cat.load_table(catalog, f"{settings.silver_namespace}.{name}")
        snapshot = table.current_snapshot() if table is not None else None
        changes.append(
            SilverChange(name, consumed.get(name), snapshot.snapshot_id if snapshot else None)
        )
    return changes
