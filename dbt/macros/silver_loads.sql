{#
    Incremental gold over the silver Iceberg tables. What a build reads of silver.<table> is
    this build's increment, in the relation {{ inputs_schema() }}.<table>:
    - DuckDB: plugins/taxi_iceberg.py loads the rows into the gold file (schema `silver`) and
      records each load in silver.iceberg_loads;
    - Trino: lakehouse (lakehouse/silver_increment.py) plans the load from the Iceberg
      metadata before dbt starts and passes it as var `silver_loads`; prepare_silver_inputs()
      makes each silver.<table> a view on exactly those snapshots (Trino's table_changes, or the
      whole table at one snapshot) in schema <gold>_silver, with gold's position beside it.

    silver_load_mode(source_table): 'full' | 'incremental' | 'none' (not loaded in this run).
    consume_silver_load(source_table): records the snapshot loaded in this invocation as consumed
        (a post-hook of the model that took its rows).
    reset_if_silver_reloaded(): pre-hook of an incremental model: when silver was loaded in
        full (rewritten, rolled back, first load), empty the model so it is rebuilt from scratch.
    get_where_subquery: the tests of fct_trips (`where: __new_trips__`) check only this run's
        increment; older rows were checked when they came.
#}

{# The schema holding this build's silver increment and gold's consumed positions #}
{% macro inputs_schema() -%}
    {{ return(adapter.dispatch('inputs_schema')()) }}
{%- endmacro %}
{% macro default__inputs_schema() -%} {{ return('silver') }} {%- endmacro %}
{% macro trino__inputs_schema() -%} {{ return(target.schema ~ '_silver') }} {%- endmacro %}

{% macro consumed_table() -%}
    {{ return(adapter.dispatch('consumed_table')()) }}
{%- endmacro %}
{% macro default__consumed_table() -%} {{ return('silver.iceberg_consumed') }} {%- endmacro %}
{% macro trino__consumed_table() -%}
    {{ return(target.database ~ '.' ~ inputs_schema() ~ '.iceberg_consumed') }}
{%- endmacro %}


{# on-run-start #}
{% macro prepare_silver_inputs() -%}
    {{ return(adapter.dispatch('prepare_silver_inputs')()) }}
{%- endmacro %}

{% macro default__prepare_silver_inputs() -%}
    {#- the iceberg plugin copies a source into schema `silver` when a node first references
        it; two nodes doing so at once (threads > 1) race to create the schema -#}
    create schema if not exists silver
{%- endmacro %}

{% macro trino__prepare_silver_inputs() -%}
    {#- Trino runs one statement per request: each is run here, the hook itself is empty -#}
    {%- if execute -%}
    {%- set loads = var('silver_loads', none) -%}
    {%- set silver_schema = env_var('SILVER_NAMESPACE', 'silver') -%}
    {%- set silver = target.database ~ '.' ~ silver_schema -%}
    {%- set schema = target.database ~ '.' ~ inputs_schema() -%}
    {%- do run_query('create schema if not exists ' ~ schema) -%}
    {%- do run_query('create table if not exists ' ~ consumed_table() ~ ' (
        source_table varchar, table_uuid varchar, snapshot_id bigint, sequence_number bigint,
        total_records bigint, invocation_id varchar, consumed_at timestamp(6))') -%}
    {%- if loads is not none -%}
    {%- for name, load in loads.items() -%}
        {%- if load.snapshot_id is none -%}
            {%- set body = 'select * from ' ~ silver ~ '.' ~ name ~ ' where false' -%}
        {%- elif load.mode == 'full' -%}
            {%- set body = 'select * from ' ~ silver ~ '.' ~ name ~ ' for version as of '
                ~ load.snapshot_id -%}
        {%- elif load.after_snapshot_id == load.snapshot_id -%}
            {%- set body = 'select * from ' ~ silver ~ '.' ~ name ~ ' for version as of '
                ~ load.snapshot_id ~ ' where false' -%}
        {%- else -%}
            {#- the rows the snapshots after the consumed one appended (a compaction's
                replace adds none); start exclusive, end inclusive -#}
            {%- set columns = adapter.get_columns_in_relation(api.Relation.create(
                database=target.database, schema=silver_schema, identifier=name))
                | map(attribute='name') | join(', ') -%}
            {%- set body = 'select ' ~ columns ~ ' from table(' ~ target.database
                ~ ".system.table_changes('" ~ silver_schema ~ "', '" ~ name ~ "', "
                ~ load.after_snapshot_id ~ ', ' ~ load.snapshot_id ~ '))' -%}
        {%- endif -%}
        {%- do run_query('create or replace view ' ~ schema ~ '.' ~ name ~ ' as ' ~ body) -%}
    {%- endfor -%}
    {%- elif flags.WHICH in ('build', 'run') -%}
        {{ exceptions.raise_compiler_error(
            "GOLD_ENGINE=trino: dbt needs var silver_loads (the silver snapshots to read): "
            ~ "run it through `lakehouse dbt build` (make dbt-build), which plans them") }}
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{% macro silver_load_mode(source_table) -%}
    {{ return(adapter.dispatch('silver_load_mode')(source_table)) }}
{%- endmacro %}

{% macro default__silver_load_mode(source_table) -%}
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

{% macro trino__silver_load_mode(source_table) -%}
    {%- set load = var('silver_loads', {}).get(source_table) -%}
    {{ return(load.mode if load else 'none') }}
{%- endmacro %}


{% macro consume_silver_load(source_table) -%}
    {{ return(adapter.dispatch('consume_silver_load')(source_table)) }}
{%- endmacro %}

{% macro default__consume_silver_load(source_table) -%}
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

{% macro trino__consume_silver_load(source_table) -%}
    {#- Trino runs one statement per request (and no transaction spans the model's insert
        and this): a build that fails in between reads the increment again, and fct_trips'
        anti-join on trip_id keeps each trip once -#}
    {%- set load = var('silver_loads', {}).get(source_table) -%}
    {%- if execute and load and load.snapshot_id is not none -%}
        {%- do run_query("delete from " ~ consumed_table() ~ " where source_table = '"
            ~ source_table ~ "'") -%}
        {%- do run_query("insert into " ~ consumed_table() ~ " values ('" ~ source_table
            ~ "', '" ~ load.table_uuid ~ "', " ~ load.snapshot_id ~ ", "
            ~ load.sequence_number ~ ", " ~ load.total_records ~ ", '" ~ invocation_id
            ~ "', localtimestamp(6))") -%}
    {%- endif -%}
{%- endmacro %}


{% macro consume_tested_silver_loads(results) -%}
    {#- on-run-end: a table only tested (trips_rejected) is consumed when nothing failed -#}
    {%- if execute and results | selectattr('status', 'in', ['error', 'fail', 'runtime error'])
          | list | length == 0 -%}
        {%- if target.type != 'duckdb' -%}
            {{ consume_silver_load('trips_rejected') }}
        {%- elif run_query(
            "select count(*) from information_schema.tables "
            ~ "where table_schema = 'silver' and table_name = 'iceberg_loads'"
        ).columns[0].values()[0] > 0 -%}
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
            "select cast(min(processed_at) as varchar) from " ~ inputs_schema() ~ ".trips"
        ).columns[0].values()[0] -%}
    {%- endif -%}
    {%- if since is none -%}
        false
    {%- else -%}
        processed_at >= timestamp '{{ since }}'
        and trip_id in (select trip_id from {{ inputs_schema() }}.trips)
    {%- endif -%}
{%- endmacro %}


{#
    `between <min> and <max>` of a date column over this build's increment (silver.trips), as
    literals: a constant range lets DuckDB skip the row groups of other days by their min/max
    (an anti-join alone reads every row group), and Trino prune partitions. `false`-safe when
    empty.
#}
{% macro increment_range(column) -%}
    {%- set bounds = [none, none] -%}
    {%- if execute -%}
        {%- set row = run_query(
            "select cast(min(" ~ column ~ ") as varchar), cast(max(" ~ column ~ ") as varchar) "
            ~ "from " ~ inputs_schema() ~ ".trips"
        ).rows[0] -%}
        {%- set bounds = [row[0], row[1]] -%}
    {%- endif -%}
    {%- if bounds[0] is none -%}
        is null and false
    {%- else -%}
        between cast('{{ bounds[0] }}' as date) and cast('{{ bounds[1] }}' as date)
    {%- endif -%}
{%- endmacro %}
