-- Activity and revenue per taxi zone: one row per zone of dim_locations (zeros when unused).
-- Revenue and fare/tip averages are attributed to the pickup zone.
-- Incremental: a build recomputes the zones its new trips start or end in, and the zones whose
-- dim_locations attributes changed or that have no row yet.
-- depends_on: {{ ref('stg_trips') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='location_id',
        on_schema_change='fail',
        pre_hook="{{ reset_if_silver_reloaded() }}",
    )
}}

with

locations as (

    select * from {{ ref('dim_locations') }}

    {% if is_incremental() -%}
    where location_id in (
        select pickup_location_id from {{ ref('stg_trips') }}
        union
        select dropoff_location_id from {{ ref('stg_trips') }}
        union
        select location_id from (
            select location_id, borough, zone_name, service_zone, is_airport
            from {{ ref('dim_locations') }}
            except
            select location_id, borough, zone_name, service_zone, is_airport
            from {{ this }}
        )
    )
    {%- endif %}

),

trips as (

    select * from {{ ref('fct_trips') }}

    {% if is_incremental() -%}
    where pickup_location_id in (select location_id from locations)
       or dropoff_location_id in (select location_id from locations)
    {%- endif %}

),

pickups as (

    select
        pickup_location_id as location_id,
        count(*) as pickup_trip_count,
        sum(total_amount) as pickup_revenue,
        avg(fare_amount) as avg_fare_amount,
        {{ avg_exact('tip_pct') }} as avg_tip_pct,
        {{ avg_exact('trip_distance_miles', 6) }} as avg_trip_distance_miles,
        {{ avg_exact('trip_duration_minutes') }} as avg_trip_duration_minutes,
        count(*) filter (where is_airport_trip) as airport_trip_count

    from trips

    group by pickup_location_id

),

dropoffs as (

    select
        dropoff_location_id as location_id,
        count(*) as dropoff_trip_count

    from trips

    group by dropoff_location_id

),

final as (

    select
        locations.location_id,
        locations.borough,
        locations.zone_name,
        locations.service_zone,
        locations.is_airport,
        coalesce(pickups.pickup_trip_count, 0) as pickup_trip_count,
        coalesce(dropoffs.dropoff_trip_count, 0) as dropoff_trip_count,
        cast(coalesce(pickups.pickup_revenue, 0) as decimal(18, 2)) as pickup_revenue,
        round(cast(pickups.avg_fare_amount as double), 2) as avg_fare_amount,
        round(pickups.avg_tip_pct, 2) as avg_tip_pct,
        round(pickups.avg_trip_distance_miles, 2) as avg_trip_distance_miles,
        round(pickups.avg_trip_duration_minutes, 2) as avg_trip_duration_minutes,
        coalesce(pickups.airport_trip_count, 0) as airport_trip_count

    from locations

    left join pickups
        on locations.location_id = pickups.location_id

    left join dropoffs
        on locations.location_id = dropoffs.location_id

)

select * from final
