-- Offers as the newest catalogue snapshot describes them, with the launch day (first day with a
-- clean click; launched_at is informational: metrics.md "Offer state on a day").
with launches as (
    select offer_id, min(day) as launch_day
    from {{ ref('int_offer_daily') }}
    where clean_clicks > 0
    group by offer_id
)

select
    offers.offer_id,
    offers.advertiser_id,
    offers.title,
    offers.category,
    offers.payout_model,
    offers.currency,
    offers.price,
    offers.payout,
    offers.price_rub,
    offers.payout_rub,
    offers.hold_days,
    offers.daily_cap,
    offers.status,
    offers.is_exclusive,
    offers.created_at,
    offers.launched_at,
    offers.stopped_at,
    launches.launch_day,
    offers.snapshot_date as last_snapshot_date
from {{ ref('int_offers_current') }} as offers
left join launches on launches.offer_id = offers.offer_id
