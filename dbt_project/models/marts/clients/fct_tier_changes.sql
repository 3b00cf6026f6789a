-- Tier events: a day on which an advertiser moved between tiers, or became a promotion candidate
-- (was not one the day before). The tier_change alert reads this.
with t as (
    select
        *,
        coalesce(lag(is_promotion_candidate) over (partition by advertiser_id order by day), false)
            as was_promotion_candidate
    from {{ ref('fct_advertiser_tier_daily') }}
)

select
    day,
    advertiser_id,
    case when tier_changed then 'tier_change' else 'promotion_candidate' end as event,
    previous_tier,
    tier,
    case
        when tier_changed and tier < previous_tier then 'up'
        when tier_changed then 'down'
    end as direction,
    revenue_90d,
    revenue_prev_90d,
    growth_90d
from t
where tier_changed or (is_promotion_candidate and not was_promotion_candidate)
