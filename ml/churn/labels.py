"""The "frozen" label and the active/stopped groups, exactly as docs/metrics.md defines them.

eligible at t = a non-trash conversion in [t-28, t-1]; frozen at t = none in [t, t+29];
active at t = a non-trash conversion in [t-3, t-1], else stopped. The label is known only when
the whole window [t, t+29] lies within the data (t+29 <= last reporting day), otherwise null.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from ml.churn.features import daily_grid

HORIZON_DAYS = 30
ELIGIBLE_DAYS = 28
ACTIVE_DAYS = 3


def build_labels(advertiser_daily: pl.DataFrame, days: list[date]) -> pl.DataFrame:
    """advertiser_id, snapshot_day, eligible, risk_group, frozen (null when not yet known).

    Uses cumulative conversions on the zero-filled grid: conversions in [a, b] =
    cum(b) - cum(a-1), with cum before the advertiser's first day = 0.
    """
    grid = daily_grid(advertiser_daily).select(
        "advertiser_id", "day",
        pl.col("conversions").cum_sum().over("advertiser_id").alias("cum"),
    )
    last_day = grid["day"].max()
    snaps = pl.DataFrame({"snapshot_day": sorted(set(days))}, schema={"snapshot_day": pl.Date})

    def cum_at(offset: int, name: str) -> pl.DataFrame:
        probe = snaps.with_columns((pl.col("snapshot_day") + pl.duration(days=offset)).alias("day"))
        return probe.join(grid, on="day", how="inner").select(
            "advertiser_id", "snapshot_day", pl.col("cum").alias(name)
        )

    base = cum_at(-1, "c_prev")  # advertisers with a row at t-1
    out = base
    for offset, name in ((-1 - ELIGIBLE_DAYS, "c_elig"), (-1 - ACTIVE_DAYS, "c_act"),
                         (HORIZON_DAYS - 1, "c_future")):
        out = out.join(cum_at(offset, name), on=["advertiser_id", "snapshot_day"], how="left")
    out = out.with_columns(pl.col("c_elig", "c_act").fill_null(0.0))
    known = (pl.col("snapshot_day") + pl.duration(days=HORIZON_DAYS - 1)) <= pl.lit(last_day)
    return out.select(
        "advertiser_id", "snapshot_day",
        (pl.col("c_prev") - pl.col("c_elig") > 0).alias("eligible"),
        pl.when(pl.col("c_prev") - pl.col("c_act") > 0).then(pl.lit("active"))
        .otherwise(pl.lit("stopped")).alias("risk_group"),
        pl.when(known).then(pl.col("c_future") - pl.col("c_prev") <= 0).otherwise(None)
        .alias("frozen"),
    ).sort("snapshot_day", "advertiser_id")


def labelled_features(features: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """Eligible rows of the feature table with their group and (possibly null) label."""
    return features.join(
        labels.filter(pl.col("eligible")).drop("eligible"),
        on=["advertiser_id", "snapshot_day"], how="inner",
    ).sort("snapshot_day", "advertiser_id")
