"""Opening the DuckDB warehouse the same way everywhere.

One place sets the limits that large loads need (memory limit, spill folder, threads,
insertion order not preserved), so that no caller can forget them and run out of memory.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingest import marts
from ingest.settings import Settings


class WarehouseBusyError(duckdb.IOException):
    """Another process holds the warehouse file; the message says what to do.

    A subclass of DuckDB's own error, so callers that already handle `duckdb.Error` still do.
    """


def connect(settings: Settings, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file (created with its folder if missing) with the configured limits.

    DuckDB allows one writer per file: writers are serialised by the orchestrator (a
    concurrency pool of 1); readers that must not wait use the published snapshot instead.

    On the spark engine ``marts.<table>`` is made to read Spark's Parquet marts
    (:func:`ingest.marts.attach_marts`). A read-only connection that finds them out of date
    (right after a Spark build) refreshes them through a short writer first.
    """
    con = _open(settings, read_only=read_only)
    if settings.warehouse.engine != "spark":
        return con
    if not read_only:
        _attach_or_close(con, settings)
        return con
    stale = marts.marts_out_of_date(con, settings)
    if not stale:
        return con
    con.close()
    try:
        writer = _open(settings, read_only=False)
    except WarehouseBusyError as exc:
        raise marts.MartsOutOfDateError(
            f"the Spark marts under {marts.spark_schema_dir(settings)} changed since the "
            f"warehouse's views of them were made ({', '.join(stale[:5])}), and refreshing "
            f"them needs the warehouse for a moment: {exc}"
        ) from exc
    with writer:
        marts.attach_marts(writer, settings)
    return _open(settings, read_only=True)


def _attach_or_close(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    try:
        marts.attach_marts(con, settings)
    except BaseException:
        con.close()
        raise


def limits(settings: Settings) -> dict[str, str | int]:
    """The configured memory budget, threads and spill folder, for any DuckDB connection of the
    platform (the warehouse, or a file it writes such as the published snapshot)."""
    settings.paths.tmp.mkdir(parents=True, exist_ok=True)
    return {
        "memory_limit": settings.duckdb.memory_limit,
        "threads": settings.duckdb.threads,
        "temp_directory": str(settings.paths.tmp),
    }


def _open(settings: Settings, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    path = settings.paths.warehouse_file
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(
            str(path),
            read_only=read_only,
            config={**limits(settings), "preserve_insertion_order": False},
        )
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        raise WarehouseBusyError(
            f"the warehouse {path} is in use by another process ({exc}). DuckDB allows one "
            "writer per file: wait for the running pipeline to finish (Dagster queues runs one "
            "at a time), or read the published snapshot under "
            f"{settings.paths.publish} instead."
        ) from exc
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    return con


def raw_dataset_glob(settings: Settings, dataset: str) -> str:
    """The glob dbt and readers use for a day-partitioned raw dataset (clicks, conversions)."""
    return str(Path(settings.paths.raw) / dataset / "*" / "*.parquet")
