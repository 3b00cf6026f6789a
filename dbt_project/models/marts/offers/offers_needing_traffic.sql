-- The weekly needs-traffic list (metrics.md "Offers"): for each complete ISO week, the offers
-- live in it (a clean click in its 7 days) whose average cap utilisation over the 7 days is
-- below needs_traffic_cap_utilisation (days without conversions count as 0; offers without a
-- cap have none), or whose clean clicks fell by needs_traffic_click_drop or more against the
-- 28 days before the week (compared per 7 days: prev_28d / 4).
with weeks as (
    select distinct week_start
    from {{ ref('dim_calendar') }}
    where is_week_complete
),

offer_days as (
    select day, offer_id, advertiser_id, category, clean_clicks, daily_cap,
           coalesce(cap_utilisation, 0) as cap_utilisation
    from {{ ref('fct_offer_daily') }}
),

caps as (
    -- the offer's cap on every day of the week, from its state that day
    select weeks.week_start, state.offer_id, state.day, state.daily_cap
    from weeks
    join {{ ref('int_offer_state_daily') }} as state
        on state.day between weeks.week_start and {{ dbt.dateadd('day', 6, 'weeks.week_start') }}
    where state.daily_cap is not null
),

week_stats as (
    select
        weeks.week_start,
        od.offer_id,
        cast(sum(od.clean_clicks) filter (
            where od.day between weeks.week_start and {{ dbt.dateadd('day', 6, 'weeks.week_start') }}
        ) as bigint) as clean_clicks_7d,
        cast(sum(od.clean_clicks) filter (
            where od.day between {{ dbt.dateadd('day', -28, 'weeks.week_start') }}
                             and {{ dbt.dateadd('day', -1, 'weeks.week_start') }}
        ) as bigint) as clean_clicks_prev_28d
    from weeks
    join offer_days as od
        on od.day between {{ dbt.dateadd('day', -28, 'weeks.week_start') }}
                      and {{ dbt.dateadd('day', 6, 'weeks.week_start') }}
    group by weeks.week_start, od.offer_id
),

cap_stats as (
    select caps.week_start, caps.offer_id,
           avg(coalesce(od.cap_utilisation, 0)) as avg_cap_utilisation
    from caps
    left join offer_days as od on od.offer_id = caps.offer_id and od.day = caps.day
    group by caps.week_start, caps.offer_id
),

flagged as (
    select
        s.week_start,
        s.offer_id,
        c.avg_cap_utilisation,
        coalesce(s.clean_clicks_7d, 0)       as clean_clicks_7d,
        coalesce(s.clean_clicks_prev_28d, 0) as clean_clicks_prev_28d,
        -- compared at 9 decimals: an average exactly on the threshold (cap 10, 21 conversions in
        -- the week: 0.30) is not below it, whatever order an engine sums the days in
        coalesce(round(c.avg_cap_utilisation, 9) < {{ var('needs_traffic_cap_utilisation') }}, false) as low_cap,
        (coalesce(s.clean_clicks_prev_28d, 0) > 0
         and coalesce(s.clean_clicks_7d, 0)
             <= (1 - {{ var('needs_traffic_click_drop') }}) * s.clean_clicks_prev_28d / 4.0) as click_drop
    from week_stats as s
    left join cap_stats as c on c.week_start = s.week_start and c.offer_id = s.offer_id
    where coalesce(s.clean_clicks_7d, 0) > 0
)

select
    flagged.week_start,
    flagged.offer_id,
    offers.advertiser_id,
    offers.category,
    case
        when low_cap and click_drop then 'both'
        when low_cap then 'low_cap_utilisation'
        else 'click_drop'
    end as reason,
    flagged.avg_cap_utilisation,
    flagged.clean_clicks_7d,
    flagged.clean_clicks_prev_28d,
    flagged.low_cap as is_low_cap_utilisation,
    flagged.click_drop as is_click_drop
from flagged
left join {{ ref('dim_offers') }} as offers on offers.offer_id = flagged.offer_id
where low_cap or click_drop
