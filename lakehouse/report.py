"""`lakehouse report`: one static HTML page on the gold marts, readable offline.

Charts of daily revenue (mart_daily_revenue), demand per pickup hour (mart_hourly_demand) and the
busiest pickup zones (mart_location_performance), each followed by a table of its figures. The
charts are SVG written here: no JavaScript, fonts or files to fetch, and no charting dependency
to pin for three bar charts."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.gold import GoldUnavailable, connect_read_only
from lakehouse.settings import Settings
from lakehouse.trino_client import trino_connection

if TYPE_CHECKING:
    import duckdb

MARTS = ("mart_daily_revenue", "mart_hourly_demand", "mart_location_performance")
TOP_ZONES = 10


@dataclass(frozen=True)
class Day:
    day: date
    trips: int
    revenue: Decimal


@dataclass(frozen=True)
class Hour:
    hour: int
    trips: int
    revenue: Decimal


@dataclass(frozen=True)
class Zone:
    zone: str
    borough: str
    trips: int
    revenue: Decimal


@dataclass(frozen=True)
class ReportData:
    gold: Path
    days: list[Day]
    hours: list[Hour]  # 0..23, zeros included
    zones: list[Zone]  # busiest first

    @property
    def trips(self) -> int:
        return sum(d.trips for d in self.days)

    @property
    def revenue(self) -> Decimal:
        return sum((d.revenue for d in self.days), Decimal(0))


# ----------------------------------------------------------------------------- reading gold
def read_report_data(
    con: duckdb.DuckDBPyConnection | Any,
    gold: Path,
    top_zones: int = TOP_ZONES,
    schema: str = "main",
) -> ReportData:
    """The marts the page draws. `con`: a DuckDB connection to the gold file, or a Trino DB-API
    cursor in the gold namespace (GOLD_ENGINE=trino): both answer `execute(sql, params)`
    with an object that has fetchall(); `schema` is where the marts are."""
    present = {
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [schema]
        ).fetchall()
    }
    missing = [m for m in MARTS if m not in present]
    if missing:
        raise GoldUnavailable(
            f"gold ({gold}) has no {', '.join(missing)}: run `make dbt-build` to build the marts"
        )
    days = [
        Day(*row)
        for row in con.execute(
            "select revenue_date, trip_count, net_revenue from mart_daily_revenue "
            "order by revenue_date"
        ).fetchall()
    ]
    # the mart has one row per (day, hour) with trips: hours over all days, empty hours as 0
    by_hour = {
        hour: Hour(hour, int(trips), revenue)
        for hour, trips, revenue in con.execute(
            "select pickup_hour, sum(trip_count), sum(net_revenue) from mart_hourly_demand "
            "group by pickup_hour"
        ).fetchall()
    }
    hours = [by_hour.get(h, Hour(h, 0, Decimal(0))) for h in range(24)]
    zones = [
        Zone(*row)
        for row in con.execute(
            "select zone_name, borough, pickup_trip_count, pickup_revenue "
            "from mart_location_performance where pickup_trip_count > 0 "
            "order by pickup_trip_count desc, pickup_revenue desc, location_id limit ?",
            [top_zones],
        ).fetchall()
    ]
    return ReportData(gold, days, hours, zones)


def write_report(
    settings: Settings, out: Path | None = None, top_zones: int = TOP_ZONES
) -> tuple[Path, ReportData]:
    """Read the marts (gold open read-only only while reading), write the page; its path."""
    out = out or settings.report_path
    if settings.gold_engine == "trino":
        with contextlib.closing(trino_connection(settings)) as trino:
            data = read_report_data(trino.cursor(), Path(f"trino: {settings.gold_namespace}"),
                                    top_zones, schema=settings.gold_namespace)  # fmt: skip
    else:
        with contextlib.closing(connect_read_only(settings)) as con:
            data = read_report_data(con, settings.gold_path, top_zones)
    page = render_html(data, datetime.now().astimezone())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out)  # a browser reloading it never sees half a page
    return out, data


# ----------------------------------------------------------------------------- numbers
def money(value: Decimal | float, cents: bool = False) -> str:
    return f"${value:,.2f}" if cents else f"${value:,.0f}"


def count(value: int | float) -> str:
    return f"{value:,.0f}"


def compact(value: float) -> str:
    """Axis ticks: 1500 -> 1.5k, 2000000 -> 2M."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def nice_ticks(maximum: float, count: int = 5, integer: bool = False) -> list[float]:
    """Axis ticks from 0 to a round value >= maximum, about `count` steps of 1, 2, 2.5 or 5
    times a power of ten (whole steps for counts)."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if integer:
        step = max(1.0, math.ceil(step))
    steps = math.ceil(maximum / step - 1e-9)
    return [i * step for i in range(steps + 1)]


# ----------------------------------------------------------------------------- charts
FONT = 'font-family="system-ui, sans-serif"'
BAR = "#3b6ea8"
GRID = "#dde3ea"
INK = "#1f2933"


def _text(x: float, y: float, text: str, *, size: int = 12, anchor: str = "middle",
          rotate: float = 0, bold: bool = False, fill: str = INK) -> str:  # fmt: skip
    transform = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate else ""
    weight = ' font-weight="600"' if bold else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{fill}"{weight}{transform}>{escape(text)}</text>'
    )


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" {FONT}><title>{escape(title)}</title>'
        + _text(width / 2, 22, title, size=15, bold=True)
        + "".join(body)
        + "</svg>"
    )


def bar_chart(
    title: str,
    x_label: str,
    y_label: str,
    labels: Sequence[str],
    values: Sequence[float],
    value_text: Callable[[float], str],
    *,
    integer: bool = False,
    width: int = 760,
    height: int = 330,
) -> str:
    """Vertical bars, a value above each, y axis with round ticks, both axes labelled."""
    left, right, top = 72, 16, 40
    plot_w = width - left - right
    slot = plot_w / max(len(values), 1)
    texts = [value_text(v) for v in values]
    # labels that do not fit their slot are turned, not shrunk: they stay readable
    turn_values = max((len(t) for t in texts), default=0) * 6.6 > slot - 2
    turn_labels = max((len(s) for s in labels), default=0) * 6.6 > slot - 2
    bottom = 44 + (max((len(s) for s in labels), default=0) * 5 if turn_labels else 0)
    plot_h = height - top - bottom
    # headroom for the value labels above the tallest bar (turned ones are longer)
    ticks = nice_ticks(max(values, default=0) * (1.2 if turn_values else 1.0), integer=integer)
    y_max = ticks[-1]
    base = top + plot_h

    def y(v: float) -> float:
        return base - v / y_max * plot_h

    body: list[str] = []
    for t in ticks:
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
                    f'stroke="{GRID}"/>')  # fmt: skip
        body.append(_text(left - 6, y(t) + 4, compact(t), size=11, anchor="end"))
    for i, (label, value, text) in enumerate(zip(labels, values, texts, strict=True)):
        cx = left + (i + 0.5) * slot
        bar_w = slot * 0.72
        body.append(
            f'<rect x="{cx - bar_w / 2:.1f}" y="{y(value):.1f}" width="{bar_w:.1f}" '
            f'height="{base - y(value):.1f}" fill="{BAR}"><title>{escape(label)}: '
            f"{escape(text)}</title></rect>"
        )
        if turn_values:
            body.append(_text(cx + 4, y(value) - 4, text, size=11, anchor="start", rotate=-90))
        else:
            body.append(_text(cx, y(value) - 5, text, size=11))
        if turn_labels:
            body.append(_text(cx + 3, base + 14, label, size=11, anchor="end", rotate=-45))
        else:
            body.append(_text(cx, base + 16, label, size=11))
    body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{base}" y2="{base}" stroke="{INK}"/>')
    body.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{base}" stroke="{INK}"/>')
    body.append(_text(left + plot_w / 2, height - 10, x_label, size=12, bold=True))
    body.append(_text(16, top + plot_h / 2, y_label, size=12, bold=True, rotate=-90))
    return _svg(width, height, title, body)


def hbar_chart(
    title: str,
    x_label: str,
    y_label: str,
    labels: Sequence[str],
    values: Sequence[float],
    value_text: Callable[[float], str],
    *,
    integer: bool = False,
    width: int = 760,
) -> str:
    """Horizontal bars for long category names (zones), busiest at the top."""
    left, right, top, bottom, row = 250, 70, 40, 52, 26
    plot_w = width - left - right
    plot_h = row * max(len(values), 1)
    height = top + plot_h + bottom
    ticks = nice_ticks(max(values, default=0), integer=integer)
    x_max = ticks[-1]

    def x(v: float) -> float:
        return left + v / x_max * plot_w

    body: list[str] = []
    base = top + plot_h
    for t in ticks:
        body.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{base}" '
                    f'stroke="{GRID}"/>')  # fmt: skip
        body.append(_text(x(t), base + 16, compact(t), size=11))
    if not values:
        body.append(_text(left + plot_w / 2, top + row * 0.65, "no pickups in gold yet"))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        cy = top + (i + 0.5) * row
        shown = label if len(label) <= 30 else label[:29] + "…"  # clear of the axis label
        text = value_text(value)
        body.append(
            f'<rect x="{left}" y="{cy - row * 0.36:.1f}" width="{x(value) - left:.1f}" '
            f'height="{row * 0.72:.1f}" fill="{BAR}"><title>{escape(label)}: {escape(text)}'
            "</title></rect>"
        )
        body.append(_text(left - 8, cy + 4, shown, size=12, anchor="end"))
        body.append(_text(x(value) + 5, cy + 4, text, size=11, anchor="start"))
    body.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{base}" stroke="{INK}"/>')
    body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{base}" y2="{base}" stroke="{INK}"/>')
    body.append(_text(left + plot_w / 2, height - 10, x_label, size=12, bold=True))
    body.append(_text(16, top + plot_h / 2, y_label, size=12, bold=True, rotate=-90))
    return _svg(width, int(height), title, body)


# ----------------------------------------------------------------------------- page
def _table(caption: str, header: Sequence[str], rows: Sequence[Sequence[str]],
           numeric_from: int = 1) -> str:  # fmt: skip
    """An HTML table; columns from `numeric_from` on are right-aligned figures."""

    def cells(tag: str, values: Sequence[str]) -> str:
        return "".join(
            f"<{tag}{' class=num' if i >= numeric_from else ''}>{escape(v)}</{tag}>"
            for i, v in enumerate(values)
        )

    body = "".join(f"<tr>{cells('td', r)}</tr>" for r in rows)
    return (
        f"<table><caption>{escape(caption)}</caption><thead><tr>{cells('th', header)}</tr>"
        f"</thead><tbody>{body}</tbody></table>"
    )


CSS = """
body { font-family: system-ui, sans-serif; color: #1f2933; margin: 2rem auto; max-width: 800px;
       padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; }
.meta { color: #52606d; margin-top: 0; }
section { margin: 2.5rem 0; }
svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: .85rem; margin-top: .5rem; }
caption { text-align: left; font-weight: 600; padding-bottom: .25rem; }
th, td { border-bottom: 1px solid #dde3ea; padding: .2rem .6rem; text-align: left; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.wide { overflow-x: auto; }
"""


def render_html(data: ReportData, generated_at: datetime) -> str:
    """The whole page: a summary line, then per mart a chart and the table of its figures."""
    days, hours, zones = data.days, data.hours, data.zones
    span = f"{days[0].day} to {days[-1].day}" if days else "no days"
    daily = bar_chart(
        "Daily revenue",
        "pickup date",
        "net revenue (USD)",
        [f"{d.day:%a %b %d}" for d in days],
        [float(d.revenue) for d in days],
        money,
    )
    daily_table = _table(
        "Daily revenue (mart_daily_revenue)",
        ("date", "trips", "revenue", "revenue per trip"),
        [(str(d.day), count(d.trips), money(d.revenue, cents=True),
          money(d.revenue / d.trips, cents=True) if d.trips else "-") for d in days],
    )  # fmt: skip
    hourly = bar_chart(
        "Demand per pickup hour, all days",
        "pickup hour",
        "trips",
        [f"{h.hour:02d}" for h in hours],
        [h.trips for h in hours],
        count,
        integer=True,
    )
    # hours across, so 24 rows do not push the next chart off the screen
    hourly_table = _table(
        "Demand per pickup hour (mart_hourly_demand, all days)",
        ("hour", *(f"{h.hour:02d}" for h in hours)),
        [("trips", *(count(h.trips) for h in hours)),
         ("revenue", *(money(h.revenue) for h in hours))],
    )  # fmt: skip
    top = hbar_chart(
        f"Top {len(zones)} pickup zones by trips" if zones else "Top pickup zones by trips",
        "pickups (trips)",
        "pickup zone",
        [z.zone for z in zones],
        [z.trips for z in zones],
        count,
        integer=True,
    )
    zones_table = _table(
        "Top pickup zones (mart_location_performance)",
        ("zone", "borough", "pickups", "revenue"),
        [(z.zone, z.borough, count(z.trips), money(z.revenue, cents=True)) for z in zones],
        numeric_from=2,
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Taxi lakehouse: gold report</title>
<style>{CSS}</style>
</head>
<body>
<h1>Taxi trips: gold report</h1>
<p class="meta">{count(data.trips)} trips, {money(data.revenue, cents=True)} revenue, pickups
{escape(span)}. From <code>{escape(str(data.gold))}</code>, written
{generated_at:%Y-%m-%d %H:%M %Z}.</p>
<section id="daily-revenue">{daily}{daily_table}</section>
<section id="hourly-demand">{hourly}<div class="wide">{hourly_table}</div></section>
<section id="top-zones">{top}{zones_table}</section>
</body>
</html>
"""
