-- Clicks per reporting day and publisher id (macro clicks_rollup: incremental on the clicks plan).
{{ config(fact_config('day', "{{ plan_delete('clicks', 'day') }}")) }}
{{ clicks_rollup('publisher_id') }}
