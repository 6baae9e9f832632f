{#
    Generic model-level test: the boolean expression holds on every row (NULL does not hold).
    Fails with the rows where it does not.
#}
{% test expression_holds(model, expression) %}

select *
from {{ model }}
where not coalesce(({{ expression }}), false)

{% endtest %}
