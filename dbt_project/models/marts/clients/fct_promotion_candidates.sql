-- The promotion candidates on the last reporting day: B advertisers whose trailing 90-day revenue
-- grew by promotion_growth or more against the 90 days before.
select t.day, t.advertiser_id, t.revenue_90d, t.revenue_prev_90d, t.growth_90d,
       a.account_manager_id, a.team_lead_id
from {{ ref('fct_advertiser_tier_daily') }} as t
join (select max(day) as last_day from {{ ref('int_reporting_days') }}) as l on t.day = l.last_day
left join {{ ref('dim_advertisers') }} as a on a.advertiser_id = t.advertiser_id
where t.is_promotion_candidate
