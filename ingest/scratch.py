"""One in-memory DuckDB connection per thread for vectorised helpers (hashing, JSON).

Opening a DuckDB connection costs tens of milliseconds; a landing folder has thousands of
small files, so helpers share one scratch connection instead of opening one per call. It never
touches the warehouse file.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa

_LOCAL = threading.local()
_NAMES = itertools.count()


def scratch() -> duckdb.DuckDBPyConnection:
    con = getattr(_LOCAL, "con", None)
    if con is None:
        con = duckdb.connect(config={"threads": 2})
        con.execute("SET enable_progress_bar = false")
        _LOCAL.con = con
    return con


@contextmanager
def registered(table: pa.Table) -> Iterator[tuple[duckdb.DuckDBPyConnection, str]]:
    """(scratch connection, view name) with ``table`` registered for the block's duration."""
    con = scratch()
    name = f"_scratch_{next(_NAMES)}"
    con.register(name, table)
    try:
        yield con, name
    finally:
        con.unregister(name)
