-- Every reporting day of the data with its ISO week and month, and whether the week/month is
-- complete in the data (the newest day may be partial: sources.md reading 1).
select
    day,
    {{ week_start('day') }}                               as week_start,
    {{ month_start('day') }}                              as month_start,
    cast({{ iso_year('day') }} as integer)                as iso_year,
    cast(extract(week from day) as integer)               as iso_week,
    cast({{ iso_day_of_week('day') }} as integer)         as iso_day_of_week,
    cast(extract(year from day) as integer)               as year,
    cast(extract(month from day) as integer)              as month,
    is_last_day,
    {{ dbt.dateadd('day', 6, week_start('day')) }} <= last_day     as is_week_complete,
    {{ dbt.last_day('day', 'month') }} <= last_day                 as is_month_complete
from {{ ref('int_reporting_days') }}
