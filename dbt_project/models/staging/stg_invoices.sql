-- Invoice rows, every version; status recoded from the Russian export values; RUB at the rate of
-- the invoice date (sources.md reading 2).
with invoices as (
    select
        cast(file_month as date)        as file_month,
        cast(invoice_number as {{ dbt.type_string() }}) as invoice_number,
        cast(invoice_date as date)      as invoice_date,
        cast(due_date as date)          as due_date,
        cast(advertiser_id as bigint)   as advertiser_id,
        cast(counterparty as {{ dbt.type_string() }})   as counterparty,
        cast(inn as {{ dbt.type_string() }})            as inn,
        cast(period_from as date)       as period_from,
        cast(period_to as date)         as period_to,
        cast(amount_net as double)      as amount_net,
        cast(vat as double)             as vat,
        cast(amount_total as double)    as amount_total,
        cast(currency as {{ dbt.type_string() }})       as currency,
        case cast(status as {{ dbt.type_string() }})
            when 'выставлен' then 'issued'
            when 'частично оплачен' then 'partly_paid'
            when 'оплачен' then 'paid'
            when 'аннулирован' then 'void'
        end                             as status,
        cast(_source_file as {{ dbt.type_string() }})   as source_file,
        cast(_source_line as bigint)    as source_line
    from {{ source('raw', 'invoices') }}
)

select
    invoices.*,
    {{ to_rub('invoices.amount_net', 'invoices.currency') }}   as amount_net_rub,
    {{ to_rub('invoices.amount_total', 'invoices.currency') }} as amount_total_rub
from invoices
{{ fx_asof_join('invoices.currency', 'invoices.invoice_date') }}
