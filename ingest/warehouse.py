"""Opening the DuckDB warehouse the same way everywhere.

One place sets the limits that large loads need (memory limit, spill folder, threads,
insertion order not preserved), so that no caller can forget them and run out of memory.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingest.settings import Settings


def connect(settings: Settings, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file (created with its folder if missing) with the configured limits.

    DuckDB allows one writer per file: writers are serialised by the orchestrator (a
    concurrency pool of 1); readers that must not wait use the published snapshot instead.
    """
    path = settings.paths.warehouse_file
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    settings.paths.tmp.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        str(path),
        read_only=read_only,
        config={
            "memory_limit": settings.duckdb.memory_limit,
            "threads": settings.duckdb.threads,
            "temp_directory": str(settings.paths.tmp),
            "preserve_insertion_order": False,
        },
    )
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    return con


def raw_dataset_glob(settings: Settings, dataset: str) -> str:
    """The glob dbt and readers use for a day-partitioned raw dataset (clicks, conversions)."""
    return str(Path(settings.paths.raw) / dataset / "*" / "*.parquet")
