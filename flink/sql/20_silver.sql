-- SILVER: bronze.raw_trips -> silver.trips (clean, typed, deduplicated, partitioned by pickup date)
--                          -> silver.trips_rejected (rule violations, with the reason)
--
-- * Typed in bronze (docs/contracts.md section 4); trip_id is a deterministic MD5 of the trip's
--   natural key, so a resent event gets the same id and is kept once (lowest Kafka
--   partition/offset wins).
-- * Batch, incremental (the default; lakehouse/flink/jobs.py plan_silver): reads only the bronze
--   rows after the offsets the last silver run recorded (${bronze_new_rows}), keeps the first
--   copy of each trip_id among them, drops the trip_ids silver already holds in the pickup-date
--   partitions they touch (${not_in_silver}: a duplicate has its original's pickup, hence its
--   partition) and APPENDS (${silver_insert} = INSERT INTO): a run writes only the partitions
--   its new rows belong to, late events included. Rejected rows are appended after the highest
--   offset trips_rejected holds (${rejected_after}). Exact under reruns and partial failures:
--   the anti-join and that offset make a repeated range a no-op for either table.
-- * Batch, full (lakehouse flink silver --full, or no recorded offsets yet): every filter TRUE,
--   INSERT OVERWRITE recomputes every partition from all of bronze.
-- * Readable by pyiceberg/DuckDB: appends and overwrites replace or add data files; no equality
--   deletes (pyiceberg 0.12 cannot read them), so no upsert sink here.
-- * Streaming (lakehouse stream start, lakehouse/flink/streaming.py): the same statements with
--     ${bronze_read_options} = an incremental streaming read of bronze (new snapshots as they
--                              are committed),
--     ${dedup_order}         = proc_time: Flink's keep-first deduplication on processing time,
--                              whose output is insert-only (the first copy of a trip_id is
--                              emitted, later copies never are), kept in state with a TTL
--                              (table.exec.state.ttl) and checkpointed (exactly-once),
--     ${silver_insert}       = INSERT INTO: appends per checkpoint, never equality deletes, so
--                              pyiceberg and DuckDB read silver while it streams,
--     ${silver_write_options} = no hash distribution to a single writer (parallelism 1).
--   The batch run instead orders copies by Kafka partition/offset.

SET 'execution.runtime-mode' = '${runtime_mode}';
SET 'table.local-time-zone' = 'UTC';
SET 'pipeline.name' = 'silver: ${catalog}.${bronze_db}.raw_trips -> ${catalog}.${silver_db}.trips';

CREATE DATABASE IF NOT EXISTS ${catalog}.${silver_db};

-- The event's columns are rendered from contracts/raw_trip.avsc (lakehouse/contract.py), the flag
-- columns from vars.silver_flags (lakehouse/silver_rules.py). Inserts name their columns: tables
-- created by an older release have their newer columns appended (lakehouse/catalog.py).
CREATE TABLE IF NOT EXISTS ${catalog}.${silver_db}.trips (
  trip_id                STRING NOT NULL,
  ${event_columns_ddl},
  pickup_date            DATE,
  kafka_partition        INT,
  kafka_offset           BIGINT,
  kafka_timestamp        TIMESTAMP(6),
  processed_at           TIMESTAMP(6),
  ${silver_flag_ddl}
) PARTITIONED BY (pickup_date) WITH (
  ${iceberg_table_properties},
  'write.distribution-mode' = 'hash'
);

-- partitioned like trips, so reading or fixing the rejections of some days reads only those
-- days (a row whose pickup time is missing lands in the null partition)
CREATE TABLE IF NOT EXISTS ${catalog}.${silver_db}.trips_rejected (
  trip_id                STRING NOT NULL,
  ${event_columns_ddl},
  pickup_date            DATE,
  kafka_partition        INT,
  kafka_offset           BIGINT,
  kafka_timestamp        TIMESTAMP(6),
  processed_at           TIMESTAMP(6),
  reason                 STRING NOT NULL,
  payload                STRING
) PARTITIONED BY (pickup_date) WITH (
  ${iceberg_table_properties},
  'write.distribution-mode' = 'hash'
);

-- bronze already holds the typed columns (parsed once, in the bronze job)
CREATE TEMPORARY VIEW typed_trips AS
SELECT
  trip_id, ${event_columns}, CAST(pickup_ts AS DATE) AS pickup_date,
  kafka_partition, kafka_offset, kafka_timestamp, payload${proctime_column}
FROM ${catalog}.${bronze_db}.raw_trips${bronze_read_options}
WHERE kafka_topic = '${topic}' AND ${bronze_new_rows};

-- The silver rules (docs/contracts.md section 1): ONE list, vars.silver_rules in
-- dbt/dbt_project.yml, which dbt's satisfies_silver_rules test checks too. Rendered by
-- lakehouse/silver_rules.py as CASE WHEN NOT COALESCE((<valid>), FALSE) THEN '<reason>' ... END:
-- the first rule that does not hold names the reason (NULL never passes a rule).
-- The silver flags (vars.silver_flags, checked by dbt's satisfies_silver_rules) are rendered the same
-- way, as ${silver_flag_columns}: CASE WHEN <when> THEN '<value>' ... ELSE '<else>' END AS <column>.
CREATE TEMPORARY VIEW checked_trips AS
SELECT
  t.*,
  ${silver_rule_case} AS reason,
  ${silver_flag_columns}
FROM typed_trips AS t;

CREATE TEMPORARY VIEW deduplicated_trips AS
SELECT *
FROM (
  SELECT
    c.*,
    ROW_NUMBER() OVER (PARTITION BY trip_id ORDER BY ${dedup_order}) AS copy_number
  FROM checked_trips AS c
  WHERE reason IS NULL
)
WHERE copy_number = 1${not_in_silver};

EXECUTE STATEMENT SET
BEGIN
  ${silver_insert} ${catalog}.${silver_db}.trips${silver_write_options} (
    trip_id, ${event_columns}, pickup_date, kafka_partition, kafka_offset, kafka_timestamp,
    processed_at, ${silver_flag_names})
  SELECT trip_id, ${event_columns}, pickup_date, kafka_partition, kafka_offset, kafka_timestamp,
         CAST(LOCALTIMESTAMP AS TIMESTAMP(6)), ${silver_flag_names}
  FROM deduplicated_trips;

  ${silver_insert} ${catalog}.${silver_db}.trips_rejected${silver_write_options} (
    trip_id, ${event_columns}, pickup_date, kafka_partition, kafka_offset, kafka_timestamp,
    processed_at, reason, payload)
  SELECT trip_id, ${event_columns}, pickup_date, kafka_partition, kafka_offset, kafka_timestamp,
         CAST(LOCALTIMESTAMP AS TIMESTAMP(6)), reason, payload
  FROM checked_trips
  WHERE reason IS NOT NULL AND ${rejected_after};
END;
