-- Traffic and conversions per offer and reporting day (rows where either exists), with the
-- offer's state that day (newest snapshot on or before it; the newest snapshot that lists the
-- offer when none does).
with clicks as (
    select day, offer_id, clicks, clean_clicks, bot_clicks
    from {{ ref('int_clicks_by_offer_daily') }}
),

conversions as (
    select day, offer_id,
           {{ conversion_sums() }}
    from {{ ref('int_conversions_daily') }}
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
    case when state.offer_id is not null then state.daily_cap else cur.daily_cap end as daily_cap
from joined
left join {{ ref('int_offer_state_daily') }} as state
    on state.offer_id = joined.offer_id and state.day = joined.day
left join {{ ref('int_offers_current') }} as cur
    on cur.offer_id = joined.offer_id
