-- Publisher snapshots; personal data arrives hashed.
select
    cast(snapshot_date as date)     as snapshot_date,
    cast(publisher_id as bigint)    as publisher_id,
    cast(name_hash as {{ dbt.type_string() }})      as name_hash,
    cast(email_hash as {{ dbt.type_string() }})     as email_hash,
    cast(phone_hash as {{ dbt.type_string() }})     as phone_hash,
    cast(country as {{ dbt.type_string() }})        as country,
    cast(registered_at as timestamp) as registered_at,
    traffic_types,
    cast(status as {{ dbt.type_string() }})         as status,
    cast(manager_id as bigint)      as manager_id,
    cast(_source_file as {{ dbt.type_string() }})   as source_file,
    cast(_source_line as bigint)    as source_line
from {{ source('raw', 'publishers') }}
