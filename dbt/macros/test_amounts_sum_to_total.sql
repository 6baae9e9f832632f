{#
    Generic test: the column (a total) equals the sum of the amount columns within a tolerance.
    Null parts count as 0 (the optional surcharges). Fails with the rows that do not add up.
#}
{% test amounts_sum_to_total(model, column_name, amount_columns, tolerance=0.01) %}

with checked as (

    select
        {{ column_name }} as total,
        {% for amount_column in amount_columns -%}
        coalesce({{ amount_column }}, 0){{ ' + ' if not loop.last }}
        {%- endfor %} as sum_of_parts
    from {{ model }}

)

select *
from checked
where total is null
   or abs(total - sum_of_parts) > {{ tolerance }}

{% endtest %}
