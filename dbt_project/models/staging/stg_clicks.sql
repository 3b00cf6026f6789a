-- Clicks as the tracker delivered them (one row per raw row), renamed and typed.
select
    cast(click_id as varchar)        as click_id,
    cast(ts as timestamp)            as clicked_at,
    cast(offer_id as bigint)         as offer_id,
    cast(publisher_id as bigint)     as publisher_id,
    cast(source as varchar)          as traffic_source,
    cast(country as varchar)         as country,
    cast(device as varchar)          as device,
    cast(os as varchar)              as os,
    cast(ip_hash as varchar)         as ip_hash,
    cast(user_agent_hash as varchar) as user_agent_hash,
    cast(is_unique as boolean)       as is_unique,
    cast(is_bot as boolean)          as is_bot,
    cast(day as date)                as file_day,
    cast(_source_file as varchar)    as source_file,
    cast(_source_line as bigint)     as source_line
from {{ raw_fact('clicks') }}
