"""Small DuckDB helpers (DuckDB 2.0: results reach Polars through Arrow)."""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl


def query_pl(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> pl.DataFrame:
    """Run a query and return all of its rows as a Polars frame (the result is fully consumed,
    so the connection is free for the next statement)."""
    frame = pl.from_arrow(con.sql(sql, params=params).to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame
