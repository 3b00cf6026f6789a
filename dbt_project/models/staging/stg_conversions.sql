-- Conversion status events (every event kept), typed, with money in RUB at the rate of the
-- reporting day of created_at (sources.md reading 2; hold revenue too).
with events as (
    select
        cast(conversion_id as {{ dbt.type_string() }})  as conversion_id,
        cast(click_id as {{ dbt.type_string() }})       as click_id,
        cast(offer_id as bigint)        as offer_id,
        cast(advertiser_id as bigint)   as advertiser_id,
        cast(publisher_id as bigint)    as publisher_id,
        cast(goal as {{ dbt.type_string() }})           as goal,
        cast(status as {{ dbt.type_string() }})         as status,
        cast(created_at as timestamp)   as created_at,
        cast(updated_at as timestamp)   as updated_at,
        {{ reporting_day('created_at') }} as created_day,
        cast(revenue as double)         as revenue,
        cast(payout as double)          as payout,
        cast(currency as {{ dbt.type_string() }})       as currency,
        cast(day as date)               as file_day,
        cast(_source_file as {{ dbt.type_string() }})   as source_file,
        cast(_source_line as bigint)    as source_line
    from {{ raw_fact('conversions') }}
)

select
    events.*,
    {{ to_rub('events.revenue', 'events.currency') }} as revenue_rub,
    {{ to_rub('events.payout', 'events.currency') }}  as payout_rub
from events
{{ fx_asof_join('events.currency', 'events.created_day') }}
