"""Client for the Flink SQL Gateway REST API and the JobManager REST API (httpx)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_fixed


class FlinkError(RuntimeError):
    """A statement or a job failed; the message carries Flink's root cause."""


@dataclass
class JobResult:
    job_id: str
    name: str
    state: str
    duration_ms: int
    vertices: list[dict[str, Any]] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return self.duration_ms / 1000.0


def _root_cause(errors: list[str]) -> str:
    """Flink returns Java stack traces; keep the innermost 'Caused by' lines readable."""
    text = "\n".join(errors)
    causes = [line.strip() for line in text.splitlines() if line.strip().startswith("Caused by:")]
    head = text.strip().splitlines()[0] if text.strip() else "unknown error"
    if causes:
        return head + "\n  " + "\n  ".join(causes[-3:])
    return "\n".join(text.strip().splitlines()[:8])


class SqlGateway:
    def __init__(self, gateway_url: str, rest_url: str, request_timeout: float = 60.0):
        self.http = httpx.Client(base_url=gateway_url.rstrip("/"), timeout=request_timeout)
        self.rest = httpx.Client(base_url=rest_url.rstrip("/"), timeout=request_timeout)

    def close(self) -> None:
        self.http.close()
        self.rest.close()

    # ------------------------------------------------------------------ sessions
    @retry(
        retry=retry_if_exception_type(httpx.TransportError),
        stop=stop_after_attempt(5),
        wait=wait_fixed(2),
        reraise=True,
    )
    def open_session(self, properties: dict[str, str] | None = None) -> str:
        resp = self.http.post("/v1/sessions", json={"properties": properties or {}})
        self._raise_for(resp, "open session")
        return resp.json()["sessionHandle"]

    def close_session(self, session: str) -> None:
        with contextlib.suppress(httpx.HTTPError):
            self.http.delete(f"/v1/sessions/{session}")

    # ------------------------------------------------------------------ statements
    def execute(self, session: str, statement: str, timeout_s: float = 300) -> dict[str, Any]:
        """Run one statement; return {'columns': [...], 'rows': [...], 'job_id': str|None}."""
        resp = self.http.post(f"/v1/sessions/{session}/statements", json={"statement": statement})
        self._raise_for(resp, _short(statement))
        op = resp.json()["operationHandle"]
        base = f"/v1/sessions/{session}/operations/{op}"
        deadline = time.monotonic() + timeout_s
        uri = f"{base}/result/0?rowFormat=JSON"
        columns: list[str] = []
        rows: list[list[Any]] = []
        job_id: str | None = None
        # most statements (SET, DDL) are ready within milliseconds: poll fast, then back off
        pause = 0.005
        while True:
            resp = self.http.get(uri)
            self._raise_for(resp, _short(statement))
            body = resp.json()
            job_id = body.get("jobID") or job_id
            results = body.get("results") or {}
            if results.get("columns"):
                columns = [c["name"] for c in results["columns"]]
            rows.extend(r["fields"] for r in results.get("data", []))
            kind = body.get("resultType")
            if kind == "EOS":
                break
            if time.monotonic() > deadline:
                raise FlinkError(f"timed out after {timeout_s}s waiting for: {_short(statement)}")
            next_uri = body.get("nextResultUri")
            if kind == "NOT_READY":
                time.sleep(pause)
                pause = min(pause * 2, 0.2)
            if next_uri:
                uri = next_uri if next_uri.startswith("/") else "/" + next_uri
        if job_id is None and columns == ["job id"] and rows:
            job_id = rows[0][0]
        return {"columns": columns, "rows": rows, "job_id": job_id}

    def _raise_for(self, resp: httpx.Response, what: str) -> None:
        if resp.status_code < 400:
            return
        try:
            errors = resp.json().get("errors", [resp.text])
        except ValueError:
            errors = [resp.text]
        raise FlinkError(f"Flink rejected `{what}`: {_root_cause(errors)}")

    # ------------------------------------------------------------------ jobs (JobManager REST)
    def wait_for_job(self, job_id: str, timeout_s: float) -> JobResult:
        # /jobs/<id>/status asks the dispatcher; /jobs/<id> answers from a cache that lives for
        # web.refresh-interval (3 s): polled, it would report a finished job seconds late
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.rest.get(f"/jobs/{job_id}/status").json().get("status", "UNKNOWN")
            if state in ("FINISHED", "FAILED", "CANCELED"):
                break
            if time.monotonic() > deadline:
                self.rest.patch(f"/jobs/{job_id}", params={"mode": "cancel"})
                raise FlinkError(f"job {job_id} still {state} after {timeout_s}s: cancelled")
            time.sleep(0.1)  # one small REST call: a finished job is seen within 0.1 s
        body = self.rest.get(f"/jobs/{job_id}").json()  # first read: not cached while running
        result = JobResult(
            job_id=job_id,
            name=body.get("name", ""),
            state=state,
            duration_ms=int(body.get("duration", 0)),
            vertices=body.get("vertices", []),
        )
        if state != "FINISHED":
            exc = self.rest.get(f"/jobs/{job_id}/exceptions").json()
            root = (exc.get("rootException") or "").strip()
            if not root and exc.get("exceptionHistory", {}).get("entries"):
                root = exc["exceptionHistory"]["entries"][0].get("stacktrace", "")
            raise FlinkError(f"job '{result.name}' ({job_id}) {state}: {_root_cause([root])}")
        return result


def _short(statement: str, n: int = 120) -> str:
    one = " ".join(statement.split())
    return one if len(one) <= n else one[: n - 3] + "..."
