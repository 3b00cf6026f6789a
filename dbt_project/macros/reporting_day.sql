{#- The reporting day of a UTC timestamp: its date in the network's time zone (var `timezone`,
    default Europe/Moscow, UTC+3). sources.md reading 1: day D spans UTC [D-1 21:00, D 21:00). -#}
{% macro reporting_day(ts, tz=none) -%}
    {{ return(adapter.dispatch('reporting_day', 'cpa_warehouse')(ts, tz)) }}
{%- endmacro %}

{#- DuckDB: the date of the UTC timestamp plus the zone's UTC offset at that instant.

    The offset is piecewise constant between the zone's transitions, so it is looked up in a
    balanced CASE over the transitions from 1970 to 2100 (about eight comparisons a row) instead
    of converting every row through ICU: at 100M clicks, int_clicks_daily's group-by took
    26.8-34.8 s with the per-row conversion and 19.6-20.3 s with the lookup. The transitions come from DuckDB's
    own ICU time zone data (zone_transitions), so both ways give the same day; a timestamp
    outside 1970-2100 is converted through ICU as before. tests/test_dbt_reporting_day.py compares
    the local times of both ways every minute of years with transitions, in zones with DST,
    half- and quarter-hour offsets and changes at midnight. `tz`: the zone (default: var `timezone`). -#}
{% macro default__reporting_day(ts, tz=none) -%}
    cast({{ zone_local_time(ts, tz or var("timezone")) }} as date)
{%- endmacro %}

{#- DuckDB: the wall-clock time in zone `tz` of a naive UTC timestamp, the same as
    `timezone(tz, ts at time zone 'UTC')`, by a lookup of the offset (see above). -#}
{% macro zone_local_time(ts, tz) -%}
    {%- set utc = 'cast(' ~ ts ~ ' as timestamp)' -%}
    {%- set icu = _icu_local_time(tz, utc) -%}
    {%- set first, last = _lookup_range() -%}
    {%- set spans = zone_transitions(tz) -%}
    {%- if spans | length == 0 -%}
        {{ icu }}
    {%- else -%}
        case
            when {{ utc }} < timestamp '{{ first }}' or {{ utc }} >= timestamp '{{ last }}'
                then {{ icu }}
            else {{ utc }} + to_seconds({{ _offset_lookup(utc, spans, 0, spans | length - 1) }})
        end
    {%- endif -%}
{%- endmacro %}

{#- [(UTC instant the offset starts, offset in seconds)] of zone `tz` from 1970 to 2100, in
    order, from DuckDB's ICU data: the offset at every UTC midnight, then each change narrowed
    down to its hour, minute and second (zones change at most once a day). Empty at parse time
    (no warehouse connection). -#}
{% macro zone_transitions(tz) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {#- a change first seen at sample t, `coarse` seconds after the previous sample, happened in
        (t - coarse, t]: sample that span every `fine` seconds and keep the first new offset -#}
    {%- set steps = [(86400, 3600), (3600, 60), (60, 1)] -%}
    {%- set first, last = _lookup_range() -%}
    {%- set query -%}
        with days as (
            select unnest(range(timestamp '{{ first }}', timestamp '{{ last }}', interval 1 day)) as t
        ),
        daily as (
            select t, {{ _utc_offset_seconds(tz, 't') }} as off from days
        ),
        changes as (
            select t, off, lag(off) over (order by t) as previous from daily
            qualify previous is null or off <> previous
        ),
        level_0 as (
            select t, off from changes where previous is not null
        ),
        {%- for coarse, fine in steps %}
        level_{{ loop.index }} as (
            select min(samples.t) as t, level.off
            from level_{{ loop.index0 }} as level,
                 lateral (select unnest(range(level.t - interval {{ coarse - fine }} second,
                                              level.t + interval 1 second,
                                              interval {{ fine }} second)) as t) as samples
            where {{ _utc_offset_seconds(tz, 'samples.t') }} = level.off
            group by level.t, level.off
        ),
        {%- endfor %}
        spans as (
            select t, off from changes where previous is null
            union all
            select t, off from level_{{ steps | length }}
        )
        select strftime(t, '%Y-%m-%d %H:%M:%S') as starts, cast(off as bigint) as off
        from spans
        order by t
    {%- endset -%}
    {%- set rows = run_query(query).rows -%}
    {{ return(rows | map('list') | list) }}
{%- endmacro %}

{#- [first, last): the UTC span zone_transitions covers; outside it the ICU conversion is used. -#}
{% macro _lookup_range() -%}
    {{ return(['1970-01-01', '2100-01-01']) }}
{%- endmacro %}

{#- ICU's wall-clock time in zone `tz` of the naive UTC timestamp expression `t`. -#}
{% macro _icu_local_time(tz, t) -%}
    timezone('{{ tz }}', {{ t }} at time zone 'UTC')
{%- endmacro %}

{% macro _utc_offset_seconds(tz, t) -%}
    (epoch({{ _icu_local_time(tz, t) }}) - epoch({{ t }}))
{%- endmacro %}

{#- The offset of `spans` at `ts`: a balanced CASE over spans[lo..hi]. -#}
{% macro _offset_lookup(ts, spans, lo, hi) -%}
    {%- if lo == hi -%}{{ spans[lo][1] }}
    {%- else -%}
        {%- set mid = ((lo + hi + 1) / 2) | int -%}
        case when {{ ts }} < timestamp '{{ spans[mid][0] }}' then {{ _offset_lookup(ts, spans, lo, mid - 1) }} else {{ _offset_lookup(ts, spans, mid, hi) }} end
    {%- endif -%}
{%- endmacro %}

{#- Spark (session time zone UTC, see profiles.yml): shift the UTC timestamp to the zone's
    wall-clock time, take its date. -#}
{% macro spark__reporting_day(ts, tz=none) -%}
    to_date(from_utc_timestamp({{ ts }}, '{{ tz or var("timezone") }}'))
{%- endmacro %}

{#- A literal date. -#}
{% macro date_literal(d) -%}cast('{{ d }}' as date){%- endmacro %}

{#- First day of the ISO week (Monday) of a date. -#}
{% macro week_start(d) -%}cast({{ dbt.date_trunc('week', d) }} as date){%- endmacro %}

{#- First day of the month of a date. -#}
{% macro month_start(d) -%}cast({{ dbt.date_trunc('month', d) }} as date){%- endmacro %}

{#- a / b, null when b is 0 or null. -#}
{% macro safe_div(a, b) -%}(cast({{ a }} as double) / nullif(cast({{ b }} as double), 0)){%- endmacro %}
