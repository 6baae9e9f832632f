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

        ----------  lineage
        kafka_partition,
        kafka_offset,
        kafka_timestamp,
        processed_at

    from trips

)

select * from final
