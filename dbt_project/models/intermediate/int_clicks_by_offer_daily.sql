-- Clicks per reporting day and offer id (macro clicks_rollup: incremental on the clicks plan).
{{ config(fact_config('day', "{{ plan_delete('clicks', 'day') }}")) }}
{{ clicks_rollup('offer_id') }}
