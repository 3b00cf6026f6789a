"""Publishing the marts and ML outputs for BI, so that readers never block the pipeline.

Layout under ``settings.paths.publish``::

    versions/<version>/bi.duckdb            read-only DuckDB snapshot (schemas marts, ml, alerts)
    versions/<version>/parquet/<schema>.<table>.parquet
    versions/<version>/csv/<schema>.<table>.csv      (UTF-8 with BOM, so Excel reads Cyrillic)
    versions/<version>/manifest.json        version, run id, row counts per table
    current -> versions/<version>           swapped atomically (one rename of a symlink)
    bi.duckdb -> current/bi.duckdb          the path BI tools are given; never changes

Why this shape: DuckDB allows one writer per file and a reader of the warehouse would block
the pipeline (or be blocked by it). A snapshot is a separate file that only this function ever
writes, before it becomes visible. A version is built completely in a hidden folder, checked
for personal data, and only then made current by one atomic rename. A reader that already has
the old snapshot open keeps its open file: on Linux an open file survives rename and deletion,
so it keeps reading the old version, consistently, until it reconnects. Old versions are
pruned after ``keep_versions`` (at least 2) publishes; a connection still open on a pruned one
keeps working.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from exports import pii
from exports.fsutil import swap_symlink
from ingest.settings import Settings
from ingest.warehouse import connect, limits

DEFAULT_SCHEMAS = ("marts", "ml", "alerts")
SNAPSHOT_NAME = "bi.duckdb"
_CATALOG = "cpa_publish"
_BOM = "\ufeff".encode()


class PublishError(RuntimeError):
    """Publishing could not produce a complete version; the current one is left untouched."""


@dataclass(frozen=True)
class PublishResult:
    version: str
    version_dir: Path
    snapshot: Path  # the stable path for BI tools (publish/bi.duckdb)
    tables: dict[str, int] = field(default_factory=dict)  # "schema.table" -> rows
    pruned: list[str] = field(default_factory=list)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _source_tables(
    con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]
) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(schema, table, [(column, type)]) of every table and view to publish."""
    rows = con.execute(
        """
        SELECT schema_name, table_name, list((column_name, data_type) ORDER BY column_index)
        FROM duckdb_columns()
        WHERE database_name = current_database() AND list_contains($schemas, schema_name)
        GROUP BY ALL ORDER BY 1, 2
        """,
        {"schemas": list(schemas)},
    ).fetchall()
    return [(r[0], r[1], [(c[0], c[1]) for c in r[2]]) for r in rows]


def _export_files(
    settings: Settings, snapshot: Path, version_dir: Path, tables: list[tuple[str, str]]
) -> None:
    """Parquet (for Power BI and tools) and CSV (for Excel) of every table, from the snapshot,
    within the configured DuckDB memory budget. Without it DuckDB may take 80 % of RAM and keeps
    what it has read: with `memory_limit = "256MB"`, publishing the 10M-click world peaked at
    322 MiB for 365 days and 512 MiB for 730; with the budget here too, 301 and 383 MiB."""
    (version_dir / "parquet").mkdir()
    (version_dir / "csv").mkdir()
    with duckdb.connect(str(snapshot), read_only=True, config=limits(settings)) as con:
        for schema, table in tables:
            qualified = f"{_quote(schema)}.{_quote(table)}"
            stem = f"{schema}.{table}"
            parquet = version_dir / "parquet" / f"{stem}.parquet"
            con.execute(
                f"COPY (SELECT * FROM {qualified}) TO '{parquet}' "
                "(FORMAT parquet, COMPRESSION snappy)"
            )
            raw_csv = version_dir / "csv" / f".{stem}.nobom.csv"
            con.execute(f"COPY (SELECT * FROM {qualified}) TO '{raw_csv}' (FORMAT csv, HEADER)")
            # Excel guesses a legacy code page for UTF-8 without a BOM and garbles Cyrillic.
            with open(version_dir / "csv" / f"{stem}.csv", "wb") as out, open(raw_csv, "rb") as src:
                out.write(_BOM)
                shutil.copyfileobj(src, out, 1 << 20)
            raw_csv.unlink()


def _prune(versions: Path, keep: int, current: str) -> list[str]:
    """Delete all but the newest ``keep`` versions (at least 2).

    The version just replaced is always kept until the next publish: a reader that resolved the
    ``current`` link an instant before the swap must still find the file it is about to open.
    """
    done = sorted(p.name for p in versions.iterdir() if p.is_dir() and not p.name.startswith("."))
    pruned = []
    for name in done[: max(0, len(done) - max(2, keep))]:
        if name == current:
            continue
        shutil.rmtree(versions / name, ignore_errors=True)
        pruned.append(name)
    # Leftovers of a crashed publish (hidden .building folders, untouched for hours) are
    # garbage by construction; recent ones may belong to a publish still in progress.
    cutoff = time.time() - 6 * 3600
    for p in versions.iterdir():
        if p.name.endswith(".building") and p.stat().st_mtime < cutoff:
            shutil.rmtree(p, ignore_errors=True)
    return pruned


def publish(
    settings: Settings,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    run_id: str | None = None,
    schemas: tuple[str, ...] = DEFAULT_SCHEMAS,
    keep_versions: int | None = None,
) -> PublishResult:
    """Build a new complete BI version from the warehouse and make it current atomically.

    ``con``: an open warehouse connection (the caller's writer, or None to open the warehouse
    read-only here). Raises :class:`PublishError` when there is nothing to publish and
    :class:`exports.pii.PiiError` when a table holds raw personal data; in both cases nothing
    becomes visible and the previous version stays current.
    """
    root = settings.paths.publish
    versions = root / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    version = f"{now:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:6]}"
    building = versions / f".{version}.building"
    building.mkdir()
    snapshot_file = building / SNAPSHOT_NAME
    own = con is None
    if own:
        try:
            con = connect(settings, read_only=True)
        except duckdb.Error as exc:
            shutil.rmtree(building, ignore_errors=True)
            raise PublishError(
                f"cannot open the warehouse {settings.paths.warehouse_file} to publish: {exc}. "
                "If another process is writing it, publish after that step or pass its "
                "connection (publish(settings, con=...))."
            ) from exc
    assert con is not None
    counts: dict[str, int] = {}
    try:
        described = _source_tables(con, schemas)
        tables = [(s, t) for s, t, _ in described]
        if not any(s == "marts" for s, _ in tables):
            raise PublishError(
                f"nothing to publish: the warehouse {settings.paths.warehouse_file} has no tables "
                "in schema marts. Run the dbt build first."
            )
        catalog = con.execute("SELECT current_database()").fetchall()[0][0]
        for schema, table, cols in described:
            pii.check_columns(f"{schema}.{table}", cols)
        storage = settings.publish.storage_version
        option = "" if storage in ("", "latest") else f", STORAGE_VERSION '{storage}'"
        con.execute(f"ATTACH '{snapshot_file}' AS {_CATALOG} (READ_ONLY false{option})")
        try:
            for schema in sorted({s for s, _ in tables}):
                con.execute(f"CREATE SCHEMA {_CATALOG}.{_quote(schema)}")
            for schema, table in tables:
                target = f"{_CATALOG}.{_quote(schema)}.{_quote(table)}"
                con.execute(
                    f"CREATE TABLE {target} AS SELECT * FROM "
                    f"{_quote(catalog)}.{_quote(schema)}.{_quote(table)}"
                )
                pii.check_table_content(con, target, f"{schema}.{table}")
                counts[f"{schema}.{table}"] = con.execute(
                    f"SELECT count(*) FROM {target}"
                ).fetchall()[0][0]
            con.execute(
                f"CREATE TABLE {_CATALOG}.main.publish_info AS SELECT ?::VARCHAR AS version, "
                "?::VARCHAR AS run_id, ?::TIMESTAMPTZ AS published_at",
                [version, run_id, now],
            )
            con.execute(
                f"CREATE TABLE {_CATALOG}.main.publish_tables "
                "(table_name VARCHAR, row_count BIGINT)"
            )
            con.executemany(
                f"INSERT INTO {_CATALOG}.main.publish_tables VALUES (?, ?)", list(counts.items())
            )
            con.execute(f"CHECKPOINT {_CATALOG}")
        finally:
            con.execute(f"DETACH {_CATALOG}")
        os.chmod(snapshot_file, 0o444)  # a BI tool opening it writable gets a clear error
        _export_files(settings, snapshot_file, building, tables)
        manifest = {
            "version": version,
            "run_id": run_id,
            "published_at": now.isoformat(),
            "tables": counts,
            "snapshot": SNAPSHOT_NAME,
        }
        (building / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        os.replace(building, versions / version)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    finally:
        if own:
            con.close()
    swap_symlink(root / "current", f"versions/{version}")
    stable = root / SNAPSHOT_NAME
    if not stable.is_symlink():
        if stable.exists():
            stable.unlink()  # an older layout's plain file; the symlink replaces it
        swap_symlink(stable, f"current/{SNAPSHOT_NAME}")
    keep = keep_versions if keep_versions is not None else settings.publish.keep_versions
    pruned = _prune(versions, keep, version)
    return PublishResult(version, versions / version, stable, counts, pruned)


def current_version(settings: Settings) -> str | None:
    """The version BI readers currently get (None before the first publish)."""
    link = settings.paths.publish / "current"
    return Path(os.readlink(link)).name if link.is_symlink() else None
