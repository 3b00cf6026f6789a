-- Approved revenue and payout per reporting day x offer x advertiser (the conversion's own) x
-- category (the offer's that day) x publisher x traffic source: the base of every margin mart.
{#- Incremental on the conversions plan, like int_conversions_daily it reads: a run rebuilds
    the days that table has just rebuilt; the whole table when the offer catalogue changed
    (offers_version: a snapshot can change the category of past days). -#}
-- depends_on: {{ ref('stg_offers') }}
{#- Built after int_offer_daily, never beside it: each joins the daily conversions to the offers'
    daily state, and side by side under a small DuckDB budget (`[duckdb] memory_limit`, shared
    by the queries of one build) they ran out of it together at 10M clicks, at 128MB and at
    192MB, while each alone fits (benchmarks/notes.md). An ordering only, like int_conversions
    after int_clicks_daily: nothing is read from it. -#}
-- depends_on: {{ ref('int_offer_daily') }}
{%- set offers = offers_version() -%}
{%- set plan = conversions_plan(offers) -%}
{{ config(fact_config('day', "{{ conversions_plan_delete('day', offers_version()) }}")) }}
select
    c.day,
    c.offer_id,
    c.advertiser_id,
    coalesce(state.category, cur.category, 'unknown') as category,
    c.publisher_id,
    c.traffic_source,
    sum(c.revenue) as revenue,
    sum(c.payout)  as payout,
    {{ watermark_literal(plan) }} as _observed_at,
    {{ version_literal(offers) }} as _inputs_version
from {{ ref('int_conversions_daily') }} as c
left join {{ ref('int_offer_state_daily') }} as state
    on state.offer_id = c.offer_id and state.day = c.day
left join {{ ref('int_offers_current') }} as cur on cur.offer_id = c.offer_id
where c.approved > 0 and {{ plan_day_filter(plan, 'c.day') }}
group by
    c.day, c.offer_id, c.advertiser_id, coalesce(state.category, cur.category, 'unknown'),
    c.publisher_id, c.traffic_source
