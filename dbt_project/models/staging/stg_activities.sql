-- CRM activities. An activity belongs to the reporting day of occurred_at, whatever file
-- brought it (sources.md reading 7).
select
    cast(activity_id as {{ dbt.type_string() }})    as activity_id,
    cast(company_id as bigint)      as company_id,
    cast(advertiser_id as bigint)   as advertiser_id,
    cast(manager_id as bigint)      as manager_id,
    cast(type as {{ dbt.type_string() }})           as activity_type,
    cast(direction as {{ dbt.type_string() }})      as direction,
    cast(occurred_at as timestamp)  as occurred_at,
    cast(duration_s as integer)     as duration_s,
    cast(_source_file as {{ dbt.type_string() }})   as source_file,
    cast(_source_line as bigint)    as source_line
from {{ source('raw', 'activities') }}
