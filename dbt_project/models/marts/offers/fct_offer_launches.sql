-- One row per launched offer: its launch day (first day with a clean click: metrics.md "Offers"),
-- the first approved conversion and whether it came within launch_activation_days (default
-- 14: created on one of the days launch_day .. launch_day + 13). is_window_complete says whether
-- the 14 days have passed by the last reporting day.
with launches as (
    select offer_id, min(day) as launch_day
    from {{ ref('int_offer_daily') }}
    where clean_clicks > 0
    group by offer_id
),

firsts as (
    select offer_id,
           min(day) filter (where approved > 0) as first_approved_day,
           min(day) filter (where approved > 0 or pending > 0) as first_approved_or_pending_day
    from {{ ref('int_offer_daily') }}
    group by offer_id
),

last_day as (select max(day) as last_day from {{ ref('int_reporting_days') }})

select
    launches.offer_id,
    offers.advertiser_id,
    offers.category,
    offers.payout_model,
    launches.launch_day,
    {{ month_start('launches.launch_day') }}                          as launch_month,
    firsts.first_approved_day,
    firsts.first_approved_or_pending_day,
    cast({{ dbt.datediff('launches.launch_day', 'firsts.first_approved_day', 'day') }} as bigint)
                                                                      as days_to_first_approved,
    coalesce({{ dbt.datediff('launches.launch_day', 'firsts.first_approved_day', 'day') }}
             < {{ var('launch_activation_days') }}, false)              as is_activated,
    cast({{ dbt.datediff('launches.launch_day', 'last_day.last_day', 'day') }} as bigint)
                                                                      as days_since_launch,
    {{ dbt.datediff('launches.launch_day', 'last_day.last_day', 'day') }}
        >= {{ var('launch_activation_days') }} - 1                        as is_window_complete
from launches
cross join last_day
left join firsts on firsts.offer_id = launches.offer_id
left join {{ ref('dim_offers') }} as offers on offers.offer_id = launches.offer_id
