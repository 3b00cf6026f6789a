-- Category x reporting day: the offer-day facts summed over the offers of the category
-- (the offer's category on that day).
select
    day,
    category,
    cast(sum(clicks) as bigint)                 as clicks,
    cast(sum(clean_clicks) as bigint)           as clean_clicks,
    cast(sum(conversions) as bigint)            as conversions,
    cast(sum(approved) as bigint)               as approved,
    cast(sum(pending) as bigint)                as pending,
    cast(sum(rejected) as bigint)               as rejected,
    cast(sum(trash) as bigint)                  as trash,
    sum(revenue)                as revenue,
    sum(hold_revenue)           as hold_revenue,
    sum(payout)                 as payout,
    sum(hold_payout)            as hold_payout,
    sum(revenue) - sum(payout)  as margin,
    {{ safe_div('sum(revenue) - sum(payout)', 'sum(revenue)') }} as margin_pct,
    {{ safe_div('cast(sum(conversions) as bigint)', 'cast(sum(clean_clicks) as bigint)') }}      as cr,
    {{ safe_div('cast(sum(approved) as bigint)', 'cast(sum(approved) as bigint) + cast(sum(rejected) as bigint) + cast(sum(trash) as bigint)') }} as approval_rate,
    {{ safe_div('sum(payout)', 'cast(sum(clean_clicks) as bigint)') }}           as epc,
    count(distinct case when clean_clicks > 0 then offer_id end) as offers_live
from {{ ref('fct_offer_daily') }}
group by day, category
