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


{#
    Generic model-level test: the model has exactly as many rows as the silver snapshot it
    consumed (consumed_table(), written by consume_silver_load in the model's post-hook: the
    snapshot's total-records, so silver is not scanned). Fails with both counts.
#}
{% test row_count_equals_silver_snapshot(model, source_table) %}

with model_rows as (

    select count(*) as row_count from {{ model }}

),

consumed as (

    select total_records from {{ consumed_table() }}
    where source_table = '{{ source_table }}'

)

select
    model_rows.row_count as model_row_count,
    consumed.total_records as silver_snapshot_row_count
from model_rows
left join consumed on true
where model_rows.row_count != coalesce(consumed.total_records, 0)

{% endtest %}
