"""The engine switch as Dagster sees it: the same asset graph, `--target <engine>` for dbt, and
a clear failure (what to install) when the spark engine cannot run on this machine."""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource

from ingest.settings import dbt_env_values
from orchestration.assets.dbt import warehouse_dbt_assets
from orchestration.dbt_project import dbt_project
from orchestration.resources import WarehouseResource, dbt_executable


def _config(tmp_path, engine: str):
    cfg = tmp_path / "cpa.toml"
    cfg.write_text(
        f'[paths]\ndata = "data"\nlanding = "landing"\n[warehouse]\nengine = "{engine}"\n'
        '[spark]\nmaster = "local[1]"\ndriver_memory = "1g"\n',
        encoding="utf-8",
    )
    return cfg


def test_spark_engine_passes_its_target_and_settings_to_dbt(tmp_path, monkeypatch):
    for var in ("CPA_ENGINE", "CPA_SPARK_DIR", "CPA_SPARK_MASTER", "CPA_SPARK_DRIVER_MEMORY",
                "CPA_DATA_DIR", "CPA_LANDING_DIR", "CPA_WAREHOUSE"):
        monkeypatch.delenv(var, raising=False)
    resource = WarehouseResource(config_file=str(_config(tmp_path, "spark")))
    assert resource.dbt_target == "spark"
    env = dbt_env_values(resource.settings)
    assert env["CPA_SPARK_DIR"] == str(tmp_path / "data" / "spark")
    assert (env["CPA_SPARK_MASTER"], env["CPA_SPARK_DRIVER_MEMORY"]) == ("local[1]", "1g")
    assert env["CPA_RAW_DIR"] == str(tmp_path / "data" / "raw")
    assert WarehouseResource(config_file=str(_config(tmp_path, "duckdb"))).dbt_target == "duckdb"


def test_dbt_asset_on_spark_without_java_fails_saying_what_to_install(tmp_path, monkeypatch):
    monkeypatch.delenv("CPA_ENGINE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java anywhere on PATH
    result = dg.materialize(
        [warehouse_dbt_assets],
        resources={
            "warehouse": WarehouseResource(config_file=str(_config(tmp_path, "spark"))),
            "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
        },
        raise_on_error=False,
    )
    assert not result.success
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    message = str(failures[0].event_specific_data.error)
    assert "openjdk-17-jre-headless" in message and "make setup-spark" in message, message
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()  # stopped before any work


def _spark_table(folder, sql: str, *, partition_by: str | None = None) -> None:
    """A table folder the way Spark lays it out (part files; hive folders when partitioned),
    written here with DuckDB so the reader is checked without a JVM."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        if partition_by:
            con.execute(f"copy ({sql}) to '{folder}' "
                        f"(format parquet, partition_by ({partition_by}), overwrite_or_ignore)")
        else:
            con.execute(f"copy ({sql}) to '{folder}/part-00000-x-c000.snappy.parquet' "
                        "(format parquet)")
    (folder / "_SUCCESS").write_text("")


def test_spark_marts_read_through_views_that_follow_spark(tmp_path, monkeypatch):
    import shutil
    import time

    import duckdb

    from ingest.marts import spark_schema_dir
    from ingest.settings import load_settings
    from ingest.warehouse import connect

    for var in ("CPA_ENGINE", "CPA_SPARK_DIR", "CPA_WAREHOUSE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CPA_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings().with_engine("spark", spark_dir=tmp_path / "spark")
    marts_dir = spark_schema_dir(settings)
    _spark_table(marts_dir / "fct_a", "select range as id, range * 1.5 as revenue from range(10)")
    _spark_table(marts_dir / "fct_daily", "select range % 3 as n, date '2026-01-01' + "
                 "cast(range % 2 as integer) as day from range(7)", partition_by="day")
    settings.paths.data.mkdir(parents=True)
    with duckdb.connect(str(settings.paths.warehouse_file)) as con:  # an earlier DuckDB build
        con.execute("create schema marts; create table marts.fct_a as select 1 as id; "
                    "create table marts.dim_old as select 1 as id")

    with connect(settings, read_only=True) as con:  # refreshed through a short writer
        kinds = dict(con.execute("select table_name, table_type from information_schema.tables "
                                 "where table_schema = 'marts'").fetchall())
        assert kinds == {"fct_a": "VIEW", "fct_daily": "VIEW"}
        assert con.execute("select count(*), sum(revenue) from marts.fct_a").fetchall() == [
            (10, 67.5)]
        daily = con.execute("select day, count(*) from marts.fct_daily group by all order by 1")
        assert [(str(d), n) for d, n in daily.fetchall()] == [("2026-01-01", 4), ("2026-01-02", 3)]

    time.sleep(0.01)
    shutil.rmtree(marts_dir / "fct_daily")  # a mart dropped, another rebuilt with a new column
    shutil.rmtree(marts_dir / "fct_a")
    _spark_table(marts_dir / "fct_a", "select range as id, 'x' as note from range(4)")
    with connect(settings) as con:
        assert con.execute("select count(*), min(note) from marts.fct_a").fetchall() == [(4, "x")]
        names = con.execute("select table_name from information_schema.tables "
                            "where table_schema = 'marts'").fetchall()
        assert names == [("fct_a",)]

    # the embedded engine leaves the schema to dbt (its next build replaces the views)
    with connect(settings.with_engine("duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_a").fetchall() == [(4,)]
