-- Open receivables: the invoices (latest version, not void) with something still to pay, aged by
-- days past the due date as of the last reporting day.
select
    invoice_number,
    advertiser_id,
    invoice_date,
    due_date,
    currency,
    amount_total,
    paid,
    receivable,
    overpayment,
    receivable_rub,
    days_past_due,
    ageing_bucket
from {{ ref('fct_invoices') }}
where receivable > 0
