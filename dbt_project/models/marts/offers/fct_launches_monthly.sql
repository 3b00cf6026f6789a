-- Monthly launch stability (metrics.md "Offers"): launches per month, overall (category '_all')
-- and per category, with the share that reached a first approved conversion within
-- launch_activation_days. Launches whose window has not passed yet count as launches and are
-- listed separately (open_windows), so the share of the current month is read with care.
with launches as (select * from {{ ref('fct_offer_launches') }}),

by_category as (
    select launch_month, category,
           count(*) as launches,
           count(*) filter (where is_activated) as activated,
           count(*) filter (where not is_window_complete and not is_activated) as open_windows
    from launches group by launch_month, category
    union all
    select launch_month, '_all' as category,
           count(*), count(*) filter (where is_activated),
           count(*) filter (where not is_window_complete and not is_activated)
    from launches group by launch_month
)

select
    launch_month,
    category,
    launches,
    activated,
    open_windows,
    {{ safe_div('activated', 'launches') }} as activation_share
from by_category
