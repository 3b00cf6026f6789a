"""Rolling-origin backtest of the weekly forecaster against the seasonal naive forecast.

At each origin the forecaster sees only the weeks before it, with the approved/revenue hold
tail hidden exactly as it is in production (the same number of unsettled weeks), and predicts
the next `horizon` weeks. Targets are settled weeks only. Seasonal naive = the value 52 weeks
earlier. MASE scales absolute errors by the in-sample mean absolute seasonal difference of the
training weeks, so model and naive are on one scale (MASE < naive's MASE = the model wins).
Interval coverage is judged leave-one-origin-out: the quantiles used for an origin's
intervals come from the other origins' residuals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from ml.forecast.model import MIN_SEASONAL_WEEKS, fit_forecast
from ml.forecast.weekly import NETWORK

SEASON = 52
BANDS = ((1, 4), (5, 8), (9, 13), (14, 99))
QUANTILES = {"lo95": 0.025, "lo80": 0.10, "hi80": 0.90, "hi95": 0.975}


@dataclass
class Series:
    """One category's weekly metric on a contiguous calendar; NaN = unsettled / unknown."""

    category: str
    metric: str
    weeks: list[date]
    values: np.ndarray
    settled: int  # number of leading weeks that are settled (usable as targets)


def band(h: int) -> int:
    return next(i for i, (a, b) in enumerate(BANDS) if a <= h <= b)


def network_first(series: list[Series]) -> list[Series]:
    """The network series first, so that short categories can borrow its season."""
    return sorted(series, key=lambda s: (s.category != NETWORK, s.category))


def _origins(n_settled: int, horizon: int, n_origins: int, step: int) -> list[int]:
    last = n_settled - horizon
    out = [last - i * step for i in range(n_origins)]
    return sorted(o for o in out if o >= SEASON + 1)


def run(series: list[Series], unsettled: dict[str, int], *, horizon: int = 13,
        n_origins: int = 8, step: int = 3) -> pl.DataFrame:
    """Residual rows: metric, category, origin, h, week_start, actual, forecast, snaive,
    scale (in-sample seasonal-naive MAE), method."""
    rows = []
    net_profiles: dict[tuple[str, int], np.ndarray] = {}
    net = next((s for s in series if s.category == NETWORK), None)
    base = net.settled if net is not None else max(s.settled for s in series)
    for s in network_first(series):
        origins = _origins(min(s.settled, base), horizon, n_origins, step)
        for o in origins:
            hist = s.values[:o].copy()
            k = unsettled.get(s.category, 0) if s.metric != "clean_clicks" else 0
            if k:
                hist[-k:] = np.nan
            borrowed = net_profiles.get((s.metric, o)) if s.category != NETWORK else None
            fit = fit_forecast(hist, s.weeks[:o], horizon, borrowed_profile=borrowed)
            if s.category == NETWORK and np.isfinite(hist).sum() >= MIN_SEASONAL_WEEKS:
                net_profiles[(s.metric, o)] = fit.profile
            train = s.values[:o]
            train = train[np.isfinite(train)] if not k else train[: o - k]
            diffs = (np.abs(train[SEASON:] - train[:-SEASON]) if train.size > SEASON
                     else np.array([]))
            scale = float(np.mean(diffs)) if diffs.size else np.nan
            for h in range(1, horizon + 1):
                i = o + h - 1
                if i >= s.settled:
                    break
                rows.append((
                    s.metric, s.category, s.weeks[o], h, s.weeks[i], float(s.values[i]),
                    float(fit.forecast[h - 1]),
                    float(s.values[i - SEASON]) if i >= SEASON else None, scale, fit.method,
                ))
    return pl.DataFrame(rows, schema={
        "metric": pl.String, "category": pl.String, "origin": pl.Date, "h": pl.Int64,
        "week_start": pl.Date, "actual": pl.Float64, "forecast": pl.Float64,
        "snaive": pl.Float64, "scale": pl.Float64, "method": pl.String,
    }, orient="row").with_columns(
        (pl.col("actual").log1p() - pl.col("forecast").clip(0).log1p()).alias("log_error"),
        pl.col("h").map_elements(band, return_dtype=pl.Int64).alias("band"),
    )


def residual_quantiles(resid: pl.DataFrame) -> pl.DataFrame:
    """metric, band, lo95, lo80, hi80, hi95: quantiles of log errors pooled over categories."""
    return resid.group_by("metric", "band").agg(
        *[pl.col("log_error").quantile(q, interpolation="linear").alias(name)
          for name, q in QUANTILES.items()],
        pl.len().alias("n"),
    )


def with_intervals(frame: pl.DataFrame, quantiles: pl.DataFrame) -> pl.DataFrame:
    """Add lo80/hi80/lo95/hi95 to a frame with metric, band, forecast (log-space offsets)."""
    out = frame.join(quantiles.drop("n"), on=["metric", "band"], how="left")
    z = pl.col("forecast").clip(0).log1p()
    return out.with_columns(
        *[(z + pl.col(name)).exp().sub(1).clip(0).alias(name)
          for name in QUANTILES]
    )


def coverage(resid: pl.DataFrame) -> pl.DataFrame:
    """Leave-one-origin-out interval hits for every residual row (in80, in95)."""
    parts = []
    for (origin,), part in resid.group_by("origin"):
        others = resid.filter(pl.col("origin") != origin)
        if others.is_empty():
            continue
        q = residual_quantiles(others)
        part = with_intervals(part, q)
        parts.append(part.with_columns(
            ((pl.col("actual") >= pl.col("lo80")) & (pl.col("actual") <= pl.col("hi80")))
            .alias("in80"),
            ((pl.col("actual") >= pl.col("lo95")) & (pl.col("actual") <= pl.col("hi95")))
            .alias("in95"),
        ))
    return pl.concat(parts) if parts else resid.with_columns(
        pl.lit(None, pl.Boolean).alias("in80"), pl.lit(None, pl.Boolean).alias("in95"))


def summary(resid: pl.DataFrame) -> pl.DataFrame:
    """Per metric and category (and '_all' categories pooled): MASE of model and seasonal
    naive, their ratio (model MAE / naive MAE: < 1 = model better), interval coverage."""
    cov = coverage(resid)
    usable = cov.filter(pl.col("snaive").is_not_null() & (pl.col("scale") > 0))

    def agg(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
        return frame.group_by(keys).agg(
            pl.col("origin").n_unique().alias("n_origins"),
            pl.len().alias("n"),
            ((pl.col("actual") - pl.col("forecast")).abs() / pl.col("scale")).mean()
            .alias("mase_model"),
            ((pl.col("actual") - pl.col("snaive")).abs() / pl.col("scale")).mean()
            .alias("mase_snaive"),
            ((pl.col("actual") - pl.col("forecast")).abs().sum()
             / (pl.col("actual") - pl.col("snaive")).abs().sum()).alias("mae_ratio"),
            pl.col("in80").cast(pl.Float64).mean().alias("coverage80"),
            pl.col("in95").cast(pl.Float64).mean().alias("coverage95"),
        )

    per_cat = agg(usable, ["metric", "category"])
    pooled = agg(usable.filter(pl.col("category") != NETWORK), ["metric"]).with_columns(
        pl.lit("_all").alias("category"))
    return pl.concat([per_cat, pooled.select(per_cat.columns)]).sort("metric", "category")
