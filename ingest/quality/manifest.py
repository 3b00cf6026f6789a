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


def _deliveries_sql(days: list[date] | None) -> tuple[str, list[object]]:
    if days:
        likes = " OR ".join("file_name LIKE ?" for _ in days)
        return (
            f"""SELECT * FROM meta.file_manifest
                WHERE source = ? AND outcome <> 'identical_redelivery' AND ({likes})
                QUALIFY row_number() OVER (PARTITION BY file_path ORDER BY ingested_at DESC) = 1""",
            [f"%{d.isoformat()}%" for d in sorted(set(days))],
        )
    return (
        """SELECT * FROM meta.file_manifest
           WHERE source = ? AND run_id = (
               SELECT run_id FROM meta.file_manifest
               WHERE source = ? AND outcome <> 'identical_redelivery'
               ORDER BY ingested_at DESC LIMIT 1)""",
        [],
    )


def quarantine_stats(
    con: duckdb.DuckDBPyConnection, source: str, days: list[date] | None, threshold: float
) -> QuarantineStats | None:
    """Counts from the manifest, or None when nothing about this source is recorded there."""
    if not table_exists(con, "meta.file_manifest"):
        return None
    sql, day_params = _deliveries_sql(days)
    params: list[object] = [source, *day_params] if days else [source, source]
    rows = con.execute(
        f"""SELECT count(*), coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0),
                   coalesce(sum(rows_quarantined), 0), max(run_id),
                   list(struct_pack(p := file_path, r := coalesce(reason, '')))
                       FILTER (WHERE outcome = 'rejected')
            FROM ({sql})""",
        params,
    ).fetchall()
    files, read, loaded, quarantined, run_id, rejected = rows[0]
    if not files:
        return None
    reasons: dict[str, int] = {}
    if table_exists(con, "meta.quarantine"):
        reasons = dict(con.execute(
            f"""SELECT q.reason, count(*) FROM meta.quarantine q
                JOIN ({sql}) d ON q.file_path = d.file_path AND q.content_hash = d.content_hash
                WHERE q.source = ? GROUP BY q.reason ORDER BY count(*) DESC""",
            [*params, source],
        ).fetchall())
    scope = (f"latest delivery of the files of {', '.join(d.isoformat() for d in sorted(days))}"
             if days else f"run {run_id}")
    return QuarantineStats(
        scope=scope, files=int(files), rows_read=int(read), rows_loaded=int(loaded),
        rows_quarantined=int(quarantined), threshold=threshold,
        rejected_files=tuple((r["p"], r["r"]) for r in rejected or []), reasons=reasons,
    )
