-- Clicks as the tracker delivered them (one row per raw row), renamed and typed.
select
    cast(click_id as {{ dbt.type_string() }})        as click_id,
    cast(ts as timestamp)            as clicked_at,
    cast(offer_id as bigint)         as offer_id,
    cast(publisher_id as bigint)     as publisher_id,
    cast(source as {{ dbt.type_string() }})          as traffic_source,
    cast(country as {{ dbt.type_string() }})         as country,
    cast(device as {{ dbt.type_string() }})          as device,
    cast(os as {{ dbt.type_string() }})              as os,
    cast(ip_hash as {{ dbt.type_string() }})         as ip_hash,
    cast(user_agent_hash as {{ dbt.type_string() }}) as user_agent_hash,
    cast(is_unique as boolean)       as is_unique,
    cast(is_bot as boolean)          as is_bot,
    cast(day as date)                as file_day,
    cast(_source_file as {{ dbt.type_string() }})    as source_file,
    cast(_source_line as bigint)     as source_line
from {{ raw_fact('clicks') }}
