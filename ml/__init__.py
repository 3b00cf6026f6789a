"""Machine learning on the marts: client churn ("frozen") scores and category forecasts.

Layout: `ml.io` reads the marts from DuckDB and writes the `ml` schema; everything else is pure
functions over Polars frames (`ml.churn`, `ml.forecast`), so it can be tested on synthetic frames
(`ml.synthetic`) and wired by the orchestrator without Dagster knowing the details
(`ml.pipeline`). `python -m ml.report` writes reports/ml_report.md from the current warehouse.
"""
