"""What the benchmark needs to run and compare the second dbt engine (Spark)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingest.marts import missing_spark_requirements, parquet_source, spark_tables
from ingest.settings import Settings


def spark_missing() -> str | None:
    """Why a local Spark build cannot run here (None when it can)."""
    missing = missing_spark_requirements()
    return "not run: missing " + "; ".join(missing) if missing else None


def compare_mart_counts(warehouse: Path, spark: Settings) -> dict:
    """Row counts of every mart on both engines: the benchmark's cheap parity check at scale
    (tests/test_dbt_spark_parity.py compares every row on a small world). ``warehouse`` is the
    DuckDB build; ``spark`` the settings whose spark_dir the Spark build wrote to."""
    on_spark = spark_tables(spark)
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
            (duck,) = con.execute(f'select count(*) from marts."{name}"').fetchall()[0]
            folder = on_spark.get(name)
            rows = None
            if folder is not None:
                sql = f"select count(*) from {parquet_source(folder)}"
                (rows,) = con.execute(sql).fetchall()[0]
            counts[name] = {"duckdb": duck, "spark": rows}
    finally:
        con.close()
    equal = sum(1 for c in counts.values() if c["duckdb"] == c["spark"])
    return {"marts": len(counts), "equal_counts": equal, "counts": counts}
