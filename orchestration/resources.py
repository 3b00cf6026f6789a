"""Resources, configured in one place: the warehouse settings and the dbt CLI."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from ingest.settings import Settings, dbt_env_values, load_settings
from orchestration.dbt_project import dbt_project

WAREHOUSE_POOL = "duckdb_warehouse"
"""Concurrency pool of every asset that writes the warehouse file: DuckDB allows one writer."""


class WarehouseResource(dg.ConfigurableResource):
    """The platform settings (cpa.toml + environment), shared by every asset."""

    config_file: str | None = None

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.config_file)

    @property
    def dbt_target(self) -> str:
        """The dbt target of the configured engine ([warehouse] engine / CPA_ENGINE): the
        profile has one output per engine, so the asset graph is the same for both."""
        return self.settings.warehouse.engine

    @contextmanager
    def dbt_env(self) -> Iterator[None]:
        """Expose the warehouse paths to the dbt subprocess (its profile reads them through
        `env_var`) for the duration of the block only, so nothing leaks into later work of
        this process."""
        values = dbt_env_values(self.settings)
        saved = {key: os.environ.get(key) for key in values}
        os.environ.update(values)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def dbt_executable() -> str:
    """dbt from this environment's bin folder, so a venv works without being activated."""
    beside_python = Path(sys.executable).parent / "dbt"
    return str(beside_python) if beside_python.exists() else (shutil.which("dbt") or "dbt")


def build_resources(config_file: str | Path | None = None) -> dict[str, object]:
    return {
        "warehouse": WarehouseResource(config_file=str(config_file) if config_file else None),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
    }
