-- Per taxi zone and pickup day: the additive parts of mart_location_performance (counts, and
-- exact fixed-point sums with the number of values they add up), so the all-time zone mart
-- aggregates a few rows per zone and day instead of every trip. Incremental like the daily
-- marts: a build replaces the days its new trips fall on.
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

pickups as (

    select
        pickup_location_id as location_id,
        pickup_date,
        count(*) filter (where is_trip) as pickup_trip_count,
        sum(total_amount) as pickup_revenue,
        sum(fare_amount) as fare_amount_sum,
        count(fare_amount) as fare_amount_count,
        sum(cast(tip_pct as decimal(18, 2))) as tip_pct_sum,
        count(tip_pct) as tip_pct_count,
        sum(cast(trip_distance_miles as decimal(18, 6))) as trip_distance_miles_sum,
        count(trip_distance_miles) as trip_distance_miles_count,
        sum(cast(trip_duration_minutes as decimal(18, 2))) as trip_duration_minutes_sum,
        count(trip_duration_minutes) as trip_duration_minutes_count,
        count(*) filter (where is_airport_trip and is_trip) as airport_trip_count

    from trips

    group by 1, 2

),

dropoffs as (

    select
        dropoff_location_id as location_id,
        pickup_date,
        count(*) filter (where is_trip) as dropoff_trip_count

    from trips

    group by 1, 2

),

final as (

    select
        coalesce(pickups.location_id, dropoffs.location_id) as location_id,
        coalesce(pickups.pickup_date, dropoffs.pickup_date) as pickup_date,
        coalesce(pickups.pickup_trip_count, 0) as pickup_trip_count,
        coalesce(dropoffs.dropoff_trip_count, 0) as dropoff_trip_count,
        coalesce(pickups.pickup_revenue, 0) as pickup_revenue,
        pickups.fare_amount_sum,
        coalesce(pickups.fare_amount_count, 0) as fare_amount_count,
        pickups.tip_pct_sum,
        coalesce(pickups.tip_pct_count, 0) as tip_pct_count,
        pickups.trip_distance_miles_sum,
        coalesce(pickups.trip_distance_miles_count, 0) as trip_distance_miles_count,
        pickups.trip_duration_minutes_sum,
        coalesce(pickups.trip_duration_minutes_count, 0) as trip_duration_minutes_count,
        coalesce(pickups.airport_trip_count, 0) as airport_trip_count

    from pickups

    full outer join dropoffs
        on pickups.location_id = dropoffs.location_id
        and pickups.pickup_date = dropoffs.pickup_date

)

select * from final
