-- Reconciliation per advertiser and invoice period: approved revenue from the tracker
-- (conversions created in the period, current status, RUB) against the net amount invoiced for
-- it (latest versions, void excluded, RUB at the invoice date). A gap is a discrepancy when
-- |gap| exceeds reconciliation_gap_share of the invoiced amount or reconciliation_gap_rub.
with invoiced as (
    select advertiser_id, period_from, period_to,
           sum(amount_net_rub) as invoiced_net,
           count(*) as invoices
    from {{ ref('int_invoices_latest') }}
    where not is_void
    group by advertiser_id, period_from, period_to
),

tracker as (
    select i.advertiser_id, i.period_from, i.period_to, sum(d.revenue) as tracker_revenue
    from invoiced as i
    join {{ ref('int_conversions_daily') }} as d
        on d.advertiser_id = i.advertiser_id
       and d.day between i.period_from and i.period_to
    group by i.advertiser_id, i.period_from, i.period_to
)

select
    invoiced.advertiser_id,
    invoiced.period_from,
    invoiced.period_to,
    invoiced.invoices,
    coalesce(tracker.tracker_revenue, 0)                         as tracker_revenue,
    invoiced.invoiced_net,
    coalesce(tracker.tracker_revenue, 0) - invoiced.invoiced_net as gap,
    {{ safe_div('coalesce(tracker.tracker_revenue, 0) - invoiced.invoiced_net', 'invoiced.invoiced_net') }} as gap_share,
    (abs(coalesce(tracker.tracker_revenue, 0) - invoiced.invoiced_net)
        > {{ var('reconciliation_gap_share') }} * abs(invoiced.invoiced_net)
     or abs(coalesce(tracker.tracker_revenue, 0) - invoiced.invoiced_net)
        > {{ var('reconciliation_gap_rub') }})                   as is_discrepancy
from invoiced
left join tracker
    on tracker.advertiser_id = invoiced.advertiser_id
   and tracker.period_from = invoiced.period_from
   and tracker.period_to = invoiced.period_to
