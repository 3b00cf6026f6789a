-- Every conversion has its money in RUB: ingestion quarantines amounts without a rate
-- (no_fx_rate), so a missing RUB amount means the raw layer broke its contract.
select conversion_id, currency, created_day
from {{ ref('int_conversions') }}
where revenue_rub is null or payout_rub is null
