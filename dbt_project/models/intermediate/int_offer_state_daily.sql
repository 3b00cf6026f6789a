-- Offer state on each reporting day: the newest catalogue snapshot on or before that day
-- (metrics.md, "Offer state on a day"; sources.md reading 13). Days before the first snapshot
-- that lists an offer take that first snapshot (the catalogue started after the traffic).
-- An offer missing from the newest snapshot on or before a day has no state that day.
with snapshots as (
    -- one row per offer per snapshot (a corrected redelivery wins: later file, later line)
    select *
    from {{ ref('stg_offers') }}
    qualify row_number() over (
        partition by snapshot_date, offer_id order by source_file desc, source_line desc
    ) = 1
),

snapshot_dates as (
    select snapshot_date,
           lead(snapshot_date) over (order by snapshot_date) as next_snapshot_date
    from (select distinct snapshot_date from snapshots) as d
),

first_listed as (
    select offer_id, min(snapshot_date) as first_snapshot_date from snapshots group by offer_id
),

days as (
    select day, last_day from {{ ref('int_reporting_days') }}
)

select
    days.day,
    s.offer_id,
    s.advertiser_id,
    s.title,
    s.category,
    s.payout_model,
    s.currency,
    s.price,
    s.payout,
    s.price_rub,
    s.payout_rub,
    s.hold_days,
    s.daily_cap,
    s.status,
    s.launched_at,
    s.stopped_at,
    s.snapshot_date
from snapshots as s
join snapshot_dates as sd on sd.snapshot_date = s.snapshot_date
join first_listed as fl on fl.offer_id = s.offer_id
join days
    on days.day < coalesce(sd.next_snapshot_date, days.last_day + 1)
   and (days.day >= s.snapshot_date
        or (s.snapshot_date = fl.first_snapshot_date and days.day < s.snapshot_date))
