{#- Small SQL pieces the engines spell differently (adapter.dispatch: default__ is DuckDB's
    spelling, spark__ Spark SQL's). Models call these instead of engine-specific syntax. -#}

{#- A join clause adding one row per element of an array column: `<alias>.<column>`. -#}
{% macro unnest_as(array_expr, alias, column) -%}
    {{ return(adapter.dispatch('unnest_as', 'cpa_warehouse')(array_expr, alias, column)) }}
{%- endmacro %}

{% macro default__unnest_as(array_expr, alias, column) -%}
    cross join unnest({{ array_expr }}) as {{ alias }}({{ column }})
{%- endmacro %}

{% macro spark__unnest_as(array_expr, alias, column) -%}
    lateral view explode({{ array_expr }}) {{ alias }} as {{ column }}
{%- endmacro %}

{#- Aggregate: the distinct non-null values of a group as a sorted array. -#}
{% macro sorted_distinct_array(expr) -%}
    {{ return(adapter.dispatch('sorted_distinct_array', 'cpa_warehouse')(expr)) }}
{%- endmacro %}

{% macro default__sorted_distinct_array(expr) -%}
    list_sort(list_distinct(list({{ expr }})))
{%- endmacro %}

{% macro spark__sorted_distinct_array(expr) -%}
    array_sort(collect_set({{ expr }}))
{%- endmacro %}

{#- An empty array of dates (typed, so a union or coalesce with a date array works). -#}
{% macro empty_date_array() -%}
    {{ return(adapter.dispatch('empty_date_array', 'cpa_warehouse')()) }}
{%- endmacro %}

{% macro default__empty_date_array() -%}cast([] as date[]){%- endmacro %}

{% macro spark__empty_date_array() -%}cast(array() as array<date>){%- endmacro %}

{#- The config of an incremental fact keyed on a reporting day column (int_clicks_daily,
    int_conversions): the strategy each engine does best, identical rows either way.
      DuckDB: append after a pre-hook that deletes the days the run rebuilds (one transaction).
      Spark:  insert_overwrite of a Parquet table partitioned by the day column (dynamic
              partition overwrite), after a pre-hook that drops the rebuilt days' partitions
              (so a day left with no row is emptied too).
    `pre_hook` is the unrendered "{{ plan_delete(...) }}" string; it is rendered at run time. -#}
{% macro fact_config(day_col, pre_hook) -%}
    {{ return(adapter.dispatch('fact_config', 'cpa_warehouse')(day_col, pre_hook)) }}
{%- endmacro %}

{#- on_schema_change: a column a newer version adds (e.g. the watermark) is added to the stored
    table instead of being silently dropped from every later append. -#}
{% macro default__fact_config(day_col, pre_hook) -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'append', 'pre_hook': pre_hook,
               'on_schema_change': 'append_new_columns'}) }}
{%- endmacro %}

{% macro spark__fact_config(day_col, pre_hook) -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'insert_overwrite',
               'partition_by': [day_col], 'file_format': 'parquet', 'pre_hook': pre_hook,
               'on_schema_change': 'append_new_columns'}) }}
{%- endmacro %}
