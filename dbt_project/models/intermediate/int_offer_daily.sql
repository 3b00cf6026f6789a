-- Traffic and conversions per offer and reporting day (rows where either exists), with the
-- offer's state that day (newest snapshot on or before it; the newest snapshot that lists the
-- offer when none does).
{#- Incremental on the conversions plan, which holds every day the clicks plan holds too (a
    changed click partition restates its days and the 30 after): a run rebuilds the days its two
    inputs have just rebuilt; the whole table when the offer catalogue changed (offers_version:
    a snapshot can change an offer's state on past days). -#}
-- depends_on: {{ ref('stg_offers') }}
{%- set offers = offers_version() -%}
{%- set plan = conversions_plan(offers) -%}
{{ config(fact_config('day', "{{ conversions_plan_delete('day', offers_version()) }}")) }}
with clicks as (
    select day, offer_id, clicks, clean_clicks, bot_clicks
    from {{ ref('int_clicks_by_offer_daily') }}
    where {{ plan_day_filter(plan, 'day') }}
),

conversions as (
    select day, offer_id,
           {{ conversion_sums() }}
    from {{ ref('int_conversions_daily') }}
    where {{ plan_day_filter(plan, 'day') }}
    group by day, offer_id
),

joined as (
    select
        coalesce(clicks.day, conversions.day)           as day,
        coalesce(clicks.offer_id, conversions.offer_id) as offer_id,
        coalesce(clicks.clicks, 0)                      as clicks,
        coalesce(clicks.clean_clicks, 0)                as clean_clicks,
        coalesce(clicks.bot_clicks, 0)                  as bot_clicks,
        {{ conversion_sums_or_zero('conversions') }}
    from clicks
    full outer join conversions
        on conversions.day = clicks.day and conversions.offer_id = clicks.offer_id
)

select
    joined.*,
    coalesce(state.advertiser_id, cur.advertiser_id) as advertiser_id,
    coalesce(state.category, cur.category)           as category,
    coalesce(state.payout_model, cur.payout_model)   as payout_model,
    coalesce(state.status, cur.status)               as offer_status,
    case when state.offer_id is not null then state.daily_cap else cur.daily_cap end as daily_cap,
    {{ watermark_literal(plan) }}                    as _observed_at,
    {{ version_literal(offers) }}                    as _inputs_version
from joined
left join {{ ref('int_offer_state_daily') }} as state
    on state.offer_id = joined.offer_id and state.day = joined.day
left join {{ ref('int_offers_current') }} as cur
    on cur.offer_id = joined.offer_id
