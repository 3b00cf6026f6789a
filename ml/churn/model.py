"""Training the churn model: gradient boosting on a time split, calibrated on a later slice.

Why this way: snapshots of one advertiser a week apart are strongly correlated, so a random
split would flatter the model; the fit slice ends 30 days (one label window) before the
calibration slice starts, so no label of the fit slice looks into the calibration period.
Isotonic calibration needs a few dozen positives; with fewer, a sigmoid (Platt) is steadier.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from threadpoolctl import threadpool_limits

from ml.churn.features import CATEGORICAL, FEATURES
from ml.churn.labels import HORIZON_DAYS

MODEL_PARAMS: dict[str, Any] = {
    "max_iter": 200,
    "learning_rate": 0.05,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
    "early_stopping": False,
}
MIN_ISOTONIC_POSITIVES = 30
MIN_CLASS_ROWS = 10  # fewer frozen (or non-frozen) labelled rows than this: no model


class TrainingError(ValueError):
    """Not enough labelled history to fit a model; the message says how much is needed."""


@dataclass
class ChurnModel:
    """A fitted, calibrated model with what is needed to score and explain it later."""

    estimator: Any
    features: list[str]
    version: str
    seed: int
    calibration: str
    fit_window: tuple[date, date]
    calibration_window: tuple[date, date] | None
    n_rows: int
    n_positive: int
    reference: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        """Calibrated probability of being frozen for each row of a feature frame."""
        return predict_proba(self.estimator, matrix(frame, self.features))

    def metadata(self) -> dict[str, Any]:
        return {
            "model_version": self.version,
            "seed": self.seed,
            "features": self.features,
            "calibration": self.calibration,
            "fit_window": [str(d) for d in self.fit_window],
            "calibration_window": (
                [str(d) for d in self.calibration_window] if self.calibration_window else None
            ),
            "n_rows": self.n_rows,
            "n_positive": self.n_positive,
            "params": MODEL_PARAMS,
            "reference": self.reference,
            "metrics": self.metrics,
        }


PROBABILITY_FLOOR = 0.001  # isotonic steps give exact 0/1; no client is certain either way


def predict_proba(estimator: Any, x: np.ndarray) -> np.ndarray:
    """Calibrated probabilities clipped to [0.001, 0.999].

    One OpenMP thread: prediction runs tree by tree, and on a busy host the per-tree thread
    start-up costs far more than it saves (measured: 8 s -> well under 1 s for 5k rows).
    """
    with threadpool_limits(limits=1):
        p = estimator.predict_proba(x)[:, 1]
    return np.clip(p, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)


def matrix(frame: pl.DataFrame, features: list[str] | tuple[str, ...] = FEATURES) -> np.ndarray:
    """The float matrix of the given feature columns (nulls as NaN: the booster handles them)."""
    return frame.select([pl.col(c).cast(pl.Float64) for c in features]).to_numpy().astype(float)


def _booster(seed: int, features: list[str]) -> HistGradientBoostingClassifier:
    cat_mask = [f in CATEGORICAL for f in features]
    return HistGradientBoostingClassifier(
        **MODEL_PARAMS, categorical_features=cat_mask if any(cat_mask) else None,
        random_state=seed,
    )


def model_version(labelled: pl.DataFrame, seed: int) -> str:
    """A content hash of the training rows and parameters: same data + seed = same version."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"params": MODEL_PARAMS, "seed": seed, "features": FEATURES},
                             sort_keys=True).encode())
    cols = ["advertiser_id", "snapshot_day", "frozen", *FEATURES]
    digest.update(labelled.select(cols).hash_rows(seed=0).to_numpy().tobytes())
    return "churn-" + digest.hexdigest()[:12]


def split_days(days: list[date], calibration_share: float = 0.25,
               min_calibration_days: int = 4) -> tuple[list[date], list[date]]:
    """(fit days, calibration days): calibration = the latest share of snapshot days, and the
    fit days end a label window (30 days) before the first calibration day."""
    days = sorted(days)
    n_cal = max(min_calibration_days, round(len(days) * calibration_share))
    cal = days[-n_cal:] if n_cal < len(days) else []
    if not cal:
        return days, []
    cutoff = cal[0] - timedelta(days=HORIZON_DAYS)
    return [d for d in days if d <= cutoff], cal


def train(labelled: pl.DataFrame, *, seed: int = 42, threads: int = 1) -> ChurnModel:
    """Fit on the labelled eligible rows (frozen not null), calibrated on the latest slice.

    `labelled` comes from `labels.labelled_features`; rows with an unknown label are ignored.
    """
    data = labelled.filter(pl.col("frozen").is_not_null())
    positives = int(data["frozen"].sum()) if data.height else 0
    if min(positives, data.height - positives) < MIN_CLASS_ROWS:
        raise TrainingError(
            f"cannot train the churn model: it needs labelled snapshots with both frozen and "
            "non-frozen advertisers (at least {MIN_CLASS_ROWS} of each; got {positives} frozen of "
            f"{data.height}), i.e. at least ~3 months of daily history (28 days before and 30 "
            "days after each snapshot) for enough clients. Load more history or wait for more data."
        )
    # A feature with no value at all (e.g. no CRM or billing marts yet) cannot be binned: leave
    # it out of this model; the model's feature list records what it was trained on.
    features = [f for f in FEATURES if data[f].is_not_null().any() and data[f].is_not_nan().any()]
    days = sorted(data["snapshot_day"].unique().to_list())
    fit_days, cal_days = split_days(days)
    try:
        est, method, fit_window, cal_window = _fit_calibrated(
            data, features, days, fit_days, cal_days, seed=seed, threads=threads
        )
    except ValueError as exc:
        # Tiny or degenerate samples (e.g. a feature with no value inside one CV fold) make
        # the binning fail: that is "not enough data to train", not a crash of the run.
        raise TrainingError(f"cannot train the churn model on this sample: {exc}") from exc
    healthy = data.filter(~pl.col("frozen"))
    reference = {
        f: float(v) for f in features
        if (v := healthy[f].median()) is not None and np.isfinite(v)
    }
    return ChurnModel(
        estimator=est, features=features, version=model_version(data, seed), seed=seed,
        calibration=method, fit_window=fit_window, calibration_window=cal_window,
        n_rows=data.height, n_positive=int(data["frozen"].sum()), reference=reference,
    )


def feature_importance(model: ChurnModel, frame: pl.DataFrame, *, seed: int = 42,
                       n_repeats: int = 3) -> pl.DataFrame:
    """Permutation importance (drop in ROC-AUC) on a labelled frame, largest first."""
    from sklearn.inspection import permutation_importance

    data = frame.filter(pl.col("frozen").is_not_null())
    result = permutation_importance(
        model.estimator, matrix(data, model.features), data["frozen"].to_numpy(),
        scoring="roc_auc", n_repeats=n_repeats, random_state=seed,
    )
    return pl.DataFrame({
        "feature": model.features,
        "importance": result.importances_mean,
        "std": result.importances_std,
    }).sort("importance", descending=True)


def _fit_calibrated(
    data: pl.DataFrame,
    features: list[str],
    days: list,
    fit_days: list,
    cal_days: list,
    *,
    seed: int,
    threads: int,
) -> tuple[Any, str, tuple | None, tuple | None]:
    """Gradient boosting calibrated on the latest slice, or by 3-fold cross-fitting when the
    history is too short for a separate slice."""
    fit = data.filter(pl.col("snapshot_day").is_in(fit_days))
    cal = data.filter(pl.col("snapshot_day").is_in(cal_days))
    with threadpool_limits(limits=threads):
        usable = (
            len(fit_days) >= 2 and cal.height > 0
            and 0 < fit["frozen"].sum() < fit.height and 0 < cal["frozen"].sum() < cal.height
        )
        if usable:
            base = _booster(seed, features).fit(matrix(fit, features), fit["frozen"].to_numpy())
            method = "isotonic" if cal["frozen"].sum() >= MIN_ISOTONIC_POSITIVES else "sigmoid"
            est = CalibratedClassifierCV(FrozenEstimator(base), method=method)
            est.fit(matrix(cal, features), cal["frozen"].to_numpy())
            cal_window = (cal_days[0], cal_days[-1])
            fit_window = (fit_days[0], fit_days[-1])
        else:
            # Short history: no separate slice; sigmoid calibration by 3-fold cross-fitting.
            method = "sigmoid-cv3"
            est = CalibratedClassifierCV(_booster(seed, features), method="sigmoid", cv=3)
            est.fit(matrix(data, features), data["frozen"].to_numpy())
            cal_window = None
            fit_window = (days[0], days[-1])
    return est, method, fit_window, cal_window
