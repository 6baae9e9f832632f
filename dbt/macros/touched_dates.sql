{#
    The incremental marts recompute the pickup days this build's new trips fall on (late events
    included); the other days keep their rows.

    touched_pickup_dates(): a query of those days (stg_trips is this build's increment).
    trips_on_touched_dates(): the body of a `trips` CTE: fct_trips on those days when the model
        builds incrementally, every trip otherwise.

    dbt parses a model with is_incremental() false, so the ref to stg_trips is not seen then: a
    model using these declares it with a `-- depends_on: {{ ref('stg_trips') }}` comment.
#}
{% macro touched_pickup_dates() -%}
    select pickup_date from {{ ref('stg_trips') }}
{%- endmacro %}


{% macro trips_on_touched_dates() -%}
    select * from {{ ref('fct_trips') }}

    {% if is_incremental() -%}
    where pickup_date in ({{ touched_pickup_dates() }})
    {%- endif %}
{%- endmacro %}
