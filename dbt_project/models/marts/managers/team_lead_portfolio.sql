-- Portfolio per team lead (account lead): the sums over the managers of the team, the team's
-- capacity (one unit per current manager) and its load. Counts are summed as bigint (DuckDB's
-- sum of bigints is a hugeint, which many BI drivers cannot read; Spark's is a bigint anyway).
select
    coalesce(p.team_lead_id, p.manager_id) as team_lead_id,
    count(*)                               as managers,
    count(*) filter (where p.is_current)   as current_managers,
    cast(sum(p.clients) as {{ dbt.type_bigint() }}) as clients,
    cast(sum(p.clients_tier_a) as {{ dbt.type_bigint() }}) as clients_tier_a,
    cast(sum(p.clients_tier_b) as {{ dbt.type_bigint() }}) as clients_tier_b,
    cast(sum(p.clients_tier_c) as {{ dbt.type_bigint() }}) as clients_tier_c,
    cast(sum(p.clients_without_revenue) as {{ dbt.type_bigint() }}) as clients_without_revenue,
    sum(p.revenue_30d)                     as revenue_30d,
    sum(p.margin_30d)                      as margin_30d,
    cast(sum(p.clients_at_risk) as {{ dbt.type_bigint() }}) as clients_at_risk,
    sum(p.open_debt_rub)                   as open_debt_rub,
    sum(p.overdue_30_debt_rub)             as overdue_30_debt_rub,
    cast(sum(p.activities_30d) as {{ dbt.type_bigint() }}) as activities_30d,
    sum(p.load)                            as load,
    {{ safe_div('sum(p.load)', 'count(*) filter (where p.is_current)') }} as load_per_manager,
    sum(p.load) > count(*) filter (where p.is_current) as is_over_capacity
from {{ ref('manager_portfolio') }} as p
group by 1
