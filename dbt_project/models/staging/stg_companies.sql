-- CRM company snapshots (contacts arrive reduced to a count and hashed e-mails).
select
    cast(snapshot_date as date)        as snapshot_date,
    cast(company_id as bigint)         as company_id,
    cast(advertiser_id as bigint)      as advertiser_id,
    cast(name as {{ dbt.type_string() }})              as company_name,
    cast(inn as {{ dbt.type_string() }})               as inn,
    cast(industry as {{ dbt.type_string() }})          as industry,
    cast(responsible_user_id as bigint) as account_manager_id,
    cast(bdm_user_id as bigint)        as bdm_id,
    cast(created_at as timestamp)      as created_at,
    cast(updated_at as timestamp)      as updated_at,
    tags,
    cast(contact_count as integer)     as contact_count,
    cast(_source_file as {{ dbt.type_string() }})      as source_file,
    cast(_source_line as bigint)       as source_line
from {{ source('raw', 'companies') }}
