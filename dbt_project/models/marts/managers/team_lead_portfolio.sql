-- Portfolio per team lead (account lead): the sums over the managers of the team, the team's
-- capacity (one unit per current manager) and its load.
select
    coalesce(p.team_lead_id, p.manager_id) as team_lead_id,
    count(*)                               as managers,
    count(*) filter (where p.is_current)   as current_managers,
    sum(p.clients)                         as clients,
    sum(p.clients_tier_a)                  as clients_tier_a,
    sum(p.clients_tier_b)                  as clients_tier_b,
    sum(p.clients_tier_c)                  as clients_tier_c,
    sum(p.clients_without_revenue)         as clients_without_revenue,
    sum(p.revenue_30d)                     as revenue_30d,
    sum(p.margin_30d)                      as margin_30d,
    sum(p.clients_at_risk)                 as clients_at_risk,
    sum(p.open_debt_rub)                   as open_debt_rub,
    sum(p.overdue_30_debt_rub)             as overdue_30_debt_rub,
    sum(p.activities_30d)                  as activities_30d,
    sum(p.load)                            as load,
    {{ safe_div('sum(p.load)', 'count(*) filter (where p.is_current)') }} as load_per_manager,
    sum(p.load) > count(*) filter (where p.is_current) as is_over_capacity
from {{ ref('manager_portfolio') }} as p
group by 1
