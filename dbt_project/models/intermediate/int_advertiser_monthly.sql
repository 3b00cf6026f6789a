-- Approved revenue, payout and margin per advertiser and calendar month of reporting days,
-- zero-filled from the first month of the data to the last, for every advertiser that ever had
-- approved revenue. The base of cohorts, revenue movements and the programme effect.
with months as (
    select distinct month_start, is_month_complete from {{ ref('dim_calendar') }}
),

advertisers as (
    select distinct advertiser_id from {{ ref('int_conversions_daily') }} where revenue > 0
),

monthly as (
    select {{ month_start('day') }} as month_start, advertiser_id,
           sum(revenue) as revenue, sum(payout) as payout,
           cast(sum(conversions) as bigint) as conversions
    from {{ ref('int_conversions_daily') }}
    group by {{ month_start('day') }}, advertiser_id
)

select
    months.month_start,
    months.is_month_complete,
    advertisers.advertiser_id,
    coalesce(monthly.revenue, 0)                             as revenue,
    coalesce(monthly.payout, 0)                              as payout,
    coalesce(monthly.revenue, 0) - coalesce(monthly.payout, 0) as margin,
    coalesce(monthly.conversions, 0)                         as conversions
from months
cross join advertisers
left join monthly
    on monthly.month_start = months.month_start and monthly.advertiser_id = advertisers.advertiser_id
