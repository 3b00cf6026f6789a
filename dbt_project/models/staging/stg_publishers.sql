-- Publisher snapshots; personal data arrives hashed.
select
    cast(snapshot_date as date)     as snapshot_date,
    cast(publisher_id as bigint)    as publisher_id,
    cast(name_hash as varchar)      as name_hash,
    cast(email_hash as varchar)     as email_hash,
    cast(phone_hash as varchar)     as phone_hash,
    cast(country as varchar)        as country,
    cast(registered_at as timestamp) as registered_at,
    traffic_types,
    cast(status as varchar)         as status,
    cast(manager_id as bigint)      as manager_id,
    cast(_source_file as varchar)   as source_file,
    cast(_source_line as bigint)    as source_line
from {{ source('raw', 'publishers') }}
