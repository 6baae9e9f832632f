{#
    Generic model-level test: the model has exactly as many rows as compare_to
    (a ref() or source()). Fails with one row that shows both counts.
#}
{% test row_count_equals(model, compare_to) %}

with model_rows as (

    select count(*) as row_count from {{ model }}

),

compare_rows as (

    select count(*) as row_count from {{ compare_to }}

)

select
    model_rows.row_count as model_row_count,
    compare_rows.row_count as compare_to_row_count
from model_rows
cross join compare_rows
where model_rows.row_count != compare_rows.row_count

{% endtest %}
