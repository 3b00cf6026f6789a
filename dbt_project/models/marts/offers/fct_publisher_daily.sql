-- Publisher x reporting day: traffic, conversions by current status and money.
{{ daily_rollup('publisher_id') }}
