-- Approved revenue and payout per reporting day x offer x advertiser (the conversion's own) x
-- category (the offer's that day) x publisher x traffic source: the base of every margin mart.
select
    c.day,
    c.offer_id,
    c.advertiser_id,
    coalesce(state.category, cur.category, 'unknown') as category,
    c.publisher_id,
    c.traffic_source,
    sum(c.revenue) as revenue,
    sum(c.payout)  as payout
from {{ ref('int_conversions_daily') }} as c
left join {{ ref('int_offer_state_daily') }} as state
    on state.offer_id = c.offer_id and state.day = c.day
left join {{ ref('int_offers_current') }} as cur on cur.offer_id = c.offer_id
where c.approved > 0
group by
    c.day, c.offer_id, c.advertiser_id, coalesce(state.category, cur.category, 'unknown'),
    c.publisher_id, c.traffic_source
