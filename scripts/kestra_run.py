"""Trigger the Kestra flow through Kestra's API, follow it to the end, exit non-zero unless it
succeeded.

    python scripts/kestra_run.py [--namespace lakehouse] [--flow taxi_pipeline]
                                 [--input events=100000 ...] [--timeout 3600] [--json]

Settings (environment, then .env at the repository root): KESTRA_URL (default
http://localhost:8080; http://kestra:8080 inside the compose network), KESTRA_BASIC_AUTH_USERNAME,
KESTRA_BASIC_AUTH_PASSWORD, KESTRA_TENANT (default main). Progress goes to stderr; with --json a
summary (execution id, state, per-task states and durations) goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
TERMINAL = {"SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "SKIPPED", "RETRIED"}


class KestraSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=REPO_ROOT / ".env", env_file_encoding="utf-8", extra="ignore"
    )

    kestra_url: str = "http://localhost:8080"
    kestra_tenant: str = "main"
    kestra_basic_auth_username: str = ""
    kestra_basic_auth_password: SecretStr = SecretStr("")


class KestraRunError(RuntimeError):
    pass


def log(message: str) -> None:
    print(f"[kestra-run] {message}", file=sys.stderr, flush=True)


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _span(state: dict[str, Any]) -> tuple[str | None, str | None, float | None]:
    """(start, end, seconds) of a Kestra State object (histories hold every transition)."""
    histories = state.get("histories") or []
    start = state.get("startDate") or (histories[0]["date"] if histories else None)
    end = state.get("endDate")
    if not end and histories and state.get("current") in TERMINAL:
        end = histories[-1]["date"]
    t0, t1 = _parse_time(start), _parse_time(end)
    seconds = round((t1 - t0).total_seconds(), 3) if t0 and t1 else None
    return start, end, seconds


def summarize(execution: dict[str, Any]) -> dict[str, Any]:
    start, end, seconds = _span(execution.get("state", {}))
    tasks = []
    for tr in execution.get("taskRunList") or []:
        t_start, t_end, t_seconds = _span(tr.get("state", {}))
        tasks.append(
            {
                "task": tr.get("taskId"),
                "state": tr.get("state", {}).get("current"),
                "start": t_start,
                "end": t_end,
                "seconds": t_seconds,
                "attempts": len(tr.get("attempts") or []),
            }
        )
    return {
        "execution_id": execution.get("id"),
        "namespace": execution.get("namespace"),
        "flow": execution.get("flowId"),
        "state": execution.get("state", {}).get("current"),
        "start": start,
        "end": end,
        "seconds": seconds,
        "tasks": tasks,
    }


class KestraClient:
    def __init__(self, settings: KestraSettings, client: httpx.Client | None = None):
        if not settings.kestra_basic_auth_username:
            raise KestraRunError(
                "KESTRA_BASIC_AUTH_USERNAME / KESTRA_BASIC_AUTH_PASSWORD are not set "
                "(`make env` writes them to .env)"
            )
        self.api = f"{settings.kestra_url.rstrip('/')}/api/v1/{settings.kestra_tenant}"
        self.http = client or httpx.Client(
            auth=(
                settings.kestra_basic_auth_username,
                settings.kestra_basic_auth_password.get_secret_value(),
            ),
            timeout=30,
        )

    def trigger(
        self, namespace: str, flow: str, inputs: dict[str, str], wait_for_flow_s: float = 120
    ) -> dict[str, Any]:
        """POST /executions/{namespace}/{flow}; inputs as multipart form fields. Retries while
        the flow is not loaded yet (404) or the server is still starting."""
        url = f"{self.api}/executions/{namespace}/{flow}"
        files = {k: (None, v) for k, v in inputs.items()}
        # the endpoint consumes multipart/form-data; without inputs send an empty multipart body
        empty = {
            "content": b"--taxi-lakehouse--\r\n",
            "headers": {"Content-Type": "multipart/form-data; boundary=taxi-lakehouse"},
        }
        deadline = time.monotonic() + wait_for_flow_s
        while True:
            try:
                resp = self.http.post(url, files=files) if files else self.http.post(url, **empty)
            except httpx.TransportError as exc:
                if time.monotonic() > deadline:
                    raise KestraRunError(f"Kestra not reachable at {url}: {exc}") from exc
                time.sleep(3)
                continue
            if resp.status_code == 401:
                raise KestraRunError("Kestra rejected the credentials (401): check .env")
            if resp.status_code in (404, 502, 503) and time.monotonic() < deadline:
                time.sleep(3)
                continue
            if resp.status_code >= 400:
                raise KestraRunError(f"trigger failed: HTTP {resp.status_code}: {resp.text[:500]}")
            return resp.json()

    def execution(self, execution_id: str) -> dict[str, Any]:
        resp = self.http.get(f"{self.api}/executions/{execution_id}")
        resp.raise_for_status()
        return resp.json()

    def error_logs(self, execution_id: str, limit: int = 30) -> list[str]:
        try:
            resp = self.http.get(f"{self.api}/logs/{execution_id}", params={"minLevel": "ERROR"})
            resp.raise_for_status()
        except httpx.HTTPError:
            return []
        entries = resp.json()
        if isinstance(entries, dict):  # paged shape
            entries = entries.get("results", [])
        return [f"{e.get('taskId') or '-'}: {e.get('message', '')}" for e in entries[-limit:]]

    def follow(self, execution_id: str, timeout_s: float, poll_s: float = 2.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        seen: dict[str, str] = {}
        while True:
            execution = self.execution(execution_id)
            for tr in execution.get("taskRunList") or []:
                state = tr.get("state", {}).get("current")
                key = tr.get("id") or tr.get("taskId")
                if seen.get(key) != state:
                    seen[key] = state
                    log(f"  {tr.get('taskId')}: {state}")
            current = execution.get("state", {}).get("current")
            if current in TERMINAL:
                return execution
            if time.monotonic() > deadline:
                raise KestraRunError(
                    f"execution {execution_id} still {current} after {timeout_s:.0f}s"
                )
            time.sleep(poll_s)


def parse_inputs(pairs: list[str]) -> dict[str, str]:
    inputs = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--input expects key=value, got {pair!r}")
        inputs[key] = value
    return inputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespace", default="lakehouse")
    parser.add_argument("--flow", default="taxi_pipeline")
    parser.add_argument("--input", action="append", default=[], help="flow input key=value")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the end")
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    parser.add_argument(
        "--allow-warning", action="store_true", help="exit 0 on WARNING too (default: only SUCCESS)"
    )
    args = parser.parse_args(argv)

    settings = KestraSettings()
    try:
        client = KestraClient(settings)
        created = client.trigger(args.namespace, args.flow, parse_inputs(args.input))
        execution_id = created["id"]
        log(f"execution {execution_id} of {args.namespace}.{args.flow} created")
        log(
            f"  {settings.kestra_url.rstrip('/')}/ui/{settings.kestra_tenant}/executions/"
            f"{args.namespace}/{args.flow}/{execution_id}"
        )
        execution = client.follow(execution_id, args.timeout)
    except (KestraRunError, httpx.HTTPError) as exc:
        log(f"error: {exc}")
        return 2

    summary = summarize(execution)
    ok = summary["state"] == "SUCCESS" or (args.allow_warning and summary["state"] == "WARNING")
    log(f"execution {execution_id}: {summary['state']} in {summary['seconds']}s")
    for task in summary["tasks"]:
        log(f"  {task['task']:<24} {task['state']:<10} {task['seconds']}s")
    if not ok:
        for line in client.error_logs(execution_id):
            log(f"  ERROR {line}")
    if args.json:
        print(json.dumps(summary, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
