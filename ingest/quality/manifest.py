"""The manifest-level check: what share of a source's rows ingestion had to quarantine.

Row checks only see what was loaded; a run that quarantined a third of a file looks clean from
there. The manifest (`meta.file_manifest`, docs/raw_layer.md) says how much was turned away,
and `[ingest] max_quarantine_share` in cpa.toml says how much is too much.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb

from ingest.quality.loading import table_exists


@dataclass(frozen=True)
class QuarantineStats:
    """Quarantine accounting for the deliveries a check looks at.

    ``scope`` says which deliveries: the source's latest run with new content, or (for day
    partitions) the latest real delivery of each of the given days' files.
    """

    scope: str
    files: int
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    threshold: float
    rejected_files: tuple[tuple[str, str], ...] = ()
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def share(self) -> float:
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0

    @property
    def exceeded(self) -> bool:
        return self.share > self.threshold


def _columns(con: duckdb.DuckDBPyConnection, qualified: str) -> set[str]:
    schema, name = qualified.split(".", 1)
    return {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ?", [schema, name]).fetchall()}


def _deliveries_sql(
    con: duckdb.DuckDBPyConnection, source: str, days: list[date] | None
) -> tuple[str, list[object]]:
    """SQL (and parameters) for the deliveries in scope, one row per delivery.

    Days (tracker partitions): the current state of each of those days' files — from the
    ``meta.file_status`` view when present, so that rows released from quarantine later no
    longer count against the day. Otherwise: every delivery of the source's latest run that
    brought new content (identical re-deliveries change nothing and are skipped).
    """
    manifest_cols = _columns(con, "meta.file_manifest")
    newest = "manifest_id" if "manifest_id" in manifest_cols else "ingested_at"
    if days:
        wanted = sorted(set(days))
        status_cols = _columns(con, "meta.file_status")
        if {"covers_day", "rows_read", "rows_quarantined", "outcome"} <= status_cols:
            marks = ", ".join("?" for _ in wanted)
            return (f"SELECT * FROM meta.file_status WHERE source = ? AND covers_day IN ({marks})",
                    [source, *wanted])
        if "covers_day" in manifest_cols:
            marks = ", ".join("?" for _ in wanted)
            day_filter, day_params = f"covers_day IN ({marks})", list(wanted)
        else:
            day_filter = " OR ".join("file_name LIKE ?" for _ in wanted)
            day_params = [f"%{d.isoformat()}%" for d in wanted]
        return (
            f"""SELECT * FROM meta.file_manifest
                WHERE source = ? AND outcome <> 'identical_redelivery' AND ({day_filter})
                QUALIFY row_number() OVER (PARTITION BY file_path ORDER BY {newest} DESC) = 1""",
            [source, *day_params],
        )
    return (
        f"""SELECT * FROM meta.file_manifest
            WHERE source = ? AND run_id = (
                SELECT run_id FROM meta.file_manifest
                WHERE source = ? AND outcome <> 'identical_redelivery'
                ORDER BY {newest} DESC LIMIT 1)""",
        [source, source],
    )


def quarantine_stats(
    con: duckdb.DuckDBPyConnection, source: str, days: list[date] | None, threshold: float
) -> QuarantineStats | None:
    """Counts from the manifest, or None when nothing about this source is recorded there."""
    if not table_exists(con, "meta.file_manifest"):
        return None
    sql, params = _deliveries_sql(con, source, days)
    rows = con.execute(
        f"""SELECT count(*), coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0),
                   coalesce(sum(rows_quarantined), 0),
                   list(struct_pack(p := file_path, r := coalesce(reason, '')))
                       FILTER (WHERE outcome = 'rejected')
            FROM ({sql})""",
        params,
    ).fetchall()
    files, read, loaded, quarantined, rejected = rows[0]
    if not files:
        return None
    reasons: dict[str, int] = {}
    if table_exists(con, "meta.quarantine"):
        live = ("AND q.released_at IS NULL AND q.superseded_at IS NULL"
                if "superseded_at" in _columns(con, "meta.quarantine")
                else "AND q.released_at IS NULL")
        reasons = dict(con.execute(
            f"""SELECT q.reason, count(*) FROM meta.quarantine q
                JOIN ({sql}) d ON q.file_path = d.file_path
                    AND q.content_hash IS NOT DISTINCT FROM d.content_hash
                WHERE q.source = ? {live} GROUP BY q.reason ORDER BY count(*) DESC""",
            [*params, source],
        ).fetchall())
    if days:
        scope = "current state of the files of " + ", ".join(
            d.isoformat() for d in sorted(set(days)))
    else:
        run = con.execute(f"SELECT any_value(run_id) FROM ({sql})", params).fetchall()[0][0]
        scope = f"run {run}"
    return QuarantineStats(
        scope=scope, files=int(files), rows_read=int(read), rows_loaded=int(loaded),
        rows_quarantined=int(quarantined), threshold=threshold,
        rejected_files=tuple((r["p"], r["r"]) for r in rejected or []), reasons=reasons,
    )
