with

source as (

    select * from {{ source('silver', 'trips') }}

),

renamed as (

    select

        ----------  ids
        trip_id,
        cast(vendor_id as integer) as vendor_id,
        cast(rate_code_id as integer) as rate_code_id,
        cast(payment_type as integer) as payment_type_id,
        cast(pu_location_id as integer) as pickup_location_id,
        cast(do_location_id as integer) as dropoff_location_id,

        ----------  timestamps (local NYC time, no zone)
        cast(pickup_ts as timestamp(6)) as pickup_at,
        cast(dropoff_ts as timestamp(6)) as dropoff_at,
        cast(pickup_date as date) as pickup_date,
        date_diff('second', pickup_ts, dropoff_ts) as trip_duration_seconds,

        ----------  trip attributes
        cast(passenger_count as integer) as passenger_count,
        cast(trip_distance as double) as trip_distance_miles,
        store_and_fwd_flag,

        ----------  amounts (USD)
        cast(fare_amount as decimal(10, 2)) as fare_amount,
        cast(extra as decimal(10, 2)) as extra_amount,
        cast(mta_tax as decimal(10, 2)) as mta_tax_amount,
        cast(tip_amount as decimal(10, 2)) as tip_amount,
        cast(tolls_amount as decimal(10, 2)) as tolls_amount,
        cast(improvement_surcharge as decimal(10, 2)) as improvement_surcharge_amount,
        cast(congestion_surcharge as decimal(10, 2)) as congestion_surcharge_amount,
        cast(airport_fee as decimal(10, 2)) as airport_fee_amount,
        cast(cbd_congestion_fee as decimal(10, 2)) as cbd_congestion_fee_amount,
        cast(total_amount as decimal(10, 2)) as total_amount,

        ----------  silver flags (vars.silver_flags)
        record_kind,
        amount_check,

        ----------  lineage
        cast(kafka_partition as integer) as kafka_partition,
        cast(kafka_offset as bigint) as kafka_offset,
        cast(kafka_timestamp as timestamp(6)) as kafka_timestamp,
        cast(processed_at as timestamp(6)) as processed_at

    from source

)

select * from renamed
