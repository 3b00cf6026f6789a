-- Offer catalogue snapshots (every snapshot kept). Money-like price/payout are per conversion in
-- the offer currency; for CPS and RevShare they are percentages of the order value, so the RUB
-- columns exist only for the fixed-amount models.
with offers as (
    select
        cast(snapshot_date as date)     as snapshot_date,
        cast(offer_id as bigint)        as offer_id,
        cast(advertiser_id as bigint)   as advertiser_id,
        cast(title as {{ dbt.type_string() }})          as title,
        cast(category as {{ dbt.type_string() }})       as category,
        cast(payout_model as {{ dbt.type_string() }})   as payout_model,
        cast(currency as {{ dbt.type_string() }})       as currency,
        cast(price as double)           as price,
        cast(payout as double)          as payout,
        cast(hold_days as integer)      as hold_days,
        cast(daily_cap as integer)      as daily_cap,
        cast(status as {{ dbt.type_string() }})         as status,
        cast(created_at as timestamp)   as created_at,
        cast(launched_at as timestamp)  as launched_at,
        cast(stopped_at as timestamp)   as stopped_at,
        cast(exclusive as boolean)      as is_exclusive,
        allowed_sources,
        cast(_source_file as {{ dbt.type_string() }})   as source_file,
        cast(_source_line as bigint)    as source_line
    from {{ source('raw', 'offers') }}
)

select
    offers.*,
    case when offers.payout_model not in ('CPS', 'RevShare')
         then {{ to_rub('offers.price', 'offers.currency') }} end  as price_rub,
    case when offers.payout_model not in ('CPS', 'RevShare')
         then {{ to_rub('offers.payout', 'offers.currency') }} end as payout_rub
from offers
{{ fx_asof_join('offers.currency', 'offers.snapshot_date') }}
