-- Advertiser x reporting day, zero-filled from the advertiser's first activity (a click on one of
-- its offers or a conversion) to the last reporting day, so trends and recency can be computed.
-- Conversions and money by the conversion's own advertiser_id (sources.md reading 12); clicks and
-- offer counts by the offer's advertiser in the catalogue.
with conversions as (
    select day, advertiser_id,
           {{ conversion_sums() }}
    from {{ ref('int_conversions_daily') }}
    group by day, advertiser_id
),

offer_days as (
    select day, advertiser_id,
           cast(sum(clicks) as bigint) as clicks, cast(sum(clean_clicks) as bigint) as clean_clicks,
           count(distinct case when clean_clicks > 0 then offer_id end) as offers_live,
           avg(cap_utilisation) as avg_cap_utilisation
    from {{ ref('fct_offer_daily') }}
    group by day, advertiser_id
),

offer_status as (
    select day, advertiser_id,
           count(*) filter (where status = 'active')  as offers_active,
           count(*) filter (where status = 'paused')  as offers_paused,
           count(*) filter (where status = 'stopped') as offers_stopped
    from {{ ref('int_offer_state_daily') }}
    group by day, advertiser_id
),

first_activity as (
    select advertiser_id, min(day) as first_day
    from (
        select advertiser_id, day from conversions
        union all
        select advertiser_id, day from offer_days where clicks > 0
    ) as a
    where advertiser_id is not null
    group by advertiser_id
),

spine as (
    select first_activity.advertiser_id, days.day
    from first_activity
    join {{ ref('int_reporting_days') }} as days on days.day >= first_activity.first_day
)

select
    spine.day,
    spine.advertiser_id,
    coalesce(offer_days.clicks, 0)             as clicks,
    coalesce(offer_days.clean_clicks, 0)       as clean_clicks,
    {{ conversion_sums_or_zero('conversions') }},
    coalesce(conversions.revenue, 0) - coalesce(conversions.payout, 0) as margin,
    coalesce(offer_days.offers_live, 0)        as offers_live,
    coalesce(offer_status.offers_active, 0)    as offers_active,
    coalesce(offer_status.offers_paused, 0)    as offers_paused,
    coalesce(offer_status.offers_stopped, 0)   as offers_stopped,
    offer_days.avg_cap_utilisation
from spine
left join conversions
    on conversions.advertiser_id = spine.advertiser_id and conversions.day = spine.day
left join offer_days
    on offer_days.advertiser_id = spine.advertiser_id and offer_days.day = spine.day
left join offer_status
    on offer_status.advertiser_id = spine.advertiser_id and offer_status.day = spine.day
