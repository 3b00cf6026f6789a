-- Every payment, dated, with the invoice it is applied to (so debt at any past date can be
-- rebuilt without leaking later payments). amount is in the applied invoice's currency
-- (another currency converts through RUB at the payment day's rate); for unallocated credit it
-- is the payment's own amount.
select
    payment_number,
    advertiser_id,
    payment_date,
    applied_invoice_number                          as invoice_number,
    invoice_number                                  as named_invoice_number,
    allocation,
    currency                                        as payment_currency,
    amount                                          as payment_amount,
    amount_rub,
    coalesce(amount_in_invoice_currency, amount)    as amount
from {{ ref('int_payments') }}
