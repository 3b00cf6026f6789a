"""Benchmarks: the whole pipeline at several scales, against the engine's floor.

``python -m benchmarks.run [--scales 1m,10m,100m] [--out benchmarks/results.md]`` generates
worlds under a scratch folder (never the repository), runs ingest → dbt build → ML → alerts →
publish with every stage in its own child process (so one stage's peak memory cannot hide
another's), then an incremental run after one held-back day, and the "floor": DuckDB alone
reading the same raw files into the offer × day mart with one hand-written query. Results go
to a Markdown file and a JSON file beside it, with the machine and its load next to every figure
because the host is shared.
"""
