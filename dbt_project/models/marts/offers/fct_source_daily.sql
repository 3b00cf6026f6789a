-- Traffic source (channel) x reporting day: clicks by their channel, conversions by the channel of
-- their click (int_conversions: "offline" without a click, "unknown" when the click is missing).
{{ daily_rollup('traffic_source') }}
