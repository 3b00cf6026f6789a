-- Pricing benchmark per category and payout model over active offers (newest snapshot status
-- 'active'): 25th / 50th / 75th percentile of price, payout and margin % (catalogue: (price -
-- payout) / price). Fixed-amount models are compared in RUB (snapshot day's rate); CPS and
-- RevShare in percent of the order value, as priced.
with offers as (
    select
        offer_id, category, payout_model,
        coalesce(price_rub, price)   as price,
        coalesce(payout_rub, payout) as payout,
        {{ safe_div('price - payout', 'price') }} as margin_pct
    from {{ ref('dim_offers') }}
    where status = 'active'
)

select
    category,
    payout_model,
    count(*)                                                   as active_offers,
    percentile_cont(0.25) within group (order by price)        as price_p25,
    percentile_cont(0.50) within group (order by price)        as price_p50,
    percentile_cont(0.75) within group (order by price)        as price_p75,
    percentile_cont(0.25) within group (order by payout)       as payout_p25,
    percentile_cont(0.50) within group (order by payout)       as payout_p50,
    percentile_cont(0.75) within group (order by payout)       as payout_p75,
    percentile_cont(0.25) within group (order by margin_pct)   as margin_pct_p25,
    percentile_cont(0.50) within group (order by margin_pct)   as margin_pct_p50,
    percentile_cont(0.75) within group (order by margin_pct)   as margin_pct_p75
from offers
group by category, payout_model
