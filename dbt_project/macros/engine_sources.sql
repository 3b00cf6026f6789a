{#- The raw sources on engines that do not hold them in the warehouse (on-run-start hook).

    DuckDB: nothing to do (the raw.* tables live in the warehouse file; clicks and conversions are
    read through external_location in _sources.yml).
    Spark: `raw.<t>` is an external Parquet table over <CPA_RAW_DIR>/<t>, with the columns and
    types declared in _sources.yml and partitioned by meta.partition_column (day=YYYY-MM-DD
    folders); re-created when its definition changed (dropping an external table never deletes
    its files). RECOVER PARTITIONS each run makes the day folders ingestion wrote since the last
    run visible (ingestion rewrites partitions, it never removes a day folder). A declared schema (not inference) means a folder with no file yet reads as
    an empty typed table (Spark creates the empty folder), like raw_fact() on DuckDB. -#}
{% macro create_raw_sources() -%}
    {{ return(adapter.dispatch('create_raw_sources', 'cpa_warehouse')()) }}
{%- endmacro %}

{% macro default__create_raw_sources() -%}{%- endmacro %}

{% macro spark__create_raw_sources() -%}
    {%- if execute -%}
        {%- set root = raw_dir_absolute() -%}
        {%- do run_query('create database if not exists raw') -%}
        {%- set existing = run_query('show tables in raw').columns[1].values() | map('lower') | list -%}
        {%- for node in graph.sources.values() if node.source_name == 'raw' and node.package_name == project_name -%}
            {%- set columns = node.columns.values() | list -%}
            {%- if columns | length == 0 or columns | selectattr('data_type', 'none') | list | length > 0 -%}
                {%- do exceptions.raise_compiler_error(
                    "source raw." ~ node.name ~ ": every column needs a data_type in models/staging/_sources.yml "
                    ~ "(the Spark target creates the table from them)") -%}
            {%- endif -%}
            {%- set part = node.meta.get('partition_column') -%}
            {%- set table = 'raw.' ~ node.name -%}
            {%- set ddl -%}
                create table {{ table }} (
                    {%- for c in columns %}
                    {{ c.name }} {{ c.data_type }}{% if not loop.last %},{% endif %}
                    {%- endfor %}
                )
                using parquet
                {% if part %}partitioned by ({{ part }}){% endif %}
                location '{{ root }}/{{ node.name }}'
            {%- endset -%}
            {#- the table is re-created only when its definition (location, columns) changed:
                dropping a table with many partitions is slow in the metastore -#}
            {%- set fingerprint = local_md5(ddl) -%}
            {%- set current = none -%}
            {%- if node.name | lower in existing -%}
                {%- set current = run_query("show tblproperties " ~ table ~ " ('cpa.definition')").columns[-1].values()[0] -%}
            {%- endif -%}
            {%- if current != fingerprint -%}
                {%- do run_query('drop table if exists ' ~ table) -%}
                {%- do run_query(ddl ~ " tblproperties ('cpa.definition' = '" ~ fingerprint ~ "')") -%}
            {%- endif -%}
            {#- day folders written since the last run -#}
            {%- if part -%}{%- do run_query('alter table ' ~ table ~ ' recover partitions') -%}{%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- CPA_RAW_DIR as an absolute path (relative paths are relative to the directory dbt was started
    from, as on DuckDB): the table location is stored in the metastore, which outlives the run. -#}
{% macro raw_dir_absolute() -%}
    {%- set d = raw_dir().rstrip('/') -%}
    {%- if not execute or d.startswith('/') or modules.re.match('^[A-Za-z]:/', d) or modules.re.match('^[a-z][a-z0-9+.-]*:/', d) -%}
        {{ return(d) }}
    {%- endif -%}
    {%- set cwd = run_query("select reflect('java.lang.System', 'getProperty', 'user.dir')").columns[0].values()[0] -%}
    {%- set d = modules.re.sub('^(\\./)+', '', d) -%}
    {{ return(cwd.replace('\\', '/').rstrip('/') ~ ('' if d in ('', '.') else '/' ~ d)) }}
{%- endmacro %}
