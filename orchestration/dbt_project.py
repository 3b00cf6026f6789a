"""The dbt project as dagster-dbt sees it.

The manifest is prepared the way dagster-dbt recommends: `dagster dev` re-parses on load
(`prepare_if_dev`), and `make setup` runs `dagster-dbt project prepare-and-package` so that a
fresh clone and a deployment load a manifest built ahead of time.
"""

from __future__ import annotations

from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()
