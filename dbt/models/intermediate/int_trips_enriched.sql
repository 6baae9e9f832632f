{%- set airport_location_ids = var('airport_location_ids') | join(', ') -%}
{%- set airport_rate_code_ids = var('airport_rate_code_ids') | join(', ') -%}

with

trips as (

    select * from {{ ref('stg_trips') }}

),

zones as (

    select * from {{ ref('stg_zones') }}

),

payment_types as (

    select * from {{ ref('stg_payment_types') }}

),

rate_codes as (

    select * from {{ ref('stg_rate_codes') }}

),

vendors as (

    select * from {{ ref('stg_vendors') }}

),

trip_metrics as (

    select
        *,

        round(cast(trip_duration_seconds as double) / 60, 2) as trip_duration_minutes,

        -- null for zero-length trips rather than a division by zero
        case
            when trip_duration_seconds > 0
                then round(trip_distance_miles / (cast(trip_duration_seconds as double) / 3600), 2)
        end as avg_speed_mph,

        -- tip as a percentage of the fare; null when there is no fare to tip on
        case
            when fare_amount > 0
                then round(cast(tip_amount as double) / cast(fare_amount as double) * 100, 2)
        end as tip_pct,

        coalesce(
            pickup_location_id in ({{ airport_location_ids }})
            or dropoff_location_id in ({{ airport_location_ids }})
            or rate_code_id in ({{ airport_rate_code_ids }}),
            false
        ) as is_airport_trip,

        -- voids and refunds are corrections of a trip, not trips: counted apart, summed in net
        record_kind = 'trip' as is_trip,

        cast(extract(hour from pickup_at) as integer) as pickup_hour,
        cast({{ iso_day_of_week('pickup_at') }} as integer) as pickup_day_of_week,
        {{ day_name('pickup_at') }} as pickup_day_name

    from trips

),

enriched as (

    select
        trip_metrics.*,
        vendors.vendor_name,
        rate_codes.rate_code_name,
        payment_types.payment_type_name,
        pickup_zones.borough as pickup_borough,
        pickup_zones.zone_name as pickup_zone_name,
        dropoff_zones.borough as dropoff_borough,
        dropoff_zones.zone_name as dropoff_zone_name

    from trip_metrics

    left join vendors
        on trip_metrics.vendor_id = vendors.vendor_id

    left join rate_codes
        on trip_metrics.rate_code_id = rate_codes.rate_code_id

    left join payment_types
        on trip_metrics.payment_type_id = payment_types.payment_type_id

    left join zones as pickup_zones
        on trip_metrics.pickup_location_id = pickup_zones.location_id

    left join zones as dropoff_zones
        on trip_metrics.dropoff_location_id = dropoff_zones.location_id

)

select * from enriched
