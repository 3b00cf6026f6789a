-- Reconciliation per advertiser and invoice period (metrics.md "Billing"): approved revenue from
-- the tracker (conversions created in the period, current status) against the net amount
-- invoiced for it (latest versions, void excluded). Both sides are compared in the invoice's
-- currency and shown in RUB at the invoice date's rate, so exchange-rate moves between the
-- conversion days and the invoice date do not show up as gaps: a conversion in the invoice's
-- currency counts at its own amount, any other through RUB at its day's rate.
-- A gap is a discrepancy when |gap| exceeds reconciliation_gap_share of the invoiced amount or
-- reconciliation_gap_rub (RUB).
with invoiced as (
    select
        advertiser_id, period_from, period_to, currency,
        count(*)                                          as invoices,
        sum(amount_net)                                   as invoiced_net_cur,
        sum(amount_net_rub)                               as invoiced_net,
        coalesce(max({{ safe_div('amount_net_rub', 'amount_net') }}),
                 max({{ safe_div('amount_total_rub', 'amount_total') }}), 1) as invoice_rate
    from {{ ref('int_invoices_latest') }}
    where not is_void
    group by advertiser_id, period_from, period_to, currency
),

conversions as (
    select
        i.advertiser_id, i.period_from, i.period_to, i.currency as invoice_currency,
        c.created_day, c.currency, c.revenue, c.revenue_rub
    from invoiced as i
    join {{ ref('int_conversions') }} as c
        on c.advertiser_id = i.advertiser_id
       and c.created_day between i.period_from and i.period_to
       and c.status = 'approved'
),

tracker as (
    select
        conversions.advertiser_id, conversions.period_from, conversions.period_to,
        conversions.invoice_currency,
        sum(case
                when conversions.currency = conversions.invoice_currency then conversions.revenue
                when conversions.invoice_currency = 'RUB' then conversions.revenue_rub
                else conversions.revenue_rub / fx.rub_per_unit
            end) as tracker_revenue_cur
    from conversions
    {{ fx_asof_join('conversions.invoice_currency', 'conversions.created_day') }}
    group by conversions.advertiser_id, conversions.period_from, conversions.period_to,
             conversions.invoice_currency
),

joined as (
    select
        invoiced.*,
        coalesce(tracker.tracker_revenue_cur, 0)                        as tracker_revenue_cur,
        coalesce(tracker.tracker_revenue_cur, 0) * invoiced.invoice_rate as tracker_revenue
    from invoiced
    left join tracker
        on tracker.advertiser_id = invoiced.advertiser_id
       and tracker.period_from = invoiced.period_from
       and tracker.period_to = invoiced.period_to
       and tracker.invoice_currency = invoiced.currency
)

select
    advertiser_id,
    period_from,
    period_to,
    currency,
    invoices,
    tracker_revenue,
    invoiced_net,
    tracker_revenue - invoiced_net                                  as gap,
    {{ safe_div('tracker_revenue - invoiced_net', 'invoiced_net') }} as gap_share,
    (abs(tracker_revenue - invoiced_net) > {{ var('reconciliation_gap_share') }} * abs(invoiced_net)
     or abs(tracker_revenue - invoiced_net) > {{ var('reconciliation_gap_rub') }}) as is_discrepancy,
    tracker_revenue_cur                                             as tracker_revenue_invoice_currency,
    invoiced_net_cur                                                as invoiced_net_invoice_currency
from joined
