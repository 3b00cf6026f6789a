"""Reading a bounded, key-complete sample of one source's loaded rows into pandas.

At 100M clicks a full day does not belong in pandas. The sample is taken by hashing the
source's key (``hash(click_id) % k = 0``) rather than at random: every row sharing a key is in
or out together, so a uniqueness check on the sample is exact for the keys it holds, and a
duplicate rate shows up at its true rate instead of being diluted by the sampling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from ingest.quality.contracts import SourceContract
from ingest.settings import Settings


@dataclass(frozen=True)
class LoadedSample:
    """What was read: the frame (None if nothing is loaded), and how it relates to the whole."""

    frame: pd.DataFrame | None
    rows_in_scope: int
    sampled: bool
    dropped_checks: frozenset[str] = frozenset()
    notes: tuple[str, ...] = ()
    missing_days: tuple[date, ...] = field(default_factory=tuple)


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".", 1)
    rows = con.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchall()
    return bool(rows)


def partition_files(settings: Settings, dataset: str, days: list[date] | None) -> list[Path]:
    """The Parquet files of a day-partitioned raw dataset (all days, or the given ones)."""
    root = Path(settings.paths.raw) / dataset
    if days is None:
        return sorted(root.glob("day=*/*.parquet"))
    files: list[Path] = []
    for day in sorted(set(days)):
        files.extend(sorted((root / f"day={day.isoformat()}").glob("*.parquet")))
    return files


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _relation(
    con: duckdb.DuckDBPyConnection, settings: Settings, spec: SourceContract,
    days: list[date] | None,
) -> tuple[str | None, list[str], tuple[date, ...]]:
    """SQL for the rows in scope, or None with a note saying why there are none."""
    if spec.storage == "parquet":
        files = partition_files(settings, spec.source, days)
        missing = tuple(
            d for d in sorted(set(days or []))
            if not any(f"day={d.isoformat()}" in str(f) for f in files)
        )
        if not files:
            where = Path(settings.paths.raw) / spec.source
            scope = ", ".join(d.isoformat() for d in sorted(set(days))) if days else "any day"
            return None, [f"no Parquet partition of {spec.source} for {scope} under {where}: "
                          "ingestion loaded nothing there (see the manifest outcome)"], missing
        listing = ", ".join(_quote(f) for f in files)
        # The hive partition column is ``day`` (the file's UTC day); the checks call it file_day.
        return (f"(SELECT * RENAME (day AS file_day) FROM read_parquet([{listing}], "
                "hive_partitioning = true, union_by_name = true))",
                [], missing)
    if not table_exists(con, spec.location):
        return None, [f"table {spec.location} does not exist in the warehouse: run ingestion "
                      f"of {spec.source} first"], ()
    return spec.location, [], ()


def read_sample(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    spec: SourceContract,
    days: list[date] | None,
    max_rows: int,
) -> LoadedSample:
    """The source's rows in scope, key-hash sampled down to about ``max_rows`` (0: all), plus the
    derived ``_chk_*`` columns its contract needs (those that cannot be computed are dropped,
    with the checks that use them, and named in ``notes``)."""
    relation, notes, missing = _relation(con, settings, spec, days)
    if relation is None:
        return LoadedSample(None, 0, False, notes=tuple(notes), missing_days=missing)

    total = con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0][0]
    columns = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
    buckets = math.ceil(total / max_rows) if 0 < max_rows < total else 1
    if buckets > 1 and spec.sample_key in columns:
        inner = f"SELECT * FROM {relation} WHERE hash({spec.sample_key}) % {buckets} = 0"
        notes.append(f"sampled 1/{buckets} of {total:,} rows by hash of {spec.sample_key}")
    else:
        inner = f"SELECT * FROM {relation}"
        if buckets > 1:
            inner += f" LIMIT {max_rows}"
            notes.append(f"first {max_rows:,} of {total:,} rows ({spec.sample_key} missing)")

    selected: list[str] = []
    dropped: set[str] = set()
    for name, expr in spec.derived.items():
        needed = [t.strip() for t in spec.needs_tables.get(name, "").split(",") if t.strip()]
        absent = [t for t in needed if not table_exists(con, t)]
        reason = None
        if absent:
            reason = f"{', '.join(absent)} {'is' if len(absent) == 1 else 'are'} not loaded"
        else:
            try:  # a column the expression needs may be missing: named by columns_present
                con.execute(f"SELECT {expr} AS {name} FROM ({inner}) AS b LIMIT 0").fetchall()
            except duckdb.Error as exc:
                reason = f"cannot be computed ({str(exc).splitlines()[0]})"
        if reason:
            checks = [c.name for c in spec.checks if name in c.columns]
            dropped.update(checks)
            notes.append(f"skipped {', '.join(checks)}: {reason}")
        else:
            selected.append(f"{expr} AS {name}")
    extra = "".join(f", {s}" for s in selected)
    frame = con.execute(f"SELECT b.*{extra} FROM ({inner}) AS b").df()
    return LoadedSample(frame, int(total), buckets > 1, frozenset(dropped), tuple(notes),
                        missing)
