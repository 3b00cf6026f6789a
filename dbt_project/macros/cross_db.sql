{#- Engine-neutral helpers shared by the models (issue #10: the same project builds on DuckDB and
    on Spark). A model body uses only SQL both engines read alike, dbt's cross-database macros,
    or these. Where the engines differ the macro dispatches (adapter.dispatch, project
    cpa_warehouse) to a duckdb__ and a spark__ implementation; default__ is the DuckDB form.
    On DuckDB the helpers give the rows the models gave before (the reference build is unchanged).
    Mind one default that differs silently: an ascending ORDER BY puts nulls last on DuckDB and
    first on Spark; write `nulls last` for a key that can be null. -#}


{#- The columns of `relation` as a select list, in the relation's order (optionally prefixed
    with `prefix.`, leaving out `except`). Neither engine's SQL that works on both has
    `select * exclude`, so a query that adds a helper column (a row number) lists the columns it
    keeps. Read from the warehouse when the model is compiled for a run, when the upstream
    relation exists; a bare `dbt compile/parse` without a warehouse falls back to `*`. -#}
{% macro column_list(relation, prefix=none, except=[]) -%}
    {%- set columns = adapter.get_columns_in_relation(relation) if execute else [] -%}
    {%- set lowered_except = except | map('lower') | list -%}
    {%- set names = [] -%}
    {%- for column in columns if column.name | lower not in lowered_except -%}
        {%- do names.append((prefix ~ '.' if prefix else '') ~ adapter.quote(column.name)) -%}
    {%- endfor -%}
    {%- if names -%}{{ names | join(', ') }}{%- else -%}{{ (prefix ~ '.' if prefix else '') ~ '*' }}{%- endif -%}
{%- endmacro %}


{#- One row per `partition_by`: the first in `order_by` order, with every column of `relation`
    and nothing more (the portable form of DuckDB's `qualify row_number() over (...) = 1`;
    Trino and older Spark have no QUALIFY). `where` filters the rows before ranking. -#}
{% macro first_row_per(relation, partition_by, order_by, where=none) -%}
    select {{ column_list(relation) }}
    from (
        select *, row_number() over (partition by {{ partition_by }} order by {{ order_by }}) as cpa_row_number
        from {{ relation }}
        {%- if where %}
        where {{ where }}
        {%- endif %}
    ) as ranked
    where cpa_row_number = 1
{%- endmacro %}


{#- A set-returning select-list expression: one row per day from `first_day` to `last_day`
    (dates, both inclusive), as a column of type date. Use it alone in a select list over a
    one-row relation: `select {{ day_series('b.first', 'b.last') }} as day from b`. -#}
{% macro day_series(first_day, last_day) -%}
    {{ return(adapter.dispatch('day_series', 'cpa_warehouse')(first_day, last_day)) }}
{%- endmacro %}

{% macro default__day_series(first_day, last_day) -%}
    cast(unnest(generate_series(
        cast({{ first_day }} as timestamp), cast({{ last_day }} as timestamp), interval 1 day
    )) as date)
{%- endmacro %}

{#- Spark: a generator may not sit inside another expression, so explode() is the whole item. -#}
{% macro spark__day_series(first_day, last_day) -%}
    explode(sequence(cast({{ first_day }} as date), cast({{ last_day }} as date), interval 1 day))
{%- endmacro %}


{#- ISO-8601 week-numbering year of a date (the year its ISO week belongs to). -#}
{% macro iso_year(d) -%}
    {{ return(adapter.dispatch('iso_year', 'cpa_warehouse')(d)) }}
{%- endmacro %}

{% macro default__iso_year(d) -%}extract(isoyear from {{ d }}){%- endmacro %}

{% macro spark__iso_year(d) -%}extract(yearofweek from {{ d }}){%- endmacro %}


{#- ISO day of the week of a date: Monday 1 .. Sunday 7. -#}
{% macro iso_day_of_week(d) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'cpa_warehouse')(d)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(d) -%}extract(isodow from {{ d }}){%- endmacro %}

{% macro spark__iso_day_of_week(d) -%}extract(dow_iso from {{ d }}){%- endmacro %}


{#- The first element of an array (list) column, null when it is empty or null. DuckDB lists
    are 1-based; Spark's [] is 0-based and fails out of range under ANSI mode. -#}
{% macro array_first(arr) -%}
    {{ return(adapter.dispatch('array_first', 'cpa_warehouse')(arr)) }}
{%- endmacro %}

{% macro default__array_first(arr) -%}{{ arr }}[1]{%- endmacro %}

{% macro spark__array_first(arr) -%}try_element_at({{ arr }}, 1){%- endmacro %}
