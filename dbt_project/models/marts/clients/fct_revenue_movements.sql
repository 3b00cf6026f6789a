-- Revenue movement per advertiser and month against the month before (metrics.md "Advertisers"
-- and the fixed reading): new (first revenue ever; also every advertiser active in the first
-- month of data), reactivated (revenue again after a month of none), expansion, contraction,
-- flat (same revenue, above 0), churned (revenue fell to 0: once, in the first month of zero).
-- amount is the month's contribution to the bridge: + for new / reactivated / expansion, - for
-- contraction / churned, 0 for flat.
with monthly as (
    select
        month_start,
        is_month_complete,
        advertiser_id,
        revenue,
        coalesce(lag(revenue) over (partition by advertiser_id order by month_start), 0) as prev_revenue,
        coalesce(sum(revenue) over (
            partition by advertiser_id order by month_start
            rows between unbounded preceding and 1 preceding), 0) as revenue_before
    from {{ ref('int_advertiser_monthly') }}
),

classified as (
    select
        *,
        case
            when revenue > 0 and revenue_before = 0 then 'new'
            when revenue > 0 and prev_revenue = 0 then 'reactivated'
            when revenue > prev_revenue and prev_revenue > 0 then 'expansion'
            when revenue > 0 and revenue < prev_revenue then 'contraction'
            when revenue > 0 and revenue = prev_revenue then 'flat'
            when revenue = 0 and prev_revenue > 0 then 'churned'
        end as movement
    from monthly
)

select
    month_start,
    is_month_complete,
    advertiser_id,
    movement,
    prev_revenue,
    revenue,
    revenue - prev_revenue as amount
from classified
where movement is not null
