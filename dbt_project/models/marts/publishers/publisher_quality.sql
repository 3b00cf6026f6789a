-- Quality per publisher over the whole history and the last 30 days: approval rate, trash share
-- (trash / all conversions incl. trash), bot share (bot clicks / clicks), EPC, and the margin it
-- contributed (revenue - payout of its approved conversions).
with daily as (select * from {{ ref('fct_publisher_daily') }}),

last_day as (  -- the last 30 days: day > before_30d
    select {{ shift_days('last_day', -30) }} as before_30d
    from (select max(day) as last_day from {{ ref('int_reporting_days') }}) as d
),

agg as (
    select
        d.publisher_id,
        min(d.day) filter (where d.clicks > 0)   as first_click_day,
        max(d.day) filter (where d.clicks > 0)   as last_click_day,
        sum(d.clicks) as clicks, sum(d.clean_clicks) as clean_clicks, sum(d.bot_clicks) as bot_clicks,
        sum(d.conversions) as conversions, sum(d.approved) as approved,
        sum(d.rejected) as rejected, sum(d.trash) as trash,
        sum(d.revenue) as revenue, sum(d.payout) as payout,
        sum(d.clean_clicks) filter (where d.day > l.before_30d) as clean_clicks_30d,
        sum(d.approved) filter (where d.day > l.before_30d)     as approved_30d,
        sum(d.rejected) filter (where d.day > l.before_30d)     as rejected_30d,
        sum(d.trash) filter (where d.day > l.before_30d)        as trash_30d,
        sum(d.payout) filter (where d.day > l.before_30d)       as payout_30d,
        sum(d.revenue - d.payout) filter (where d.day > l.before_30d) as margin_30d
    from daily as d
    cross join last_day as l
    group by d.publisher_id
)

select
    agg.publisher_id,
    pub.status,
    pub.country,
    pub.registered_day,
    pub.main_channel,
    pub.manager_id,
    agg.first_click_day,
    agg.last_click_day,
    cast(agg.clicks as bigint)       as clicks,
    cast(agg.clean_clicks as bigint) as clean_clicks,
    cast(agg.bot_clicks as bigint)   as bot_clicks,
    cast(agg.conversions as bigint)  as conversions,
    cast(agg.approved as bigint)     as approved,
    cast(agg.rejected as bigint)     as rejected,
    cast(agg.trash as bigint)        as trash,
    {{ safe_div('agg.approved', 'agg.approved + agg.rejected + agg.trash') }} as approval_rate,
    {{ safe_div('agg.trash', 'agg.conversions + agg.trash') }}               as trash_share,
    {{ safe_div('agg.bot_clicks', 'agg.clicks') }}                           as bot_share,
    {{ safe_div('agg.payout', 'agg.clean_clicks') }}                         as epc,
    agg.revenue,
    agg.payout,
    agg.revenue - agg.payout                                                 as margin_contributed,
    {{ safe_div('agg.approved_30d', 'agg.approved_30d + agg.rejected_30d + agg.trash_30d') }} as approval_rate_30d,
    {{ safe_div('agg.payout_30d', 'agg.clean_clicks_30d') }}                 as epc_30d,
    coalesce(agg.margin_30d, 0)                                              as margin_contributed_30d
from agg
left join {{ ref('dim_publishers') }} as pub on pub.publisher_id = agg.publisher_id
