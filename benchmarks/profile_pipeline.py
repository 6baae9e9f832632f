"""Where the seconds of a warm pipeline run go: each step split into its phases.

Runs `lakehouse.pipeline.run_pipeline` (the code `make pipeline` runs) on the native stack of
the current settings, with timing wrappers around the functions each step calls: planning
(pyiceberg reads), the SQL Gateway session, each statement, the wait for the Flink job (and
Flink's own job duration), recording offsets, describing tables, dbt (its invocation and its
own timing of the nodes), verify. Deletes the data first (topics, tables, gold: like
`make reset`); prints one table per run; the first run warms the stack.

    python benchmarks/profile_pipeline.py --events 10000 --runs 3
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lakehouse import catalog as cat  # noqa: E402
from lakehouse import dbt_runner, pipeline, topics  # noqa: E402
from lakehouse.flink import gateway, jobs  # noqa: E402
from lakehouse.settings import Settings, get_settings  # noqa: E402

STEPS = {"flink_bronze": "run_bronze", "flink_silver": "run_silver", "dbt_build": "run_dbt",
         "verify": "run_verify"}  # fmt: skip


class Profile:
    def __init__(self) -> None:
        self.step = "-"
        self.seconds: dict[tuple[str, str], float] = defaultdict(float)
        self.calls: dict[tuple[str, str], int] = defaultdict(int)
        self.flink_job_ms: dict[str, int] = {}

    def add(self, label: str, seconds: float) -> None:
        self.seconds[(self.step, label)] += seconds
        self.calls[(self.step, label)] += 1


def _statement_kind(statement: str) -> str:
    head = " ".join(statement.split()[:3]).upper()
    for prefix, kind in (("CREATE CATALOG", "create catalog"), ("CREATE DATABASE", "DDL"),
                         ("CREATE TABLE", "DDL"), ("CREATE TEMPORARY", "DDL (temporary)"),
                         ("SET", "SET"), ("USE", "USE"), ("EXECUTE", "submit job"),
                         ("INSERT", "submit job"), ("BEGIN", "statement set"),
                         ("END", "submit job")):  # fmt: skip
        if head.startswith(prefix):
            return f"gateway: {kind}"
    return "gateway: other"


@contextmanager
def patched(obj: Any, name: str, wrapper: Callable[[Callable], Callable]):
    original = getattr(obj, name)
    setattr(obj, name, wrapper(original))
    try:
        yield
    finally:
        setattr(obj, name, original)


def timed(prof: Profile, label: str | Callable[..., str]) -> Callable[[Callable], Callable]:
    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                name = label(*args, **kwargs) if callable(label) else label
                prof.add(name, time.perf_counter() - t0)

        return inner

    return wrap


def step(prof: Profile, name: str) -> Callable[[Callable], Callable]:
    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            prof.step = name
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                prof.add("(step total)", time.perf_counter() - t0)
                prof.step = "-"

        return inner

    return wrap


def profile_run(settings: Settings, events: int, seed: int) -> tuple[Profile, dict[str, Any]]:
    prof = Profile()

    def job_wait(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def inner(self: Any, job_id: str, timeout_s: float) -> Any:
            t0, wall0 = time.perf_counter(), time.time()
            result = fn(self, job_id, timeout_s)
            prof.add("wait for Flink job", time.perf_counter() - t0)
            prof.flink_job_ms[prof.step] = result.duration_ms
            # the job's own clock: from its creation to RUNNING, and from its end to seen here
            body = self.rest.get(f"/jobs/{job_id}").json()
            times = body.get("timestamps", {})
            if times.get("RUNNING") and times.get("FINISHED"):
                prof.add("  job created -> running", (times["RUNNING"] - times["CREATED"]) / 1e3)
                prof.add("  job running -> finished", (times["FINISHED"] - times["RUNNING"]) / 1e3)
                prof.add("  wait started -> job created", times["CREATED"] / 1e3 - wall0)
            return result

        return inner

    with ExitStack() as stack:
        for step_name, fn_name in STEPS.items():
            stack.enter_context(patched(pipeline, fn_name, step(prof, step_name)))
        from taxi_generator import producer  # run_pipeline imports it when it runs

        stack.enter_context(patched(producer, "run_generator", step(prof, "generate")))
        stack.enter_context(patched(pipeline.topics, "setup_topics",
                                    step(prof, "create_topics")))  # fmt: skip
        Gw = gateway.SqlGateway
        stack.enter_context(patched(Gw, "open_session", timed(prof, "gateway: open session")))
        stack.enter_context(patched(Gw, "close_session", timed(prof, "gateway: close session")))
        stack.enter_context(
            patched(
                Gw, "execute", timed(prof, lambda _self, _s, stmt, *a, **k: _statement_kind(stmt))
            )
        )
        stack.enter_context(patched(Gw, "wait_for_job", job_wait))
        for name in ("plan_bronze", "plan_silver", "_record_done", "_record_silver_done",
                     "_describe_tables"):  # fmt: skip
            stack.enter_context(patched(jobs, name, timed(prof, name)))
        stack.enter_context(patched(cat, "add_missing_columns", timed(prof, "add_missing_columns")))
        stack.enter_context(patched(dbt_runner, "_invoke", timed(prof, "dbt invocation")))
        stack.enter_context(patched(topics, "watermarks", timed(prof, "kafka watermarks")))
        t0 = time.perf_counter()
        result = pipeline.run_pipeline(settings, events=events, seed=seed, days=3)
        prof.seconds[("total", "(run)")] = time.perf_counter() - t0
    return prof, result


def dbt_own_timing(settings: Settings) -> dict[str, float]:
    """dbt's run_results.json of the last build: its elapsed time and the sum per node type."""
    path = settings.lakehouse_home.resolve() / "dbt" / "target" / "run_results.json"
    data = json.loads(path.read_text())
    out: dict[str, float] = {"dbt elapsed (run_results)": data.get("elapsed_time", 0.0)}
    for r in data["results"]:
        kind = r["unique_id"].split(".")[0]
        out[f"dbt nodes: {kind}"] = out.get(f"dbt nodes: {kind}", 0.0) + r["execution_time"]
    return out


def print_profile(prof: Profile, dbt: dict[str, float]) -> None:
    order = ["create_topics", "generate", "flink_bronze", "flink_silver", "dbt_build", "verify"]
    print(f"{'step':14} {'phase':34} {'calls':>5} {'seconds':>8}")
    for s in order:
        rows = sorted(((k[1], v) for k, v in prof.seconds.items() if k[0] == s),
                      key=lambda kv: (kv[0] != "(step total)", -kv[1]))  # fmt: skip
        for label, seconds in rows:
            print(f"{s:14} {label:34} {prof.calls[(s, label)]:5d} {seconds:8.2f}")
        if s in prof.flink_job_ms:
            print(f"{s:14} {'  of which Flink job (its duration)':34} {'':5} "
                  f"{prof.flink_job_ms[s] / 1000:8.2f}")  # fmt: skip
        if s == "dbt_build":
            for label, seconds in dbt.items():
                print(f"{s:14} {'  ' + label:34} {'':5} {seconds:8.2f}")
    print(f"{'total':14} {'':34} {'':5} {prof.seconds[('total', '(run)')]:8.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3, help="The first one warms the stack")
    # trip ids derive from the seed: a seed used before resends old trips (silver drops them)
    ap.add_argument("--seed", type=int, default=int(time.time()), help="Default: now")
    args = ap.parse_args()
    settings = get_settings()
    from lakehouse.reset import reset_data

    reset_data(settings)  # verify reconciles all of history: start from none
    for i in range(args.runs):
        prof, _ = profile_run(settings, args.events, args.seed + i)
        print(f"\n== run {i + 1} of {args.runs}: {args.events} events"
              f"{' (warm-up)' if i == 0 and args.runs > 1 else ''}")  # fmt: skip
        print_profile(prof, dbt_own_timing(settings))


if __name__ == "__main__":
    main()
