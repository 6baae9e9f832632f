{#
    The few expressions DuckDB and Trino spell differently (GOLD_ENGINE=duckdb|trino). Models
    call these; adapter.dispatch picks the engine's variant (dbt's cross-database macro pattern),
    so there is one set of models.
#}

{# ISO day of week: 1 = Monday ... 7 = Sunday #}
{% macro iso_day_of_week(expression) -%}
    {{ return(adapter.dispatch('iso_day_of_week')(expression)) }}
{%- endmacro %}
{% macro default__iso_day_of_week(expression) -%} isodow({{ expression }}) {%- endmacro %}
{% macro trino__iso_day_of_week(expression) -%} day_of_week({{ expression }}) {%- endmacro %}


{# English day name: Monday ... Sunday #}
{% macro day_name(expression) -%}
    {{ return(adapter.dispatch('day_name')(expression)) }}
{%- endmacro %}
{% macro default__day_name(expression) -%} dayname({{ expression }}) {%- endmacro %}
{% macro trino__day_name(expression) -%} format_datetime({{ expression }}, 'EEEE') {%- endmacro %}


{# English month name: January ... December #}
{% macro month_name(expression) -%}
    {{ return(adapter.dispatch('month_name')(expression)) }}
{%- endmacro %}
{% macro default__month_name(expression) -%} monthname({{ expression }}) {%- endmacro %}
{% macro trino__month_name(expression) -%} format_datetime({{ expression }}, 'MMMM') {%- endmacro %}


{#
    The official TLC taxi_zone_lookup.csv as a relation (stg_zones). DuckDB reads the file
    itself; a Trino cluster has no reader for a client's local file: load it as the seed there.
#}
{% macro read_zone_lookup_csv(path) -%}
    {{ return(adapter.dispatch('read_zone_lookup_csv')(path)) }}
{%- endmacro %}
{% macro default__read_zone_lookup_csv(path) -%}
    select * from read_csv(
        '{{ path | replace("'", "''") }}',
        header = true,
        columns = {
            'LocationID': 'integer',
            'Borough': 'varchar',
            'Zone': 'varchar',
            'service_zone': 'varchar'
        }
    )
{%- endmacro %}
{% macro trino__read_zone_lookup_csv(path) -%}
    {{ exceptions.raise_compiler_error(
        "ZONE_LOOKUP_CSV is read by DuckDB only: with GOLD_ENGINE=trino, copy the file over "
        ~ "dbt/seeds/taxi_zones.csv (same columns) and unset ZONE_LOOKUP_CSV") }}
{%- endmacro %}
