-- The network's monthly revenue bridge: start + new + reactivated + expansion - contraction -
-- churned = end, exactly (closes is checked by a dbt test).
with months as (
    select distinct month_start, is_month_complete from {{ ref('int_advertiser_monthly') }}
),

moves as (
    select
        month_start,
        sum(prev_revenue)                                         as start_revenue,
        coalesce(sum(amount) filter (where movement = 'new'), 0)         as new_revenue,
        coalesce(sum(amount) filter (where movement = 'reactivated'), 0) as reactivated_revenue,
        coalesce(sum(amount) filter (where movement = 'expansion'), 0)   as expansion_revenue,
        coalesce(-sum(amount) filter (where movement = 'contraction'), 0) as contraction_revenue,
        coalesce(-sum(amount) filter (where movement = 'churned'), 0)    as churned_revenue,
        sum(revenue)                                              as end_revenue,
        count(*) filter (where movement = 'new')         as new_advertisers,
        count(*) filter (where movement = 'reactivated') as reactivated_advertisers,
        count(*) filter (where movement = 'expansion')   as expanding_advertisers,
        count(*) filter (where movement = 'contraction') as contracting_advertisers,
        count(*) filter (where movement = 'flat')        as flat_advertisers,
        count(*) filter (where movement = 'churned')     as churned_advertisers
    from {{ ref('fct_revenue_movements') }}
    group by month_start
)

select
    months.month_start,
    months.is_month_complete,
    coalesce(moves.start_revenue, 0)        as start_revenue,
    coalesce(moves.new_revenue, 0)          as new_revenue,
    coalesce(moves.reactivated_revenue, 0)  as reactivated_revenue,
    coalesce(moves.expansion_revenue, 0)    as expansion_revenue,
    coalesce(moves.contraction_revenue, 0)  as contraction_revenue,
    coalesce(moves.churned_revenue, 0)      as churned_revenue,
    coalesce(moves.end_revenue, 0)          as end_revenue,
    coalesce(moves.new_advertisers, 0)         as new_advertisers,
    coalesce(moves.reactivated_advertisers, 0) as reactivated_advertisers,
    coalesce(moves.expanding_advertisers, 0)   as expanding_advertisers,
    coalesce(moves.contracting_advertisers, 0) as contracting_advertisers,
    coalesce(moves.flat_advertisers, 0)        as flat_advertisers,
    coalesce(moves.churned_advertisers, 0)     as churned_advertisers
from months
left join moves on moves.month_start = months.month_start
