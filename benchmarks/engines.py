"""What the benchmark needs to run and compare the second dbt engine (Spark)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import duckdb


def spark_missing() -> str | None:
    """Why a local Spark build cannot run here (None when it can): the extras and a Java
    runtime, which `make setup-spark` installs."""
    for module in ("pyspark", "dbt.adapters.spark"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            return f"not run: {module} is not installed (`make setup-spark`)"
    if shutil.which("java") is None:
        return "not run: no Java runtime on PATH (Debian: openjdk-17-jre-headless)"
    return None


def spark_table_dir(spark_dir: Path, schema: str, table: str) -> Path | None:
    """The folder of a Spark-managed table (``<warehouse>/<schema>.db/<table>``), if built."""
    hits = sorted(spark_dir.glob(f"**/{schema}.db/{table}"))
    return hits[0] if hits else None


def compare_mart_counts(warehouse: Path, spark_dir: Path) -> dict:
    """Row counts of every mart on both engines: the benchmark's cheap parity check at scale
    (tests/test_dbt_spark_parity.py compares every row on a small world)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        marts = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts' and table_type = 'BASE TABLE' order by 1"
            ).fetchall()
        ]
        counts: dict[str, dict[str, int | None]] = {}
        for name in marts:
            (on_duckdb,) = con.execute(f'select count(*) from marts."{name}"').fetchall()[0]
            folder = spark_table_dir(spark_dir, "marts", name)
            on_spark = None
            if folder is not None and any(folder.rglob("*.parquet")):
                glob = str(folder / "**" / "*.parquet").replace("'", "''")
                (on_spark,) = con.execute(
                    f"select count(*) from read_parquet('{glob}')"
                ).fetchall()[0]
            counts[name] = {"duckdb": on_duckdb, "spark": on_spark}
    finally:
        con.close()
    equal = sum(1 for c in counts.values() if c["duckdb"] == c["spark"])
    return {"marts": len(counts), "equal_counts": equal, "counts": counts}
