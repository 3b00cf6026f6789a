"""Every raw DuckDB table also as one Parquet file, so any engine (Spark, Trino) reads it.

``raw.<t>`` stays the table DuckDB and dbt-duckdb read; ``<raw>/<t>/part-0.parquet`` is its
copy for engines that cannot open the warehouse file. The copy is written after the source's
load has committed (the table is the truth, the file follows it), beside the target as a
hidden temp file, fsynced and renamed in, so a reader never sees half a file.

When to write: the file carries, in its Parquet key-value metadata, a *fingerprint* of the
table it was exported from (columns and types, row count, and an order-independent sum of
DuckDB's row hashes). After every run of a source the fingerprint of the table is computed
(one scan, milliseconds for these tables) and compared with the file's; the file is rewritten
if it is missing, unreadable, or from another table state. So a rerun that changes nothing
leaves the file byte-for-byte as it was, and a crash between the commit and the export (or a
deleted file, or a table changed by hand) is repaired by the next run of that source. File
modification times are not used: they say nothing about which table state a file holds.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from ingest.store import install, remove_stale_temps, table_path, temp_path

FINGERPRINT_KEY = "cpa_table_fingerprint"


def table_fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """A digest that changes whenever the rows or the columns of ``table`` change.

    ``sum(hash(row))`` is order-independent (DuckDB stores rows in no particular order) and,
    unlike an XOR, does not cancel out repeated rows.
    """
    schema, name = table.split(".", 1)
    columns = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()
    count, total = con.execute(
        f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {table} t"
    ).fetchall()[0]
    text = repr((columns, count, str(total)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_fingerprint(con: duckdb.DuckDBPyConnection, path: Path) -> str | None:
    """The fingerprint stored in an exported file, or None if it is missing or unreadable."""
    if not path.exists():
        return None
    try:
        rows = con.execute(
            "SELECT value FROM parquet_kv_metadata(?) WHERE key = ?",
            [str(path), FINGERPRINT_KEY.encode()],
        ).fetchall()
    except duckdb.Error:  # truncated or not Parquet at all: rewrite it
        return None
    return rows[0][0].decode() if rows else None


def export_table(con: duckdb.DuckDBPyConnection, raw_root: Path, table: str) -> bool:
    """Make ``<raw_root>/<name>/part-0.parquet`` hold exactly the rows of ``raw.<name>``.

    Returns True if the file was (re)written, False if it already matched the table. Rows are
    sorted by lineage (file, line) so the same table state always gives the same bytes.
    """
    name = table.split(".", 1)[1]
    path = table_path(raw_root, name)
    fingerprint = table_fingerprint(con, table)
    if file_fingerprint(con, path) == fingerprint:
        remove_stale_temps(path)
        return False
    tmp = temp_path(path)
    target = str(tmp).replace("'", "''")
    con.execute(
        f"COPY (SELECT * FROM {table} ORDER BY _source_file, _source_line) TO '{target}' "
        f"(FORMAT parquet, COMPRESSION zstd, KV_METADATA {{{FINGERPRINT_KEY}: '{fingerprint}'}})"
    )
    install(tmp, path)
    return True
