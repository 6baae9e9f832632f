-- SILVER: bronze.raw_trips -> silver.trips (clean, typed, deduplicated, partitioned by pickup date)
--                          -> silver.trips_rejected (rule violations, with the reason)
--
-- * Typed with docs/contracts.md section 4; trip_id is a deterministic MD5 of the trip's natural
--   key, so a resent event gets the same id and is kept once (lowest Kafka partition/offset wins).
-- * Idempotent: INSERT OVERWRITE recomputes the partitions it writes from all of bronze (bronze is
--   append-only, so every partition that had rows still has them). Reruns never duplicate.
-- * Readable by pyiceberg/DuckDB: overwrite replaces data files; no equality deletes (pyiceberg
--   0.12 cannot read them), so no upsert sink here.
-- * Late events are ordinary rows: they land in their pickup date's partition.

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
  processed_at           TIMESTAMP(6)
) PARTITIONED BY (pickup_date) WITH (
  'format-version' = '2',
  'write.format.default' = 'parquet',
  'write.parquet.compression-codec' = 'zstd',
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
  payload                STRING
) WITH (
  'format-version' = '2',
  'write.format.default' = 'parquet'
);

CREATE TEMPORARY VIEW typed_trips AS
SELECT
  LOWER(MD5(CONCAT_WS('|',
    JSON_VALUE(payload, '$.VendorID'),
    JSON_VALUE(payload, '$.tpep_pickup_datetime'),
    JSON_VALUE(payload, '$.tpep_dropoff_datetime'),
    JSON_VALUE(payload, '$.PULocationID'),
    JSON_VALUE(payload, '$.DOLocationID'),
    JSON_VALUE(payload, '$.trip_distance'),
    JSON_VALUE(payload, '$.total_amount'))))                                        AS trip_id,
  CAST(JSON_VALUE(payload, '$.VendorID') AS INT)                                    AS vendor_id,
  CAST(TO_TIMESTAMP(JSON_VALUE(payload, '$.tpep_pickup_datetime')) AS TIMESTAMP(6)) AS pickup_ts,
  CAST(TO_TIMESTAMP(JSON_VALUE(payload, '$.tpep_dropoff_datetime')) AS TIMESTAMP(6)) AS dropoff_ts,
  CAST(TO_TIMESTAMP(JSON_VALUE(payload, '$.tpep_pickup_datetime')) AS DATE)         AS pickup_date,
  CAST(JSON_VALUE(payload, '$.passenger_count') AS INT)                             AS passenger_count,
  CAST(JSON_VALUE(payload, '$.trip_distance') AS DOUBLE)                            AS trip_distance,
  CAST(JSON_VALUE(payload, '$.RatecodeID') AS INT)                                  AS rate_code_id,
  JSON_VALUE(payload, '$.store_and_fwd_flag')                                       AS store_and_fwd_flag,
  CAST(JSON_VALUE(payload, '$.PULocationID') AS INT)                                AS pu_location_id,
  CAST(JSON_VALUE(payload, '$.DOLocationID') AS INT)                                AS do_location_id,
  CAST(JSON_VALUE(payload, '$.payment_type') AS INT)                                AS payment_type,
  CAST(JSON_VALUE(payload, '$.fare_amount') AS DECIMAL(10, 2))                      AS fare_amount,
  CAST(JSON_VALUE(payload, '$.extra') AS DECIMAL(10, 2))                            AS extra,
  CAST(JSON_VALUE(payload, '$.mta_tax') AS DECIMAL(10, 2))                          AS mta_tax,
  CAST(JSON_VALUE(payload, '$.tip_amount') AS DECIMAL(10, 2))                       AS tip_amount,
  CAST(JSON_VALUE(payload, '$.tolls_amount') AS DECIMAL(10, 2))                     AS tolls_amount,
  CAST(JSON_VALUE(payload, '$.improvement_surcharge') AS DECIMAL(10, 2))            AS improvement_surcharge,
  CAST(JSON_VALUE(payload, '$.total_amount') AS DECIMAL(10, 2))                     AS total_amount,
  CAST(JSON_VALUE(payload, '$.congestion_surcharge') AS DECIMAL(10, 2))             AS congestion_surcharge,
  CAST(JSON_VALUE(payload, '$.Airport_fee') AS DECIMAL(10, 2))                      AS airport_fee,
  kafka_partition,
  kafka_offset,
  kafka_timestamp,
  payload
FROM ${catalog}.${bronze_db}.raw_trips
WHERE kafka_topic = '${topic}';

-- Business rules (docs/contracts.md section 1): the first failing rule names the reason.
CREATE TEMPORARY VIEW checked_trips AS
SELECT
  t.*,
  CASE
    WHEN fare_amount < 0 OR extra < 0 OR mta_tax < 0 OR tip_amount < 0 OR tolls_amount < 0
      OR improvement_surcharge < 0 OR total_amount < 0 OR congestion_surcharge < 0
      OR airport_fee < 0                                                            THEN 'negative_amount'
    WHEN dropoff_ts < pickup_ts                                                     THEN 'dropoff_before_pickup'
  END AS reason
FROM typed_trips AS t;

CREATE TEMPORARY VIEW deduplicated_trips AS
SELECT *
FROM (
  SELECT
    c.*,
    ROW_NUMBER() OVER (PARTITION BY trip_id ORDER BY kafka_partition, kafka_offset) AS copy_number
  FROM checked_trips AS c
  WHERE reason IS NULL
)
WHERE copy_number = 1;

EXECUTE STATEMENT SET
BEGIN
  INSERT OVERWRITE ${catalog}.${silver_db}.trips
  SELECT trip_id, vendor_id, pickup_ts, dropoff_ts, pickup_date, passenger_count, trip_distance,
         rate_code_id, store_and_fwd_flag, pu_location_id, do_location_id, payment_type,
         fare_amount, extra, mta_tax, tip_amount, tolls_amount, improvement_surcharge,
         total_amount, congestion_surcharge, airport_fee, kafka_partition, kafka_offset,
         kafka_timestamp, CAST(LOCALTIMESTAMP AS TIMESTAMP(6))
  FROM deduplicated_trips;

  INSERT OVERWRITE ${catalog}.${silver_db}.trips_rejected
  SELECT trip_id, vendor_id, pickup_ts, dropoff_ts, pickup_date, passenger_count, trip_distance,
         rate_code_id, store_and_fwd_flag, pu_location_id, do_location_id, payment_type,
         fare_amount, extra, mta_tax, tip_amount, tolls_amount, improvement_surcharge,
         total_amount, congestion_surcharge, airport_fee, kafka_partition, kafka_offset,
         kafka_timestamp, CAST(LOCALTIMESTAMP AS TIMESTAMP(6)), reason, payload
  FROM checked_trips
  WHERE reason IS NOT NULL;
END;
