"""`lakehouse query`: SQL on the gold marts, one statement from the command line or a small
interactive shell (readline history, statements end with `;`, results as tables).

Gold is opened read-only and only while a statement runs: an open reader holds a lock that
keeps a dbt build from writing, so the shell lets go of the file between statements. With
GOLD_ENGINE=trino the statements go to Trino, in the gold namespace; Trino has no read-only
session, so the shell itself accepts only statements that read (SELECT, WITH, SHOW, ...)."""

from __future__ import annotations

import contextlib
import decimal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from lakehouse.gold import connect_read_only, require_gold
from lakehouse.settings import Settings

if TYPE_CHECKING:
    import duckdb

DEFAULT_MAX_ROWS = 100
PROMPT, CONTINUATION = "gold> ", "  ... "
HELP = (
    "Statements end with ';' and may span lines. Meta-commands: .tables (tables and row "
    "counts), .schema NAME (columns), .help, .quit (or Ctrl-D). Ctrl-C clears the statement."
)
# DuckDB type names whose values are right-aligned
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UBIGINT", "UINTEGER",
            "USMALLINT", "UTINYINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")  # fmt: skip


@dataclass
class Result:
    """One statement's result: columns, types and at most `max_rows` rows."""

    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    truncated: bool = False  # more rows than were fetched

    @property
    def is_status(self) -> bool:
        """SET, PRAGMA and the like answer with one `Success` column and no rows."""
        return self.columns == ["Success"] and not self.rows


def execute(
    con: duckdb.DuckDBPyConnection, sql: str, max_rows: int = DEFAULT_MAX_ROWS
) -> Iterator[Result]:
    """Run each statement of `sql` in order (DuckDB's parser splits them), yielding its result
    as soon as it has run; a failing statement raises and the ones after it do not run."""
    for statement in con.extract_statements(sql):
        cursor = con.execute(statement)
        if not cursor.description:
            yield Result([], [])
            continue
        rows = cursor.fetchmany(max_rows + 1)
        yield Result(
            columns=[d[0] for d in cursor.description],
            types=[str(d[1]) for d in cursor.description],
            rows=rows[:max_rows],
            truncated=len(rows) > max_rows,
        )


def _cell(value: Any) -> Text:
    if value is None:
        return Text("NULL", style="dim")
    if isinstance(value, decimal.Decimal):
        return Text(format(value, "f"))
    return Text(str(value))


def render(result: Result) -> Group | Text:
    if result.is_status or not result.columns:
        return Text("ok")
    table = Table(header_style="bold")
    for name, kind in zip(result.columns, result.types, strict=True):
        numeric = kind.upper().startswith(_NUMERIC)
        table.add_column(name, justify="right" if numeric else "left", overflow="fold")
    for row in result.rows:
        table.add_row(*(_cell(v) for v in row))
    n = len(result.rows)
    # below the table, not as its caption: a narrow table would wrap the note
    note = (
        f"first {n} rows (more with --max-rows)"
        if result.truncated
        else f"{n} row{'' if n == 1 else 's'}"
    )
    return Group(table, Text(note, style="dim"))


class QueryError(RuntimeError):
    """DuckDB refused a statement (its message says why)."""


# the statements the shell sends to Trino: they read (Trino's session cannot be made read-only)
READING = ("select", "with", "show", "describe", "explain", "values", "table")


def execute_trino(cursor: Any, sql: str, max_rows: int = DEFAULT_MAX_ROWS) -> Iterator[Result]:
    """`execute` on Trino: statements split by sqlparse (dbt's own dependency), one request
    each, and only statements that read."""
    import sqlparse

    for statement in sqlparse.split(sql):
        statement = statement.strip().rstrip(";").strip()
        if not statement:
            continue
        first = statement.split(None, 1)[0].lower()
        if first not in READING:
            raise QueryError(
                f"{first.upper()}: the shell only reads gold ({', '.join(READING)}); "
                "dbt writes it: `make dbt-build`"
            )
        cursor.execute(statement)
        rows = cursor.fetchmany(max_rows + 1)
        description = cursor.description or []
        yield Result(
            columns=[d[0] for d in description],
            types=[str(d[1]) for d in description],
            rows=[tuple(r) for r in rows[:max_rows]],
            truncated=len(rows) > max_rows,
        )
        if len(rows) > max_rows:
            cursor.cancel()  # the rest is not shown: stop the query on the server


def run_sql(settings: Settings, sql: str, out: Console, max_rows: int = DEFAULT_MAX_ROWS) -> None:
    """Run `sql` against gold and print each result. Raises on the first failing statement."""
    if settings.gold_engine == "trino":
        from trino.exceptions import TrinoQueryError

        from lakehouse.gold import trino_unreachable
        from lakehouse.trino_client import trino_connection

        with contextlib.closing(trino_connection(settings)) as trino:
            try:
                for result in execute_trino(trino.cursor(), sql, max_rows):
                    out.print(render(result))
            except TrinoQueryError as exc:
                raise QueryError(exc.message or str(exc)) from exc
            except OSError as exc:  # requests' ConnectionError is one
                raise trino_unreachable(settings) from exc
        return
    import duckdb

    with contextlib.closing(connect_read_only(settings)) as con:
        try:
            for result in execute(con, sql, max_rows):
                out.print(render(result))
        except duckdb.Error as exc:
            hint = ""
            if "read-only mode" in str(exc):
                hint = " (the shell reads gold; dbt writes it: `make dbt-build`. TEMP tables work)"
            raise QueryError(f"{exc}{hint}") from exc


TABLES_SQL = """
select schema_name, table_name, 'table' as kind from duckdb_tables() where not internal
union all
select schema_name, view_name, 'view' from duckdb_views() where not internal and not temporary
order by schema_name <> 'main', schema_name, kind, table_name
"""


def list_tables(settings: Settings) -> Table:
    """Tables and views of gold with row counts (schema main holds the dbt models)."""
    if settings.gold_engine == "trino":
        from lakehouse.gold import gold_rows

        ns = settings.gold_namespace
        table = Table(title=f"gold (Trino, {settings.iceberg_catalog_name}.{ns})",
                      header_style="bold")  # fmt: skip
        for col, justify in (("table", "left"), ("kind", "left"), ("rows", "right")):
            table.add_column(col, justify=justify)  # type: ignore[arg-type]
        found = gold_rows(settings, "select table_name, table_type from information_schema.tables "
                          f"where table_schema = '{ns}' order by table_type, table_name")  # fmt: skip
        for name, kind in found:
            rows = "-"
            if kind == "BASE TABLE":
                rows = f"{gold_rows(settings, f'select count(*) from {name}')[0][0]:,}"
            table.add_row(name, "table" if kind == "BASE TABLE" else "view", rows)
        return table
    with contextlib.closing(connect_read_only(settings)) as con:
        table = Table(title=f"gold ({settings.gold_path})", header_style="bold")
        for col, justify in (("table", "left"), ("kind", "left"), ("rows", "right")):
            table.add_column(col, justify=justify)  # type: ignore[arg-type]
        for schema, name, kind in con.execute(TABLES_SQL).fetchall():
            qualified = name if schema == "main" else f"{schema}.{name}"
            rows = "-"
            if kind == "table":
                count = con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()
                rows = f"{count[0]:,}" if count else "-"
            table.add_row(qualified, kind, rows)
    return table


def meta(command: str, settings: Settings, out: Console, max_rows: int) -> bool:
    """Handle a meta-command; False when it asks to leave."""
    name, _, arg = command.strip().partition(" ")
    if name in (".quit", ".exit", ".q"):
        return False
    if name == ".tables":
        out.print(list_tables(settings))
    elif name == ".schema":
        if not arg.strip():
            out.print("usage: .schema NAME (the columns of a table or view; .tables lists them)")
        else:
            run_sql(settings, f"describe {arg.strip().rstrip(';')}", out, max_rows)
    elif name == ".help":
        out.print(HELP, highlight=False)
    else:
        out.print(f"unknown command {command.strip()!r}. {HELP}", highlight=False)
    return True


def _history(path: Path) -> Any:
    """readline with a history file (None where readline is missing: input() still works)."""
    try:
        import readline
    except ImportError:  # pragma: no cover - e.g. Windows
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(2000)
    return readline


def _one_history_entry(readline: Any, lines: list[str]) -> None:
    """A statement typed over several lines comes back from history as one line."""
    if readline is None or len(lines) < 2:
        return
    with contextlib.suppress(Exception):  # libedit numbers entries differently: keep the lines
        end = readline.get_current_history_length()
        for pos in range(end - 1, end - 1 - len(lines), -1):
            readline.remove_history_item(pos)
        readline.add_history(" ".join(line.strip() for line in lines))


def repl(settings: Settings, out: Console, err: Console, max_rows: int = DEFAULT_MAX_ROWS) -> None:
    """The interactive shell: read statements until `.quit` or Ctrl-D."""
    path: Path | str
    if settings.gold_engine == "trino":
        path = (
            f"Trino {settings.trino_url}, {settings.iceberg_catalog_name}.{settings.gold_namespace}"
        )
    else:
        path = require_gold(settings)
    history = settings.lakehouse_home / "query_history"
    readline = _history(history)
    err.print(f"gold: {path} (read-only)\n{HELP}", highlight=False)
    buffer: list[str] = []
    try:
        while True:
            try:
                line = input(CONTINUATION if buffer else PROMPT)
            except EOFError:
                err.print()
                return
            except KeyboardInterrupt:
                err.print()
                buffer.clear()
                continue
            stripped = line.strip()
            if not buffer and (stripped.startswith(".") or stripped == "\\q"):
                try:
                    if not meta(".quit" if stripped == "\\q" else stripped, settings, out,
                                 max_rows):  # fmt: skip
                        return
                except Exception as exc:  # noqa: BLE001 - print, keep the shell
                    err.print(f"[bold red]error:[/] {exc}", highlight=False)
                continue
            if not buffer and not stripped:
                continue
            buffer.append(line)
            if not line.rstrip().endswith(";"):
                continue
            sql, lines = "\n".join(buffer), list(buffer)
            buffer.clear()
            _one_history_entry(readline, lines)
            try:
                run_sql(settings, sql, out, max_rows)
            except Exception as exc:  # noqa: BLE001 - print, keep the shell
                err.print(f"[bold red]error:[/] {exc}", highlight=False)
    finally:
        if readline is not None:
            with contextlib.suppress(OSError):
                readline.write_history_file(history)
