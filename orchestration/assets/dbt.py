"""The dbt project as assets: every model an asset, every dbt test an asset check.

dbt sources are keyed `raw/<table>`, the same keys as the ingestion assets, so each staging
model hangs under the ingestion asset it reads. Thresholds from cpa.toml reach the models as
dbt vars, so the configuration stays in one place.
"""

import json
from dataclasses import asdict

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from ingest.marts import mart_relations, require_engine
from ingest.settings import Settings
from ingest.warehouse import connect
from orchestration.dbt_project import dbt_project
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource


def dbt_vars(settings: Settings) -> dict[str, object]:
    """The cpa.toml values the models read with `var()`."""
    return {"timezone": settings.network.timezone, **asdict(settings.metrics)}


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, pool=WAREHOUSE_POOL)
def warehouse_dbt_assets(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
):
    require_engine(warehouse.settings)  # spark without Java/PySpark: say what to install
    args = [
        "build",
        "--target",
        warehouse.dbt_target,
        "--vars",
        json.dumps(dbt_vars(warehouse.settings)),
    ]
    with warehouse.dbt_env():
        events = list(dbt.cli(args, context=context).stream())
    yield from with_row_counts(context, events, warehouse.settings)


def with_row_counts(context: dg.AssetExecutionContext, events: list, settings: Settings):
    """Attach each built table's row count once dbt has finished.

    dagster-dbt's own `fetch_row_counts()` queries through dbt's adapter while dbt is still
    writing, and leaves that DuckDB connection open in this process: on a one-writer file the
    next asset of the run could then not open the warehouse. On the spark engine the marts are
    counted over their Parquet (connect() refreshes the views of them); Spark's intermediate
    tables get no count.
    """
    with connect(settings, read_only=True) as con:
        tables = mart_relations(con)
        for event in events:
            if isinstance(event, dg.Output):
                path = context.asset_key_for_output(event.output_name).path
                if len(path) == 2 and tuple(path) in tables:
                    rows = con.execute(f'select count(*) from "{path[0]}"."{path[1]}"').fetchall()
                    event = event.with_metadata(
                        {**event.metadata, "dagster/row_count": dg.MetadataValue.int(rows[0][0])}
                    )
            yield event
