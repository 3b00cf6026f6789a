"""The ML code on the generated sample world: planted freezes and planted seasonal peaks.

The world comes from the project's generator (ingest.sample_world), small enough to build in
seconds; the frames are built here from its truth files (every conversion's final state and
clean clicks per offer and day) in the shape of the marts, so that this test checks the ML
code against what the generator planted without depending on a dbt build. (The same code on
the dbt marts is exercised by `python -m ml.report` and reported in reports/ml_report.md.)
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from ingest.sample_world import WorldConfig, generate
from ml import churn, forecast

STATE = ("offers_live", "offers_active", "offers_paused", "offers_stopped")


def _frames(world: Path) -> dict[str, pl.DataFrame]:
    conv = pl.read_parquet(world / "truth" / "conversions.parquet").with_columns(
        (pl.col("created_at") + pl.duration(hours=3)).dt.date().alias("day"))  # Moscow day
    clicks = pl.read_parquet(world / "truth" / "clicks_daily.parquet")
    adv = pl.read_parquet(world / "truth" / "advertisers.parquet")
    st = pl.col("status")
    approved_rub = pl.col("revenue_rub").filter(st == "approved")
    per_adv = conv.group_by("advertiser_id", "day").agg(
        (st != "trash").sum().alias("conversions"), (st == "approved").sum().alias("approved"),
        (st == "pending").sum().alias("pending"), (st == "rejected").sum().alias("rejected"),
        (st == "trash").sum().alias("trash"), approved_rub.sum().alias("revenue"),
        (approved_rub - pl.col("payout_rub").filter(st == "approved")).sum().alias("margin"),
    )
    adv_clicks = clicks.group_by("advertiser_id", "day").agg(pl.col("clean_clicks").sum())
    daily = per_adv.join(adv_clicks, on=["advertiser_id", "day"], how="full", coalesce=True)
    daily = daily.with_columns(
        pl.exclude("advertiser_id", "day").fill_null(0),
        *[pl.lit(0).alias(c) for c in STATE],
        pl.lit(None, pl.Float64).alias("avg_cap_utilisation"),
    )
    cat = conv.group_by("category", "day").agg(
        (st == "approved").sum().alias("approved"), (st == "pending").sum().alias("pending"),
        approved_rub.sum().alias("revenue"),
        pl.col("revenue_rub").filter(st == "pending").sum().alias("hold_revenue"),
    ).join(clicks.group_by("category", "day").agg(pl.col("clean_clicks").sum()),
           on=["category", "day"], how="full", coalesce=True).fill_null(0)
    return {
        "advertiser_daily": daily,
        "advertisers": adv.select("advertiser_id", pl.col("category").alias("main_category")),
        "category_daily": cat,
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ml_sample_world")
    generate(WorldConfig.from_scale("tiny", advertisers=60, seed=42), out)
    return out


@pytest.fixture(scope="module")
def frames(world) -> dict[str, pl.DataFrame]:
    return _frames(world)


@pytest.fixture(scope="module")
def labelled(frames):
    daily = frames["advertiser_daily"]
    days = churn.snapshot_days(daily["day"].min(), daily["day"].max())
    return churn.labelled_features(churn.build_features(frames, days),
                                   churn.build_labels(daily, days))


def test_every_planted_freeze_is_labelled_frozen(world, frames, labelled):
    fates = pl.read_parquet(world / "truth" / "advertisers.parquet")
    last_known = labelled.filter(pl.col("frozen").is_not_null())["snapshot_day"].max()
    planted = fates.filter(pl.col("fate").str.starts_with("freeze")
                           & (pl.col("freeze_day") <= last_known))
    # planted freezes of clients still converting in the 28 days before (tiny clients can go
    # quiet for a month long before their planted freeze: the label rightly fires earlier)
    converting = frames["advertiser_daily"].join(planted, on="advertiser_id").filter(
        (pl.col("conversions") > 0) & (pl.col("day") < pl.col("freeze_day"))
        & (pl.col("day") >= pl.col("freeze_day") - pl.duration(days=28)))
    planted = planted.filter(pl.col("advertiser_id").is_in(converting["advertiser_id"].implode()))
    assert planted.height >= 5
    frozen = labelled.filter(pl.col("frozen")).join(planted, on="advertiser_id").filter(
        (pl.col("snapshot_day") >= pl.col("freeze_day") - pl.duration(days=35))
        & (pl.col("snapshot_day") <= pl.col("freeze_day") + pl.duration(days=28)))
    assert set(frozen["advertiser_id"].to_list()) == set(planted["advertiser_id"].to_list())


def test_model_ranks_freezes_above_both_baselines(labelled):
    _preds, m = churn.backtest(labelled, folds=8, seed=42)

    def value(scope: str, method: str, metric: str) -> float:
        row = m.filter((pl.col("scope") == scope) & (pl.col("method") == method)
                       & (pl.col("metric") == metric))
        return float(row["value"][0])

    for scope in ("overall", "stopped"):
        assert value(scope, "model", "roc_auc") > value(scope, "recency", "roc_auc")
        assert value(scope, "model", "pr_auc") > value(scope, "recency", "pr_auc")
    assert value("overall", "model", "pr_auc") > value("overall", "rule_3d", "pr_auc")
    assert value("overall", "model", "roc_auc") > value("overall", "rule_3d", "roc_auc")


def test_forecast_finds_the_planted_peaks_and_beats_seasonal_naive(world, frames):
    daily = frames["category_daily"]
    result = forecast.forecast_categories(daily.filter(pl.col("day") < daily["day"].max()),
                                          n_origins=6)
    pooled = result.backtest.filter(pl.col("category") == "_all")
    assert pooled.height == 3 and (pooled["mae_ratio"] < 0.9).all()
    planted = json.loads((world / "truth" / "seasonality.json").read_text())["categories"]
    profiles = result.profiles.filter((pl.col("profile") == "week_of_year")
                                      & (pl.col("metric") == "clean_clicks"))
    hits = 0
    for category, spec in planted.items():
        top = profiles.filter(pl.col("category") == category).sort(
            "index", descending=True)["period"].head(3).to_list()
        peaks = spec["peak_iso_weeks"]
        near = any(min(abs(t - p), 52 - abs(t - p)) <= 2 for t in top for p in peaks)
        hits += near
    # by chance about 4 of 12 categories would match; the planted season shows in most
    assert hits >= 7, hits
