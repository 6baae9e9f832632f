-- BRONZE: Kafka topic -> Iceberg, append-only raw records + ingestion metadata.
--
-- * Reads the topic as raw bytes (value.format = raw), so a record that is not valid JSON can
--   never fail the job: every record is classified, valid ones go to bronze.raw_trips, invalid ones
--   to the dead letter (Iceberg table bronze.trips_dead_letter AND the Kafka DLQ topic) with the
--   raw payload and the reason. Nothing is dropped.
-- * Incremental and idempotent: the CLI starts at the offsets right after the highest offset per
--   partition already in bronze/dead letter (${startup_options}) and stops at the end offsets seen at
--   start (bounded). A rerun with nothing new reads nothing; a failed run commits nothing
--   (Iceberg commits atomically at the end of a batch job).
-- * Streaming: the same statements run continuously when execution.runtime-mode = streaming and
--   scan.bounded.mode is dropped (Iceberg then commits on every checkpoint).

SET 'execution.runtime-mode' = '${runtime_mode}';
SET 'table.local-time-zone' = 'UTC';
SET 'pipeline.name' = 'bronze: ${topic} -> ${catalog}.${bronze_db}.raw_trips';

CREATE DATABASE IF NOT EXISTS ${catalog}.${bronze_db};

CREATE TABLE IF NOT EXISTS ${catalog}.${bronze_db}.raw_trips (
  kafka_topic      STRING NOT NULL,
  kafka_partition  INT    NOT NULL,
  kafka_offset     BIGINT NOT NULL,
  kafka_timestamp  TIMESTAMP(6),
  record_key       STRING,
  payload          STRING NOT NULL,
  ingested_at      TIMESTAMP(6) NOT NULL,
  ingest_date      DATE NOT NULL
) PARTITIONED BY (ingest_date) WITH (
  'format-version' = '2',
  'write.format.default' = 'parquet',
  'write.parquet.compression-codec' = 'zstd'
);

CREATE TABLE IF NOT EXISTS ${catalog}.${bronze_db}.trips_dead_letter (
  kafka_topic      STRING NOT NULL,
  kafka_partition  INT    NOT NULL,
  kafka_offset     BIGINT NOT NULL,
  kafka_timestamp  TIMESTAMP(6),
  record_key       STRING,
  payload          STRING,
  reason           STRING NOT NULL,
  ingested_at      TIMESTAMP(6) NOT NULL
) WITH (
  'format-version' = '2',
  'write.format.default' = 'parquet'
);

CREATE TEMPORARY TABLE kafka_raw_trips (
  record_key       STRING,
  payload          STRING,
  kafka_topic      STRING           METADATA FROM 'topic' VIRTUAL,
  kafka_partition  INT              METADATA FROM 'partition' VIRTUAL,
  kafka_offset     BIGINT           METADATA FROM 'offset' VIRTUAL,
  kafka_timestamp  TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL
) WITH (
  'connector' = 'kafka',
  'topic' = '${topic}',
  'properties.bootstrap.servers' = '${bootstrap_servers}',
  'properties.group.id' = 'lakehouse-bronze',
  'properties.isolation.level' = 'read_committed',
  ${startup_options},
  'key.format' = 'raw',
  'key.fields' = 'record_key',
  'value.format' = 'raw',
  'value.fields-include' = 'EXCEPT_KEY'
);

CREATE TEMPORARY TABLE kafka_dead_letter (
  source_topic     STRING,
  source_partition INT,
  source_offset    BIGINT,
  record_key       STRING,
  payload          STRING,
  reason           STRING,
  detected_at      TIMESTAMP(3)
) WITH (
  'connector' = 'kafka',
  'topic' = '${dlq_topic}',
  'properties.bootstrap.servers' = '${bootstrap_servers}',
  'format' = 'json',
  'sink.delivery-guarantee' = 'at-least-once'
);

-- Structural validation (docs/contracts.md section 1). The first failing rule names the reason.
CREATE TEMPORARY VIEW classified_trips AS
SELECT
  k.*,
  CASE
    WHEN payload IS NULL OR NOT (payload IS JSON OBJECT)                                    THEN 'malformed_json'
    WHEN JSON_VALUE(payload, '$.VendorID') IS NULL                                          THEN 'missing_field:VendorID'
    WHEN JSON_VALUE(payload, '$.tpep_pickup_datetime') IS NULL                              THEN 'missing_field:tpep_pickup_datetime'
    WHEN JSON_VALUE(payload, '$.tpep_dropoff_datetime') IS NULL                             THEN 'missing_field:tpep_dropoff_datetime'
    WHEN JSON_VALUE(payload, '$.trip_distance') IS NULL                                     THEN 'missing_field:trip_distance'
    WHEN JSON_VALUE(payload, '$.PULocationID') IS NULL                                      THEN 'missing_field:PULocationID'
    WHEN JSON_VALUE(payload, '$.DOLocationID') IS NULL                                      THEN 'missing_field:DOLocationID'
    WHEN JSON_VALUE(payload, '$.payment_type') IS NULL                                      THEN 'missing_field:payment_type'
    WHEN JSON_VALUE(payload, '$.fare_amount') IS NULL                                       THEN 'missing_field:fare_amount'
    WHEN JSON_VALUE(payload, '$.total_amount') IS NULL                                      THEN 'missing_field:total_amount'
    WHEN NOT REGEXP(JSON_VALUE(payload, '$.VendorID'), '^-?[0-9]+$')                        THEN 'wrong_type:VendorID'
    WHEN NOT REGEXP(JSON_VALUE(payload, '$.tpep_pickup_datetime'), '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$') OR TO_TIMESTAMP(JSON_VALUE(payload, '$.tpep_pickup_datetime')) IS NULL
      THEN 'wrong_type:tpep_pickup_datetime'
    WHEN NOT REGEXP(JSON_VALUE(payload, '$.tpep_dropoff_datetime'), '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$') OR TO_TIMESTAMP(JSON_VALUE(payload, '$.tpep_dropoff_datetime')) IS NULL
      THEN 'wrong_type:tpep_dropoff_datetime'
    WHEN JSON_VALUE(payload, '$.passenger_count') IS NOT NULL AND NOT REGEXP(JSON_VALUE(payload, '$.passenger_count'), '^-?[0-9]+$')
      THEN 'wrong_type:passenger_count'
    WHEN JSON_VALUE(payload, '$.trip_distance') IS NOT NULL AND NOT REGEXP(JSON_VALUE(payload, '$.trip_distance'), '^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$')
      THEN 'wrong_type:trip_distance'
    WHEN JSON_VALUE(payload, '$.RatecodeID') IS NOT NULL AND NOT REGEXP(JSON_VALUE(payload, '$.RatecodeID'), '^-?[0-9]+$')
      THEN 'wrong_type:RatecodeID'
    WHEN JSON_VALUE(payload, '$.PULocationID') IS NOT NULL AND NOT REGEXP(JSON_VALUE(payload, '$.PULocationID'), '^-?[0-9]+$')
      THEN 'wrong_type:PULocationID'
    WHEN JSON_VALUE(payload, '$.DOLocationID') IS NOT NULL AND NOT REGEXP(JSON_VALUE(payload, '$.DOLocationID'), '^-?[0-9]+$')
      THEN 'wrong_type:DOLocationID'
    WHEN JSON_VALUE(payload, '$.payment_type') IS NOT NULL AND NOT REGEXP(JSON_VALUE(payload, '$.payment_type'), '^-?[0-9]+$')
      THEN 'wrong_type:payment_type'
    WHEN JSON_VALUE(payload, '$.fare_amount') IS NOT NULL AND NOT REGEXP(JSON_VALUE(payload, '$.fare_amount'), '^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$')
      THEN 'wrong_type:fare_amount'
    WHEN JSON_VALUE(payload, '$.extra') IS NOT NULL AND NOT REGEXP(JSON_VALUE(payload, '$.extra'), '^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$')
      THEN 'wrong_type:extra'
    WHEN JSON_VALUE(payload, '$.mta_tax') IS NOT NULL AND NOT REGEXP(JSON_VALUE(payload, '$.mta_tax'), '^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$')
      THEN 'wrong_type:mta_tax'
    WHEN JSON_VALUE(payload, '$.tip_amount') IS NOT NULL AND NOT REGEXP(JSON_VALUE(payload, '$.tip_amount'), '^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$')
      THEN 'wrong_type:tip_amount'
    WHEN JSON_VALUE(payload, '$.tolls_amount') IS NOT NULL AND NOT REGEXP(JSON_VALUE(payload, '$.tolls_amount'), '^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$')
      THEN 'wrong_type:tolls_amount'
    WHEN JSON_VALUE(payload, '$.improvement_surcharge') IS NOT NULL AND NOT REGEXP(JSON_VALUE(payload, '$.improvement_surcharge'), '^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$')
      THEN 'wrong_type:improvement_surcharge'
    WHEN JSON_VALUE(payload, '$.total_amount') IS NOT NULL AND NOT REGEXP(JSON_VALUE(payload, '$.total_amount'), '^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$')
      THEN 'wrong_type:total_amount'
    WHEN JSON_VALUE(payload, '$.congestion_surcharge') IS NOT NULL AND NOT REGEXP(JSON_VALUE(payload, '$.congestion_surcharge'), '^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$')
      THEN 'wrong_type:congestion_surcharge'
    WHEN JSON_VALUE(payload, '$.Airport_fee') IS NOT NULL AND NOT REGEXP(JSON_VALUE(payload, '$.Airport_fee'), '^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$')
      THEN 'wrong_type:Airport_fee'
  END AS reason
FROM kafka_raw_trips AS k;

EXECUTE STATEMENT SET
BEGIN
  INSERT INTO ${catalog}.${bronze_db}.raw_trips
  SELECT kafka_topic, kafka_partition, kafka_offset, CAST(kafka_timestamp AS TIMESTAMP(6)),
         record_key, payload, CAST(LOCALTIMESTAMP AS TIMESTAMP(6)), CURRENT_DATE
  FROM classified_trips
  WHERE reason IS NULL;

  INSERT INTO ${catalog}.${bronze_db}.trips_dead_letter
  SELECT kafka_topic, kafka_partition, kafka_offset, CAST(kafka_timestamp AS TIMESTAMP(6)),
         record_key, payload, reason, CAST(LOCALTIMESTAMP AS TIMESTAMP(6))
  FROM classified_trips
  WHERE reason IS NOT NULL;

  INSERT INTO kafka_dead_letter
  SELECT kafka_topic, kafka_partition, kafka_offset, record_key, payload, reason, LOCALTIMESTAMP
  FROM classified_trips
  WHERE reason IS NOT NULL;
END;
