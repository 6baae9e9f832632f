"""The same 10k-event pipeline on the native runtime and on the Docker Compose stack, one run each.

Both run `lakehouse pipeline` (topics, generate, bronze, silver, dbt build, verify) after a reset,
natively with the venv's CLI against `make up`, and on the compose stack in the tools container
(`make pipeline RUNTIME=docker`, the container's start included). Both stacks must be up and idle
(`make up`, `make up RUNTIME=docker`). Prints the wall times, their ratio and each container's
memory afterwards; appends to benchmarks/results/docker_vs_native.jsonl.

    python benchmarks/docker_vs_native.py --events 10000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "docker_vs_native.jsonl"


def timed(cmd: list[str], extra_env: dict[str, str] | None = None) -> float:
    import os

    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **(extra_env or {})})  # fmt: skip
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--docker-env-file", default=".env",
                    help="ENV_FILE of the compose stack (its ports must not clash with native)")  # fmt: skip
    args = ap.parse_args()
    lh = str(Path(sys.executable).parent / "lakehouse")
    pipeline = ["--events", str(args.events), "--seed", str(args.seed)]

    timed([lh, "stack", "reset", "--yes"])
    native = timed([lh, "pipeline", *pipeline])
    on_docker = ["RUNTIME=docker", f"ENV_FILE={args.docker_env_file}"]
    timed(["make", "-s", "reset", *on_docker])
    docker = timed(["make", "-s", "pipeline", *on_docker, f"EVENTS={args.events}",
                    f"SEED={args.seed}"])  # fmt: skip
    stats = subprocess.run(
        ["docker", "stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    memory = dict(line.split("\t", 1) for line in stats.splitlines() if "\t" in line)
    row = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "events": args.events,
           "native_s": round(native, 1), "docker_s": round(docker, 1),
           "ratio": round(docker / native, 2), "container_memory": memory}  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as f:
        f.write(json.dumps(row) + "\n")
    print(f"{args.events} events, lakehouse pipeline: native {native:.1f} s, docker {docker:.1f} s "
          f"(x{docker / native:.2f})")  # fmt: skip
    for name, usage in sorted(memory.items()):
        print(f"  {name:45s} {usage}")


if __name__ == "__main__":
    main()
