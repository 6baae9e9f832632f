"""Launch a Dagster job through the webserver's GraphQL API, follow it to the end, exit non-zero
unless it succeeded.

    python scripts/dagster_run.py [--job taxi_pipeline] [--location taxi_lakehouse] [--timeout 3600]

Settings (environment): DAGSTER_GRAPHQL_HOST (default localhost; dagster-webserver inside the
compose network), DAGSTER_GRAPHQL_PORT (default 3000).
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def log(message: str) -> None:
    print(f"[dagster-run] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--job", default="taxi_pipeline")
    parser.add_argument("--location", default="taxi_lakehouse", help="code location name")
    parser.add_argument("--repository", default="__repository__", help="repository name")
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args(argv)

    from dagster import DagsterRunStatus
    from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

    host = os.environ.get("DAGSTER_GRAPHQL_HOST", "localhost")
    port = int(os.environ.get("DAGSTER_GRAPHQL_PORT", "3000"))
    client = DagsterGraphQLClient(host, port_number=port)
    terminal = {
        DagsterRunStatus.SUCCESS,
        DagsterRunStatus.FAILURE,
        DagsterRunStatus.CANCELED,
    }
    try:
        run_id = client.submit_job_execution(
            args.job,
            repository_location_name=args.location,
            repository_name=args.repository,
        )
        log(f"run {run_id} of job {args.job} submitted: http://{host}:{port}/runs/{run_id}")
        deadline = time.monotonic() + args.timeout
        status = None
        while True:
            new = client.get_run_status(run_id)
            if new != status:
                status = new
                log(f"  {status.value}")
            if status in terminal:
                break
            if time.monotonic() > deadline:
                log(f"run {run_id} still {status.value} after {args.timeout:.0f}s")
                return 2
            time.sleep(2)
    except DagsterGraphQLClientError as exc:
        log(f"error: {exc}")
        return 2
    return 0 if status == DagsterRunStatus.SUCCESS else 1


if __name__ == "__main__":
    sys.exit(main())
