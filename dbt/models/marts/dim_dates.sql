-- One row per day from the earliest to the latest pickup date in fct_trips (late events
-- included), so every fct_trips.pickup_date has a row here. Rebuilt at each build: a min/max
-- over one column of fct_trips, and one row per day.

with

trips as (

    select pickup_date from {{ ref('fct_trips') }}

),

bounds as (

    select
        min(pickup_date) as first_date,
        max(pickup_date) as last_date

    from trips

),

spine as (

    {{ date_spine('first_date', 'last_date', 'bounds') }}

),

final as (

    select
        date_day,
        cast(year(date_day) as integer) as calendar_year,
        cast(quarter(date_day) as integer) as calendar_quarter,
        cast(month(date_day) as integer) as calendar_month,
        {{ month_name('date_day') }} as month_name,
        cast(day(date_day) as integer) as day_of_month,
        cast({{ iso_day_of_week('date_day') }} as integer) as day_of_week,
        {{ day_name('date_day') }} as day_name,
        cast(date_trunc('week', date_day) as date) as week_start_date,
        {{ iso_day_of_week('date_day') }} in (6, 7) as is_weekend

    from spine

)

select * from final
