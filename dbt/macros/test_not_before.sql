{#
    Generic test: the column is never earlier than other_column,
    e.g. dropoff_at not before pickup_at. Rows with a null in either column pass.
#}
{% test not_before(model, column_name, other_column) %}

select
    {{ column_name }},
    {{ other_column }}
from {{ model }}
where {{ column_name }} < {{ other_column }}

{% endtest %}
