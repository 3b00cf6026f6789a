"""The engine switch as Dagster sees it: the same asset graph, `--target <engine>` for dbt, and
a clear failure (what to install) when the spark engine cannot run on this machine."""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.assets.dbt import warehouse_dbt_assets
from orchestration.dbt_project import dbt_project
from orchestration.resources import WarehouseResource, dbt_env_values, dbt_executable


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
