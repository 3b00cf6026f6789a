"""Worlds, stage processes and comparable snapshots of what the pipeline produced.

Every comparison is row for row: tables are read whole and sorted, Parquet datasets likewise,
so a duplicated or lost row shows up as a difference, not as an equal count.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from ingest.settings import REPO_ROOT, Settings

RAW_TABLES = ("offers", "publishers", "invoices", "payments", "fx_rates", "companies",
              "managers", "deals", "activities", "programs")
RAW_DATASETS = ("clicks", "conversions")
# what a delivery's current state is; ids, run ids and timestamps differ between runs by design
STATUS_COLUMNS = ("file_path", "source", "content_hash", "outcome", "reason", "rows_read",
                  "rows_loaded", "rows_deduplicated", "rows_quarantined", "rows_released",
                  "extra_columns")


def generate_world(out: Path, days: int = 150, defects: bool = True) -> Path:
    """A tiny generated world (landing + truth) under ``out``."""
    from ingest.sample_world import WorldConfig, generate

    generate(WorldConfig.from_scale("tiny", days=days, defects=defects), out)
    return out


def settings_at(landing: Path, data: Path) -> Settings:
    from ingest.settings import load_settings

    return load_settings().with_paths(landing=landing, data=data, warehouse=None)


def stage_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {**os.environ, "CPA_LANDING_DIR": str(settings.paths.landing),
           "CPA_DATA_DIR": str(settings.paths.data), "CPA_DEMO": "1"}
    env.pop("CPA_WAREHOUSE", None)
    env.pop("CPA_RELIABILITY_KILL_AT", None)
    env.update(extra)
    return env


@dataclass
class StageRun:
    returncode: int
    killed: bool  # the test killed it (it had not finished by itself)
    stderr: str


def run_stage(stage: str, settings: Settings, *, kill_after: float | None = None,
              kill_at: str | None = None, env: dict[str, str] | None = None,
              kill_when: Callable[[], bool] | None = None, timeout: float = 600) -> StageRun:
    """Run a stage in its own process group; SIGKILL the whole group after ``kill_after`` s or
    as soon as ``kill_when()`` is true (polled)."""
    extra = {"CPA_RELIABILITY_KILL_AT": kill_at} if kill_at else {}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.stage", stage],
        cwd=REPO_ROOT, env={**stage_env(settings, **extra), **(env or {})},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    killed = False
    if kill_when is not None:
        while proc.poll() is None and not kill_when():
            time.sleep(0.05)
        if proc.poll() is None:
            kill_after = 0.0
    try:
        _, err = proc.communicate(timeout=kill_after if kill_after is not None else timeout)
    except subprocess.TimeoutExpired:
        if kill_after is None:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        os.killpg(proc.pid, signal.SIGKILL)
        killed = True
        _, err = proc.communicate()
    else:
        # a dbt child outlives its parent's SIGKILL: make sure nothing of the group is left
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    return StageRun(proc.returncode, killed, err)


def copy_data(src: Path, dst: Path) -> Path:
    """A copy of a data folder (warehouse file, raw Parquet, publish tree with its symlinks)."""
    skip = shutil.ignore_patterns("tmp", "dbt_logs", "dbt_target")
    shutil.copytree(src, dst, symlinks=True, ignore=skip)
    return dst


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def raw_state(settings: Settings) -> dict[str, list]:
    """Everything ingestion produced that must not depend on how often it ran."""
    out: dict[str, list] = {}
    con = duckdb.connect(str(settings.paths.warehouse_file), read_only=True)
    try:
        for table in RAW_TABLES:
            out[f"raw.{table}"] = _rows(con, f"SELECT * FROM raw.{table} ORDER BY ALL")
        cols = ", ".join(STATUS_COLUMNS)
        out["meta.file_status"] = _rows(con, f"SELECT {cols} FROM meta.file_status ORDER BY ALL")
        out["meta.quarantine(open)"] = _rows(
            con, "SELECT source, file_path, content_hash, line, field, value, reason "
                 "FROM meta.quarantine WHERE released_at IS NULL AND superseded_at IS NULL "
                 "ORDER BY ALL")
        out["meta.quarantine(released)"] = _rows(
            con, "SELECT source, file_path, line, reason FROM meta.quarantine "
                 "WHERE released_at IS NOT NULL AND superseded_at IS NULL ORDER BY ALL")
    finally:
        con.close()
    for dataset in RAW_DATASETS:
        files = sorted((settings.paths.raw / dataset).glob("day=*/*.parquet"))
        stray = [p for p in (settings.paths.raw / dataset).rglob("*") if p.is_file()
                 and p not in files]
        out[f"raw/{dataset} stray files"] = [str(p) for p in stray]
        if files:
            frame = pl.read_parquet(files, hive_partitioning=True)
            out[f"raw/{dataset}"] = frame.sort(frame.columns).rows()
        else:
            out[f"raw/{dataset}"] = []
    return out


def manifest_accounting_errors(settings: Settings) -> list[tuple]:
    """Manifest rows breaking read = loaded + deduplicated + quarantined (should be none)."""
    con = duckdb.connect(str(settings.paths.warehouse_file), read_only=True)
    try:
        return _rows(con, "SELECT file_path, outcome, rows_read, rows_loaded, rows_deduplicated,"
                          " rows_quarantined FROM meta.file_manifest WHERE rows_read <> "
                          "rows_loaded + rows_deduplicated + rows_quarantined")
    finally:
        con.close()


def relation_state(db: Path, schemas: tuple[str, ...], skip: tuple[str, ...] = ()) -> dict:
    """Every table/view of ``schemas`` in a DuckDB file, row for row (sorted)."""
    con = duckdb.connect(str(db), read_only=True, config={"threads": 1})
    try:
        names = _rows(con, "SELECT DISTINCT schema_name, table_name FROM duckdb_columns() "
                           "WHERE database_name = current_database() AND "
                           f"schema_name IN {(*tuple(schemas), '')!r} ORDER BY ALL")
        return {f"{s}.{t}": _rows(con, f'SELECT * FROM "{s}"."{t}" ORDER BY ALL')
                for s, t in names if f"{s}.{t}" not in skip}
    finally:
        con.close()


def _close(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6) or (a != a and b != b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _key(row: tuple) -> tuple:
    """Sort key with floats rounded: parallel float sums differ in the last bits between runs."""
    return tuple((0, "") if v is None else (1, round(v, 6)) if isinstance(v, float)
                 else (1, str(v)) for v in row)


def differences(a: dict, b: dict, *, float_tolerance: bool = False) -> list[str]:
    """The relations that differ (empty when equal), with row counts, for assertion messages.

    ``float_tolerance``: doubles equal to 1e-9 relative / 1e-6 absolute count as equal (DuckDB's
    multi-threaded float sums are not bit-reproducible, even between two clean runs).
    """
    out = []
    for key in sorted(set(a) | set(b)):
        ra, rb = a.get(key), b.get(key)
        if ra == rb:
            continue
        if float_tolerance and ra is not None and rb is not None and len(ra) == len(rb) and all(
            _close(x, y) for x, y in zip(sorted(ra, key=_key), sorted(rb, key=_key), strict=True)
        ):
            continue
        out.append(f"{key}: {len(ra) if ra is not None else 'missing'} vs "
                   f"{len(rb) if rb is not None else 'missing'} rows")
    return out


def total_rows(state: dict) -> int:
    return sum(len(v) for v in state.values())


def wait_for(predicate, timeout: float = 60.0, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return False
