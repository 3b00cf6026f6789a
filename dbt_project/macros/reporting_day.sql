{#- The reporting day of a UTC timestamp: its date in the network's time zone (var `timezone`,
    default Europe/Moscow, UTC+3). sources.md reading 1: day D spans UTC [D-1 21:00, D 21:00). -#}
{% macro reporting_day(ts) -%}
    {{ return(adapter.dispatch('reporting_day', 'cpa_warehouse')(ts)) }}
{%- endmacro %}

{#- DuckDB (and Postgres-like engines): the naive UTC timestamp as an instant, then its wall-clock
    time in the zone. -#}
{% macro default__reporting_day(ts) -%}
    cast(timezone('{{ var("timezone") }}', cast({{ ts }} as timestamp) at time zone 'UTC') as date)
{%- endmacro %}

{#- Spark (session time zone UTC, see profiles.yml): shift the UTC timestamp to the zone's
    wall-clock time, take its date. -#}
{% macro spark__reporting_day(ts) -%}
    to_date(from_utc_timestamp({{ ts }}, '{{ var("timezone") }}'))
{%- endmacro %}

{#- A literal date. -#}
{% macro date_literal(d) -%}cast('{{ d }}' as date){%- endmacro %}

{#- First day of the ISO week (Monday) of a date. -#}
{% macro week_start(d) -%}cast({{ dbt.date_trunc('week', d) }} as date){%- endmacro %}

{#- First day of the month of a date. -#}
{% macro month_start(d) -%}cast({{ dbt.date_trunc('month', d) }} as date){%- endmacro %}

{#- a / b, null when b is 0 or null. -#}
{% macro safe_div(a, b) -%}(cast({{ a }} as double) / nullif(cast({{ b }} as double), 0)){%- endmacro %}
