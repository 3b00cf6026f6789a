"""The dbt project as assets: every model an asset, every dbt test an asset check.

dbt sources are keyed `raw/<table>`, the same keys as the ingestion assets, so each staging
model hangs under the ingestion asset it reads. Thresholds from cpa.toml reach the models as
dbt vars, so the configuration stays in one place.
"""

import json
from dataclasses import asdict

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from ingest.settings import Settings
from orchestration.dbt_project import dbt_project
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource


def dbt_vars(settings: Settings) -> dict[str, object]:
    """The cpa.toml values the models read with `var()`."""
    return {"timezone": settings.network.timezone, **asdict(settings.metrics)}


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, pool=WAREHOUSE_POOL)
def warehouse_dbt_assets(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
):
    warehouse.export_env()
    args = ["build", "--vars", json.dumps(dbt_vars(warehouse.settings))]
    yield from dbt.cli(args, context=context).stream().fetch_row_counts()
