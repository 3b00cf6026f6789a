-- CRM activities, one row per activity_id (first delivery wins), on the reporting day of
-- occurred_at whatever file brought it (sources.md reading 7).
with activities as (
    {{ first_row_per(ref('stg_activities'), 'activity_id', 'source_file, source_line') }}
)

select
    *,
    {{ reporting_day('occurred_at') }} as day
from activities
