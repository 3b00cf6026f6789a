"""Weekly series per category and for the whole network, with the unsettled hold tail marked.

Weeks are ISO weeks (Monday-Sunday) of reporting days; only complete weeks are modelled. The
approved conversions and revenue of recent weeks are still partly on hold and will grow as
holds settle (docs/metrics.md, "Forecast targets"), so those weeks are marked unsettled: a week
is settled once its pending share (pending / (approved + pending)) is at most `tol`, and every
later week of the tail whose share is above it is excluded from fitting approved and revenue.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

NETWORK = "_network"
METRICS = ("clean_clicks", "approved", "revenue")
HOLD_OF = {"approved": "pending", "revenue": "hold_revenue"}
SETTLED_PENDING_SHARE = 0.02
MAX_UNSETTLED_WEEKS = 12


def weekly_series(category_daily: pl.DataFrame, last_complete_day: date | None = None
                  ) -> pl.DataFrame:
    """category, week_start, clean_clicks, approved, revenue, pending, hold_revenue.

    Includes `_network` (sum over categories) and only weeks whose 7 days are all
    <= last_complete_day (default: the last day in the frame).
    """
    df = category_daily.with_columns(pl.col("day").cast(pl.Date))
    last = last_complete_day or df["day"].max()
    df = df.filter(pl.col("day") <= last)
    cols = ["clean_clicks", "approved", "revenue", "pending", "hold_revenue"]
    df = df.select("day", "category", *[pl.col(c).cast(pl.Float64).fill_null(0.0) for c in cols])
    network = df.group_by("day").agg(*[pl.col(c).sum() for c in cols]).with_columns(
        pl.lit(NETWORK).alias("category"))
    both = pl.concat([df, network.select(df.columns)])
    week_start = pl.col("day") - pl.duration(days=pl.col("day").dt.weekday() - 1)
    weekly = both.with_columns(week_start.alias("week_start")).group_by(
        "category", "week_start"
    ).agg(*[pl.col(c).sum() for c in cols], pl.len().alias("_days"))
    last_full_week = last - timedelta(days=last.isoweekday() % 7)  # Sunday on or before `last`
    return weekly.filter(
        pl.col("week_start") + pl.duration(days=6) <= last_full_week
    ).drop("_days").sort("category", "week_start")


def complete_weeks(weekly: pl.DataFrame) -> pl.DataFrame:
    """Every category on the same contiguous weekly calendar (weeks with no data = 0) from
    its first week to the last week in the frame."""
    last = weekly["week_start"].max()
    spans = weekly.group_by("category").agg(pl.col("week_start").min().alias("first"))
    grid = spans.with_columns(
        pl.date_ranges(pl.col("first"), pl.lit(last), interval="1w").alias("week_start")
    ).explode("week_start").select("category", "week_start")
    value_cols = [c for c in weekly.columns if c not in ("category", "week_start")]
    return grid.join(weekly, on=["category", "week_start"], how="left").with_columns(
        *[pl.col(c).fill_null(0.0) for c in value_cols]
    ).sort("category", "week_start")


def unsettled_weeks(weekly: pl.DataFrame, tol: float = SETTLED_PENDING_SHARE) -> dict[str, int]:
    """Per category: how many trailing weeks are still unsettled (pending share above tol)."""
    out: dict[str, int] = {}
    for (cat,), part in complete_weeks(weekly).group_by("category"):
        part = part.sort("week_start")
        share = (part["pending"] / (part["approved"] + part["pending"])).fill_nan(0.0).to_list()
        k = 0
        for value in reversed(share):
            if value is not None and value > tol and k < MAX_UNSETTLED_WEEKS:
                k += 1
            else:
                break
        out[str(cat)] = k
    return out
