-- Every reporting day from the first to the last day with tracker activity (clicks or conversion
-- creation). The last one may be partial (sources.md reading 1): is_last_day flags it.
with bounds as (
    select min(first_day) as first_day, max(last_day) as last_day
    from (
        select min(day) as first_day, max(day) as last_day from {{ ref('int_clicks_by_offer_daily') }}
        union all
        select min(created_day), max(created_day) from {{ ref('int_conversions') }}
    ) as b
),

spine as (
    select {{ day_series('bounds.first_day', 'bounds.last_day') }} as day
    from bounds
    where bounds.first_day is not null
)

select
    spine.day,
    bounds.first_day,
    bounds.last_day,
    spine.day = bounds.last_day as is_last_day
from spine
cross join bounds
