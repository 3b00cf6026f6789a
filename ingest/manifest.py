"""Accounting tables in schema ``meta`` and the raw tables' DDL.

``meta.file_manifest`` is append-only: one row per delivery of a file with its counts and
outcome. ``meta.quarantine`` holds every rejected row or file with a named reason; a row
quarantined for a reason that can heal (``unknown_id``, ``no_fx_rate``) keeps its fully typed
record so a later run can release it. ``meta.file_status`` is the current state per file.
"""

from __future__ import annotations

import duckdb
import polars as pl

from ingest.sources import SOURCES

RETRYABLE = ("unknown_id", "no_fx_rate")

_DUCK_TYPES = {
    pl.String(): "VARCHAR",
    pl.Int64(): "BIGINT",
    pl.Int32(): "INTEGER",
    pl.Float64(): "DOUBLE",
    pl.Boolean(): "BOOLEAN",
    pl.Date(): "DATE",
    pl.Datetime("us"): "TIMESTAMP",
    pl.List(pl.String): "VARCHAR[]",
}


def duck_type(dtype: pl.DataType) -> str:
    return _DUCK_TYPES[dtype]


def columns_ddl(schema: dict[str, pl.DataType]) -> str:
    return ", ".join(f'"{name}" {duck_type(dtype)}' for name, dtype in schema.items())


def json_structure(schema: dict[str, pl.DataType]) -> str:
    """The ``from_json`` structure that turns a quarantined record back into typed columns."""
    import json

    return json.dumps({name: duck_type(dtype) for name, dtype in schema.items()})


MANIFEST_DDL = """
CREATE SEQUENCE IF NOT EXISTS meta.manifest_seq;
CREATE TABLE IF NOT EXISTS meta.file_manifest (
    manifest_id BIGINT DEFAULT nextval('meta.manifest_seq'),
    source VARCHAR NOT NULL,
    file_path VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    content_hash VARCHAR,
    size_bytes BIGINT,
    delivered_at TIMESTAMP,
    ingested_at TIMESTAMP NOT NULL,
    run_id VARCHAR,
    outcome VARCHAR NOT NULL,
    reason VARCHAR,
    detail VARCHAR,
    rows_read BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    rows_deduplicated BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    extra_columns VARCHAR[],
    covers_day DATE,
    covers_month DATE,
    seconds DOUBLE
);
CREATE SEQUENCE IF NOT EXISTS meta.quarantine_seq;
CREATE TABLE IF NOT EXISTS meta.quarantine (
    quarantine_id BIGINT DEFAULT nextval('meta.quarantine_seq'),
    source VARCHAR NOT NULL,
    file_path VARCHAR NOT NULL,
    content_hash VARCHAR,
    line BIGINT,
    field VARCHAR,
    value VARCHAR,
    reason VARCHAR NOT NULL,
    detail VARCHAR,
    record JSON,
    quarantined_at TIMESTAMP NOT NULL,
    run_id VARCHAR,
    released_at TIMESTAMP,
    released_run_id VARCHAR,
    superseded_at TIMESTAMP
);
CREATE OR REPLACE VIEW meta.file_status AS
WITH deliveries AS (
    SELECT *,
        row_number() OVER (PARTITION BY file_path ORDER BY manifest_id DESC) AS newest,
        row_number() OVER (
            PARTITION BY file_path
            ORDER BY (outcome IN ('loaded', 'corrected')) DESC, manifest_id DESC
        ) AS current_rank
    FROM meta.file_manifest
    WHERE outcome <> 'identical_redelivery'
), cur AS (
    SELECT * FROM deliveries WHERE current_rank = 1
), last_seen AS (
    SELECT file_path, max(ingested_at) AS last_seen_at, count(*) AS deliveries,
        arg_max(outcome, manifest_id) AS last_outcome, arg_max(reason, manifest_id) AS last_reason
    FROM meta.file_manifest GROUP BY file_path
), released AS (
    SELECT file_path, content_hash, count(*) AS rows_released
    FROM meta.quarantine
    WHERE released_at IS NOT NULL AND superseded_at IS NULL
    GROUP BY ALL
)
SELECT cur.source, cur.file_path, cur.file_name, cur.content_hash, cur.size_bytes,
    cur.covers_day, cur.covers_month, cur.outcome, cur.reason, cur.ingested_at,
    cur.rows_read,
    cur.rows_loaded + coalesce(r.rows_released, 0) AS rows_loaded,
    cur.rows_deduplicated,
    cur.rows_quarantined - coalesce(r.rows_released, 0) AS rows_quarantined,
    coalesce(r.rows_released, 0) AS rows_released,
    cur.extra_columns, l.deliveries, l.last_seen_at, l.last_outcome, l.last_reason
FROM cur
JOIN last_seen l USING (file_path)
LEFT JOIN released r ON r.file_path = cur.file_path AND r.content_hash = cur.content_hash;
"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``raw`` and ``meta`` objects if missing (idempotent, safe on every run)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw; CREATE SCHEMA IF NOT EXISTS meta;")
    con.execute(MANIFEST_DDL)
    for spec in SOURCES.values():
        if spec.target == "table":
            con.execute(f"CREATE TABLE IF NOT EXISTS {spec.table} ({columns_ddl(spec.schema())})")
        elif spec.dedup == "global":  # key index of a Parquet dataset deduplicated globally
            schema = spec.schema()
            cols = {k: schema[k] for k in (*spec.key, "_source_file")}
            con.execute(f"CREATE TABLE IF NOT EXISTS meta.{spec.name}_keys ({columns_ddl(cols)})")


def last_delivery(con: duckdb.DuckDBPyConnection, file_path: str) -> tuple[str, str] | None:
    """(content_hash, outcome) of the newest non-identical delivery of a file, if any."""
    rows = con.execute(
        "SELECT content_hash, outcome FROM meta.file_manifest "
        "WHERE file_path = ? AND outcome <> 'identical_redelivery' "
        "ORDER BY manifest_id DESC LIMIT 1",
        [file_path],
    ).fetchall()
    return (rows[0][0], rows[0][1]) if rows else None
