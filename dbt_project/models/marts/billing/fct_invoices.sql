-- Invoices in their latest version, void ones excluded, with what has been paid on them.
-- Paid = the payments naming the invoice, in the invoice's currency (another currency converts
-- through RUB at the payment day's rate). Receivable = total - paid when positive, overpayment
-- when negative (metrics.md "Billing"; sources.md reading 5). RUB columns at the invoice date's
-- rate (metrics.md "Receivables"). Days past due count to the last reporting day.
with paid as (
    select applied_invoice_number as invoice_number,
           sum(amount_in_invoice_currency) as paid,
           count(*) as payments,
           max(payment_date) as last_payment_date
    from {{ ref('int_payments') }}
    where applied_invoice_number is not null
    group by applied_invoice_number
),

last_day as (select max(day) as last_day from {{ ref('int_reporting_days') }}),

invoices as (
    select
        inv.invoice_number,
        inv.advertiser_id,
        inv.invoice_date,
        inv.due_date,
        inv.period_from,
        inv.period_to,
        inv.currency,
        inv.amount_net,
        inv.vat,
        inv.amount_total,
        inv.amount_net_rub,
        inv.amount_total_rub,
        {{ safe_div('inv.amount_total_rub', 'inv.amount_total') }} as invoice_day_rate,
        inv.status as exported_status,
        inv.file_month as version_file_month,
        coalesce(paid.paid, 0)  as paid,
        coalesce(paid.payments, 0) as payments,
        paid.last_payment_date,
        -- bigint on every engine (Spark's datediff is an int)
        cast({{ dbt.datediff('inv.due_date', 'last_day.last_day', 'day') }} as {{ dbt.type_bigint() }}) as days_after_due
    from {{ ref('int_invoices_latest') }} as inv
    cross join last_day
    left join paid on paid.invoice_number = inv.invoice_number
    where not inv.is_void
)

select
    invoice_number,
    advertiser_id,
    invoice_date,
    due_date,
    period_from,
    period_to,
    currency,
    amount_net,
    vat,
    amount_total,
    amount_net_rub,
    amount_total_rub,
    paid,
    greatest(amount_total - paid, 0)                      as receivable,
    greatest(paid - amount_total, 0)                      as overpayment,
    greatest(amount_total - paid, 0) * coalesce(invoice_day_rate, 1) as receivable_rub,
    greatest(paid - amount_total, 0) * coalesce(invoice_day_rate, 1) as overpayment_rub,
    payments,
    last_payment_date,
    exported_status,
    version_file_month,
    case when amount_total - paid > 0 then greatest(days_after_due, 0) else 0 end as days_past_due,
    case
        when amount_total - paid <= 0 then null
        when days_after_due <= 0 then 'not_due'
        when days_after_due <= 30 then '1-30'
        when days_after_due <= 60 then '31-60'
        when days_after_due <= 90 then '61-90'
        else '90+'
    end as ageing_bucket
from invoices
