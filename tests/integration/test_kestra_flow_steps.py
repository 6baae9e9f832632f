"""The Kestra flow's own commands, run in the flow's order against the real native stack.

kestra/flows/taxi_pipeline.yml is read with PyYAML; each task's `commands` are rendered with test
inputs (only `{{ inputs.x }}` is rendered here: any other expression in a command fails the test,
since it would need Kestra to evaluate) and run the way Kestra's Process task runner runs them: one
`/bin/sh -c` script per task (`set -e` first, as the script tasks' failFast does), in a fresh
working directory, with the task's `env` on top of the worker's environment. The worker's
environment is the test stack's settings as environment variables, exactly what the Kestra
container gets. Every task must exit 0, write its declared outputFiles, and emit the Kestra outputs
the flow's `outputs` refer to; verify must pass.

A second test has Kestra 2.0 itself run the flow (embedded runner, Process task runner).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakehouse import catalog as cat
from lakehouse.settings import REPO_ROOT, Settings

from ..kestra_embedded import KESTRA_JAVA_HOME, run_flow_in_kestra
from .conftest import settings_env

pytestmark = pytest.mark.integration

FLOW = REPO_ROOT / "kestra" / "flows" / "taxi_pipeline.yml"
ORDER = [
    "create_topics",
    "generate_events",
    "flink_bronze",
    "flink_silver",
    "wait_for_processing",
    "dbt_build",
    "verify",
]
TEST_INPUTS: dict[str, Any] = {
    "events": 1500,
    "mode": "burst",
    "rate": 0,  # 0 = no cap: exercises the flow's optional --rate branch
    "seed": 17,
    "days": 2,
    "anomaly_rate": 0.01,
}
_INPUT_EXPR = re.compile(r"\{\{\s*inputs\.(\w+)\s*\}\}")
_ANY_EXPR = re.compile(r"\{\{|\{%|\{#")
_KESTRA_LINE = re.compile(r"^::(\{.*\})::$")


def render(text: str, inputs: dict[str, Any]) -> str:
    """Render `{{ inputs.x }}` only; anything else Kestra would evaluate is an error here."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in inputs:
            raise KeyError(f"flow command uses undeclared input {name!r}")
        return str(inputs[name])

    out = _INPUT_EXPR.sub(sub, text)
    if _ANY_EXPR.search(out):
        raise AssertionError(f"unrendered Kestra expression left in a command: {out!r}")
    return out


def flow_inputs(flow: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    declared = {i["id"]: i for i in flow["inputs"]}
    unknown = set(overrides) - set(declared)
    assert not unknown, f"test inputs not declared by the flow: {unknown}"
    values = {k: i.get("defaults") for k, i in declared.items()}
    values.update(overrides)
    if "values" in declared.get("mode", {}):
        assert values["mode"] in declared["mode"]["values"]
    return values


def kestra_messages(stdout: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What a Kestra worker collects from a script's stdout: outputs and metrics."""
    outputs: dict[str, Any] = {}
    metrics: list[dict[str, Any]] = []
    for line in stdout.splitlines():
        m = _KESTRA_LINE.match(line.strip())
        if m:
            msg = json.loads(m.group(1))
            outputs.update(msg.get("outputs", {}))
            metrics.extend(msg.get("metrics", []))
    return outputs, metrics


def lookup(outputs: dict[str, dict[str, Any]], expr: str) -> Any:
    """Resolve a flow output `{{ outputs.<task>.vars.<a>.<b> }}` against the collected outputs."""
    m = re.fullmatch(r"\{\{\s*outputs\.(\w+)\.vars\.([\w.]+)\s*\}\}", expr.strip())
    assert m, f"flow output not of the form outputs.<task>.vars.<path>: {expr}"
    value: Any = outputs[m.group(1)]
    for key in m.group(2).split("."):
        assert isinstance(value, dict) and key in value, f"{expr}: no {key!r} in {value!r}"
        value = value[key]
    return value


def test_flow_commands_run_in_order_and_reconcile(fresh: Settings, tmp_path: Path) -> None:
    flow = yaml.safe_load(FLOW.read_text())
    assert [t["id"] for t in flow["tasks"]] == ORDER
    inputs = flow_inputs(flow, TEST_INPUTS)

    base_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KESTRA_", "LAKEHOUSE_KESTRA"))  # as a fresh worker would see it
    }
    base_env.update(settings_env(fresh))
    # the image puts /opt/lakehouse/venv/bin on PATH; here it is this interpreter's venv
    base_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base_env.get('PATH', '')}"

    collected: dict[str, dict[str, Any]] = {}
    metrics: dict[str, list[dict[str, Any]]] = {}
    for task in flow["tasks"]:
        tid = task["id"]
        assert task["taskRunner"]["type"] == "io.kestra.plugin.core.runner.Process", tid
        script = "\n".join(render(c, inputs) for c in task["commands"])
        env = dict(base_env)
        env.update({k: render(str(v), inputs) for k, v in (task.get("env") or {}).items()})
        workdir = tmp_path / tid
        workdir.mkdir()
        proc = subprocess.run(
            ["/bin/sh", "-c", "set -e\n" + script],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert proc.returncode == 0, (
            f"task {tid} exited {proc.returncode}\n--- script\n{script}\n"
            f"--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-5000:]}"
        )
        for name in task.get("outputFiles") or []:
            assert (workdir / name).is_file(), f"task {tid} did not write its output file {name}"
        collected[tid], metrics[tid] = kestra_messages(proc.stdout)
        assert collected[tid], f"task {tid} emitted no Kestra outputs:\n{proc.stdout[-2000:]}"

    # the values the flow exposes as its outputs exist in what the tasks emitted
    exposed = {o["id"]: lookup(collected, o["value"]) for o in flow["outputs"]}
    assert exposed["verified"] is True
    # + 1 % negative_amount and total_mismatch each: silver keeps them, flagged
    assert exposed["silver_rows"] == TEST_INPUTS["events"] * 102 // 100
    assert exposed["messages_acked"] == collected["generate_events"]["messages_acked"]
    assert exposed["run_id"].endswith(f"-{TEST_INPUTS['seed']}")

    verify = json.loads((tmp_path / "verify" / "verify.json").read_text())
    assert verify["ok"], verify
    wait = json.loads((tmp_path / "wait_for_processing" / "wait.json").read_text())
    assert wait["complete"] and not wait["missing"]
    assert sum(wait["end_offsets"].values()) == exposed["messages_acked"]

    # counters and timers for the Kestra UI
    names = {m["name"] for ms in metrics.values() for m in ms}
    assert {"messages_acked", "generate_duration", "bronze_rows", "silver_rows"} <= names, names
    assert {m["type"] for ms in metrics.values() for m in ms} == {"counter", "timer"}


@pytest.mark.skipif(
    not (KESTRA_JAVA_HOME / "bin" / "java").exists() or shutil.which("mvn") is None,
    reason=f"Kestra 2.x needs a JDK 25 (none at {KESTRA_JAVA_HOME}; set KESTRA_JAVA_HOME) and mvn",
)
@pytest.mark.parametrize("gold_engine", ["duckdb", "trino"])
def test_flow_runs_in_kestras_embedded_runner(
    gold_engine: str, request: pytest.FixtureRequest
) -> None:
    """The flow executed by Kestra 2.0 itself (kestra/validate FlowExecutionTest: executor, worker
    and Process task runner in one JVM, memory queue/repository) against the test stack, with gold
    on DuckDB and on Trino (GOLD_ENGINE=trino in the worker's environment, as in compose)."""
    settings: Settings = request.getfixturevalue("trino" if gold_engine == "trino" else "fresh")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KESTRA_EXECUTION")}
    env.update(settings_env(settings))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    run_flow_in_kestra(env)
    if gold_engine == "trino":  # gold was built on Trino: Iceberg tables in the gold namespace
        catalog = cat.load_catalog(settings)
        facts = cat.row_count(cat.load_table(catalog, f"{settings.gold_namespace}.fct_trips"))
        silver = cat.row_count(cat.load_table(catalog, f"{settings.silver_namespace}.trips"))
        assert facts == silver > 0, (facts, silver)
        assert not settings.gold_path.exists()  # and nothing in DuckDB
