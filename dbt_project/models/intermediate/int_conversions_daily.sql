-- Conversions per reporting day of creation x offer x publisher x advertiser x traffic source
-- (advertiser: the conversion's own advertiser_id, sources.md reading 12; source: of its click),
-- by current status, money in RUB. Incremental on the same plan as int_conversions: a run
-- rebuilds the created days that int_conversions has just rebuilt (or more, if this model missed
-- a run), so the marts above it read a table that a new day changes by that day only.
{%- set plan = conversions_plan() -%}
{{ config(fact_config('day', "{{ conversions_plan_delete('day') }}")) }}
select
    created_day                                                   as day,
    offer_id,
    publisher_id,
    advertiser_id,
    traffic_source,
    count(*) filter (where status <> 'trash')                     as conversions,
    count(*) filter (where status = 'approved')                   as approved,
    count(*) filter (where status = 'pending')                    as pending,
    count(*) filter (where status = 'rejected')                   as rejected,
    count(*) filter (where status = 'trash')                      as trash,
    coalesce(sum(revenue_rub) filter (where status = 'approved'), 0) as revenue,
    coalesce(sum(revenue_rub) filter (where status = 'pending'), 0)  as hold_revenue,
    coalesce(sum(payout_rub) filter (where status = 'approved'), 0)  as payout,
    coalesce(sum(payout_rub) filter (where status = 'pending'), 0)   as hold_payout,
    {{ watermark_literal(plan) }}                                 as _observed_at
from {{ ref('int_conversions') }}
where {{ plan_day_filter(plan, 'created_day') }}
group by created_day, offer_id, publisher_id, advertiser_id, traffic_source
