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
    count(*)                                               as active_offers,
    quantile_cont(price, 0.25)      as price_p25,
    quantile_cont(price, 0.50)      as price_p50,
    quantile_cont(price, 0.75)      as price_p75,
    quantile_cont(payout, 0.25)     as payout_p25,
    quantile_cont(payout, 0.50)     as payout_p50,
    quantile_cont(payout, 0.75)     as payout_p75,
    quantile_cont(margin_pct, 0.25) as margin_pct_p25,
    quantile_cont(margin_pct, 0.50) as margin_pct_p50,
    quantile_cont(margin_pct, 0.75) as margin_pct_p75
from offers
group by category, payout_model
