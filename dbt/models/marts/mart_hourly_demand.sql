-- Demand per pickup hour: one row per (pickup_date, pickup_hour) that has trips.
-- Incremental: a build replaces every hour of the days its new trips fall on.
-- depends_on: {{ ref('stg_trips') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='pickup_date',
        on_schema_change='fail',
        pre_hook="{{ reset_if_silver_reloaded() }}",
    )
}}

with

trips as (

    {{ trips_on_touched_dates() }}

),

hourly as (

    select
        date_trunc('hour', pickup_at) as pickup_hour_start,
        pickup_date,
        pickup_hour,
        pickup_day_of_week,
        count(*) filter (where is_trip) as trip_count,
        cast(sum(passenger_count) filter (where is_trip) as bigint) as passenger_count,
        {{ avg_exact('trip_duration_minutes') }} as avg_trip_duration_minutes,
        {{ avg_exact('trip_distance_miles', 6) }} as avg_trip_distance_miles,
        {{ avg_exact('avg_speed_mph') }} as avg_speed_mph,
        sum(total_amount) as net_revenue,
        count(*) filter (where is_airport_trip and is_trip) as airport_trip_count

    from trips

    group by 1, 2, 3, 4

),

final as (

    select
        pickup_hour_start,
        pickup_date,
        pickup_hour,
        pickup_day_of_week,
        trip_count,
        coalesce(passenger_count, 0) as passenger_count,
        round(avg_trip_duration_minutes, 2) as avg_trip_duration_minutes,
        round(avg_trip_distance_miles, 2) as avg_trip_distance_miles,
        round(avg_speed_mph, 2) as avg_speed_mph,
        cast(net_revenue as decimal(18, 2)) as net_revenue,
        airport_trip_count

    from hourly

)

select * from final
