"""Real-shaped volume: the 2025 TLC sample (data/tlc) tiled to any number of rows.

Copy ``c`` of the sample moves every timestamp back by ``c % 50`` whole weeks (weekdays and
hours keep their real pattern; 50 weeks stay inside silver's 13-month pickup window) and, past
50 copies, by ``c // 50`` more seconds, so each copy's trips stay distinct (trip_id hashes the
times). Nothing else changes: the vendors' conventions, voids, refunds and outliers repeat as
they are. Written as one Parquet file per copy, the directory ``lakehouse generate --from``
replays.

    python benchmarks/tlc_tiles.py --rows 1000000 --out .lakehouse/bench/tlc_1m
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "tlc" / "angel-wm_yellow_2025-01_random5000.parquet"
TIMES = ("tpep_pickup_datetime", "tpep_dropoff_datetime")
WEEKS = 50


def tile(rows: int, out: Path, sample: Path = SAMPLE) -> Path:
    """Write ``rows`` rows (the sample's, repeated and shifted) to ``out``; idempotent."""
    table = pq.read_table(sample)
    copies = -(-rows // table.num_rows)
    out.mkdir(parents=True, exist_ok=True)
    done = out / f".complete-{rows}"
    if done.exists():
        return out
    for old in out.glob("*.parquet"):
        old.unlink()
    left = rows
    for c in range(copies):
        delta = timedelta(weeks=c % WEEKS, seconds=c // WEEKS)
        part = table.slice(0, min(left, table.num_rows))
        for name in TIMES:
            col = part[name]
            shifted = pc.subtract(col, pa.scalar(delta, pa.duration(col.type.unit)))
            part = part.set_column(part.schema.get_field_index(name), name, shifted)
        pq.write_table(part, out / f"yellow_tripdata_tile_{c:05d}.parquet")
        left -= part.num_rows
    done.write_text(f"{rows} rows from {sample.name}\n")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    print(tile(args.rows, args.out))


if __name__ == "__main__":
    main()
