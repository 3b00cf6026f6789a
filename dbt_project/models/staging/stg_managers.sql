-- Staff snapshots; name and e-mail arrive hashed.
select
    cast(snapshot_date as date)     as snapshot_date,
    cast(manager_id as bigint)      as manager_id,
    cast(full_name_hash as {{ dbt.type_string() }}) as name_hash,
    cast(email_hash as {{ dbt.type_string() }})     as email_hash,
    cast(role as {{ dbt.type_string() }})           as role,
    cast(team_lead_id as bigint)    as team_lead_id,
    cast(hired_at as date)          as hired_at,
    cast(left_at as date)           as left_at,
    cast(_source_file as {{ dbt.type_string() }})   as source_file,
    cast(_source_line as bigint)    as source_line
from {{ source('raw', 'managers') }}
