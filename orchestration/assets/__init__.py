"""Asset modules, one per domain: ingestion, dbt, ml, delivery."""
