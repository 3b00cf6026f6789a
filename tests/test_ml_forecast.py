"""Weekly forecasts on synthetic category series with a planted seasonal peak and hold tail."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from ml import forecast
from ml.forecast.weekly import NETWORK, unsettled_weeks, weekly_series
from ml.synthetic import category_world


@pytest.fixture(scope="module")
def world():
    # about two years from 2022-10-03: the data end in early October 2024, two planted travel
    # peaks (ISO week 47) are in the history and the third lies within the 13 weeks ahead.
    return category_world(("travel", "finance"), weeks=106, start=date(2022, 10, 3),
                          peak_week={"travel": 47, "finance": 12}, seed=4)


@pytest.fixture(scope="module")
def result(world):
    daily, _truth = world
    return forecast.forecast_categories(daily, horizon=13, n_origins=6)


def test_forecast_recovers_the_planted_peak(result):
    travel = result.forecasts.filter(
        (pl.col("category") == "travel") & (pl.col("metric") == "clean_clicks")
    ).sort("week_start")
    weeks = [d.isocalendar()[1] for d in travel["week_start"].to_list()]
    assert 47 in weeks
    values = travel["forecast"].to_numpy()
    peak_at = weeks[int(np.argmax(values))]
    assert abs(peak_at - 47) <= 1
    assert values.max() > 1.6 * np.median(values)
    # the seasonal profile shows the same peak
    prof = result.profiles.filter(
        (pl.col("category") == "travel") & (pl.col("metric") == "clean_clicks")
        & (pl.col("profile") == "week_of_year")
    )
    top_week = prof.sort("index", descending=True)["period"][0]
    assert abs(top_week - 47) <= 1


def test_intervals_are_ordered_and_cover_the_forecast(result):
    f = result.forecasts
    assert f.height == 3 * 3 * 13  # 2 categories + network, 3 metrics, 13 weeks
    assert set(f["category"].unique().to_list()) == {"travel", "finance", NETWORK}
    ok = f.filter(pl.col("lo95").is_not_null())
    assert ok.height == f.height
    assert (ok["lo95"] <= ok["lo80"]).all() and (ok["lo80"] <= ok["forecast"]).all()
    assert (ok["forecast"] <= ok["hi80"]).all() and (ok["hi80"] <= ok["hi95"]).all()


def test_backtest_beats_seasonal_naive_with_honest_coverage(result):
    s = result.backtest.filter(pl.col("category") == "_all")
    assert s.height == 3
    assert (s["mae_ratio"] < 0.8).all()
    assert (s["mase_model"] < s["mase_snaive"]).all()
    assert (s["coverage95"] > 0.7).all()


def test_unsettled_hold_tail_is_excluded_and_targets_are_settled(world, result):
    daily, truth = world
    weekly = weekly_series(daily)
    assert unsettled_weeks(weekly)["travel"] >= 1
    # the backtest compares with settled values: equal to the planted eventual truth
    resid = result.residuals.filter(
        (pl.col("metric") == "approved") & (pl.col("category") == "travel"))
    tw = weekly_series(truth.with_columns(pl.lit(0.0).alias("pending"),
                                          pl.lit(0.0).alias("hold_revenue")))
    joined = resid.join(tw.filter(pl.col("category") == "travel").select(
        "week_start", pl.col("approved").alias("truth")), on="week_start")
    assert joined.height == resid.height > 0
    assert np.allclose(joined["actual"], joined["truth"], rtol=0.01)
    # the forecast of approved is not dragged down by the unsettled last weeks
    last = weekly.filter(pl.col("category") == "travel").sort("week_start").tail(1)
    first_fc = result.forecasts.filter(
        (pl.col("category") == "travel") & (pl.col("metric") == "approved")
    ).sort("week_start")["forecast"][0]
    assert first_fc > 1.3 * last["approved"][0]


def test_short_history_falls_back_without_error(world):
    daily, _ = world
    last = daily["day"].max()
    # a new category with 20 weeks of data, next to two long ones
    young = daily.filter(pl.col("category") == "finance").filter(
        pl.col("day") > last - timedelta(weeks=20)).with_columns(pl.lit("gaming").alias("category"))
    res = forecast.forecast_categories(pl.concat([daily, young]), horizon=13, n_origins=4)
    g = res.forecasts.filter(pl.col("category") == "gaming")
    assert g.height == 3 * 13
    assert g["forecast"].is_finite().all() and (g["forecast"] > 0).all()
    assert res.methods["gaming/clean_clicks"] == "short_history_borrowed_season"
    # a whole network with under a year of history: recent level, no error
    short = daily.filter(pl.col("day") > last - timedelta(weeks=30))
    res2 = forecast.forecast_categories(short, horizon=13, n_origins=4)
    assert res2.forecasts.height == 3 * 3 * 13
    assert res2.forecasts["forecast"].is_finite().all()
    assert res2.methods[f"{NETWORK}/clean_clicks"] == "level"


def test_no_complete_week_is_a_clear_error():
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(3)]
    frame = pl.DataFrame({"day": days, "category": "hr", "clean_clicks": 1.0, "approved": 1.0,
                          "pending": 0.0, "revenue": 1.0, "hold_revenue": 0.0})
    with pytest.raises(ValueError, match="complete week"):
        forecast.forecast_categories(frame)
