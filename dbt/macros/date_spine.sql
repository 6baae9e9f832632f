{#
    One row per calendar day from start_date to end_date, both included, in a column date_day.
    start_date / end_date are SQL expressions (a column of a one-row CTE, a literal such as
    "date '2026-01-01'", ...). Use it inside a CTE that selects from the relation holding them:

        with bounds as (select min(d) as first_day, max(d) as last_day from t),
        spine as ({{ date_spine('first_day', 'last_day', 'bounds') }})

    An empty relation (null bounds) gives an empty spine. Our own replacement for
    dbt_utils.date_spine (no packages): DuckDB's generate_series, Trino's sequence.
#}
{% macro date_spine(start_date, end_date, from_relation) -%}
    {{ return(adapter.dispatch('date_spine')(start_date, end_date, from_relation)) }}
{%- endmacro %}

{% macro default__date_spine(start_date, end_date, from_relation) -%}
    select cast(unnest(generate_series(
            cast({{ start_date }} as timestamp),
            cast({{ end_date }} as timestamp),
            interval 1 day
        )) as date) as date_day
    from {{ from_relation }}
    where {{ start_date }} is not null and {{ end_date }} is not null
{%- endmacro %}

{% macro trino__date_spine(start_date, end_date, from_relation) -%}
    select days.date_day
    from {{ from_relation }}
    cross join unnest(sequence(
        cast({{ start_date }} as date), cast({{ end_date }} as date), interval '1' day
    )) as days (date_day)
    where {{ start_date }} is not null and {{ end_date }} is not null
{%- endmacro %}
