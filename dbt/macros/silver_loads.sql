{#
    Incremental gold over the silver Iceberg tables (plugins/taxi_iceberg.py loads the rows;
    these macros let the models act on what it loaded in this dbt invocation).

    silver_load_mode(source_table): 'full' | 'incremental' | 'none' (not loaded in this run).
    consume_silver_load(source_table): records the snapshot loaded in this invocation as consumed
        (a post-hook of the model that took its rows: same transaction as those rows).
    reset_if_silver_reloaded(): pre-hook of an incremental model: when silver was loaded in
        full (rewritten, rolled back, first load), empty the model so it is rebuilt from scratch.
    get_where_subquery: the tests of fct_trips (`where: __new_trips__`) check only this run's
        increment; older rows were checked when they came.
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



{#
    Tests' `where: __new_trips__` (the tests of fct_trips): the rows of this build's increment.
    dbt's documented override point for a `where` computed at run time. The processed_at bound
    is a literal, so DuckDB skips fct_trips' older row groups by their min/max instead of
    reading every trip_id (rows are appended build after build, each with a later
    processed_at); the semi-join then keeps exactly the increment's trips.
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where and '__new_trips__' in where -%}
        {%- set where = where | replace('__new_trips__', new_trips_predicate()) -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}


{% macro new_trips_predicate() -%}
    {%- set since = none -%}
    {%- if execute -%}
        {%- set since = run_query(
            "select strftime(min(cast(processed_at as timestamp)), '%Y-%m-%d %H:%M:%S.%f') "
            ~ "from silver.trips"
        ).columns[0].values()[0] -%}
    {%- endif -%}
    {%- if since is none -%}
        false
    {%- else -%}
        processed_at >= timestamp '{{ since }}'
        and trip_id in (select trip_id from silver.trips)
    {%- endif -%}
{%- endmacro %}


{#
    `between <min> and <max>` of a column over this build's increment (silver.trips in the
    DuckDB file), as literals: a constant range lets DuckDB skip the row groups of other days
    by their min/max (an anti-join alone reads every row group). `false`-safe when empty.
#}
{% macro increment_range(column) -%}
    {%- set bounds = [none, none] -%}
    {%- if execute -%}
        {%- set row = run_query(
            "select cast(min(" ~ column ~ ") as varchar), cast(max(" ~ column ~ ") as varchar) "
            ~ "from silver.trips"
        ).rows[0] -%}
        {%- set bounds = [row[0], row[1]] -%}
    {%- endif -%}
    {%- if bounds[0] is none -%}
        is null and false
    {%- else -%}
        between '{{ bounds[0] }}' and '{{ bounds[1] }}'
    {%- endif -%}
{%- endmacro %}
