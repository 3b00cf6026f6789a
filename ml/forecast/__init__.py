"""Weekly forecasts per category and for the network, with intervals and seasonal profiles.

Entry points: `forecast_categories(category_daily)` (forecasts + profiles + backtest in one
go, because the intervals come from the backtest residuals) and `backtest(category_daily)`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from ml.forecast import backtest as bt
from ml.forecast.model import MIN_SEASONAL_WEEKS, fit_forecast
from ml.forecast.weekly import (
    HOLD_OF,
    METRICS,
    NETWORK,
    complete_weeks,
    unsettled_weeks,
    weekly_series,
)

__all__ = ["ForecastResult", "backtest", "day_of_week_profiles", "forecast_categories",
           "weekly_series"]

FORECAST_SCHEMA = {
    "category": pl.String, "metric": pl.String, "week_start": pl.Date, "forecast": pl.Float64,
    "lo80": pl.Float64, "hi80": pl.Float64, "lo95": pl.Float64, "hi95": pl.Float64,
    "model_version": pl.String,
}


@dataclass
class ForecastResult:
    forecasts: pl.DataFrame  # ml.category_forecasts
    profiles: pl.DataFrame  # ml.seasonal_profiles
    backtest: pl.DataFrame  # ml.backtest_forecast (summary)
    residuals: pl.DataFrame  # backtest rows (for plots)
    unsettled: dict[str, int]
    methods: dict[str, str]  # "category/metric" -> method used for the live forecast
    version: str


def _series(weekly: pl.DataFrame, unsettled: dict[str, int]) -> list[bt.Series]:
    out = []
    grid = complete_weeks(weekly)
    for (cat,), part in grid.group_by("category"):
        part = part.sort("week_start")
        weeks = part["week_start"].to_list()
        for metric in METRICS:
            values = part[metric].to_numpy().astype(float)
            k = unsettled.get(str(cat), 0) if metric in HOLD_OF else 0
            if k:
                values[-k:] = np.nan
            out.append(bt.Series(str(cat), metric, weeks, values, len(weeks) - k))
    return bt.network_first(out)


def version_of(weekly: pl.DataFrame) -> str:
    digest = hashlib.sha256(json.dumps({"method": "trend_fourier_profile/v2"}).encode())
    digest.update(weekly.sort("category", "week_start").hash_rows(seed=0).to_numpy().tobytes())
    return "forecast-" + digest.hexdigest()[:12]


def backtest(category_daily: pl.DataFrame, *, horizon: int = 13, n_origins: int = 8,
             last_complete_day: date | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(summary, residuals) of the rolling-origin backtest; see ml.forecast.backtest."""
    weekly = weekly_series(category_daily, last_complete_day)
    unsettled = unsettled_weeks(weekly)
    resid = bt.run(_series(weekly, unsettled), unsettled, horizon=horizon, n_origins=n_origins)
    return bt.summary(resid), resid


def day_of_week_profiles(category_daily: pl.DataFrame, weeks: int = 52,
                         unsettled_days: int = 28) -> pl.DataFrame:
    """category, metric, period (ISO weekday 1-7), index (mean of the weekday / mean day)
    over the last `weeks` weeks (approved/revenue without the last `unsettled_days`)."""
    df = category_daily.with_columns(pl.col("day").cast(pl.Date))
    last = df["day"].max()
    network = df.group_by("day").agg(*[pl.col(m).sum() for m in METRICS]).with_columns(
        pl.lit(NETWORK).alias("category"))
    df = pl.concat([df.select("day", "category", *METRICS), network.select(
        "day", "category", *METRICS)], how="vertical_relaxed")
    parts = []
    for metric in METRICS:
        end = last - timedelta(days=unsettled_days if metric in HOLD_OF else 0)
        sel = df.filter((pl.col("day") <= end) & (pl.col("day") > end - timedelta(weeks=weeks)))
        parts.append(sel.group_by("category", pl.col("day").dt.weekday().alias("period")).agg(
            pl.col(metric).cast(pl.Float64).mean().alias("_m")
        ).with_columns(
            (pl.col("_m") / pl.col("_m").mean().over("category")).fill_nan(1.0).alias("index"),
            pl.lit(metric).alias("metric"),
        ).drop("_m"))
    return pl.concat(parts).with_columns(
        pl.lit("day_of_week").alias("profile"), pl.col("period").cast(pl.Int64)
    ).select("category", "metric", "profile", "period", "index")


def forecast_categories(category_daily: pl.DataFrame, *, horizon: int = 13,
                        n_origins: int = 8, last_complete_day: date | None = None
                        ) -> ForecastResult:
    """Forecast every category and `_network` for `horizon` weeks after the last complete
    week, with 80/95 % intervals from backtest residual quantiles, and seasonal profiles.

    Works with any history length: under ~60 weeks a series borrows the network season (or
    uses its recent level); without backtest residuals the intervals are empty (null).
    """
    weekly = weekly_series(category_daily, last_complete_day)
    if weekly.is_empty():
        raise ValueError(
            "no complete week in marts.fct_category_daily: forecasts need at least one full "
            "ISO week (Monday-Sunday) of data. Load more history and rebuild the marts."
        )
    unsettled = unsettled_weeks(weekly)
    series = _series(weekly, unsettled)
    resid = bt.run(series, unsettled, horizon=horizon, n_origins=n_origins)
    summary = bt.summary(resid)
    quant = bt.residual_quantiles(resid)
    version = version_of(weekly)
    last_week = weekly["week_start"].max()
    rows, prof_rows, methods = [], [], {}
    net_profile: dict[str, np.ndarray] = {}
    for s in series:
        # forecast starts after the last complete week; unsettled weeks are hidden (NaN)
        fit = fit_forecast(s.values, s.weeks, horizon, borrowed_profile=(
            net_profile.get(s.metric) if s.category != NETWORK else None),
            start_offset=(last_week - s.weeks[-1]).days // 7)
        if s.category == NETWORK and np.isfinite(s.values).sum() >= MIN_SEASONAL_WEEKS:
            net_profile[s.metric] = fit.profile
        methods[f"{s.category}/{s.metric}"] = fit.method
        for h in range(1, horizon + 1):
            week = last_week + timedelta(weeks=h)
            # the backtest hides the same k unsettled weeks, so its step h matches this one
            rows.append((s.category, s.metric, week, float(fit.forecast[h - 1]),
                         bt.band(h)))
        for w in range(1, 54):
            prof_rows.append((s.category, s.metric, "week_of_year", w,
                              float(np.exp(fit.profile[w])), fit.method))
    fc = pl.DataFrame(rows, schema={"category": pl.String, "metric": pl.String,
                                    "week_start": pl.Date, "forecast": pl.Float64,
                                    "band": pl.Int64}, orient="row")
    fc = bt.with_intervals(fc, quant).with_columns(pl.lit(version).alias("model_version"))
    fc = fc.select(list(FORECAST_SCHEMA)).cast(FORECAST_SCHEMA).sort(
        "category", "metric", "week_start")
    profiles = pl.concat([
        pl.DataFrame(prof_rows, schema={"category": pl.String, "metric": pl.String,
                                        "profile": pl.String, "period": pl.Int64,
                                        "index": pl.Float64, "source": pl.String},
                     orient="row"),
        day_of_week_profiles(category_daily).with_columns(
            pl.lit("daily_means_52w").alias("source")),
    ], how="vertical_relaxed").with_columns(pl.lit(version).alias("model_version"))
    summary = summary.with_columns(pl.lit(version).alias("model_version"))
    return ForecastResult(fc, profiles, summary, resid, unsettled, methods, version)
