-- BRONZE: Kafka topic -> Iceberg, append-only raw records + ingestion metadata.
--
-- * Reads the topic as raw bytes (value.format = raw), so a record that cannot be decoded can
--   never fail the job: every record is decoded and classified by decode_taxi_event (flink/udf):
--     - ${event_format} = 'avro': the Confluent wire format; the writer schema is fetched from the
--       Schema Registry by the id in the message (${schema_registry_url}, cached per id), the
--       body is decoded and rendered as the contract's JSON object. No magic byte, an id the
--       registry does not know, a body that does not decode, or a string that is not UTF-8 are
--       dead-lettered (avro:not_wire_format / avro:unknown_schema_id / avro:undecodable /
--       avro:invalid_utf8). A registry that does not answer fails the job (retried), it never
--       dead-letters good data.
--       (The connector's 'avro-confluent' format cannot do this: a record it cannot decode fails
--       the job, or with ignore-parse-errors is dropped silently.)
--     - ${event_format} = 'json': the UTF-8 text (invalid_utf8 if it is not UTF-8).
--   then one JSON parse per record applies the validation rules of docs/contracts.md section 1
--   (a value its column cannot hold exactly is out_of_range:<field>, never NULL or rounded).
--   Valid ones go to bronze.raw_trips (payload + schema id + typed columns + trip_id), invalid
--   ones to the dead letter with the reason and the record's ORIGINAL BYTES (key and value,
--   exactly as Kafka holds them): the Iceberg table bronze.trips_dead_letter (value_bytes,
--   key_bytes; payload = the decoded text where there is one) AND the Kafka DLQ topic (value and
--   key = the original bytes, reason and source partition/offset as headers). The DLQ topic's
--   record limit and the sink's request size are the raw topic's limit plus header room
--   (lakehouse.topics.ensure_dead_letter_capacity): whatever Kafka accepted fits. Nothing is
--   dropped, no record can stop the job.
-- * Incremental and idempotent: the CLI starts right after the highest offset per partition that
--   the table which is behind (bronze or dead letter) holds (${startup_options}), and stops at the
--   end offsets seen at start (bounded). Each insert keeps only records after its own table's
--   highest offset (${raw_after} / ${dlq_after}): the two tables commit separately, so a failed
--   run may have committed one of them; the rerun completes the other and duplicates nothing.
--   A rerun with nothing new reads nothing.
-- * Streaming: the same statements run continuously when execution.runtime-mode = streaming and
--   scan.bounded.mode is dropped (Iceberg then commits on every checkpoint).

SET 'execution.runtime-mode' = '${runtime_mode}';
SET 'table.local-time-zone' = 'UTC';
SET 'pipeline.name' = 'bronze: ${topic} -> ${catalog}.${bronze_db}.raw_trips';

CREATE DATABASE IF NOT EXISTS ${catalog}.${bronze_db};

-- The event's columns (${event_columns_ddl} and the lists below) are rendered from the event
-- schema, contracts/raw_trip.avsc (lakehouse/contract.py). Inserts name their columns, so a table
-- created by an older release (its newer columns appended by lakehouse/catalog.py) and a new one
-- take the same statements.
CREATE TABLE IF NOT EXISTS ${catalog}.${bronze_db}.raw_trips (
  kafka_topic            STRING NOT NULL,
  kafka_partition        INT    NOT NULL,
  kafka_offset           BIGINT NOT NULL,
  kafka_timestamp        TIMESTAMP(6),
  record_key             STRING,
  payload                STRING NOT NULL,
  trip_id                STRING NOT NULL,
  ${event_columns_ddl},
  ingested_at            TIMESTAMP(6) NOT NULL,
  ingest_date            DATE NOT NULL,
  schema_id              INT
) PARTITIONED BY (ingest_date) WITH (
  ${iceberg_table_properties}
);

CREATE TABLE IF NOT EXISTS ${catalog}.${bronze_db}.trips_dead_letter (
  kafka_topic      STRING NOT NULL,
  kafka_partition  INT    NOT NULL,
  kafka_offset     BIGINT NOT NULL,
  kafka_timestamp  TIMESTAMP(6),
  record_key       STRING,
  payload          STRING,
  reason           STRING NOT NULL,
  ingested_at      TIMESTAMP(6) NOT NULL,
  -- added after the first release: last, as schema evolution appends them to existing tables
  schema_id        INT,
  value_bytes      BYTES,
  key_bytes        BYTES
) WITH (
  ${iceberg_table_properties}
);

CREATE TEMPORARY TABLE kafka_raw_trips (
  key_bytes        BYTES,
  payload          BYTES,
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
  'key.fields' = 'key_bytes',
  'value.format' = 'raw',
  'value.fields-include' = 'EXCEPT_KEY'
);

-- The original record, byte for byte; why it is here and where it came from in the headers
-- (dead_letter.reason, dead_letter.source.topic/.partition/.offset, dead_letter.schema_id).
CREATE TEMPORARY TABLE kafka_dead_letter (
  key_bytes        BYTES,
  value_bytes      BYTES,
  headers          MAP<STRING, BYTES> METADATA
) WITH (
  'connector' = 'kafka',
  'topic' = '${dlq_topic}',
  'properties.bootstrap.servers' = '${bootstrap_servers}',
  'properties.max.request.size' = '${dlq_max_request_bytes}',
  'key.format' = 'raw',
  'key.fields' = 'key_bytes',
  'value.format' = 'raw',
  'value.fields-include' = 'EXCEPT_KEY',
  'sink.delivery-guarantee' = 'at-least-once'
);

-- Decoding, structural validation and typing (docs/contracts.md section 1), once per record.
-- A lateral table function: evaluated once per record (a scalar ROW function would be inlined
-- once per referenced field). e.payload is the decoded text (JSON), NULL if undecodable;
-- value_bytes / key_bytes are the record as Kafka holds it.
CREATE TEMPORARY FUNCTION decode_taxi_event AS 'taxi.lakehouse.flink.DecodeTaxiEventTable' LANGUAGE JAVA;

CREATE TEMPORARY VIEW classified_trips AS
SELECT k.key_bytes, CAST(k.key_bytes AS STRING) AS record_key, k.payload AS value_bytes,
       k.kafka_topic, k.kafka_partition, k.kafka_offset, k.kafka_timestamp, e.*
FROM kafka_raw_trips AS k,
  LATERAL TABLE(decode_taxi_event(k.payload, '${event_format}', '${schema_registry_url}')) AS e;

EXECUTE STATEMENT SET
BEGIN
  INSERT INTO ${catalog}.${bronze_db}.raw_trips (
    kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, record_key, payload, trip_id,
    ${event_columns}, ingested_at, ingest_date, schema_id)
  SELECT kafka_topic, kafka_partition, kafka_offset, CAST(kafka_timestamp AS TIMESTAMP(6)),
         record_key, payload, LOWER(MD5(trip_key)), ${bronze_event_values},
         CAST(LOCALTIMESTAMP AS TIMESTAMP(6)), CURRENT_DATE, schema_id
  FROM classified_trips
  WHERE reason IS NULL AND ${raw_after};

  INSERT INTO ${catalog}.${bronze_db}.trips_dead_letter (
    kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, record_key, payload, reason,
    ingested_at, schema_id, value_bytes, key_bytes)
  SELECT kafka_topic, kafka_partition, kafka_offset, CAST(kafka_timestamp AS TIMESTAMP(6)),
         record_key, payload, reason, CAST(LOCALTIMESTAMP AS TIMESTAMP(6)), schema_id,
         value_bytes, key_bytes
  FROM classified_trips
  WHERE reason IS NOT NULL AND ${dlq_after};

  INSERT INTO kafka_dead_letter
  SELECT key_bytes, value_bytes,
         MAP['dead_letter.reason', ENCODE(reason, 'UTF-8'),
             'dead_letter.source.topic', ENCODE(kafka_topic, 'UTF-8'),
             'dead_letter.source.partition', ENCODE(CAST(kafka_partition AS STRING), 'UTF-8'),
             'dead_letter.source.offset', ENCODE(CAST(kafka_offset AS STRING), 'UTF-8'),
             'dead_letter.schema_id', ENCODE(COALESCE(CAST(schema_id AS STRING), ''), 'UTF-8')]
  FROM classified_trips
  WHERE reason IS NOT NULL AND ${dlq_after};
END;
