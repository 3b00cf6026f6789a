-- Advertisers (the network's clients): every advertiser_id known to the CRM, the catalogue or the
-- tracker, with its company and owners from the newest CRM snapshot, its main category (most
-- approved revenue, else most offers), cohort (month of the first approved revenue) and tier on
-- the last reporting day. is_active_now: a non-trash conversion in the 28 days ending with the
-- last reporting day.
with ids as (
    select advertiser_id from {{ ref('int_advertiser_owners') }}
    union
    select advertiser_id from {{ ref('int_offers_current') }}
    union
    select distinct advertiser_id from {{ ref('int_conversions_daily') }}
),

category_revenue as (
    select advertiser_id, category, sum(revenue) as revenue, count(distinct offer_id) as offers
    from {{ ref('fct_offer_daily') }}
    group by advertiser_id, category
),

offer_categories as (
    select advertiser_id, category, count(*) as offers
    from {{ ref('int_offers_current') }}
    group by advertiser_id, category
),

ranked_categories as (
    select o.advertiser_id, o.category,
           row_number() over (
               partition by o.advertiser_id
               order by coalesce(r.revenue, 0) desc, o.offers desc, o.category nulls last
           ) as category_rank
    from offer_categories as o
    left join category_revenue as r
        on r.advertiser_id = o.advertiser_id and r.category = o.category
),

main_category as (
    select advertiser_id, category from ranked_categories where category_rank = 1
),

first_revenue as (
    select advertiser_id, min(day) as first_revenue_day
    from {{ ref('int_conversions_daily') }}
    where revenue > 0
    group by advertiser_id
),

last_day as (select max(day) as last_day from {{ ref('int_reporting_days') }}),

recent as (
    select d.advertiser_id, cast(sum(d.conversions) as bigint) as conversions_28d
    from {{ ref('int_conversions_daily') }} as d
    cross join last_day
    where d.day > {{ dbt.dateadd('day', -28, 'last_day.last_day') }} and d.day <= last_day.last_day
    group by d.advertiser_id
),

current_tier as (
    select t.advertiser_id, t.tier
    from {{ ref('fct_advertiser_tier_daily') }} as t
    join last_day on t.day = last_day.last_day
)

select
    ids.advertiser_id,
    owners.company_id,
    owners.company_name,
    owners.industry,
    main_category.category                              as main_category,
    owners.account_manager_id,
    owners.team_lead_id,
    owners.bdm_id,
    first_revenue.first_revenue_day,
    {{ month_start('first_revenue.first_revenue_day') }} as cohort_month,
    current_tier.tier                                   as current_tier,
    coalesce(recent.conversions_28d, 0) > 0             as is_active_now
from ids
left join {{ ref('int_advertiser_owners') }} as owners on owners.advertiser_id = ids.advertiser_id
left join main_category on main_category.advertiser_id = ids.advertiser_id
left join first_revenue on first_revenue.advertiser_id = ids.advertiser_id
left join recent on recent.advertiser_id = ids.advertiser_id
left join current_tier on current_tier.advertiser_id = ids.advertiser_id
where ids.advertiser_id is not null
