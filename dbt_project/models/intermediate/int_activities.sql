-- CRM activities, one row per activity_id (first delivery wins), on the reporting day of
-- occurred_at whatever file brought it (sources.md reading 7).
select
    *,
    {{ reporting_day('occurred_at') }} as day
from {{ ref('stg_activities') }}
qualify row_number() over (partition by activity_id order by source_file, source_line) = 1
