{#- Engine-neutral helpers for the marts (margin, clients, billing, managers, publishers).
    Each renders SQL both DuckDB and Spark run with the same result; where the engines spell a
    thing differently, adapter.dispatch picks the engine's own form. -#}

{#- The date n days after a date (n may be negative), as a DATE on every engine. dbt.dateadd
    returns a timestamp (DuckDB: date + interval; Spark: to_timestamp(...)), which would turn a
    date column into a timestamp; date + integer is a date on DuckDB and date_add on Spark. -#}
{% macro shift_days(day, n) -%}
    {{ return(adapter.dispatch('shift_days', 'cpa_warehouse')(day, n)) }}
{%- endmacro %}

{% macro default__shift_days(day, n) -%}
    cast({{ dbt.dateadd('day', n, day) }} as date)
{%- endmacro %}

{% macro duckdb__shift_days(day, n) -%}
    ({{ day }} + {{ n }})
{%- endmacro %}

{% macro spark__shift_days(day, n) -%}
    date_add({{ day }}, {{ n }})
{%- endmacro %}
