-- Revenue per pickup day. Every day of dim_dates has a row (0 trips = 0 revenue).
-- Incremental: a build recomputes the days its new trips fall on (late events included) and
-- adds the days the calendar grew by; the other days keep their rows.
-- depends_on: {{ ref('stg_trips') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='revenue_date',
        on_schema_change='fail',
        pre_hook="{{ reset_if_silver_reloaded() }}",
    )
}}

with

dates as (

    select * from {{ ref('dim_dates') }}

    {% if is_incremental() -%}
    where date_day in (select pickup_date from {{ ref('stg_trips') }})
       or date_day not in (select revenue_date from {{ this }})
    {%- endif %}

),

trips as (

    select * from {{ ref('fct_trips') }}

    {% if is_incremental() -%}
    where pickup_date in (select date_day from dates)
    {%- endif %}

),

daily as (

    select
        pickup_date,
        count(*) as trip_count,
        cast(sum(passenger_count) as bigint) as passenger_count,
        {{ sum_exact('trip_distance_miles') }} as trip_distance_miles,
        sum(fare_amount) as fare_revenue,
        sum(tip_amount) as tip_revenue,
        sum(tolls_amount) as tolls_revenue,
        sum(
            coalesce(extra_amount, 0)
            + coalesce(mta_tax_amount, 0)
            + coalesce(improvement_surcharge_amount, 0)
            + coalesce(congestion_surcharge_amount, 0)
            + coalesce(airport_fee_amount, 0)
            + coalesce(cbd_congestion_fee_amount, 0)
        ) as surcharge_revenue,
        sum(total_amount) as total_revenue,
        {{ avg_exact('tip_pct') }} as avg_tip_pct,
        {{ avg_exact('trip_duration_minutes') }} as avg_trip_duration_minutes,
        count(*) filter (where is_airport_trip) as airport_trip_count

    from trips

    group by pickup_date

),

final as (

    select
        dates.date_day as revenue_date,
        dates.day_name,
        dates.is_weekend,
        coalesce(daily.trip_count, 0) as trip_count,
        coalesce(daily.passenger_count, 0) as passenger_count,
        round(coalesce(daily.trip_distance_miles, 0), 2) as trip_distance_miles,
        cast(coalesce(daily.fare_revenue, 0) as decimal(18, 2)) as fare_revenue,
        cast(coalesce(daily.tip_revenue, 0) as decimal(18, 2)) as tip_revenue,
        cast(coalesce(daily.tolls_revenue, 0) as decimal(18, 2)) as tolls_revenue,
        cast(coalesce(daily.surcharge_revenue, 0) as decimal(18, 2)) as surcharge_revenue,
        cast(coalesce(daily.total_revenue, 0) as decimal(18, 2)) as total_revenue,
        cast(
            case when daily.trip_count > 0 then daily.total_revenue / daily.trip_count end
            as decimal(18, 2)
        ) as avg_revenue_per_trip,
        round(daily.avg_tip_pct, 2) as avg_tip_pct,
        round(daily.avg_trip_duration_minutes, 2) as avg_trip_duration_minutes,
        coalesce(daily.airport_trip_count, 0) as airport_trip_count

    from dates

    left join daily
        on dates.date_day = daily.pickup_date

)

select * from final
