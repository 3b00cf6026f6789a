"""Writing raw rows: DuckDB tables replaced per source file, Parquet files renamed in.

Both writers replace *exactly what one file contributed*, so a corrected delivery is a
replacement, not an append, and a rerun after a crash converges to the same state:
- tables: ``DELETE … WHERE _source_file IN (…)`` then ``INSERT`` inside the caller's
  transaction (see :func:`ingest.pipeline._ingest_batch`);
- Parquet: the partition file is written beside (``.part-0.parquet.tmp-<pid>``) and renamed
  over ``part-0.parquet`` (atomic on POSIX), before the manifest row commits. A crash between
  the two leaves a partition the manifest does not know yet; the rerun rewrites it.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

PART_NAME = "part-0.parquet"


def partition_path(raw_root: Path, dataset: str, day: date) -> Path:
    return raw_root / dataset / f"day={day.isoformat()}" / PART_NAME


def table_path(raw_root: Path, table: str) -> Path:
    """The one Parquet file of a non-partitioned raw table (``<raw>/<table>/part-0.parquet``)."""
    return raw_root / table / PART_NAME


def temp_path(path: Path) -> Path:
    """Where ``path`` is written before the rename: hidden, so no ``*.parquet`` reader sees it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def install(tmp: Path, path: Path, *, sync: bool = True) -> None:
    """Rename a fully written ``tmp`` over ``path`` (after an fsync, unless the caller syncs
    a whole batch itself) and remove temp files that crashed writers left beside it."""
    if sync:
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
    os.replace(tmp, path)
    remove_stale_temps(path)


def remove_stale_temps(path: Path) -> None:
    """Delete temp files of ``path`` left by writers killed between write and rename.

    They are invisible to ``*.parquet`` readers but can hold a whole day of clicks on disk.
    Writers are serialised by the warehouse lock the ingesting process holds, so any temp
    file of ``path`` that exists outside a write is such a leftover.
    """
    for stale in path.parent.glob(f".{path.name}.tmp-*"):
        stale.unlink(missing_ok=True)


def write_partition(path: Path, rows: pl.DataFrame) -> None:
    """Atomically put ``rows`` in place as the partition file (written beside, renamed)."""
    tmp = temp_path(path)
    rows.write_parquet(tmp, compression="zstd", compression_level=1, statistics=True)
    install(tmp, path)


def read_partition(path: Path, columns: list[str] | None = None) -> pl.DataFrame | None:
    if not path.exists():
        return None
    return pl.read_parquet(path, columns=columns)


def append_table_rows(con: duckdb.DuckDBPyConnection, table: str, rows: pl.DataFrame) -> None:
    if rows.height == 0:
        return
    con.register("_ingest_rows", rows.to_arrow())
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _ingest_rows")
    finally:
        con.unregister("_ingest_rows")
