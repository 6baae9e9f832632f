"""scripts/kestra_run.py against a fake Kestra API (httpx.MockTransport): trigger, follow,
summary, exit codes."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import httpx
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "kestra_run.py"
spec = importlib.util.spec_from_file_location("kestra_run", SCRIPT)
kestra_run = importlib.util.module_from_spec(spec)
sys.modules["kestra_run"] = kestra_run  # pydantic resolves the settings' annotations there
spec.loader.exec_module(kestra_run)


def _state(current: str, start: str, end: str | None = None) -> dict:
    histories = [{"state": "CREATED", "date": start}]
    if end:
        histories.append({"state": current, "date": end})
    return {"current": current, "histories": histories}


def fake_kestra(final: str, seen: list[httpx.Request]) -> httpx.MockTransport:
    polls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "POST":
            return httpx.Response(200, json={"id": "ex1", "state": {"current": "CREATED"}})
        if request.url.path.endswith("/logs/ex1"):
            return httpx.Response(200, json=[{"taskId": "silver", "message": "job failed"}])
        polls["n"] += 1
        running = polls["n"] < 2
        return httpx.Response(
            200,
            json={
                "id": "ex1", "namespace": "lakehouse", "flowId": "taxi_pipeline",
                "state": _state("RUNNING" if running else final, "2026-11-25T10:00:00Z",
                                None if running else "2026-11-25T10:01:30.5Z"),
                "taskRunList": [
                    {"id": "t1", "taskId": "bronze", "attempts": [{}],
                     "state": _state("SUCCESS", "2026-11-25T10:00:01Z", "2026-11-25T10:00:13Z")},
                ],
            },
        )  # fmt: skip

    return httpx.MockTransport(handler)


def _run(monkeypatch, final: str, argv: list[str]) -> tuple[int, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    transport = fake_kestra(final, seen)
    real_client = kestra_run.KestraClient.__init__

    def init(self, settings, client=None):
        real_client(self, settings, httpx.Client(transport=transport, auth=("a@b.io", "Pw1xxxxx")))

    monkeypatch.setattr(kestra_run.KestraClient, "__init__", init)
    monkeypatch.setattr(kestra_run.time, "sleep", lambda s: None)
    monkeypatch.setenv("KESTRA_URL", "http://kestra:8080")
    monkeypatch.setenv("KESTRA_BASIC_AUTH_USERNAME", "a@b.io")
    return kestra_run.main(argv), seen


def test_success_prints_summary(monkeypatch, capsys) -> None:
    rc, seen = _run(monkeypatch, "SUCCESS", ["--json", "--input", "events=100"])
    assert rc == 0
    post = seen[0]
    assert post.url.path == "/api/v1/main/executions/lakehouse/taxi_pipeline"
    assert post.headers["content-type"].startswith("multipart/form-data")
    assert b'name="events"' in post.content
    summary = json.loads(capsys.readouterr().out)
    assert summary["state"] == "SUCCESS" and summary["seconds"] == 90.5
    assert summary["tasks"] == [{"task": "bronze", "state": "SUCCESS", "start": "2026-11-25T10:00:01Z",
                                 "end": "2026-11-25T10:00:13Z", "seconds": 12.0, "attempts": 1}]  # fmt: skip


def test_failure_exits_non_zero_with_error_logs(monkeypatch, capsys) -> None:
    rc, _ = _run(monkeypatch, "FAILED", [])
    assert rc == 1
    assert "silver: job failed" in capsys.readouterr().err


def test_missing_credentials_is_an_error(monkeypatch) -> None:
    monkeypatch.setenv("KESTRA_BASIC_AUTH_USERNAME", "")
    with pytest.raises(kestra_run.KestraRunError, match="KESTRA_BASIC_AUTH_USERNAME"):
        kestra_run.KestraClient(kestra_run.KestraSettings(_env_file=None))
