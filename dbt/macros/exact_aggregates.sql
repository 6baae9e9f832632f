{#
    Averages and sums of DOUBLE measures over a fixed-point cast. A DOUBLE sum depends on the
    order its rows are added in (DuckDB aggregates in parallel), so an incremental build, which
    recomputes a day from fewer row groups, and a full one could differ in the last bit, and a
    rounded average flip by 0.01. Over DECIMAL the sum is exact: both give the same value.
    `scale` is the number of decimals kept from each value (the measures hold 2).
#}
{% macro avg_exact(expression, scale=2) -%}
    {#- not avg(decimal): Trino's keeps the decimal's scale (rounds), DuckDB's is a double -#}
    cast(sum(cast({{ expression }} as decimal(18, {{ scale }}))) as double)
        / nullif(count({{ expression }}), 0)
{%- endmacro %}

{% macro sum_exact(expression, scale=6) -%}
    cast(sum(cast({{ expression }} as decimal(18, {{ scale }}))) as double)
{%- endmacro %}
