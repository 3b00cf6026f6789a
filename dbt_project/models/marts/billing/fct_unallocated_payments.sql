-- Payments that count as unallocated credit, with the reason: no invoice named, a void invoice
-- or an invoice number billing never issued (reported, per sources.md reading 5).
select
    payment_number,
    advertiser_id,
    payment_date,
    currency,
    amount,
    amount_rub,
    invoice_number as named_invoice_number,
    allocation     as reason
from {{ ref('int_payments') }}
where allocation <> 'applied'
