{# Generic test: the column is never negative (nulls pass; add not_null for that). #}
{% test non_negative(model, column_name) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} < 0

{% endtest %}
