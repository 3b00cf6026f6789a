"""The two ML jobs end to end, for the orchestrator: churn scores and category forecasts.

`churn_from_frames` / `forecast_from_frames` are pure (frames in, results out);
`run_churn` / `run_forecast` add the warehouse I/O and the model artifact. The newest reporting
day in the marts may be partial (a reporting day draws on two UTC files), so it is treated as
"today": scores are made for it from the complete days before it, and it is left out of labels
and forecast history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from ingest.settings import Settings
from ml import churn, forecast
from ml.artifacts import load_model, save_model
from ml.io import load_inputs, write_scores, write_table

CHURN_INPUTS = ("advertiser_daily", "advertisers", "crm_activity", "tier_daily", "receivables",
                "payments")


@dataclass
class ChurnRun:
    scores: pl.DataFrame  # ml.churn_scores rows for score_day
    backtest: pl.DataFrame  # ml.backtest_churn (long metrics table)
    predictions: pl.DataFrame  # backtest out-of-time predictions (for the report)
    model: churn.ChurnModel
    labelled: pl.DataFrame  # eligible snapshot rows with features, group and label
    score_day: date


def _complete(frames: dict[str, pl.DataFrame | None]) -> tuple[dict, date]:
    """Frames without the newest (possibly partial) reporting day, and that day."""
    daily = frames["advertiser_daily"]
    today = daily["day"].cast(pl.Date).max()
    out = dict(frames)
    for name in ("advertiser_daily", "crm_activity", "tier_daily"):
        if out.get(name) is not None:
            out[name] = out[name].filter(pl.col("day").cast(pl.Date) < today)
    return out, today


def churn_from_frames(frames: dict[str, pl.DataFrame | None], settings: Settings,
                      score_day: date | None = None) -> ChurnRun:
    """Features, labels, backtest, final model and today's scores from the input frames."""
    ml = settings.ml
    complete, today = _complete(frames)
    score_day = score_day or today
    daily = complete["advertiser_daily"]
    days = churn.snapshot_days(daily["day"].min(), daily["day"].max(), ml.snapshot_weekday)
    days = sorted(set(days) | {score_day})
    feats = churn.build_features(complete, days)
    labelled = churn.labelled_features(feats, churn.build_labels(daily, days))
    preds, metrics = churn.backtest(
        labelled, folds=ml.backtest_folds, seed=ml.seed, threads=ml.threads,
        workers=ml.backtest_workers,
        threshold=settings.alerts.churn_threshold, k=ml.calls_per_week,
    )
    model = churn.train(labelled, seed=ml.seed, threads=ml.threads)
    model.metrics = {
        f"{r['scope']}/{r['method']}/{r['metric']}": r["value"] for r in metrics.to_dicts()
    }
    scores = churn.score(model, labelled, score_day, language=settings.alerts.language)
    backtest = metrics.with_columns(
        pl.lit(model.version).alias("model_version"),
        pl.lit(preds["origin"].min()).alias("first_origin"),
        pl.lit(preds["snapshot_day"].max()).alias("last_snapshot"),
        pl.lit(settings.alerts.churn_threshold).alias("threshold"),
        pl.lit(ml.calls_per_week).alias("k"),
    )
    return ChurnRun(scores, backtest, preds, model, labelled, score_day)


def forecast_from_frames(frames: dict[str, pl.DataFrame | None], settings: Settings
                         ) -> forecast.ForecastResult:
    """Forecasts, seasonal profiles and backtest from fct_category_daily."""
    daily = frames["category_daily"]
    today = daily["day"].cast(pl.Date).max()
    complete = daily.filter(pl.col("day").cast(pl.Date) < today)
    return forecast.forecast_categories(
        complete, horizon=settings.ml.forecast_horizon_weeks,
        n_origins=settings.ml.forecast_backtest_origins,
    )


def run_churn(settings: Settings, con: duckdb.DuckDBPyConnection) -> ChurnRun:
    """Train, backtest and score from the warehouse; write ml.churn_scores (today's rows
    replaced), ml.backtest_churn (replaced) and the model to settings.paths.models."""
    run = churn_from_frames(load_inputs(con, CHURN_INPUTS), settings)
    save_model(run.model, settings.paths.models, extra={"score_day": str(run.score_day)})
    write_scores(con, run.scores)
    write_table(con, "backtest_churn", run.backtest)
    return run


def run_forecast(settings: Settings, con: duckdb.DuckDBPyConnection) -> forecast.ForecastResult:
    """Forecast from the warehouse; replace ml.category_forecasts, ml.seasonal_profiles and
    ml.backtest_forecast."""
    result = forecast_from_frames(load_inputs(con, ("category_daily",)), settings)
    write_table(con, "category_forecasts", result.forecasts)
    write_table(con, "seasonal_profiles", result.profiles)
    write_table(con, "backtest_forecast", result.backtest)
    return result


def score_churn(settings: Settings, con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Score today's eligible advertisers with the latest saved model (the daily job).

    Training and its backtest are the weekly job (`run_churn`); scoring needs only the
    features at the newest reporting day, so it stays cheap enough to run every day. Raises
    FileNotFoundError when no model has been trained yet.
    """
    model = load_model(settings.paths.models)
    complete, today = _complete(load_inputs(con, CHURN_INPUTS))
    features = churn.build_features(complete, [today])
    labels = churn.build_labels(complete["advertiser_daily"], [today])
    eligible = churn.labelled_features(features, labels)
    scores = churn.score(model, eligible, today, language=settings.alerts.language)
    write_scores(con, scores)
    return scores
