-- Active offers priced off the market: price or margin % outside the interquartile range of
-- their category and payout model by more than offmarket_iqr_factor (default half) of that range
-- (metrics.md "Pricing benchmark").
with offers as (
    select
        offer_id, advertiser_id, category, payout_model,
        coalesce(price_rub, price)   as price,
        {{ safe_div('price - payout', 'price') }} as margin_pct
    from {{ ref('dim_offers') }}
    where status = 'active'
),

flagged as (
    select
        o.*,
        b.price_p25, b.price_p75, b.margin_pct_p25, b.margin_pct_p75,
        {% set f = var('offmarket_iqr_factor') %}
        -- the distance beyond a fence counts from a millionth on: an offer exactly on a fence is
        -- not beyond it (of two offers in a group, both are: p75 + IQR/2 is the dearer one), and
        -- the last bits of the percentile arithmetic differ between engines and builds
        case
            when round(o.price - (b.price_p25 - {{ f }} * (b.price_p75 - b.price_p25)), 6) < 0 then 'below'
            when round(o.price - (b.price_p75 + {{ f }} * (b.price_p75 - b.price_p25)), 6) > 0 then 'above'
        end as price_position,
        case
            when round(o.margin_pct - (b.margin_pct_p25 - {{ f }} * (b.margin_pct_p75 - b.margin_pct_p25)), 6) < 0
                then 'below'
            when round(o.margin_pct - (b.margin_pct_p75 + {{ f }} * (b.margin_pct_p75 - b.margin_pct_p25)), 6) > 0
                then 'above'
        end as margin_pct_position
    from offers as o
    join {{ ref('fct_pricing_benchmarks') }} as b
        on b.category = o.category and b.payout_model = o.payout_model
)

select *
from flagged
where price_position is not null or margin_pct_position is not null
