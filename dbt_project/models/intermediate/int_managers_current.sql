-- Each staff member as the newest snapshot that lists them describes them.
select *
from {{ ref('stg_managers') }}
qualify row_number() over (
    partition by manager_id order by snapshot_date desc, source_file desc, source_line desc
) = 1
