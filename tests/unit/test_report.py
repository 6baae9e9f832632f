"""`lakehouse report`: the page from small in-memory data (one chart per mart with its values,
axes labelled, the figures in tables, nothing fetched over the network), and the marts read
from a small gold file made here."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.gold import GoldUnavailable
from lakehouse.report import (
    Day,
    Hour,
    ReportData,
    Zone,
    nice_ticks,
    read_report_data,
    render_html,
    write_report,
)
from lakehouse.settings import Settings, reset_settings_cache

DATA = ReportData(
    gold=Path("/data/gold.duckdb"),
    days=[
        Day(date(2026, 11, 25), 3272, Decimal("81901.45")),
        Day(date(2026, 11, 26), 3348, Decimal("85922.76")),
    ],
    hours=[Hour(h, 100 + h, Decimal(h * 10)) for h in range(24)],
    zones=[
        Zone("Upper East Side South", "Manhattan", 482, Decimal("9841.10")),
        Zone("Bed & <Breakfast>", "Brooklyn", 12, Decimal("300.00")),
    ],
)


def _section(page: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}">(.*?)</section>', page, re.S)
    assert match, f"no section {section_id}"
    return match.group(1)


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(DATA, datetime(2026, 12, 2, 16, 0, tzinfo=UTC))


def test_one_chart_per_mart_with_title_axes_and_values(page: str) -> None:
    assert page.count("<svg") == 3
    daily = _section(page, "daily-revenue")
    assert "Daily revenue" in daily and "pickup date" in daily and "net revenue (USD)" in daily
    assert "$81,901" in daily and "$85,923" in daily and "Wed Nov 25" in daily
    hourly = _section(page, "hourly-demand")
    assert "Demand per pickup hour" in hourly and "pickup hour" in hourly and ">trips<" in hourly
    for h in range(24):
        assert f">{100 + h}<" in hourly and f">{h:02d}<" in hourly
    zones = _section(page, "top-zones")
    assert "Top 2 pickup zones by trips" in zones and "pickup zone" in zones
    assert ">Upper East Side South<" in zones and ">482<" in zones


def test_the_figures_are_in_tables_too(page: str) -> None:
    daily_table = _section(page, "daily-revenue").split("</svg>", 1)[1]
    assert "<table>" in daily_table and "$81,901.45" in daily_table and "3,348" in daily_table
    # revenue per trip: 81901.45 / 3272
    assert "$25.03" in daily_table
    zones_table = _section(page, "top-zones").split("</svg>", 1)[1]
    assert "Manhattan" in zones_table and "$9,841.10" in zones_table
    assert "6,620 trips" in page and "$167,824.21 revenue" in page


def test_names_are_escaped_and_nothing_is_fetched(page: str) -> None:
    assert "Bed &amp; &lt;Breakfast&gt;" in page and "<Breakfast>" not in page
    assert "<script" not in page and "src=" not in page and "href=" not in page
    urls = set(re.findall(r"https?://[^\s\"'<>]+", page))
    assert urls == {"http://www.w3.org/2000/svg"}  # the SVG namespace, never requested


def test_bars_are_as_tall_as_their_values() -> None:
    page = render_html(DATA, datetime(2026, 12, 2, tzinfo=UTC))
    hourly = _section(page, "hourly-demand")
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', hourly)]
    assert len(heights) == 24
    # bar height / value is the same for every hour
    ratios = {round(height / (100 + h), 3) for h, height in enumerate(heights)}
    assert len(ratios) == 1


def test_an_empty_gold_still_renders() -> None:
    empty = ReportData(Path("g"), [], [Hour(h, 0, Decimal(0)) for h in range(24)], [])
    page = render_html(empty, datetime(2026, 12, 2, tzinfo=UTC))
    assert page.count("<svg") == 3 and "no pickups in gold yet" in page and "0 trips" in page


@pytest.mark.parametrize(
    ("maximum", "integer", "expected"),
    [
        (85922.76, False, [0, 20000, 40000, 60000, 80000, 100000]),
        (754, True, [0, 200, 400, 600, 800]),
        (3, True, [0, 1, 2, 3]),
        (0, False, [0, 1]),
    ],
)
def test_axis_ticks_are_round_and_cover_the_data(
    maximum: float, integer: bool, expected: list[float]
) -> None:
    assert nice_ticks(maximum, integer=integer) == expected


# ----------------------------------------------------------------------------- from gold
@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Gold with the three marts' columns the report reads (the real marts have more)."""
    gold = tmp_path / "gold.duckdb"
    with duckdb.connect(str(gold)) as con:
        con.execute(
            "create table mart_daily_revenue as select * from (values "
            "(date '2026-11-26', 3, 60.00::decimal(18, 2)), "
            "(date '2026-11-25', 2, 40.50::decimal(18, 2))) t(revenue_date, trip_count, "
            "net_revenue)"
        )
        con.execute(
            "create table mart_hourly_demand as select * from (values "
            "(date '2026-11-25', 8, 2::bigint, 40.50::decimal(18, 2)), "
            "(date '2026-11-26', 8, 1::bigint, 20.00::decimal(18, 2)), "
            "(date '2026-11-26', 17, 2::bigint, 40.00::decimal(18, 2))) "
            "t(pickup_date, pickup_hour, trip_count, net_revenue)"
        )
        con.execute(
            "create table mart_location_performance as select * from (values "
            "(1, 'EWR', 'Newark Airport', 0::bigint, 0.00::decimal(18, 2)), "
            "(132, 'Queens', 'JFK Airport', 4::bigint, 80.00::decimal(18, 2)), "
            "(237, 'Manhattan', 'Upper East Side South', 4::bigint, 90.00::decimal(18, 2)), "
            "(161, 'Manhattan', 'Midtown Center', 1::bigint, 10.50::decimal(18, 2))) "
            "t(location_id, borough, zone_name, pickup_trip_count, pickup_revenue)"
        )
    return Settings(_env_file=None, lakehouse_home=tmp_path, gold_duckdb_path=gold)  # type: ignore[call-arg]


def test_the_marts_are_read_in_order_with_every_hour(settings: Settings) -> None:
    with duckdb.connect(str(settings.gold_path), read_only=True) as con:
        data = read_report_data(con, settings.gold_path, top_zones=2)
    assert [d.day for d in data.days] == [date(2026, 11, 25), date(2026, 11, 26)]
    assert data.trips == 5 and data.revenue == Decimal("100.50")
    assert len(data.hours) == 24 and data.hours[8].trips == 3 and data.hours[17].trips == 2
    assert data.hours[0].trips == 0
    # busiest first, ties by revenue; zones without pickups never listed
    assert [z.zone for z in data.zones] == ["Upper East Side South", "JFK Airport"]


def test_missing_marts_say_to_build_them(settings: Settings) -> None:
    with duckdb.connect(str(settings.gold_path)) as con:
        con.execute("drop table mart_hourly_demand")
    with pytest.raises(GoldUnavailable, match=r"mart_hourly_demand.*make dbt-build"):
        write_report(settings)


def test_the_page_goes_under_the_data_dir_by_default(settings: Settings) -> None:
    path, data = write_report(settings)
    assert path == settings.lakehouse_home / "report" / "index.html" == settings.report_path
    assert "Upper East Side South" in path.read_text() and data.trips == 5


def test_cli_writes_the_page_and_prints_its_path(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEHOUSE_HOME", str(settings.lakehouse_home))
    monkeypatch.setenv("GOLD_DUCKDB_PATH", str(settings.gold_path))
    reset_settings_cache()
    try:
        out = tmp_path / "elsewhere" / "report.html"
        result = CliRunner().invoke(app, ["report", "--out", str(out)])
    finally:
        reset_settings_cache()
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(str(out.resolve()))
    assert out.read_text().count("<svg") == 3
