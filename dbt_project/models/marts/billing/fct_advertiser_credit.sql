-- Per advertiser: overpayments on invoices and unallocated credit (payments naming no invoice,
-- a void one or an unknown number), in RUB, and the open receivables.
with overpaid as (
    select advertiser_id, sum(overpayment_rub) as overpayment_rub,
           count(*) filter (where overpayment > 0) as overpaid_invoices,
           sum(receivable_rub) as receivable_rub
    from {{ ref('fct_invoices') }}
    group by advertiser_id
),

unallocated as (
    select advertiser_id,
           sum(amount_rub) as unallocated_credit_rub,
           count(*) as unallocated_payments,
           count(*) filter (where allocation = 'void_invoice') as payments_to_void_invoices,
           count(*) filter (where allocation = 'unknown_invoice') as payments_to_unknown_invoices
    from {{ ref('int_payments') }}
    where allocation <> 'applied'
    group by advertiser_id
),

ids as (
    select advertiser_id from overpaid union select advertiser_id from unallocated
)

select
    ids.advertiser_id,
    coalesce(overpaid.receivable_rub, 0)              as receivable_rub,
    coalesce(overpaid.overpayment_rub, 0)             as overpayment_rub,
    coalesce(overpaid.overpaid_invoices, 0)           as overpaid_invoices,
    coalesce(unallocated.unallocated_credit_rub, 0)   as unallocated_credit_rub,
    coalesce(unallocated.unallocated_payments, 0)     as unallocated_payments,
    coalesce(unallocated.payments_to_void_invoices, 0)    as payments_to_void_invoices,
    coalesce(unallocated.payments_to_unknown_invoices, 0) as payments_to_unknown_invoices,
    coalesce(overpaid.overpayment_rub, 0) + coalesce(unallocated.unallocated_credit_rub, 0)
                                                      as total_credit_rub
from ids
left join overpaid on overpaid.advertiser_id = ids.advertiser_id
left join unallocated on unallocated.advertiser_id = ids.advertiser_id
