-- Activity and revenue per taxi zone: one row per zone of dim_locations (zeros when unused).
-- Revenue and fare/tip averages are attributed to the pickup zone. Aggregated from
-- int_location_daily (additive sums and counts per zone and day), so a build reads a few rows
-- per zone and day, not every trip. Averages are exact sums over counts: the same value
-- whichever builds the rows came in.

with

locations as (

    select * from {{ ref('dim_locations') }}

),

daily as (

    select * from {{ ref('int_location_daily') }}

),

zones as (

    select
        location_id,
        sum(pickup_trip_count) as pickup_trip_count,
        sum(dropoff_trip_count) as dropoff_trip_count,
        sum(pickup_revenue) as pickup_revenue,
        sum(fare_amount_sum) as fare_amount_sum,
        sum(fare_amount_count) as fare_amount_count,
        sum(tip_pct_sum) as tip_pct_sum,
        sum(tip_pct_count) as tip_pct_count,
        sum(trip_distance_miles_sum) as trip_distance_miles_sum,
        sum(trip_distance_miles_count) as trip_distance_miles_count,
        sum(trip_duration_minutes_sum) as trip_duration_minutes_sum,
        sum(trip_duration_minutes_count) as trip_duration_minutes_count,
        sum(airport_trip_count) as airport_trip_count

    from daily

    group by location_id

),

final as (

    select
        locations.location_id,
        locations.borough,
        locations.zone_name,
        locations.service_zone,
        locations.is_airport,
        cast(coalesce(zones.pickup_trip_count, 0) as bigint) as pickup_trip_count,
        cast(coalesce(zones.dropoff_trip_count, 0) as bigint) as dropoff_trip_count,
        cast(coalesce(zones.pickup_revenue, 0) as decimal(18, 2)) as pickup_revenue,
        round(cast(zones.fare_amount_sum as double) / nullif(zones.fare_amount_count, 0), 2)
            as avg_fare_amount,
        round(cast(zones.tip_pct_sum as double) / nullif(zones.tip_pct_count, 0), 2)
            as avg_tip_pct,
        round(
            cast(zones.trip_distance_miles_sum as double)
            / nullif(zones.trip_distance_miles_count, 0),
            2
        ) as avg_trip_distance_miles,
        round(
            cast(zones.trip_duration_minutes_sum as double)
            / nullif(zones.trip_duration_minutes_count, 0),
            2
        ) as avg_trip_duration_minutes,
        cast(coalesce(zones.airport_trip_count, 0) as bigint) as airport_trip_count

    from locations

    left join zones
        on locations.location_id = zones.location_id

)

select * from final
