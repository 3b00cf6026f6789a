-- Client-service programme snapshots: which advertisers are in which group of which programme.
select
    cast(snapshot_date as date)   as snapshot_date,
    cast(advertiser_id as bigint) as advertiser_id,
    cast(program as {{ dbt.type_string() }})      as program,
    cast(group_name as {{ dbt.type_string() }})   as group_name,
    cast(started_on as date)      as started_on,
    cast(ended_on as date)        as ended_on,
    cast(_source_file as {{ dbt.type_string() }}) as source_file,
    cast(_source_line as bigint)  as source_line
from {{ source('raw', 'programs') }}
