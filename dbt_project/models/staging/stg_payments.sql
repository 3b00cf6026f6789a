-- Payments; RUB at the rate of the payment date. An empty invoice number is a prepayment.
with payments as (
    select
        cast(file_month as date)        as file_month,
        cast(payment_number as {{ dbt.type_string() }}) as payment_number,
        cast(payment_date as date)      as payment_date,
        cast(advertiser_id as bigint)   as advertiser_id,
        cast(inn as {{ dbt.type_string() }})            as inn,
        cast(amount as double)          as amount,
        cast(currency as {{ dbt.type_string() }})       as currency,
        nullif(trim(cast(invoice_number as {{ dbt.type_string() }})), '') as invoice_number,
        cast(purpose as {{ dbt.type_string() }})        as purpose,
        cast(_source_file as {{ dbt.type_string() }})   as source_file,
        cast(_source_line as bigint)    as source_line
    from {{ source('raw', 'payments') }}
)

select
    payments.*,
    fx.rub_per_unit                                   as payment_day_rate,
    {{ to_rub('payments.amount', 'payments.currency') }} as amount_rub
from payments
{{ fx_asof_join('payments.currency', 'payments.payment_date') }}
