"""The SQL the jobs submit, rendered for batch and streaming (pure logic, no engine; the engines
run it in tests/integration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.flink.jobs import (
    SQL_DIR,
    BronzePlan,
    SilverPlan,
    _after,
    _offset_range,
    base_params,
    bronze_params,
    render,
    silver_params,
    split_statements,
)
from lakehouse.flink.streaming import _params, stream_properties
from lakehouse.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(lakehouse_home=tmp_path, event_format="avro")


def _rendered(script: str, params: dict[str, str]) -> list[str]:
    return [render(s, params) for s in split_statements((SQL_DIR / script).read_text())]


def test_after_predicate_per_partition() -> None:
    assert _after({}) == "TRUE"
    assert _after({1: 40, 0: 7}) == (
        "kafka_offset > CASE kafka_partition WHEN 0 THEN 7 WHEN 1 THEN 40 ELSE -1 END"
    )


def test_bronze_plan_starts_after_the_table_that_is_behind(settings: Settings) -> None:
    plan = BronzePlan(start={0: 5, 1: 0}, stop={0: 9, 1: 3}, raw_done={0: 8}, dlq_done={0: 4})
    assert plan.new_messages == 7
    params = bronze_params(settings, plan, bounded=True)
    sql = "\n".join(_rendered("10_bronze.sql", params))
    assert "'scan.startup.specific-offsets' = 'partition:0,offset:5;partition:1,offset:0'" in sql
    assert "'scan.bounded.specific-offsets' = 'partition:0,offset:9;partition:1,offset:3'" in sql
    assert "WHERE reason IS NULL AND kafka_offset > CASE kafka_partition WHEN 0 THEN 8" in sql
    assert sql.count("WHERE reason IS NOT NULL AND kafka_offset > CASE kafka_partition WHEN 0 "
                     "THEN 4 ELSE -1 END") == 2  # fmt: skip
    assert "decode_taxi_event(k.payload, 'avro', 'http://localhost:8085/apis/ccompat/v7')" in sql
    streaming = bronze_params(settings, plan, bounded=False)
    assert "scan.bounded" not in "\n".join(_rendered("10_bronze.sql", streaming))


def test_silver_batch_overwrites_and_streaming_appends(settings: Settings) -> None:
    batch = "\n".join(_rendered("20_silver.sql", base_params(settings)))
    assert "INSERT OVERWRITE lakehouse.silver.trips" in batch
    assert "ORDER BY kafka_partition, kafka_offset" in batch
    assert "PROCTIME()" not in batch
    stream = "\n".join(_rendered("20_silver.sql", _params(settings, "silver")))
    assert "SET 'execution.runtime-mode' = 'streaming'" in stream
    assert "INSERT INTO lakehouse.silver.trips" in stream and "OVERWRITE" not in stream
    assert "PROCTIME() AS proc_time" in stream and "ORDER BY proc_time" in stream
    assert "'streaming'='true'" in stream
    # one streaming writer: no hash exchange before it; the batch job keeps the tables' hash
    assert "trips /*+ OPTIONS('distribution-mode'='none') */" in stream
    assert "trips_rejected /*+ OPTIONS('distribution-mode'='none') */" in stream
    assert "OPTIONS('distribution-mode'" not in batch


def test_stream_properties_checkpoint_exactly_once_and_resume(settings: Settings) -> None:
    fresh = stream_properties(settings, "silver", None)
    assert fresh["execution.checkpointing.mode"] == "EXACTLY_ONCE"
    assert fresh["execution.checkpointing.interval"] == "2s"
    # incremental checkpoints: each writes what changed, not all of the dedup state
    assert fresh["state.backend.type"] == "rocksdb"
    assert fresh["execution.checkpointing.incremental"] == "true"
    assert fresh["state.backend.rocksdb.use-bloom-filter"] == "true"
    heap = stream_properties(
        settings.model_copy(update={"stream_state_backend": "hashmap"}), "silver", None
    )
    assert heap["state.backend.type"] == "hashmap"
    assert heap["execution.checkpointing.incremental"] == "false"
    assert fresh["execution.checkpointing.externalized-checkpoint-retention"] == (
        "RETAIN_ON_CANCELLATION"
    )
    assert fresh["table.exec.state.ttl"] == "7 d"
    assert fresh["execution.checkpointing.dir"].endswith("/streams/silver/checkpoints")
    assert "execution.state-recovery.path" not in fresh
    resumed = stream_properties(settings, "silver", "/x/savepoint-1")
    assert resumed["execution.state-recovery.path"] == "/x/savepoint-1"


def test_offset_range_reads_only_new_offsets() -> None:
    assert _offset_range({0: 9, 1: -1}, {0: 12, 1: 3, 2: 5}) == (
        "((kafka_partition = 0 AND kafka_offset >= 10 AND kafka_offset <= 12) OR "
        "(kafka_partition = 1 AND kafka_offset >= 0 AND kafka_offset <= 3) OR "
        "(kafka_partition = 2 AND kafka_offset >= 0 AND kafka_offset <= 5))"
    )
    assert _offset_range({0: 12}, {0: 12}) == ""  # nothing new


def test_incremental_silver_appends_new_rows_not_in_silver(settings: Settings) -> None:
    plan = SilverPlan(full=False, start={0: 9}, stop={0: 20}, new_rows=11,
                      touched_dates=["2026-11-30", "2026-12-01"], rejected_done={0: 7})  # fmt: skip
    sql = "\n".join(_rendered("20_silver.sql", silver_params(settings, plan)))
    assert "INSERT OVERWRITE" not in sql and "INSERT INTO lakehouse.silver.trips" in sql
    assert "kafka_partition = 0 AND kafka_offset >= 10 AND kafka_offset <= 20" in sql
    assert ("trip_id NOT IN (SELECT trip_id FROM lakehouse.silver.trips WHERE pickup_date IN "
            "(DATE '2026-11-30', DATE '2026-12-01'))") in sql  # fmt: skip
    assert "WHERE reason IS NOT NULL AND kafka_offset > CASE kafka_partition WHEN 0 THEN 7" in sql
    full = "\n".join(_rendered("20_silver.sql", silver_params(settings, SilverPlan(True, {}, {}))))
    assert "INSERT OVERWRITE lakehouse.silver.trips" in full and "NOT IN" not in full
