"""Getting the warehouse's results to people: BI publishing and alert feeds.

`exports.publish` writes a read-only snapshot (DuckDB + Parquet + CSV) that BI tools read without
ever touching, or blocking, the warehouse; `exports.alerts` evaluates the alert rules of
docs/metrics.md, keeps their history and delivers per-lead feeds by webhook and e-mail.
Domain code only: Dagster wiring lives in `orchestration/`.
"""
