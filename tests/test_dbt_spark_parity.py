"""One dbt project, two engines: every mart built on Spark equals the DuckDB build row for row.

A small generated world is ingested once; `dbt build` then runs with ``--target duckdb`` and
``--target spark`` over the same raw layer (the Spark build reads the Parquet the ingestion
wrote, the DuckDB build its tables and partitions). Every relation of the marts schema is
discovered on both sides (not listed here) and compared: same column names, exact row counts,
and the same rows once money and other floating-point columns are rounded to 2 decimals
(EXCEPT ALL both ways; rows left over only by a rounding boundary are paired again within 0.01).

Then the downstream reader: a warehouse on the spark engine reads ``marts.<table>`` through
ingest.marts (views over Spark's Parquet), and publishing and the alert rules give the same
result there as over the DuckDB marts.

Needs PySpark, dbt-spark and Java 17 (`make test` installs them). Without them the test fails
and says what to install: a parity test that could pass without Spark would prove nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ingest.marts import missing_spark_requirements, parquet_source, spark_tables
from ingest.pipeline import ingest_all
from ingest.sample_world import WorldConfig, generate
from ingest.settings import REPO_ROOT, Settings, dbt_env_values, load_settings
from ingest.warehouse import connect

pytestmark = pytest.mark.slow

DBT_BIN = Path(sys.executable).parent / "dbt"
DBT_DIR = REPO_ROOT / "dbt_project"
TOLERANCE = 0.01  # RUB: money may differ by float summation order between engines
SHOWN_ROWS = 5

FLOATING = ("DOUBLE", "FLOAT", "REAL", "DECIMAL", "NUMERIC")
INTEGRAL = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT")


def _require_spark() -> None:
    missing = missing_spark_requirements()
    if not missing:
        return
    reason = (
        "the Spark parity test needs " + "; ".join(missing)
        + ". Install them with `make setup-spark` (pip extras 'spark' and Debian's "
        "openjdk-17-jre-headless)."
    )
    pytest.fail(reason)


def run_dbt(settings: Settings, target: str, work: Path) -> subprocess.Popen:
    """`dbt build --target <target>` with the env the orchestrator gives dbt, in own dirs."""
    work.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        **dbt_env_values(settings),
        "CPA_DUCKDB_MEMORY_LIMIT": "2GB",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    cmd = [
        str(DBT_BIN), "build", "--target", target,
        "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
    ]
    out = (work / "stdout.log").open("w")
    return subprocess.Popen(cmd, env=env, cwd=work, stdout=out, stderr=subprocess.STDOUT)


def _wait(proc: subprocess.Popen, work: Path, target: str) -> float:
    started = time.monotonic()
    code = proc.wait()
    if code != 0:
        log = (work / "stdout.log").read_text(errors="replace")
        errors = [line for line in log.splitlines() if "Error" in line or "ERROR" in line]
        raise AssertionError(
            f"dbt build --target {target} failed ({work}/stdout.log):\n"
            + "\n".join(errors[:40]) + "\n...\n" + log[-4000:]
        )
    return time.monotonic() - started


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Settings]:
    _require_spark()
    root = tmp_path_factory.mktemp("spark_parity")
    generate(WorldConfig.from_scale("tiny", start=date(2026, 1, 1), days=180, seed=11), root)
    mp = pytest.MonkeyPatch()
    for var in ("CPA_ENGINE", "CPA_SPARK_DIR", "CPA_SPARK_MASTER", "CPA_SPARK_DRIVER_MEMORY"):
        mp.delenv(var, raising=False)
    mp.setenv("CPA_HASH_KEY", "spark-parity-test-key")
    try:
        duck = load_settings().with_paths(landing=root / "landing", data=root / "data")
        duck = duck.with_engine("duckdb")
        ingest_all(duck)
    finally:
        mp.undo()
    spark = duck.with_engine("spark", spark_dir=root / "spark")
    # both builds at once: DuckDB writes its warehouse, Spark reads only the raw Parquet
    started = time.monotonic()
    spark_proc = run_dbt(spark, "spark", root / "dbt_spark")
    duck_proc = run_dbt(duck, "duckdb", root / "dbt_duckdb")
    _wait(duck_proc, root / "dbt_duckdb", "duckdb")
    _wait(spark_proc, root / "dbt_spark", "spark")
    print(f"both dbt builds done in {time.monotonic() - started:.0f} s")
    # the spark engine's warehouse: a copy of the DuckDB one (raw, meta and the DuckDB marts,
    # which the reader must replace by the Spark marts)
    spark_wh = root / "spark_data" / "warehouse.duckdb"
    spark_wh.parent.mkdir()
    shutil.copy(duck.paths.warehouse_file, spark_wh)
    spark = spark.with_paths(data=root / "spark_data", warehouse=spark_wh)
    return {"duckdb": duck, "spark": spark}


def _kind(dtype: str) -> str:
    base = dtype.upper().split("(")[0]
    if base in FLOATING:
        return "float"
    if base in INTEGRAL:
        return "int"
    if base.startswith("TIMESTAMP"):
        return "timestamp"
    if base in ("VARCHAR", "CHAR", "TEXT", "STRING"):
        return "string"
    return base.lower()


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    return {r[0]: r[1] for r in con.execute(f"describe select * from {relation}").fetchall()}


def _select_list(columns: list[str], kinds: dict[str, str]) -> str:
    parts = []
    for c in columns:
        q = f'"{c}"'
        if kinds[c] == "float":
            parts.append(f"round(cast({q} as double), 2) as {q}")
        elif kinds[c] == "timestamp":
            parts.append(f"cast({q} as timestamp) as {q}")
        else:
            parts.append(q)
    return ", ".join(parts)


def _pair_within_tolerance(
    left: list[tuple], right: list[tuple], floats: list[int]
) -> tuple[list[tuple], list[tuple]]:
    """Rows left over after EXCEPT ALL only because a value sat on a rounding boundary
    (1.004999 vs 1.005001) pair up with equal other columns and floats within TOLERANCE."""

    def key(row: tuple) -> tuple:
        return tuple(v for i, v in enumerate(row) if i not in floats)

    by_key: dict[tuple, list[tuple]] = defaultdict(list)
    for row in right:
        by_key[key(row)].append(row)
    unmatched_left = []
    for row in left:
        candidates = by_key.get(key(row), [])
        match = next(
            (
                other for other in candidates
                if all(
                    (row[i] is None and other[i] is None)
                    or (row[i] is not None and other[i] is not None
                        and abs(row[i] - other[i]) <= TOLERANCE + 1e-9)
                    for i in floats
                )
            ),
            None,
        )
        if match is None:
            unmatched_left.append(row)
        else:
            candidates.remove(match)
    return unmatched_left, [r for rows in by_key.values() for r in rows]


def compare_mart(con: duckdb.DuckDBPyConnection, name: str, duck_rel: str, spark_rel: str
                 ) -> str | None:
    """None when the two relations hold the same rows; else what differs, with examples."""
    dcols, scols = _columns(con, duck_rel), _columns(con, spark_rel)
    if set(dcols) != set(scols):
        return (f"{name}: columns differ: only DuckDB {sorted(set(dcols) - set(scols))}, "
                f"only Spark {sorted(set(scols) - set(dcols))}")
    columns = list(dcols)
    kinds = {}
    type_diffs = []
    for c in columns:
        dk, sk = _kind(dcols[c]), _kind(scols[c])
        if dk == sk or {dk, sk} <= {"int", "float"}:
            kinds[c] = "float" if "float" in (dk, sk) else dk
        else:
            type_diffs.append(f"{c}: DuckDB {dcols[c]} vs Spark {scols[c]}")
    if type_diffs:
        return f"{name}: column types differ: " + "; ".join(type_diffs)
    counts = [con.execute(f"select count(*) from {r}").fetchall()[0][0]
              for r in (duck_rel, spark_rel)]
    select = _select_list(columns, kinds)
    d_sql, s_sql = f"select {select} from {duck_rel}", f"select {select} from {spark_rel}"
    only_duck = con.execute(f"{d_sql} except all {s_sql}").fetchall()
    only_spark = con.execute(f"{s_sql} except all {d_sql}").fetchall()
    floats = [i for i, c in enumerate(columns) if kinds[c] == "float"]
    only_duck, only_spark = _pair_within_tolerance(only_duck, only_spark, floats)
    if not only_duck and not only_spark and counts[0] == counts[1]:
        return None
    head = ", ".join(columns)
    lines = [f"{name}: {counts[0]} rows on DuckDB, {counts[1]} on Spark; {len(only_duck)} only "
             f"on DuckDB, {len(only_spark)} only on Spark; columns: {head}"]
    lines += [f"  duckdb: {r}" for r in only_duck[:SHOWN_ROWS]]
    lines += [f"  spark:  {r}" for r in only_spark[:SHOWN_ROWS]]
    return "\n".join(lines)


def test_every_mart_is_the_same_on_spark_and_duckdb(built):
    duck, spark = built["duckdb"], built["spark"]
    con = duckdb.connect(config={"threads": 2})
    con.execute("set TimeZone = 'UTC'")
    try:
        con.execute(f"attach '{duck.paths.warehouse_file}' as dk (read_only)")
        duck_marts = {
            r[0] for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_catalog = 'dk' and table_schema = 'marts'"
            ).fetchall()
        }
        spark_marts = spark_tables(spark, "marts")
        assert len(duck_marts) > 20, f"the DuckDB build made only {sorted(duck_marts)}"
        assert set(spark_marts) == duck_marts, (
            f"marts only on DuckDB: {sorted(duck_marts - set(spark_marts))}; "
            f"only on Spark: {sorted(set(spark_marts) - duck_marts)}"
        )
        problems = []
        for name in sorted(duck_marts):
            problem = compare_mart(
                con, name, f'dk.marts."{name}"', parquet_source(spark_marts[name])
            )
            if problem:
                problems.append(problem)
        assert not problems, (
            f"{len(problems)} of {len(duck_marts)} marts differ between the engines:\n\n"
            + "\n\n".join(problems)
        )
    finally:
        con.close()


def _rounded(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col(pl.Float64, pl.Float32).round(2)).sort(frame.columns)


def test_downstream_reads_the_spark_marts_like_the_duckdb_ones(built):
    from exports.alerts.evaluate import evaluate_alerts
    from exports.publish import publish

    duck, spark = built["duckdb"], built["spark"]
    with connect(spark, read_only=True) as con:  # refreshes the views through a short writer
        kinds = dict(con.execute(
            "select table_name, table_type from information_schema.tables "
            "where table_schema = 'marts'"
        ).fetchall())
        assert kinds and set(kinds.values()) == {"VIEW"}, kinds  # no DuckDB-built mart left
        assert set(kinds) == set(spark_tables(spark))
        on_spark = evaluate_alerts(con, spark)
    with connect(duck, read_only=True) as con:
        on_duck = evaluate_alerts(con, duck)
    assert on_spark.as_of == on_duck.as_of
    assert on_duck.alerts.height > 0, "the world raised no alert: nothing compared"
    assert on_spark.evaluated == on_duck.evaluated
    assert _rounded(on_spark.alerts).equals(_rounded(on_duck.alerts))

    published = {s: publish(st, schemas=("marts",)).tables for s, st in built.items()}
    assert published["spark"] == published["duckdb"]
    assert sum(published["spark"].values()) > 0
