{#
    Generic model-level test: every row satisfies every silver rule (vars.silver_rules in
    dbt_project.yml, the same list the Flink silver job enforces; docs/contracts.md section 1),
    and every silver flag column holds the value its cases give (vars.silver_flags, the list the
    Flink job computes them from). Fails with each offending row's trip_id and the first rule it
    breaks, or the flag that differs. NULL never passes. One test, not two: the iceberg plugin
    loads a source once per build, and two tests of one source would race to load it.
    A row written before the flags existed has NULL flags: recompute silver once
    (make process-silver FULL=1) after upgrading.
#}
{% test satisfies_silver_rules(model) %}

with checked as (

    select
        trip_id,
        case
            {% for rule in var('silver_rules') -%}
            when not coalesce(({{ rule.valid }}), false) then '{{ rule.reason }}'
            {% endfor -%}
            {% for flag in var('silver_flags') -%}
            when {{ flag.column }} is null or {{ flag.column }} <> case
                {% for c in flag.cases -%}
                when ({{ c.when }}) then '{{ c.value }}'
                {% endfor -%}
                else '{{ flag["else"] }}'
            end then 'flag {{ flag.column }}'
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
