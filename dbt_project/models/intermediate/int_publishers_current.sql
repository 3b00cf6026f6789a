-- Each publisher as the newest snapshot that lists it describes it.
select *
from {{ ref('stg_publishers') }}
qualify row_number() over (
    partition by publisher_id order by snapshot_date desc, source_file desc, source_line desc
) = 1
