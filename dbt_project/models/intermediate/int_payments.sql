-- Payments, one row per payment number (ingestion drops repeats; the first delivery wins here
-- too), with the invoice they pay when it exists and is not void. A payment naming no invoice,
-- a void one or an unknown number is the advertiser's unallocated credit (sources.md reading 5).
with payments as (
    {{ first_row_per(ref('stg_payments'), 'payment_number', 'file_month, source_file, source_line') }}
),

invoices as (
    select invoice_number, currency, is_void from {{ ref('int_invoices_latest') }}
),

invoice_fx as (
    select payments.payment_number, fx.rub_per_unit as invoice_currency_rate
    from payments
    join invoices on invoices.invoice_number = payments.invoice_number
    {{ fx_asof_join('invoices.currency', 'payments.payment_date') }}
)

select
    payments.*,
    case when invoices.invoice_number is not null and not invoices.is_void
         then payments.invoice_number end                    as applied_invoice_number,
    case
        when payments.invoice_number is null then 'no_invoice'
        when invoices.invoice_number is null then 'unknown_invoice'
        when invoices.is_void then 'void_invoice'
        else 'applied'
    end                                                      as allocation,
    -- the amount in the invoice's currency: converted through RUB at the payment day's rate
    case
        when invoices.invoice_number is null or invoices.is_void then null
        when invoices.currency = payments.currency then payments.amount
        when invoices.currency = 'RUB' then payments.amount_rub
        else payments.amount_rub / invoice_fx.invoice_currency_rate
    end                                                      as amount_in_invoice_currency
from payments
left join invoices on invoices.invoice_number = payments.invoice_number
left join invoice_fx on invoice_fx.payment_number = payments.payment_number
