"""The UIs in a real browser: headless Chromium from Debian's packages, driven by Playwright.

Playwright's own browser download cannot work offline, so it drives /usr/bin/chromium
(TAXI_CHROMIUM: another binary). Each test keeps a screenshot under .lakehouse/screenshots/.
What the pages show is compared with what the engines hold (Flink's REST API, dbt's manifest,
gold queried directly, Dagster's instance), never with numbers written into the test.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest

from lakehouse.pipeline import run_pipeline
from lakehouse.report import write_report
from lakehouse.settings import REPO_ROOT, Settings
from lakehouse.stack.processes import port_open

from .conftest import settings_env

pytestmark = pytest.mark.integration

CHROMIUM = os.environ.get("TAXI_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = REPO_ROOT / ".lakehouse" / "screenshots"
DOCS_PORT = 18088
DAGSTER_PORT = 13000


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: `make bootstrap-test` installs Debian's chromium")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        # --no-sandbox: CI and this machine run as root, where Chromium's sandbox refuses to start
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser, request):  # noqa: ANN001, ANN201
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    # where the page was when the test ended (passed or not): the first thing to look at
    pg.screenshot(path=SCREENSHOTS / f"{request.node.name}-last.png")
    context.close()


@pytest.fixture(scope="module")
def gold(stack) -> Settings:  # noqa: ANN001
    """A fresh pipeline run: bronze and silver Flink jobs finished, gold built and verified."""
    from lakehouse.reset import reset_data

    from .conftest import make_settings

    settings = make_settings()
    reset_data(settings)
    run_pipeline(settings, events=3000, seed=11, days=4)
    return settings


def _server(args: list[str], env: dict[str, str], log: Path, port: int, wait_s: float = 180):
    """A UI server in its own process group (dagster dev starts children), up when `port`
    answers; its log's tail on failure."""
    if port_open("127.0.0.1", port):  # a server left over would be tested instead of ours
        pytest.fail(f"port {port} is in use: stop what listens there ({args[:4]} needs it)")
    log.parent.mkdir(parents=True, exist_ok=True)
    out = log.open("w")
    proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True, cwd=REPO_ROOT)  # fmt: skip
    deadline = time.monotonic() + wait_s
    while not port_open("127.0.0.1", port):
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc)
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
            pytest.fail(f"{args[:4]} did not serve on port {port} ({log}):\n{tail}")
        time.sleep(0.5)
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _dismiss_newsletter(page) -> None:  # noqa: ANN001
    """Dagster's first-visit dialog (newsletter sign-up) covers the graph: skip it if it comes."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):
        page.get_by_role("button", name="Skip").click(timeout=5_000)


def _label_shows(label: str, name: str) -> bool:
    """A zoomed-out asset node shortens long names in the middle: 'silver_t…_rejected'."""
    head, sep, tail = label.partition("…")
    return label == name or bool(sep) and name.startswith(head) and name.endswith(tail)


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {**os.environ, **settings_env(settings), **extra}


# ----------------------------------------------------------------------------- Flink dashboard
def test_flink_dashboard_lists_the_finished_bronze_and_silver_jobs(gold: Settings, page) -> None:
    jobs = httpx.get(f"{gold.flink_rest_url}/jobs/overview", timeout=10).json()["jobs"]
    finished = {j["name"] for j in jobs if j["state"] == "FINISHED"}
    wanted = {n for n in finished if n.startswith(("bronze:", "silver:"))}
    assert any(n.startswith("bronze:") for n in wanted) and any(
        n.startswith("silver:") for n in wanted
    ), finished

    page.goto(f"{gold.flink_rest_url}/#/job/completed")
    table = page.locator("nz-table, table").first
    for name in wanted:
        # a job name can repeat (a streaming silver job of the same name ends CANCELED): the
        # dashboard must show a FINISHED row for each name the REST API reports finished
        row = page.locator("tr", has_text=name).filter(has_text="FINISHED").first
        row.wait_for()
        assert name in row.inner_text(), row.inner_text()
    assert table.is_visible()
    page.screenshot(path=SCREENSHOTS / "flink-completed-jobs.png", full_page=True)


# ----------------------------------------------------------------------------- report
def test_report_page_draws_one_bar_per_day_hour_and_zone_from_gold(gold: Settings, page) -> None:
    out, data = write_report(gold, gold.lakehouse_home / "report" / "browser-test.html")
    page.goto(out.resolve().as_uri())

    # the figures straight from fct_trips (its trips, not the voids and refunds among the
    # facts), not from the marts the report reads
    con = duckdb.connect(str(gold.gold_path), read_only=True)
    try:
        per_day = dict(con.execute(
            "select strftime(pickup_date, '%a %b %d'), count(*) from fct_trips "
            "where record_kind = 'trip' group by 1"
        ).fetchall())  # fmt: skip
        per_hour = dict(con.execute(
            "select lpad(pickup_hour::varchar, 2, '0'), count(*) from fct_trips "
            "where record_kind = 'trip' group by 1"
        ).fetchall())  # fmt: skip
    finally:
        con.close()
    assert sum(per_day.values()) == data.trips > 0

    def bars(section: str) -> dict[str, str]:
        """label -> value text of each drawn bar (its tooltip), visible bars only"""
        svg = page.locator(f"section#{section} svg")
        assert svg.is_visible()
        out: dict[str, str] = {}
        for rect in svg.locator("rect").all():
            title = rect.locator("title")
            if title.count():
                label, value = (title.text_content() or "").rsplit(": ", 1)
                out[label] = value
        return out

    daily = bars("daily-revenue")
    assert set(daily) == set(per_day), (daily, per_day)
    hourly = bars("hourly-demand")
    assert len(hourly) == 24
    assert {h: int(v.replace(",", "")) for h, v in hourly.items() if v != "0"} == per_hour
    zones = bars("top-zones")
    assert list(zones) == [z.zone for z in data.zones] and zones
    # the tallest bar is drawn with a height: the SVG renders, not just exists
    box = page.locator("section#hourly-demand svg rect").first.bounding_box()
    assert box and box["width"] > 0
    page.screenshot(path=SCREENSHOTS / "report.png", full_page=True)


# ----------------------------------------------------------------------------- dbt docs
def test_dbt_docs_show_fct_trips_lineage(gold: Settings, page) -> None:
    server = _server(
        [sys.executable, "-m", "lakehouse.cli", "dbt", "docs", "--port", str(DOCS_PORT)],
        _env(gold),
        gold.logs_dir / "dbt-docs-browser-test.log",
        DOCS_PORT,
    )
    try:
        target = gold.lakehouse_home.resolve() / "dbt" / "target"  # lakehouse.dbt_runner.dbt_args
        manifest = json.loads((target / "manifest.json").read_text())
        node = next(n for n in manifest["nodes"] if n.endswith(".fct_trips"))
        parents = {p for p in manifest["parent_map"][node] if p.startswith("model.")}
        children = {c for c in manifest["child_map"][node] if c.startswith("model.")}
        assert parents and children

        page.goto(f"http://127.0.0.1:{DOCS_PORT}/#!/model/{node}")
        page.get_by_role("heading", name="fct_trips").first.wait_for()
        page.get_by_title("View Lineage Graph").click()
        page.locator("#cy canvas").first.wait_for()
        # the graph draws on a canvas: its elements come from the page's graph model
        page.wait_for_function(
            "() => (angular.element(document.getElementById('cy')).scope().graph.elements"
            " || []).length > 0"
        )
        edges = page.evaluate(
            "() => angular.element(document.getElementById('cy')).scope().graph.elements"
            ".filter(e => e.data.source).map(e => [e.data.source, e.data.target])"
        )
        shown = {tuple(e) for e in edges}
        assert {(p, node) for p in parents} <= shown, shown
        assert {(node, c) for c in children} <= shown, shown
        page.screenshot(path=SCREENSHOTS / "dbt-docs-fct_trips-lineage.png")
    finally:
        _stop(server)


# ----------------------------------------------------------------------------- Dagster UI
def test_dagster_ui_shows_the_asset_graph_and_a_run_launched_there_passes_its_checks(
    gold: Settings, page, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter
    from dagster._core.instance.ref import InstanceRef
    from taxi_dagster.definitions import JOB_NAME, build_definitions
    from taxi_dagster.resources import LakehouseResource

    job = build_definitions(LakehouseResource.from_settings(gold)).resolve_job_def(JOB_NAME)
    assets = job.asset_layer.asset_graph.get_all_asset_keys()
    check_count = len(list(job.asset_layer.asset_graph.asset_check_keys))
    home = (gold.lakehouse_home / "dagster").resolve()
    if home.exists():  # runs of earlier sessions would blur "the run launched here"
        shutil.rmtree(home)
    dagster_dir = str(REPO_ROOT / "taxi-dagster")
    server = _server(
        [sys.executable, "-m", "taxi_dagster.cli", "ui", "--port", str(DAGSTER_PORT)],
        _env(gold, PYTHONPATH=dagster_dir),
        gold.logs_dir / "dagster-ui-browser-test.log",
        DAGSTER_PORT,
    )
    try:
        ui = f"http://127.0.0.1:{DAGSTER_PORT}"
        page.goto(f"{ui}/locations/taxi_dagster.definitions/jobs/{JOB_NAME}")
        # the code location loads after the webserver answers (it parses the dbt project)
        page.get_by_role("button", name="Materialize all").wait_for(timeout=180_000)
        _dismiss_newsletter(page)
        page.keyboard.press("Alt+e")  # the graph's "Expand all groups" (its settings menu)
        nodes = page.locator("svg foreignObject[style]")  # one per asset node
        nodes.nth(len(assets) - 1).wait_for()
        labels = [t.strip() for t in nodes.all_text_contents()]
        assert len(labels) == len(assets), labels
        for key in assets:
            assert any(_label_shows(label, key.path[-1]) for label in labels), (key, labels)
        page.screenshot(path=SCREENSHOTS / "dagster-asset-graph.png")

        monkeypatch.setenv("DAGSTER_HOME", str(home))  # dagster.yaml reads it
        instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
        page.get_by_role("button", name="Materialize all").click()
        deadline = time.monotonic() + 60
        while not (records := instance.get_run_records(RunsFilter(job_name=JOB_NAME), limit=1)):
            assert time.monotonic() < deadline, "no run was launched by 'Materialize all'"
            time.sleep(0.5)
        run = records[0].dagster_run

        # the run's page in the UI reports success (the queue, the daemon and the run worker)
        page.goto(f"{ui}/runs/{run.run_id}")
        page.get_by_text("Success", exact=True).first.wait_for(timeout=420_000)
        page.get_by_text(f"{check_count} checks", exact=True).wait_for()  # the run's header
        page.screenshot(path=SCREENSHOTS / "dagster-run.png")
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.SUCCESS

        materialized = {
            r.asset_key
            for r in instance.get_records_for_run(
                run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
            ).records
        }
        assert materialized == set(assets)
        evaluations = [
            r.event_log_entry.dagster_event.event_specific_data
            for r in instance.get_records_for_run(
                run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
            ).records
        ]
        assert len(evaluations) == check_count > 0
        assert all(e.passed for e in evaluations), [
            e.check_name for e in evaluations if not e.passed
        ]

    finally:
        _stop(server)
