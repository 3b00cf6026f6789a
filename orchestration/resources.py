"""Resources, configured in one place: the warehouse settings and the dbt CLI."""

from __future__ import annotations

import os
import shutil
import sys
from functools import cached_property
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from ingest.settings import Settings, load_settings
from orchestration.dbt_project import dbt_project

WAREHOUSE_POOL = "duckdb_warehouse"
"""Concurrency pool of every asset that writes the warehouse file: DuckDB allows one writer."""


class WarehouseResource(dg.ConfigurableResource):
    """The platform settings (cpa.toml + environment), shared by every asset."""

    config_file: str | None = None

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.config_file)

    def export_env(self) -> None:
        """Expose the warehouse paths to subprocesses (dbt reads them through `env_var`)."""
        paths = self.settings.paths
        os.environ["CPA_WAREHOUSE"] = str(paths.warehouse_file)
        os.environ["CPA_RAW_DIR"] = str(paths.raw)
        os.environ["CPA_TMP_DIR"] = str(paths.tmp)


def dbt_executable() -> str:
    """dbt from this environment's bin folder, so a venv works without being activated."""
    beside_python = Path(sys.executable).parent / "dbt"
    return str(beside_python) if beside_python.exists() else (shutil.which("dbt") or "dbt")


def build_resources(config_file: str | Path | None = None) -> dict[str, object]:
    return {
        "warehouse": WarehouseResource(config_file=str(config_file) if config_file else None),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
    }
