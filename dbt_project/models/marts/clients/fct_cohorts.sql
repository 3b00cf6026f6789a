-- Advertiser cohorts (metrics.md "Advertisers"): cohort = month of the first approved revenue
-- (current status, so it can move: "Restatement"). Per cohort and months since start: the
-- cohort's size, advertisers still active (approved revenue that month), revenue, margin, and
-- revenue retention = revenue in month k / revenue in month 0.
with monthly as (select * from {{ ref('int_advertiser_monthly') }}),

cohort_of as (
    select advertiser_id, min(month_start) as cohort_month
    from monthly where revenue > 0 group by advertiser_id
),

cohort_rows as (
    select
        cohort_of.cohort_month,
        monthly.month_start,
        monthly.is_month_complete,
        {{ dbt.datediff('cohort_of.cohort_month', 'monthly.month_start', 'month') }} as months_since_start,
        monthly.advertiser_id,
        monthly.revenue,
        monthly.margin
    from monthly
    join cohort_of on cohort_of.advertiser_id = monthly.advertiser_id
    where monthly.month_start >= cohort_of.cohort_month
),

agg as (
    select
        cohort_month, months_since_start, month_start, is_month_complete,
        count(*)                                   as cohort_size,
        count(*) filter (where revenue > 0)        as active_advertisers,
        sum(revenue)                               as revenue,
        sum(margin)                                as margin
    from cohort_rows
    group by cohort_month, months_since_start, month_start, is_month_complete
)

select
    agg.*,
    {{ safe_div('agg.active_advertisers', 'agg.cohort_size') }} as active_share,
    {{ safe_div('agg.revenue', 'm0.revenue') }}                 as revenue_retention
from agg
join agg as m0 on m0.cohort_month = agg.cohort_month and m0.months_since_start = 0
