"""`lakehouse query` on a small gold file made here: results as tables, read-only, errors as
one line, the interactive shell (multi-line statements, meta-commands, Ctrl-D), gold let go of
between statements."""

from __future__ import annotations

import builtins
import io
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest
from rich.console import Console
from typer.testing import CliRunner

from lakehouse import query
from lakehouse.cli import app
from lakehouse.gold import GoldUnavailable
from lakehouse.settings import Settings, reset_settings_cache


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    gold = tmp_path / "gold" / "gold.duckdb"
    gold.parent.mkdir()
    with duckdb.connect(str(gold)) as con:
        con.execute(
            "create table mart_daily_revenue as select * from (values "
            "(date '2026-11-25', 3272, 81901.45::decimal(18, 2)), "
            "(date '2026-11-26', 3348, 85922.76::decimal(18, 2))) "
            "t(revenue_date, trip_count, total_revenue)"
        )
        con.execute("create view v_days as select revenue_date from mart_daily_revenue")
    return Settings(_env_file=None, lakehouse_home=tmp_path, gold_duckdb_path=gold)  # type: ignore[call-arg]


def _out() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=120, color_system=None), buf


def test_a_statement_prints_its_rows_as_a_table(settings: Settings) -> None:
    out, buf = _out()
    query.run_sql(settings, "select * from mart_daily_revenue order by revenue_date", out)
    text = buf.getvalue()
    assert "revenue_date" in text and "total_revenue" in text
    assert "81901.45" in text and "3348" in text and "2 rows" in text


def test_each_statement_of_several_is_printed_and_semicolons_in_strings_are_kept(
    settings: Settings,
) -> None:
    out, buf = _out()
    query.run_sql(settings, "select 'a;b' as s; set threads = 1; select null as n;", out)
    text = buf.getvalue()
    assert "a;b" in text and "ok" in text and "NULL" in text


def test_max_rows_caps_what_is_printed(settings: Settings) -> None:
    out, buf = _out()
    query.run_sql(settings, "select * from range(50)", out, max_rows=3)
    assert "first 3 rows" in buf.getvalue()


def test_gold_is_read_only(settings: Settings) -> None:
    out, _ = _out()
    with pytest.raises(query.QueryError, match="read-only"):
        query.run_sql(settings, "delete from mart_daily_revenue", out)
    # temporary tables live outside gold: allowed
    query.run_sql(settings, "create temp table t as select 1 as x; select * from t;", out)


def test_missing_gold_says_how_to_build_it(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, lakehouse_home=tmp_path)  # type: ignore[call-arg]
    with pytest.raises(GoldUnavailable, match=r"make demo.*make dbt-build"):
        query.run_sql(settings, "select 1", _out()[0])


def test_gold_locked_by_a_writer_is_a_clear_error(settings: Settings) -> None:
    code = (
        "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('locked', flush=True);"
        " time.sleep(30)"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", code, str(settings.gold_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "locked"
        with pytest.raises(GoldUnavailable, match="being written"):
            query.run_sql(settings, "select 1", _out()[0])
    finally:
        writer.kill()
        writer.wait()


def test_tables_lists_tables_and_views_with_row_counts(settings: Settings) -> None:
    out, buf = _out()
    out.print(query.list_tables(settings))
    text = buf.getvalue()
    assert "mart_daily_revenue" in text and "v_days" in text and "view" in text
    line = next(ln for ln in text.splitlines() if "mart_daily_revenue" in ln)
    assert "2" in line


Line = str | Callable[[], str]


def _script(lines: list[Line], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Feed `lines` to input() ("<ctrl-c>" raises KeyboardInterrupt, a callable is called for
    its line), then Ctrl-D. Returns the prompts shown."""
    prompts: list[str] = []
    feed: Iterator[Line] = iter(lines)

    def fake_input(prompt: str = "") -> str:
        prompts.append(prompt)
        line = next(feed, None)
        if line is None:
            raise EOFError
        if line == "<ctrl-c>":
            raise KeyboardInterrupt
        return line() if callable(line) else line

    monkeypatch.setattr(builtins, "input", fake_input)
    return prompts


def test_the_shell_runs_multi_line_statements_meta_commands_and_survives_errors(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def write_meanwhile() -> str:
        # a writer (dbt) can open gold between two statements: the shell holds no connection
        with duckdb.connect(str(settings.gold_path)) as con:
            con.execute("create table added_meanwhile as select 1 as x")
        return "select count(*) as tables_now from duckdb_tables();"

    prompts = _script(
        [
            "select sum(trip_count) as trips",
            "from mart_daily_revenue;",
            "selec 1;",
            "select 1 as half",
            "<ctrl-c>",
            ".tables",
            ".schema mart_daily_revenue",
            ".nonsense",
            write_meanwhile,
        ],
        monkeypatch,
    )
    out, buf = _out()
    err, err_buf = _out()
    query.repl(settings, out, err)  # returns on Ctrl-D
    text, errors = buf.getvalue(), err_buf.getvalue()
    assert "6620" in text  # 3272 + 3348, from a statement over two lines
    assert prompts[:2] == [query.PROMPT, query.CONTINUATION]
    assert "error:" in errors and "syntax error" in errors and "Traceback" not in errors
    assert "half" not in text  # Ctrl-C dropped the unfinished statement
    assert "v_days" in text and "total_revenue" in text and "unknown command" in text
    assert "tables_now" in text and "added_meanwhile" not in errors
    assert (settings.lakehouse_home / "query_history").exists()


def test_quit_leaves_the_shell(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    prompts = _script([".quit", "select 1;"], monkeypatch)
    out, buf = _out()
    query.repl(settings, out, _out()[0])
    assert len(prompts) == 1 and buf.getvalue() == ""


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("LAKEHOUSE_HOME", str(settings.lakehouse_home))
    monkeypatch.setenv("GOLD_DUCKDB_PATH", str(settings.gold_path))
    reset_settings_cache()
    yield settings
    reset_settings_cache()


def test_cli_runs_one_statement_and_exits(cli_env: Settings) -> None:
    result = CliRunner().invoke(app, ["query", "-c", "select count(*) as n from v_days"])
    assert result.exit_code == 0, result.output
    assert "│ 2 │" in result.output
    same = CliRunner().invoke(app, ["query", "select count(*) as n from v_days"])
    assert same.exit_code == 0 and "│ 2 │" in same.output


def test_cli_reads_sql_from_stdin_and_fails_in_one_line(cli_env: Settings) -> None:
    piped = CliRunner().invoke(app, ["query"], input="select 41 + 1 as answer;\n")
    assert piped.exit_code == 0 and "42" in piped.output
    bad = CliRunner().invoke(app, ["query", "-c", "select * from nowhere"])
    assert bad.exit_code == 1
    assert "nowhere" in bad.output and "Traceback" not in bad.output
