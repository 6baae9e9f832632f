-- Incremental: each build appends the silver trips that are new since the snapshot gold last
-- consumed (plugins/taxi_iceberg.py loads only those), anti-joined on trip_id so a row read
-- twice (a compaction's output, a retried build) is kept once, looked up only in the pickup
-- days the increment covers (increment_range). The post-hook records the
-- consumed snapshot in the same transaction; when silver had to be loaded in full (rewritten,
-- rolled back, first build) the pre-hook empties the table and it is rebuilt from every row.
-- No primary-key constraint: DuckDB keeps that index in memory for every insert, and it would
-- grow with history; uniqueness is the anti-join's, and tested on each build's new rows.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ reset_if_silver_reloaded() }}",
        post_hook="{{ consume_silver_load('trips') }}",
    )
}}

with

trips as (

    select * from {{ ref('int_trips_enriched') }}

),

final as (

    select
        ----------  keys
        trip_id,
        vendor_id,
        rate_code_id,
        payment_type_id,
        pickup_location_id,
        dropoff_location_id,
        pickup_date,

        ----------  when
        pickup_at,
        dropoff_at,
        pickup_hour,
        pickup_day_of_week,

        ----------  trip measures
        passenger_count,
        trip_distance_miles,
        trip_duration_seconds,
        cast(trip_duration_minutes as double) as trip_duration_minutes,
        cast(avg_speed_mph as double) as avg_speed_mph,
        cast(tip_pct as double) as tip_pct,
        is_airport_trip,
        store_and_fwd_flag,

        ----------  amounts (USD)
        fare_amount,
        extra_amount,
        mta_tax_amount,
        tip_amount,
        tolls_amount,
        improvement_surcharge_amount,
        congestion_surcharge_amount,
        airport_fee_amount,
        cbd_congestion_fee_amount,
        total_amount,

        ----------  silver flags
        record_kind,
        is_trip,
        amount_check,

        ----------  lineage
        kafka_partition,
        kafka_offset,
        kafka_timestamp,
        processed_at

    from trips

    {% if is_incremental() -%}
    where not exists (
        select 1 from {{ this }} as existing
        where existing.pickup_date = trips.pickup_date
          and existing.trip_id = trips.trip_id
          -- a copy has its original's pickup date: read only the increment's days of gold
          and existing.pickup_date {{ increment_range('pickup_date') }}
    )
    {%- endif %}

)

select * from final
