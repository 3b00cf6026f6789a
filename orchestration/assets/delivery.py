"""Delivery assets: alert feeds per account lead, and the BI snapshot.

Alerts are evaluated from the marts and the churn scores, recorded in their history, written
as per-lead feeds and delivered (webhook, e-mail); then the marts, ML outputs and alerts are
published as a read-only snapshot plus Parquet/CSV files, swapped in atomically, so BI readers
never block the pipeline nor see a half-built state.
"""

import dagster as dg
import polars as pl

from exports.alerts import notify_run_failure, run_alert_cycle
from exports.publish import publish
from ingest.warehouse import connect
from orchestration.assets.dbt import warehouse_dbt_assets
from orchestration.assets.ml import churn_scores
from orchestration.metadata import preview
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource

MART_KEYS = [key for key in warehouse_dbt_assets.keys if key.path[0] == "marts"]


def _counts(frame: pl.DataFrame, column: str) -> str:
    if frame.is_empty() or column not in frame.columns:
        return "none"
    rows = frame.group_by(column).len().sort(column).iter_rows()
    return ", ".join(f"{value}: {n}" for value, n in rows)


@dg.asset(
    key=["alerts", "alert_feeds"],
    group_name="delivery",
    deps=[*MART_KEYS, churn_scores.key],
    kinds={"duckdb", "json", "csv", "xlsx"},
    pool=WAREHOUSE_POOL,
    description="Alert rules of docs/metrics.md evaluated, recorded in alerts.alert_history, "
    "written per account lead (JSONL, CSV, XLSX) and delivered by webhook and e-mail.",
)
def alert_feeds(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    settings = warehouse.settings
    with connect(settings) as con:
        cycle = run_alert_cycle(con, settings, run_id=context.run.run_id)
    alerts = cycle.evaluation.alerts
    return dg.MaterializeResult(
        metadata={
            "as_of": dg.MetadataValue.text(str(cycle.evaluation.as_of)),
            "alerts_firing": dg.MetadataValue.int(alerts.height),
            "by_rule": dg.MetadataValue.text(_counts(alerts, "rule")),
            "rules_skipped": dg.MetadataValue.json(cycle.evaluation.skipped),
            "leads_with_feeds": dg.MetadataValue.int(len(cycle.feeds.leads)),
            "feeds": dg.MetadataValue.path(str(cycle.feeds.directory)),
            "delivered": dg.MetadataValue.int(len(cycle.delivery.delivered)),
            "delivery_failed": dg.MetadataValue.int(len(cycle.delivery.failed)),
            "preview": preview(alerts),
        }
    )


@dg.asset(
    key=["publish", "bi_snapshot"],
    group_name="delivery",
    deps=[*MART_KEYS, churn_scores.key, alert_feeds.key],
    kinds={"duckdb", "parquet", "csv"},
    pool=WAREHOUSE_POOL,
    description="Read-only DuckDB snapshot and Parquet/CSV per table of marts, ml and alerts, "
    "swapped in atomically under the publish folder (see docs/bi.md).",
)
def bi_snapshot(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    settings = warehouse.settings
    with connect(settings, read_only=True) as con:
        result = publish(settings, con=con, run_id=context.run.run_id)
    return dg.MaterializeResult(
        metadata={
            "version": dg.MetadataValue.text(result.version),
            "snapshot": dg.MetadataValue.path(str(result.snapshot)),
            "tables": dg.MetadataValue.int(len(result.tables)),
            "rows": dg.MetadataValue.int(sum(result.tables.values())),
            "pruned_versions": dg.MetadataValue.int(len(result.pruned)),
        }
    )


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING)
def notify_on_run_failure(context: dg.RunFailureSensorContext):
    """Tell the same channels as the alerts when a run fails."""
    from ingest.settings import load_settings

    settings = load_settings()
    run = context.dagster_run
    failed_steps = [event.step_key for event in context.get_step_failure_events() if event.step_key]
    notify_run_failure(
        settings,
        run_id=run.run_id,
        job_name=run.job_name,
        error=context.failure_event.message or "run failed",
        failed_steps=failed_steps,
    )
