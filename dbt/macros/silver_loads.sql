{#
    Incremental gold over the silver Iceberg tables (plugins/taxi_iceberg.py loads the rows;
    these macros let the models act on what it loaded in this dbt invocation).

    silver_load_mode(source_table): 'full' | 'incremental' | 'none' (not loaded in this run).
    consume_silver_load(source_table): records the snapshot loaded in this invocation as consumed
        (a post-hook of the model that took its rows: same transaction as those rows).
    reset_if_silver_reloaded(): pre-hook of an incremental model: when silver was loaded in
        full (rewritten, rolled back, first load), empty the model so it is rebuilt from scratch.
    new_trip_ids(): SQL for the trip_ids of this run's increment (the source table in DuckDB);
        the tests of fct_trips check only those rows: older ones were checked when they came.
#}

{% macro silver_load_mode(source_table) -%}
    {%- if not execute -%}
        {{ return('none') }}
    {%- endif -%}
    {%- set loads_exist = run_query(
        "select count(*) from information_schema.tables "
        ~ "where table_schema = 'silver' and table_name = 'iceberg_loads'"
    ).columns[0].values()[0] -%}
    {%- if loads_exist == 0 -%}
        {{ return('none') }}
    {%- endif -%}
    {%- set result = run_query(
        "select mode from silver.iceberg_loads where source_table = '" ~ source_table
        ~ "' and invocation_id = '" ~ invocation_id ~ "' order by loaded_at desc limit 1"
    ) -%}
    {%- set modes = result.columns[0].values() -%}
    {{ return(modes[0] if modes | length > 0 else 'none') }}
{%- endmacro %}


{% macro consume_silver_load(source_table) -%}
    {#- only if this invocation loaded it: a run that did not load keeps the old position -#}
    delete from silver.iceberg_consumed
    where source_table = '{{ source_table }}'
      and exists (
          select 1 from silver.iceberg_loads
          where source_table = '{{ source_table }}'
            and invocation_id = '{{ invocation_id }}'
            and snapshot_id is not null
      );
    insert into silver.iceberg_consumed
    select source_table, table_uuid, snapshot_id, sequence_number, total_records,
           invocation_id, now()
    from silver.iceberg_loads
    where source_table = '{{ source_table }}'
      and invocation_id = '{{ invocation_id }}'
      and snapshot_id is not null
    order by loaded_at desc
    limit 1
{%- endmacro %}


{% macro consume_tested_silver_loads(results) -%}
    {#- on-run-end: a table only tested (trips_rejected) is consumed when nothing failed -#}
    {%- if execute and results | selectattr('status', 'in', ['error', 'fail', 'runtime error'])
          | list | length == 0 -%}
        {%- set exists = run_query(
            "select count(*) from information_schema.tables "
            ~ "where table_schema = 'silver' and table_name = 'iceberg_loads'"
        ).columns[0].values()[0] -%}
        {%- if exists > 0 -%}
            {{ consume_silver_load('trips_rejected') }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{% macro reset_if_silver_reloaded() -%}
    {%- if is_incremental() and silver_load_mode('trips') == 'full' -%}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}


{% macro new_trip_ids() -%}
    select trip_id from {{ source('silver', 'trips') }}
{%- endmacro %}
