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

CREATE TABLE IF NOT EXISTS ${catalog}.${silver_db}.trips (
  trip_id                STRING NOT NULL,
  vendor_id              INT,
  pickup_ts              TIMESTAMP(6),
  dropoff_ts             TIMESTAMP(6),
  pickup_date            DATE,
  passenger_count        INT,
  trip_distance          DOUBLE,
  rate_code_id           INT,
  store_and_fwd_flag     STRING,
  pu_location_id         INT,
  do_location_id         INT,
  payment_type           INT,
  fare_amount            DECIMAL(10, 2),
  extra                  DECIMAL(10, 2),
  mta_tax                DECIMAL(10, 2),
  tip_amount             DECIMAL(10, 2),
  tolls_amount           DECIMAL(10, 2),
  improvement_surcharge  DECIMAL(10, 2),
  total_amount           DECIMAL(10, 2),
  congestion_surcharge   DECIMAL(10, 2),
  airport_fee            DECIMAL(10, 2),
  kafka_partition        INT,
  kafka_offset           BIGINT,
  kafka_timestamp        TIMESTAMP(6),
  processed_at           TIMESTAMP(6),
  -- added after the first release: last, as schema evolution appends them to existing tables
  -- (lakehouse/catalog.py ADDED_COLUMNS)
  cbd_congestion_fee     DECIMAL(10, 2),
  -- the silver flags (vars.silver_flags): trip | void | refund, and how the amounts add up
  record_kind            STRING,
  amount_check           STRING
) PARTITIONED BY (pickup_date) WITH (
  'format-version' = '2',
  'write.format.default' = 'parquet',
  'write.parquet.compression-codec' = 'zstd',
  -- 16 MB row groups: Iceberg 1.11 always reads Parquet with vectored IO, and Hadoop's local
  -- file system intermittently never completed a ~36 MB row-group range (1M-row runs)
  'write.parquet.row-group-size-bytes' = '16777216',
  'write.distribution-mode' = 'hash'
);

CREATE TABLE IF NOT EXISTS ${catalog}.${silver_db}.trips_rejected (
  trip_id                STRING NOT NULL,
  vendor_id              INT,
  pickup_ts              TIMESTAMP(6),
  dropoff_ts             TIMESTAMP(6),
  pickup_date            DATE,
  passenger_count        INT,
  trip_distance          DOUBLE,
  rate_code_id           INT,
  store_and_fwd_flag     STRING,
  pu_location_id         INT,
  do_location_id         INT,
  payment_type           INT,
  fare_amount            DECIMAL(10, 2),
  extra                  DECIMAL(10, 2),
  mta_tax                DECIMAL(10, 2),
  tip_amount             DECIMAL(10, 2),
  tolls_amount           DECIMAL(10, 2),
  improvement_surcharge  DECIMAL(10, 2),
  total_amount           DECIMAL(10, 2),
  congestion_surcharge   DECIMAL(10, 2),
  airport_fee            DECIMAL(10, 2),
  kafka_partition        INT,
  kafka_offset           BIGINT,
  kafka_timestamp        TIMESTAMP(6),
  processed_at           TIMESTAMP(6),
  reason                 STRING NOT NULL,
  payload                STRING,
  cbd_congestion_fee     DECIMAL(10, 2)
-- partitioned like trips, so reading or fixing the rejections of some days reads only those
-- days (a row whose pickup time is missing lands in the null partition)
) PARTITIONED BY (pickup_date) WITH (
  'format-version' = '2',
  'write.format.default' = 'parquet',
  'write.parquet.compression-codec' = 'zstd',
  'write.parquet.row-group-size-bytes' = '16777216',
  'write.distribution-mode' = 'hash'
);

-- bronze already holds the typed columns (parsed once, in the bronze job)
CREATE TEMPORARY VIEW typed_trips AS
SELECT
  trip_id, vendor_id, pickup_ts, dropoff_ts, CAST(pickup_ts AS DATE) AS pickup_date,
  passenger_count, trip_distance, rate_code_id, store_and_fwd_flag, pu_location_id,
  do_location_id, payment_type, fare_amount, extra, mta_tax, tip_amount, tolls_amount,
  improvement_surcharge, total_amount, congestion_surcharge, airport_fee,
  kafka_partition, kafka_offset, kafka_timestamp, payload, cbd_congestion_fee${proctime_column}
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
  ${silver_insert} ${catalog}.${silver_db}.trips${silver_write_options}
  SELECT trip_id, vendor_id, pickup_ts, dropoff_ts, pickup_date, passenger_count, trip_distance,
         rate_code_id, store_and_fwd_flag, pu_location_id, do_location_id, payment_type,
         fare_amount, extra, mta_tax, tip_amount, tolls_amount, improvement_surcharge,
         total_amount, congestion_surcharge, airport_fee, kafka_partition, kafka_offset,
         kafka_timestamp, CAST(LOCALTIMESTAMP AS TIMESTAMP(6)), cbd_congestion_fee, record_kind,
         amount_check
  FROM deduplicated_trips;

  ${silver_insert} ${catalog}.${silver_db}.trips_rejected${silver_write_options}
  SELECT trip_id, vendor_id, pickup_ts, dropoff_ts, pickup_date, passenger_count, trip_distance,
         rate_code_id, store_and_fwd_flag, pu_location_id, do_location_id, payment_type,
         fare_amount, extra, mta_tax, tip_amount, tolls_amount, improvement_surcharge,
         total_amount, congestion_surcharge, airport_fee, kafka_partition, kafka_offset,
         kafka_timestamp, CAST(LOCALTIMESTAMP AS TIMESTAMP(6)), reason, payload,
         cbd_congestion_fee
  FROM checked_trips
  WHERE reason IS NOT NULL AND ${rejected_after};
END;
