"""The city's real data through the real engines: a TLC sample (data/tlc, SOURCES.md) replayed
in Avro (the default format) to Kafka, Flink bronze and silver, dbt gold on DuckDB and verify.

Gold's daily trip counts and revenue are compared with an independent recompute: DuckDB straight
from the Parquet file, with the documented rules written out here by hand (docs/contracts.md,
section 1), not with the pipeline's own SQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from taxi_generator.producer import run_replay

from lakehouse import catalog as cat
from lakehouse import topics
from lakehouse.dbt_runner import run_dbt
from lakehouse.flink.jobs import run_bronze, run_silver
from lakehouse.settings import REPO_ROOT, Settings
from lakehouse.verify import run_verify

from .conftest import make_settings

pytestmark = pytest.mark.integration

DATA = REPO_ROOT / "data" / "tlc"
SAMPLE = DATA / "angel-wm_yellow_2025-01_random5000.parquet"
#: every real sample, with the rows silver rejects and why (docs/contracts.md, section 1)
SAMPLES = {
    SAMPLE.name: {"dropoff_before_pickup": 1, "implausible_distance": 1},
    # the 2002 pickup of a 2024-01 file
    "anishkaranth_yellow_2024-01_29rows.parquet": {"implausible_pickup_time": 1},
    # two pickups of 2021-11-22 in the 2021-10 file: after the shift, later than their record
    "great_expectations_yellow_2021-10_1000.parquet": {"implausible_pickup_time": 2},
}


def _recompute(path: Path, shift_days: int, sent_at: datetime) -> dict:
    """Per shifted pickup day: trips (not voids or refunds), gross, corrections, net."""
    rows = duckdb.sql(f"""
        with shifted as (
            select *, tpep_pickup_datetime + interval ({shift_days}) day as pickup
            from read_parquet('{path}')
        ),
        real as (  -- what cannot be real: the rules of docs/contracts.md (no code, zone,
                   -- flag or passenger outliers in these files: the unit tests check them)
            select * from shifted
            where tpep_dropoff_datetime >= tpep_pickup_datetime
              and tpep_dropoff_datetime <= tpep_pickup_datetime + interval 1 day
              and trip_distance between 0 and 500
              and pickup <= timestamp '{sent_at}' + interval 1 day
              and pickup >= timestamp '{sent_at}' - interval 13 month
        )
        select cast(pickup as date),
               count(*) filter (where total_amount >= 0),
               round(sum(total_amount) filter (where total_amount >= 0), 2),
               round(coalesce(sum(total_amount) filter (where total_amount < 0), 0), 2),
               round(sum(total_amount), 2)
        from real group by 1
    """).fetchall()  # fmt: skip
    return {d: (n, Decimal(str(g)), Decimal(str(c)), Decimal(str(net))) for d, n, g, c, net in rows}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_real_tlc_file_reaches_gold_and_matches_an_independent_recompute(stack, name) -> None:
    from lakehouse.reset import reset_data

    path = DATA / name
    rows = pq.ParquetFile(path).metadata.num_rows
    s: Settings = make_settings(topic_raw="taxi.real_tlc", topic_dlq="taxi.real_tlc.dlq")
    reset_data(s)
    topics.create_topics(s)
    sent_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    manifest = run_replay(s, path, now=sent_at)
    assert manifest.event_format == "avro"
    assert manifest.counts == {"replayed": rows} and manifest.not_sent == 0

    run_bronze(s)
    run_silver(s)
    assert "ERROR=0" in run_dbt(s, "build").summary
    report = run_verify(s)
    assert report.ok, report
    f = report.figures
    assert f["dead_letter_rows"] == 0
    assert f["silver_rows"] + f["silver_rejected_rows"] + f["duplicates_removed"] == rows
    if rows >= 1000:
        assert f["silver_rows"] >= 0.995 * rows
    # the rows no TLC analyst would keep, with their documented reasons
    assert f["rejected_by_reason"] == SAMPLES[name]

    if path == SAMPLE:  # Avro kept every CBD fee (schema v2)
        silver = cat.read_columns(
            cat.load_table(cat.load_catalog(s), f"{s.silver_namespace}.trips"),
            ("cbd_congestion_fee", "record_kind"),
        )
        fees = duckdb.sql(f"select count(cbd_congestion_fee) from read_parquet('{path}')")
        assert silver["cbd_congestion_fee"].null_count == 0 and fees.fetchall() == [(rows,)]
        assert set(silver["record_kind"].to_pylist()) == {"trip", "void", "refund"}

    # the Kafka timestamps are the produce time, just after sent_at: the pickup window of the
    # recompute is taken at sent_at (no sample has a pickup within seconds of its edges)
    expected = _recompute(path, manifest.shift_days, sent_at)
    with duckdb.connect(str(s.gold_path), read_only=True) as con:
        gold = con.execute(
            "select revenue_date, trip_count, gross_revenue, corrections_revenue, net_revenue "
            "from mart_daily_revenue where trip_count > 0 or net_revenue <> 0"
        ).fetchall()
    assert {d: (n, g, c, net) for d, n, g, c, net in gold} == expected
