"""Reading the marts whichever engine built them.

Downstream code (ML, publishing, alerts, the demo summary) reads ``marts.<table>`` over a DuckDB
connection from :func:`ingest.warehouse.connect`. On the default engine dbt builds those tables
inside the DuckDB warehouse and there is nothing to do. On the spark engine dbt-spark writes
each mart as a Parquet table under ``<spark dir>/warehouse/marts.db/<table>/`` (partitioned
tables as hive ``key=value`` folders) and DuckDB's own ``marts`` schema would be empty, so this
module keeps one DuckDB view per Spark mart in that schema, ``select * from read_parquet(...)``.

Why views in the warehouse file rather than an attached in-memory catalog: the readers find
their inputs through ``information_schema`` / ``duckdb_columns()`` of the current database
(publishing copies every relation of schema ``marts``; ML and alerts check that a mart exists
before reading it), which only sees relations of the warehouse itself. Views are metadata only:
the rows stay in Spark's Parquet and every query reads the current files.

Each view carries a comment naming its folder and the folder's modification time, so a
connection can tell cheaply whether the views still match Spark's tables (a mart added, dropped
or rebuilt with other columns) and re-create only when they do not.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import duckdb

from ingest.settings import ConfigError, Settings

MART_SCHEMAS = ("marts",)
"""Schemas downstream reads. ML falls back to intermediate.int_payments only when marts.fct_payments
is missing, which the project always builds, so intermediate stays Spark-only."""

_MARKER = "spark-mart:"


class EngineUnavailableError(ConfigError):
    """The configured engine cannot run here; the message says what to install."""


class MartsOutOfDateError(RuntimeError):
    """A read-only connection found Spark marts newer than the warehouse's views and could not
    refresh them (another process holds the warehouse)."""


def spark_schema_dir(settings: Settings, schema: str = "marts") -> Path:
    """Where Spark keeps the tables of a schema: ``<spark dir>/warehouse/<schema>.db``
    (spark.sql.warehouse.dir in dbt_project/profiles.yml; schema names from
    macros/generate_schema_name.sql)."""
    return settings.spark_dir / "warehouse" / f"{schema}.db"


def spark_tables(settings: Settings, schema: str = "marts") -> dict[str, Path]:
    """Spark's Parquet tables of a schema: table name -> folder (only folders holding Parquet;
    a Spark view has no folder and is not a mart)."""
    root = spark_schema_dir(settings, schema)
    if not root.is_dir():
        return {}
    return {
        d.name: d
        for d in sorted(root.iterdir())
        if d.is_dir() and not d.name.startswith(("_", ".")) and any(d.rglob("*.parquet"))
    }


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def parquet_source(folder: Path) -> str:
    """The DuckDB table function reading one Spark table folder. Partition columns come from
    hive ``key=value`` folders only when the table has them (so a ``=`` elsewhere in the path
    never turns into a column)."""
    partitioned = any(d.is_dir() and "=" in d.name for d in folder.iterdir())
    files = folder / "**" / "*.parquet" if partitioned else folder / "*.parquet"
    return f"read_parquet({_literal(str(files))}, hive_partitioning = {str(partitioned).lower()})"


def _desired(settings: Settings) -> dict[tuple[str, str], tuple[str, str]]:
    """(schema, table) -> (read_parquet expression, marker comment) for every Spark mart."""
    out = {}
    for schema in MART_SCHEMAS:
        for name, folder in spark_tables(settings, schema).items():
            source = parquet_source(folder)
            # a rebuilt table has a new folder time and new part-file names (Spark puts a
            # fresh UUID in them): either tells the views to be re-made
            entries = hashlib.sha1("\n".join(sorted(os.listdir(folder))).encode()).hexdigest()
            version = f"{folder.stat().st_mtime_ns}-{entries[:12]}"
            out[(schema, name)] = (source, f"{_MARKER} {source} @ {version}")
    return out


def _current(con: duckdb.DuckDBPyConnection) -> tuple[dict[tuple[str, str], str], set]:
    """Views (with comments) and base tables now in the mart schemas of the warehouse."""
    schemas = list(MART_SCHEMAS)
    views = {
        (s, n): c or ""
        for s, n, c in con.execute(
            "select schema_name, view_name, comment from duckdb_views() "
            "where database_name = current_database() and list_contains(?, schema_name)",
            [schemas],
        ).fetchall()
    }
    tables = {
        (s, n)
        for s, n in con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where database_name = current_database() and list_contains(?, schema_name)",
            [schemas],
        ).fetchall()
    }
    return views, tables


def marts_out_of_date(con: duckdb.DuckDBPyConnection, settings: Settings) -> list[str]:
    """What differs between the warehouse's mart schemas and Spark's tables (empty = in sync).
    Always empty on the duckdb engine."""
    if settings.warehouse.engine != "spark":
        return []
    desired = _desired(settings)
    views, tables = _current(con)
    diffs = [f"{s}.{n} is a DuckDB table" for s, n in sorted(tables)]
    diffs += [
        f"{s}.{n} {'missing' if (s, n) not in views else 'changed'}"
        for (s, n), (_source, marker) in sorted(desired.items())
        if views.get((s, n)) != marker
    ]
    diffs += [f"{s}.{n} no longer in Spark" for s, n in sorted(set(views) - set(desired))]
    return diffs


def attach_marts(con: duckdb.DuckDBPyConnection, settings: Settings) -> list[str]:
    """Make ``marts.<table>`` read the marts of the configured engine; returns what changed.

    duckdb engine: a no-op (dbt built the tables in the warehouse). spark engine: the mart
    schemas of the warehouse mirror Spark's tables exactly, as views over their Parquet: views
    are created or re-created for new and rebuilt marts, and relations Spark does not have
    (views of dropped marts, tables an earlier DuckDB build left) are dropped, so no reader mixes
    marts of two engines. Needs a read-write connection; :func:`ingest.warehouse.connect` calls
    it (read-only connections are refreshed through a short writer first).
    """
    diffs = marts_out_of_date(con, settings)
    if not diffs:
        return []
    desired = _desired(settings)
    views, tables = _current(con)
    con.execute("begin transaction")
    try:
        for schema in MART_SCHEMAS:
            con.execute(f"create schema if not exists {_quote(schema)}")
        for schema, name in sorted(tables):
            con.execute(f"drop table {_quote(schema)}.{_quote(name)} cascade")
        for schema, name in sorted(set(views) - set(desired)):
            con.execute(f"drop view {_quote(schema)}.{_quote(name)}")
        for (schema, name), (source, marker) in sorted(desired.items()):
            if views.get((schema, name)) == marker and (schema, name) not in tables:
                continue
            qualified = f"{_quote(schema)}.{_quote(name)}"
            con.execute(f"create or replace view {qualified} as select * from {source}")
            con.execute(f"comment on view {qualified} is {_literal(marker)}")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return diffs


def mart_relations(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    """(schema, name) of every base table, plus the Spark mart views, of the warehouse: the
    relations whose row counts are worth showing (dbt's own staging views are left out: counting
    them would re-read the raw layer)."""
    rows = con.execute(
        "select schema_name, table_name from duckdb_tables() "
        "where database_name = current_database() "
        "union all select schema_name, view_name from duckdb_views() "
        f"where database_name = current_database() and starts_with(comment, '{_MARKER}')"
    ).fetchall()
    return {(s, n) for s, n in rows}


def missing_spark_requirements() -> list[str]:
    """What the spark engine needs and this machine lacks (empty = ready)."""
    missing = []
    if importlib.util.find_spec("pyspark") is None:
        missing.append("PySpark 4.x (pip: `make setup-spark`, i.e. pip install -e '.[spark]')")
    if importlib.util.find_spec("dbt.adapters.spark") is None:
        missing.append("dbt-spark[session] (pip: `make setup-spark`, pip install -e '.[spark]')")
    java = shutil.which("java")
    if java is None:
        missing.append(
            "a Java 17 runtime on PATH (Debian/Ubuntu: apt-get install openjdk-17-jre-headless, "
            "or `make java`)"
        )
    else:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
        found = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
        major = int(found.group(1)) if found else 0
        major = int(found.group(2)) if found and major == 1 and found.group(2) else major
        if major < 17:
            missing.append(
                f"Java 17 or newer ({java} is version {major or 'unknown'}): "
                "apt-get install openjdk-17-jre-headless"
            )
    return missing


def require_engine(settings: Settings) -> None:
    """Fail early, saying what to install, when the configured engine cannot run here."""
    if settings.warehouse.engine != "spark":
        return
    missing = missing_spark_requirements()
    if missing:
        raise EngineUnavailableError(
            'the warehouse engine is "spark" (cpa.toml [warehouse] engine or CPA_ENGINE) but '
            "this machine lacks: " + "; ".join(missing) + '. Install them (`make setup-spark` '
            'installs all), or set engine = "duckdb" to build on the embedded engine.'
        )
