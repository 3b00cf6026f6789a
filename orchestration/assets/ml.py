"""ML assets: the churn model and its scores, and the seasonal forecasts per category.

The churn asset trains on weekly snapshots with a rolling time-split backtest, saves the model
(versioned on disk with its metadata) and scores every eligible advertiser with reasons a
manager can act on; the metadata carries the backtest figures next to the baselines, and the
calibration and importance plots. Forecasts are their own asset.
"""

import tempfile
from pathlib import Path

import dagster as dg
import polars as pl

from ingest.warehouse import connect
from ml import churn
from ml.churn.backtest import METHODS
from ml.pipeline import run_churn, run_forecast, score_churn
from ml.report import plot_calibration, plot_importance
from orchestration.assets.dbt import warehouse_dbt_assets
from orchestration.metadata import image, preview
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource

MART_KEYS = [key for key in warehouse_dbt_assets.keys if key.path[0] == "marts"]


def _metric(backtest: pl.DataFrame, scope: str, method: str, metric: str) -> float:
    row = backtest.filter(
        (pl.col("scope") == scope) & (pl.col("method") == method) & (pl.col("metric") == metric)
    )
    value = row["value"][0] if row.height else None
    return float(value) if value is not None else float("nan")


@dg.asset(
    key=["ml", "churn_model"],
    group_name="ml",
    deps=MART_KEYS,
    kinds={"scikitlearn", "duckdb"},
    pool=WAREHOUSE_POOL,
    description="The churn model (frozen in the next 30 days, docs/metrics.md), trained on "
    "weekly snapshots, calibrated, backtested on rolling time splits against the 3-day rule "
    "and recency, and saved versioned under the models folder. Retrained weekly.",
)
def churn_model(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    settings = warehouse.settings
    with connect(settings) as con:
        try:
            run = run_churn(settings, con)
        except churn.TrainingError as exc:
            # Too little history to learn from (a new network): no scores rather than a
            # failed run, so the marts, alerts and BI snapshot downstream still refresh.
            context.log.warning(f"churn model not trained: {exc}")
            return dg.MaterializeResult(metadata={"skipped": dg.MetadataValue.text(str(exc))})
    metadata: dict[str, dg.MetadataValue] = {
        "score_day": dg.MetadataValue.text(str(run.score_day)),
        "model_version": dg.MetadataValue.text(run.model.version),
        "advertisers_scored": dg.MetadataValue.int(run.scores.height),
        "at_or_above_threshold": dg.MetadataValue.int(
            run.scores.filter(pl.col("churn_probability") >= settings.alerts.churn_threshold).height
        ),
        "training_rows": dg.MetadataValue.int(run.labelled.height),
        "preview": preview(run.scores.sort("churn_probability", descending=True)),
        "backtest": preview(run.backtest, rows=40),
    }
    for method in METHODS:
        for metric in ("roc_auc", "pr_auc", "accuracy"):
            value = _metric(run.backtest, "overall", method, metric)
            metadata[f"{method}_{metric}"] = dg.MetadataValue.float(value)
    with tempfile.TemporaryDirectory() as tmp:
        calibration, importance = Path(tmp) / "calibration.png", Path(tmp) / "importance.png"
        plot_calibration(run.predictions, calibration)
        metadata["calibration_plot"] = image(calibration)
        recent = run.labelled.filter(pl.col("snapshot_day") >= run.predictions["origin"].min())
        plot_importance(
            churn.feature_importance(run.model, recent, seed=settings.ml.seed), importance
        )
        metadata["importance_plot"] = image(importance)
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    key=["ml", "churn_scores"],
    group_name="ml",
    deps=[*MART_KEYS, churn_model.key],
    kinds={"scikitlearn", "duckdb"},
    pool=WAREHOUSE_POOL,
    description="Churn probability for every eligible advertiser at the newest reporting day, "
    "with its top reasons in words and the model version, from the latest saved model.",
)
def churn_scores(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    settings = warehouse.settings
    with connect(settings) as con:
        try:
            scores = score_churn(settings, con)
        except FileNotFoundError:
            context.log.info("no trained churn model yet: training one first")
            try:
                scores = run_churn(settings, con).scores
            except churn.TrainingError as exc:
                context.log.warning(f"churn model not trained: {exc}")
                return dg.MaterializeResult(metadata={"skipped": dg.MetadataValue.text(str(exc))})
    threshold = settings.alerts.churn_threshold
    return dg.MaterializeResult(
        metadata={
            "advertisers_scored": dg.MetadataValue.int(scores.height),
            "at_or_above_threshold": dg.MetadataValue.int(
                scores.filter(pl.col("churn_probability") >= threshold).height
            ),
            "model_version": dg.MetadataValue.text(
                scores["model_version"][0] if scores.height else "none"
            ),
            "preview": preview(scores.sort("churn_probability", descending=True)),
        }
    )


@dg.asset(
    key=["ml", "category_forecasts"],
    group_name="ml",
    deps=MART_KEYS,
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    description="Weekly forecasts, 13 weeks ahead, of clean clicks, approved conversions and "
    "revenue per category and for the network, with 80/95 % intervals; seasonal profiles; "
    "rolling-origin backtest (MASE against seasonal naive, interval coverage).",
)
def category_forecasts(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    settings = warehouse.settings
    with connect(settings) as con:
        result = run_forecast(settings, con)
    return dg.MaterializeResult(
        metadata={
            "model_version": dg.MetadataValue.text(result.version),
            "forecast_rows": dg.MetadataValue.int(result.forecasts.height),
            "series": dg.MetadataValue.int(len(result.methods)),
            "backtest": preview(result.backtest, rows=40),
            "preview": preview(result.forecasts),
        }
    )
