{#
    Generic model-level test: every row satisfies every silver rule (vars.silver_rules in
    dbt_project.yml, the same list the Flink silver job enforces; docs/contracts.md section 1).
    Fails with each offending row's trip_id and the first rule it breaks. NULL never passes.
#}
{% test satisfies_silver_rules(model) %}

with checked as (

    select
        trip_id,
        case
            {% for rule in var('silver_rules') -%}
            when not coalesce(({{ rule.valid }}), false) then '{{ rule.reason }}'
            {% endfor -%}
        end as broken_rule
    from {{ model }}

)

select *
from checked
where broken_rule is not null

{% endtest %}


{#
    Generic test: the column only holds reasons of the silver rules (trips_rejected.reason).
#}
{% test is_a_silver_rule(model, column_name) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} not in (
    {%- for rule in var('silver_rules') %}'{{ rule.reason }}'{{ ', ' if not loop.last }}{% endfor -%}
)
   or {{ column_name }} is null

{% endtest %}
