-- Clicks per reporting day and traffic source (macro clicks_rollup: incremental on the clicks plan).
{{ config(fact_config('day', "{{ plan_delete('clicks', 'day') }}")) }}
{{ clicks_rollup('traffic_source') }}
