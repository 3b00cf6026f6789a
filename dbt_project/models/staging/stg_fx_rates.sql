-- Daily rates: roubles per one unit of a currency (RUB itself has no rows).
select
    cast(rate_date as date)    as rate_date,
    cast(currency as {{ dbt.type_string() }})  as currency,
    cast(rate as double)       as rub_per_unit
from {{ source('raw', 'fx_rates') }}
