-- Offer state on each reporting day: the newest catalogue snapshot on or before that day
-- (metrics.md, "Offer state on a day"; sources.md reading 13). Days before the first snapshot
-- that lists an offer take that first snapshot (the catalogue started after the traffic).
-- An offer missing from the newest snapshot on or before a day has no state that day.
with snapshots as (
    -- one row per offer per snapshot (a corrected redelivery wins: later file, later line)
    {{ first_row_per(ref('stg_offers'), 'snapshot_date, offer_id', 'source_file desc, source_line desc') }}
),

snapshot_dates as (
    select snapshot_date,
           lead(snapshot_date) over (order by snapshot_date) as next_snapshot_date
    from (select distinct snapshot_date from snapshots) as d
),

first_listed as (
    select offer_id, min(snapshot_date) as first_snapshot_date from snapshots group by offer_id
),

bounds as (
    select min(day) as first_day, max(day) as last_day from {{ ref('int_reporting_days') }}
),

validity as (
    -- each snapshot row holds from its snapshot date (the first listing of an offer also for the
    -- days before it) until the next snapshot: a plain range, so the join below is a range join
    select
        s.*,
        case when s.snapshot_date = fl.first_snapshot_date
             then least(s.snapshot_date, bounds.first_day) else s.snapshot_date end as valid_from,
        coalesce(sd.next_snapshot_date, {{ dbt.dateadd('day', 1, 'bounds.last_day') }}) as valid_to
    from snapshots as s
    join snapshot_dates as sd on sd.snapshot_date = s.snapshot_date
    join first_listed as fl on fl.offer_id = s.offer_id
    cross join bounds
)

select
    days.day,
    v.offer_id,
    v.advertiser_id,
    v.title,
    v.category,
    v.payout_model,
    v.currency,
    v.price,
    v.payout,
    v.price_rub,
    v.payout_rub,
    v.hold_days,
    v.daily_cap,
    v.status,
    v.launched_at,
    v.stopped_at,
    v.snapshot_date
from validity as v
join {{ ref('int_reporting_days') }} as days
    on days.day >= v.valid_from and days.day < v.valid_to
