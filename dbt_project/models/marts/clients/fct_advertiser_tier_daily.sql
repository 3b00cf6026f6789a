-- Tier per advertiser per day from trailing 90-day revenue (the window ends with the day):
-- A >= tier_a_min_revenue_90d, B >= tier_b_min_revenue_90d, C otherwise. Rows exist from the
-- advertiser's first day with revenue (metrics.md, "Tiers"). A promotion candidate is a B
-- advertiser whose 90-day revenue grew by promotion_growth or more against the 90 days before,
-- which must have had revenue.
with daily as (
    select
        day,
        advertiser_id,
        revenue,
        sum(revenue) over (
            partition by advertiser_id order by day rows between 89 preceding and current row
        ) as revenue_90d,
        coalesce(sum(revenue) over (
            partition by advertiser_id order by day rows between 179 preceding and 90 preceding
        ), 0) as revenue_prev_90d,
        sum(revenue) over (
            partition by advertiser_id order by day rows between unbounded preceding and current row
        ) as revenue_to_date
    from {{ ref('fct_advertiser_daily') }}
),

tiered as (
    select
        day,
        advertiser_id,
        revenue_90d,
        revenue_prev_90d,
        case
            when revenue_90d >= {{ var('tier_a_min_revenue_90d') }} then 'A'
            when revenue_90d >= {{ var('tier_b_min_revenue_90d') }} then 'B'
            else 'C'
        end as tier
    from daily
    where revenue_to_date > 0
)

select
    day,
    advertiser_id,
    revenue_90d,
    revenue_prev_90d,
    tier,
    lag(tier) over (partition by advertiser_id order by day) as previous_tier,
    coalesce(lag(tier) over (partition by advertiser_id order by day) <> tier, false) as tier_changed,
    {{ safe_div('revenue_90d - revenue_prev_90d', 'revenue_prev_90d') }} as growth_90d,
    (tier = 'B'
     and revenue_prev_90d > 0
     and revenue_90d >= (1 + {{ var('promotion_growth') }}) * revenue_prev_90d) as is_promotion_candidate
from tiered
