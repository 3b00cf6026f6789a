-- Portfolio per account manager (metrics.md "Account managers"), as of the last reporting day:
-- clients (advertisers the CRM assigns to the manager) by current tier, revenue and margin of
-- the last 30 days, clients at risk, open debt, activities logged in the last 30 days, and load
-- against capacity: A clients / manager_capacity_tier_a + other clients / manager_capacity_other
-- (1.0 = full).
-- Clients at risk: had a non-trash conversion in the 28 days before the last reporting day but
-- none in its last 3 days (the "stopped" group of the churn reading), or owe money 30+ days
-- past due.
with last_day as (
    select
        last_day,
        {{ shift_days('last_day', -30) }} as before_30d,   -- the last 30 days: day > before_30d
        {{ shift_days('last_day', -28) }} as first_of_28d, -- the 28 days before the last day
        {{ shift_days('last_day', -1) }}  as day_before,
        {{ shift_days('last_day', -3) }}  as before_3d      -- the last 3 days: day > before_3d
    from (select max(day) as last_day from {{ ref('int_reporting_days') }}) as d
),

clients as (
    select a.advertiser_id, a.account_manager_id, a.team_lead_id, a.current_tier
    from {{ ref('dim_advertisers') }} as a
    where a.account_manager_id is not null
),

recent as (
    select
        d.advertiser_id,
        sum(d.revenue) filter (where d.day > l.before_30d) as revenue_30d,
        sum(d.margin) filter (where d.day > l.before_30d)  as margin_30d,
        sum(d.conversions) filter (where d.day between l.first_of_28d and l.day_before) as conv_28d,
        sum(d.conversions) filter (where d.day > l.before_3d) as conv_3d
    from {{ ref('fct_advertiser_daily') }} as d
    cross join last_day as l
    where d.day > l.before_30d
    group by d.advertiser_id
),

debt as (
    select advertiser_id,
           sum(receivable_rub) as open_debt_rub,
           sum(receivable_rub) filter (where days_past_due >= 30) as overdue_30_rub
    from {{ ref('fct_receivables') }}
    group by advertiser_id
),

activities as (
    select a.manager_id, count(*) as activities_30d
    from {{ ref('int_activities') }} as a
    cross join last_day as l
    where a.day > l.before_30d and a.day <= l.last_day
    group by a.manager_id
),

per_client as (
    select
        clients.*,
        coalesce(recent.revenue_30d, 0) as revenue_30d,
        coalesce(recent.margin_30d, 0)  as margin_30d,
        coalesce(debt.open_debt_rub, 0) as open_debt_rub,
        coalesce(debt.overdue_30_rub, 0) as overdue_30_rub,
        (coalesce(recent.conv_28d, 0) > 0 and coalesce(recent.conv_3d, 0) = 0)
            or coalesce(debt.overdue_30_rub, 0) > 0 as is_at_risk
    from clients
    left join recent on recent.advertiser_id = clients.advertiser_id
    left join debt on debt.advertiser_id = clients.advertiser_id
)

select
    m.manager_id,
    m.team_lead_id,
    m.role,
    m.is_current,
    count(p.advertiser_id)                                   as clients,
    count(p.advertiser_id) filter (where p.current_tier = 'A') as clients_tier_a,
    count(p.advertiser_id) filter (where p.current_tier = 'B') as clients_tier_b,
    count(p.advertiser_id) filter (where p.current_tier = 'C') as clients_tier_c,
    count(p.advertiser_id) filter (where p.current_tier is null) as clients_without_revenue,
    coalesce(sum(p.revenue_30d), 0)                          as revenue_30d,
    coalesce(sum(p.margin_30d), 0)                           as margin_30d,
    count(p.advertiser_id) filter (where p.is_at_risk)       as clients_at_risk,
    coalesce(sum(p.open_debt_rub), 0)                        as open_debt_rub,
    coalesce(sum(p.overdue_30_rub), 0)                       as overdue_30_debt_rub,
    coalesce(max(act.activities_30d), 0)                     as activities_30d,
    count(p.advertiser_id) filter (where p.current_tier = 'A') / {{ var('manager_capacity_tier_a') }}
      + count(p.advertiser_id) filter (where coalesce(p.current_tier, 'C') <> 'A')
        / {{ var('manager_capacity_other') }}                as load,
    count(p.advertiser_id) filter (where p.current_tier = 'A') / {{ var('manager_capacity_tier_a') }}
      + count(p.advertiser_id) filter (where coalesce(p.current_tier, 'C') <> 'A')
        / {{ var('manager_capacity_other') }} > 1            as is_over_capacity
from {{ ref('dim_managers') }} as m
left join per_client as p on p.account_manager_id = m.manager_id
left join activities as act on act.manager_id = m.manager_id
where m.role = 'account_manager' or p.advertiser_id is not null
group by m.manager_id, m.team_lead_id, m.role, m.is_current
