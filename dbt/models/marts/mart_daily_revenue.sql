-- Revenue per pickup day. Every day of dim_dates has a row (0 trips = 0 revenue). Gross is what
-- the trips took, corrections what voids and refunds gave back (<= 0), net their sum; trip_count
-- counts trips, not corrections (docs/contracts.md, silver flags).
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
    where date_day in ({{ touched_pickup_dates() }})
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
        count(*) filter (where is_trip) as trip_count,
        count(*) filter (where record_kind = 'void') as void_count,
        count(*) filter (where record_kind = 'refund') as refund_count,
        cast(sum(passenger_count) filter (where is_trip) as bigint) as passenger_count,
        {{ sum_exact("case when is_trip then trip_distance_miles end") }} as trip_distance_miles,
        sum(fare_amount) as fare_revenue,
        sum(tip_amount) as tip_revenue,
        sum(tolls_amount) as tolls_revenue,
        sum(total_amount) filter (where is_trip) as gross_revenue,
        sum(total_amount) filter (where not is_trip) as corrections_revenue,
        sum(total_amount) as net_revenue,
        {{ avg_exact("case when is_trip then tip_pct end") }} as avg_tip_pct,
        {{ avg_exact("case when is_trip then trip_duration_minutes end") }}
            as avg_trip_duration_minutes,
        count(*) filter (where is_airport_trip and is_trip) as airport_trip_count

    from trips

    group by pickup_date

),

final as (

    select
        dates.date_day as revenue_date,
        dates.day_name,
        dates.is_weekend,
        coalesce(daily.trip_count, 0) as trip_count,
        coalesce(daily.void_count, 0) as void_count,
        coalesce(daily.refund_count, 0) as refund_count,
        coalesce(daily.passenger_count, 0) as passenger_count,
        round(coalesce(daily.trip_distance_miles, 0), 2) as trip_distance_miles,
        cast(coalesce(daily.fare_revenue, 0) as decimal(18, 2)) as fare_revenue,
        cast(coalesce(daily.tip_revenue, 0) as decimal(18, 2)) as tip_revenue,
        cast(coalesce(daily.tolls_revenue, 0) as decimal(18, 2)) as tolls_revenue,
        -- whatever the totals hold beyond fare, tip and tolls: taxes, surcharges and fees,
        -- counted once (VendorID 1 also reports its fees inside `extra`: summing the columns
        -- would count them twice)
        cast(
            coalesce(daily.net_revenue, 0) - coalesce(daily.fare_revenue, 0)
            - coalesce(daily.tip_revenue, 0) - coalesce(daily.tolls_revenue, 0)
            as decimal(18, 2)
        ) as surcharge_revenue,
        cast(coalesce(daily.gross_revenue, 0) as decimal(18, 2)) as gross_revenue,
        cast(coalesce(daily.corrections_revenue, 0) as decimal(18, 2)) as corrections_revenue,
        cast(coalesce(daily.net_revenue, 0) as decimal(18, 2)) as net_revenue,
        cast(
            case when daily.trip_count > 0 then daily.gross_revenue / daily.trip_count end
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
