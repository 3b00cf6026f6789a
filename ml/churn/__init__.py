"""Client churn ("frozen") model: features, labels, training, backtest, scores with reasons.

Typical use (see ml.pipeline for the whole flow):
    days = snapshot_days(first_day, last_day)
    feats = build_features(frames, days)
    data = labelled_features(feats, build_labels(frames["advertiser_daily"], days))
    model = train(data)
    preds, metrics = backtest(data)
    scores = score(model, data, score_day)
"""

from __future__ import annotations

from datetime import date

import polars as pl

from ml.churn.backtest import backtest, metrics, predictions
from ml.churn.features import FEATURES, build_features, snapshot_days
from ml.churn.labels import build_labels, labelled_features
from ml.churn.model import ChurnModel, TrainingError, feature_importance, train
from ml.churn.reasons import explain

__all__ = [
    "FEATURES", "ChurnModel", "TrainingError", "backtest", "build_features", "build_labels",
    "explain", "feature_importance", "labelled_features", "metrics", "predictions", "score",
    "snapshot_days", "train",
]

SCORE_SCHEMA = {
    "score_date": pl.Date, "advertiser_id": pl.Int64, "churn_probability": pl.Float64,
    "risk_group": pl.String, "reason_1": pl.String, "reason_2": pl.String,
    "reason_3": pl.String, "model_version": pl.String,
}


def score(model: ChurnModel, eligible: pl.DataFrame, score_day: date,
          language: str = "en") -> pl.DataFrame:
    """Scores of every eligible advertiser at `score_day` (rows of `labelled_features`, whose
    label is usually still unknown), shaped as the `ml.churn_scores` table; reasons in
    `language` ('en' or 'ru', as [alerts] language)."""
    rows = eligible.filter(pl.col("snapshot_day") == score_day)
    if rows.is_empty():
        return pl.DataFrame(schema=SCORE_SCHEMA)
    explained = explain(model, rows, language=language)
    return explained.join(
        rows.select("advertiser_id", "snapshot_day", "risk_group"),
        on=["advertiser_id", "snapshot_day"],
    ).select(
        pl.col("snapshot_day").alias("score_date"),
        pl.col("advertiser_id").cast(pl.Int64), "churn_probability", "risk_group",
        "reason_1", "reason_2", "reason_3", pl.lit(model.version).alias("model_version"),
    ).sort("churn_probability", "advertiser_id", descending=[True, False])
