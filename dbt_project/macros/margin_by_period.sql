{#- Margin per period (day / week / month) and dimension member, with the change against the
    member's previous period. Long format: one row per period x dimension x member, dimension in
    (offer, advertiser, category, source, publisher), so one mart serves every breakdown.
    A member with no approved conversion in the previous period compares against 0; a period
    with none is not listed. -#}
{% macro margin_by_period(grain) -%}
{%- if grain == 'day' -%}
    {%- set period = 'day' -%}
    {%- set prev = dbt.dateadd('day', -1, 'cur.period_start') -%}
    {%- set cal_col, cal_flag = 'day', 'not is_last_day' -%}
{%- elif grain == 'week' -%}
    {%- set period = week_start('day') -%}
    {%- set prev = dbt.dateadd('day', -7, 'cur.period_start') -%}
    {%- set cal_col, cal_flag = 'week_start', 'is_week_complete' -%}
{%- else -%}
    {%- set period = month_start('day') -%}
    {%- set prev = dbt.dateadd('month', -1, 'cur.period_start') -%}
    {%- set cal_col, cal_flag = 'month_start', 'is_month_complete' -%}
{%- endif -%}
{%- set dims = {
    'offer': 'cast(offer_id as ' ~ dbt.type_string() ~ ')',
    'advertiser': 'cast(advertiser_id as ' ~ dbt.type_string() ~ ')',
    'category': 'category',
    'source': 'traffic_source',
    'publisher': 'cast(publisher_id as ' ~ dbt.type_string() ~ ')',
} -%}
with base as (
    select {{ period }} as period_start, * from {{ ref('int_margin_base') }}
),

long as (
    {%- for dim, expr in dims.items() %}
    select period_start, '{{ dim }}' as dimension, {{ expr }} as member,
           sum(revenue) as revenue, sum(payout) as payout
    from base group by 1, 2, 3
    {%- if not loop.last %}
    union all{% endif %}
    {%- endfor %}
),

first_period as (select min(period_start) as first_period from long),

completeness as (
    select distinct {{ cal_col }} as period_start, {{ cal_flag }} as is_period_complete
    from {{ ref('dim_calendar') }}
)

select
    cur.period_start,
    coalesce(completeness.is_period_complete, false)              as is_period_complete,
    cur.dimension,
    cur.member,
    cur.revenue,
    cur.payout,
    cur.revenue - cur.payout                                     as margin,
    {{ safe_div('cur.revenue - cur.payout', 'cur.revenue') }}    as margin_pct,
    case when cur.period_start > fp.first_period then coalesce(prev.revenue, 0) end as prev_revenue,
    case when cur.period_start > fp.first_period
         then coalesce(prev.revenue, 0) - coalesce(prev.payout, 0) end           as prev_margin,
    case when cur.period_start > fp.first_period
         then (cur.revenue - cur.payout) - (coalesce(prev.revenue, 0) - coalesce(prev.payout, 0))
    end                                                          as margin_change,
    {{ safe_div('(cur.revenue - cur.payout) - (prev.revenue - prev.payout)', 'abs(prev.revenue - prev.payout)') }} as margin_change_pct,
    100 * ({{ safe_div('cur.revenue - cur.payout', 'cur.revenue') }}
           - {{ safe_div('prev.revenue - prev.payout', 'prev.revenue') }})             as margin_pct_change_points
from long as cur
cross join first_period as fp
left join completeness on completeness.period_start = cur.period_start
left join long as prev
    on prev.dimension = cur.dimension
   and prev.member = cur.member
   and prev.period_start = {{ prev }}
{%- endmacro %}
