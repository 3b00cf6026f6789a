"""Churn features per advertiser and weekly snapshot day t, from data of reporting days <= t-1.

Why the shape: every feature is a trailing aggregate on the advertiser's zero-filled daily
grid taken at day t-1 (backward-looking rolling sums), or an event table (CRM, tiers, invoices,
payments) filtered to dates <= t-1. Nothing at or after t can reach a feature at t — the
leakage test in tests/test_ml_churn.py changes the future and checks exactly that.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from ml.frames import check_frame

CATEGORIES = (
    "finance", "insurance", "hr", "fmcg", "ecommerce", "education", "travel", "telecom",
    "gaming", "auto", "realty", "health",
)
TIER_RANK = {"A": 3, "B": 2, "C": 1}

COUNT_COLUMNS = (
    "clean_clicks", "conversions", "approved", "pending", "rejected", "trash", "revenue", "margin",
)
STATE_COLUMNS = ("offers_live", "offers_active", "offers_paused", "offers_stopped")

# Model inputs, in a fixed order (the model's metadata stores this list).
FEATURES: tuple[str, ...] = (
    "conv_3", "conv_7", "conv_28", "conv_prev_28", "conv_trend_28", "conv_trend_7",
    "conv_91_daily",
    "revenue_28", "revenue_trend_28", "clicks_trend_7", "clicks_trend_28",
    "days_since_conversion", "days_since_click",
    "offers_live", "offers_live_7d", "offers_active", "offers_paused", "offers_stopped",
    "offers_paused_share", "offers_active_change_28",
    "approval_rate_28", "approval_rate_change", "margin_pct_28", "margin_pct_change",
    "trash_share_28", "cap_utilisation_7", "cap_utilisation_28",
    "days_since_crm", "days_since_outbound", "crm_activities_28", "crm_tickets_28",
    "crm_inbound_28",
    "overdue_rub", "max_days_past_due", "open_invoices",
    "tenure_days", "tier_rank", "tier_change_90", "revenue_90d_trend",
    "category_code",
)
CATEGORICAL = ("category_code",)
CRM_COUNTS = ("crm_activities_28", "crm_tickets_28", "crm_inbound_28")


def snapshot_days(first_day: date, last_day: date, weekday: int = 1,
                  min_history: int = 56) -> list[date]:
    """Weekly snapshot days (ISO `weekday`) from first_day+min_history to last_day+1.

    last_day+1 is allowed: a snapshot at t uses days <= t-1, so the day after the last
    reporting day is the "now" the managers act on.
    """
    start = first_day + timedelta(days=min_history)
    start += timedelta(days=(weekday - start.isoweekday()) % 7)
    days = []
    day = start
    while day <= last_day + timedelta(days=1):
        days.append(day)
        day += timedelta(days=7)
    return days


def daily_grid(advertiser_daily: pl.DataFrame) -> pl.DataFrame:
    """One row per advertiser and day from its first row to the last reporting day.

    The mart promises this already; re-gridding keeps rolling windows (row-based) equal to
    day windows even if a day is missing. Counts fill with 0, offer states carry forward.
    """
    df = advertiser_daily.with_columns(pl.col("day").cast(pl.Date))
    last = df["day"].max()
    spans = df.group_by("advertiser_id").agg(pl.col("day").min().alias("first"))
    grid = spans.with_columns(
        pl.date_ranges(pl.col("first"), pl.lit(last), interval="1d").alias("day")
    ).explode("day").select("advertiser_id", "day")
    cols = ["advertiser_id", "day", *COUNT_COLUMNS, *STATE_COLUMNS, "avg_cap_utilisation"]
    out = grid.join(df.select(cols), on=["advertiser_id", "day"], how="left")
    out = out.sort("advertiser_id", "day").with_columns(
        *[pl.col(c).cast(pl.Float64).fill_null(0.0) for c in COUNT_COLUMNS],
        *[pl.col(c).cast(pl.Float64).forward_fill().over("advertiser_id").fill_null(0.0)
          for c in STATE_COLUMNS],
        pl.col("avg_cap_utilisation").cast(pl.Float64),
    )
    return out


def _rsum(col: str, w: int) -> pl.Expr:
    return pl.col(col).rolling_sum(w, min_samples=1).over("advertiser_id")


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den).otherwise(None)


def _trend(recent: pl.Expr, previous: pl.Expr) -> pl.Expr:
    """Relative change recent vs previous (-1 = fell to zero); null without a previous level."""
    return pl.when(previous > 0).then(recent / previous - 1.0).otherwise(None)


def _daily_features(grid: pl.DataFrame) -> pl.DataFrame:
    """Trailing-window features of every advertiser-day d (used at snapshot t = d+1)."""
    g = grid.with_columns(
        pl.when(pl.col("conversions") > 0).then(pl.col("day")).otherwise(None)
        .forward_fill().over("advertiser_id").alias("_last_conv_day"),
        pl.when(pl.col("clean_clicks") > 0).then(pl.col("day")).otherwise(None)
        .forward_fill().over("advertiser_id").alias("_last_click_day"),
        pl.col("day").min().over("advertiser_id").alias("_first_day"),
        pl.col("avg_cap_utilisation").fill_null(0.0).alias("_cap"),
        pl.col("avg_cap_utilisation").is_not_null().cast(pl.Float64).alias("_cap_n"),
    )
    g = g.with_columns(
        _rsum("conversions", 3).alias("conv_3"),
        _rsum("conversions", 7).alias("conv_7"),
        _rsum("conversions", 28).alias("conv_28"),
        _rsum("conversions", 56).alias("_conv_56"),
        _rsum("conversions", 91).alias("_conv_91"),
        _rsum("revenue", 28).alias("revenue_28"),
        _rsum("revenue", 56).alias("_revenue_56"),
        _rsum("margin", 28).alias("_margin_28"),
        _rsum("margin", 56).alias("_margin_56"),
        _rsum("clean_clicks", 7).alias("_clicks_7"),
        _rsum("clean_clicks", 28).alias("_clicks_28"),
        _rsum("clean_clicks", 35).alias("_clicks_35"),
        _rsum("clean_clicks", 56).alias("_clicks_56"),
        _rsum("approved", 28).alias("_appr_28"),
        _rsum("approved", 56).alias("_appr_56"),
        _rsum("rejected", 28).alias("_rej_28"),
        _rsum("rejected", 56).alias("_rej_56"),
        _rsum("trash", 28).alias("_trash_28"),
        _rsum("trash", 56).alias("_trash_56"),
        _rsum("offers_live", 7).alias("_live_7"),
        _rsum("_cap", 7).alias("_cap_7"),
        _rsum("_cap_n", 7).alias("_cap_n_7"),
        _rsum("_cap", 28).alias("_cap_28"),
        _rsum("_cap_n", 28).alias("_cap_n_28"),
        pl.col("offers_active").shift(28).over("advertiser_id").alias("_active_28_ago"),
    )
    dec_28 = pl.col("_appr_28") + pl.col("_rej_28") + pl.col("_trash_28")
    dec_prev = (
        (pl.col("_appr_56") - pl.col("_appr_28")) + (pl.col("_rej_56") - pl.col("_rej_28"))
        + (pl.col("_trash_56") - pl.col("_trash_28"))
    )
    offers_total = pl.col("offers_active") + pl.col("offers_paused") + pl.col("offers_stopped")
    g = g.with_columns(
        (pl.col("_conv_56") - pl.col("conv_28")).alias("conv_prev_28"),
        (pl.col("_revenue_56") - pl.col("revenue_28")).alias("_revenue_prev_28"),
        (pl.col("_margin_56") - pl.col("_margin_28")).alias("_margin_prev_28"),
        (pl.col("_clicks_35") - pl.col("_clicks_7")).alias("_clicks_prev_28w"),
        (pl.col("_clicks_56") - pl.col("_clicks_28")).alias("_clicks_prev_28"),
        (pl.col("_conv_91") / 91.0).alias("conv_91_daily"),
        _ratio(pl.col("_appr_28"), dec_28).alias("approval_rate_28"),
        _ratio(pl.col("_appr_56") - pl.col("_appr_28"), dec_prev).alias("_approval_rate_prev"),
        _ratio(pl.col("_margin_28"), pl.col("revenue_28")).alias("margin_pct_28"),
        _ratio(pl.col("_trash_28"), pl.col("conv_28") + pl.col("_trash_28"))
        .alias("trash_share_28"),
        _ratio(pl.col("_cap_7"), pl.col("_cap_n_7")).alias("cap_utilisation_7"),
        _ratio(pl.col("_cap_28"), pl.col("_cap_n_28")).alias("cap_utilisation_28"),
        (pl.col("_live_7") / 7.0).alias("offers_live_7d"),
        _ratio(pl.col("offers_paused"), offers_total).alias("offers_paused_share"),
        (pl.col("offers_active") - pl.col("_active_28_ago")).alias("offers_active_change_28"),
        ((pl.col("day") - pl.col("_last_conv_day")).dt.total_days() + 1).alias(
            "days_since_conversion"),
        ((pl.col("day") - pl.col("_last_click_day")).dt.total_days() + 1).alias(
            "days_since_click"),
        ((pl.col("day") - pl.col("_first_day")).dt.total_days() + 1).alias("tenure_days"),
    )
    g = g.with_columns(
        _trend(pl.col("conv_28"), pl.col("conv_prev_28")).alias("conv_trend_28"),
        _trend(pl.col("conv_7"), (pl.col("conv_28") - pl.col("conv_7")) / 3.0)
        .alias("conv_trend_7"),
        _trend(pl.col("revenue_28"), pl.col("_revenue_prev_28")).alias("revenue_trend_28"),
        _trend(pl.col("_clicks_7"), pl.col("_clicks_prev_28w") / 4.0).alias("clicks_trend_7"),
        _trend(pl.col("_clicks_28"), pl.col("_clicks_prev_28")).alias("clicks_trend_28"),
        (pl.col("approval_rate_28") - pl.col("_approval_rate_prev")).alias("approval_rate_change"),
        (pl.col("margin_pct_28") - _ratio(pl.col("_margin_prev_28"), pl.col("_revenue_prev_28")))
        .alias("margin_pct_change"),
    )
    keep = [
        "advertiser_id", "day", "conv_3", "conv_7", "conv_28", "conv_prev_28", "conv_trend_28",
        "conv_trend_7", "conv_91_daily", "revenue_28", "revenue_trend_28", "clicks_trend_7",
        "clicks_trend_28", "days_since_conversion", "days_since_click", "offers_live",
        "offers_live_7d", "offers_active", "offers_paused", "offers_stopped",
        "offers_paused_share", "offers_active_change_28", "approval_rate_28",
        "approval_rate_change", "margin_pct_28", "margin_pct_change", "trash_share_28",
        "cap_utilisation_7", "cap_utilisation_28", "tenure_days",
        "_approval_rate_prev", "_revenue_prev_28",
    ]
    return g.select(keep)


def _snapshots_frame(days: list[date]) -> pl.DataFrame:
    return pl.DataFrame({"snapshot_day": days}, schema={"snapshot_day": pl.Date}).with_columns(
        (pl.col("snapshot_day") - pl.duration(days=1)).alias("day")
    )


def _crm_features(crm: pl.DataFrame | None, snaps: pl.DataFrame) -> pl.DataFrame | None:
    """Recency and counts of CRM activity strictly before each snapshot day.

    Two as-of lookups per (advertiser, snapshot) on the advertiser's running totals: the last
    activity day on or before t-1 (with the totals up to it) and the totals up to t-29, whose
    difference is the sum over [t-28, t-1]. Linear in history: pairing every activity with every
    snapshot (the previous form) grew with history squared, and at 730 days its 4.7M pairs
    were most of the ML stage's peak memory.
    """
    if crm is None or crm.is_empty():
        return None
    counts = ("activities", "tickets", "inbound")
    c = (
        crm.with_columns(pl.col("day").cast(pl.Date))
        .filter((pl.col("activities") > 0) & pl.col("day").is_not_null())
        .group_by("advertiser_id", "day")
        .agg(pl.col(*counts, "outbound").sum())
        .sort("advertiser_id", "day")
        .with_columns(
            *[pl.col(k).cum_sum().over("advertiser_id").cast(pl.Float64).alias(f"_cum_{k}")
              for k in counts],
            pl.when(pl.col("outbound") > 0).then(pl.col("day")).otherwise(None)
            .forward_fill().over("advertiser_id").alias("_last_outbound"),
        )
    )
    probe = (
        c.select(pl.col("advertiser_id").unique())
        .join(snaps.select("snapshot_day"), how="cross")
        .with_columns(
            (pl.col("snapshot_day") - pl.duration(days=1)).alias("_upto"),
            (pl.col("snapshot_day") - pl.duration(days=29)).alias("_before"),
        )
    )
    totals = c.select("advertiser_id", "day", "_last_outbound", *[f"_cum_{k}" for k in counts])

    def as_of(col: str, rename: dict[str, str]) -> pl.DataFrame:
        # both sides sorted by their day here (Polars cannot verify it within `by` groups)
        return probe.sort(col).join_asof(
            totals.sort("day").rename(rename), left_on=col, right_on="day",
            by="advertiser_id", strategy="backward", check_sortedness=False,
        )

    now = as_of("_upto", {}).filter(pl.col("day").is_not_null())
    before = as_of("_before", {f"_cum_{k}": f"_old_{k}" for k in counts}).select(
        "advertiser_id", "snapshot_day", *[f"_old_{k}" for k in counts]
    )
    out = now.join(before, on=["advertiser_id", "snapshot_day"], how="left")
    return out.select(
        "advertiser_id", "snapshot_day",
        (pl.col("snapshot_day") - pl.col("day")).dt.total_days().cast(pl.Float64)
        .alias("days_since_crm"),
        (pl.col("snapshot_day") - pl.col("_last_outbound")).dt.total_days().cast(pl.Float64)
        .alias("days_since_outbound"),
        *[(pl.col(f"_cum_{k}") - pl.col(f"_old_{k}").fill_null(0.0)).alias(f"crm_{k}_28")
          for k in counts],
    )


def _tier_features(tiers: pl.DataFrame | None, snaps: pl.DataFrame) -> pl.DataFrame | None:
    """Tier at t-1, its change against 90 days earlier, and the 90-day revenue trend."""
    if tiers is None or tiers.is_empty():
        return None
    t = tiers.with_columns(
        pl.col("day").cast(pl.Date),
        pl.col("tier").replace_strict(TIER_RANK, default=None, return_dtype=pl.Float64)
        .alias("tier_rank"),
    )
    now = snaps.join(t, on="day", how="inner").select(
        "advertiser_id", "snapshot_day", "tier_rank",
        _trend(pl.col("revenue_90d"), pl.col("revenue_prev_90d")).alias("revenue_90d_trend"),
    )
    before = snaps.with_columns((pl.col("day") - pl.duration(days=90)).alias("day")).join(
        t, on="day", how="inner"
    ).select("advertiser_id", "snapshot_day", pl.col("tier_rank").alias("_tier_before"))
    return now.join(before, on=["advertiser_id", "snapshot_day"], how="left").with_columns(
        (pl.col("tier_rank") - pl.col("_tier_before")).alias("tier_change_90"),
    ).drop("_tier_before")


def _debt_features(
    receivables: pl.DataFrame | None, payments: pl.DataFrame | None, snaps: pl.DataFrame
) -> pl.DataFrame | None:
    """Overdue debt as it stood at t-1: invoices issued by then minus payments made by then.

    Needs dated payments: the receivables mart's `paid` is as of today, and using it for a past
    snapshot would leak the future (a client that froze stops paying later).
    """
    if receivables is None or payments is None or receivables.is_empty():
        return None
    # amounts in the invoice's currency; RUB at the invoice date's rate when the mart has it
    rate = (
        pl.when(pl.col("amount_total") != 0)
        .then(pl.col("amount_total_rub") / pl.col("amount_total")).otherwise(1.0)
        if "amount_total_rub" in receivables.columns else pl.lit(1.0)
    )
    inv = receivables.select(
        "advertiser_id", "invoice_number",
        pl.col("invoice_date").cast(pl.Date), pl.col("due_date").cast(pl.Date),
        pl.col("amount_total").cast(pl.Float64).alias("_amount"),
        rate.cast(pl.Float64).alias("_rate"),
    )
    pay = (
        payments.filter(
            pl.col("invoice_number").is_not_null() & pl.col("payment_date").is_not_null()
        )
        .group_by("invoice_number", pl.col("payment_date").cast(pl.Date))
        .agg(pl.col("amount").cast(pl.Float64).sum().alias("_paid"))
    )
    paid_to_date = pay.sort("invoice_number", "payment_date").with_columns(
        pl.col("_paid").cum_sum().over("invoice_number").alias("_paid")
    )

    def is_open(paid: pl.Expr) -> pl.Expr:
        return (pl.col("_amount") - paid) > 0.005 * pl.col("_amount").abs() + 1.0

    # The snapshots an invoice can be open at: after its date, and up to its last payment day
    # (later, everything is paid and its state is final), or without end when it stays open.
    # Closed invoices add nothing below, so pairs are made only where they could count: a
    # cross join of every invoice with every snapshot grew with history squared.
    totals = pay.group_by("invoice_number").agg(
        pl.col("_paid").sum(), pl.col("payment_date").max().alias("_last_payment")
    )
    inv = inv.join(totals, on="invoice_number", how="left").with_columns(
        pl.when(is_open(pl.col("_paid").fill_null(0.0))).then(pl.lit(date.max))
        .otherwise(pl.col("_last_payment").fill_null(pl.col("invoice_date")))
        .alias("_until")
    ).drop("_paid", "_last_payment")
    pairs = inv.join_where(
        snaps.select("snapshot_day"),
        pl.col("invoice_date") < pl.col("snapshot_day"),
        pl.col("snapshot_day") <= pl.col("_until"),
    ).with_columns((pl.col("snapshot_day") - pl.duration(days=1)).alias("_paid_by"))
    pairs = pairs.sort("_paid_by").join_asof(  # payments made before t: on or before t-1
        paid_to_date.sort("payment_date"), left_on="_paid_by", right_on="payment_date",
        by="invoice_number", strategy="backward", check_sortedness=False,
    ).with_columns(
        (pl.col("_amount") - pl.col("_paid").fill_null(0.0)).alias("_open"),
        ((pl.col("snapshot_day") - pl.col("due_date")).dt.total_days() - 1).alias("_dpd"),
    )
    still_open = is_open(pl.col("_paid").fill_null(0.0))
    overdue = still_open & (pl.col("_dpd") > 0)
    return pairs.group_by("advertiser_id", "snapshot_day").agg(
        (pl.col("_open") * pl.col("_rate")).filter(overdue).sum().alias("overdue_rub"),
        pl.col("_dpd").filter(overdue).max().cast(pl.Float64).fill_null(0.0)
        .alias("max_days_past_due"),
        still_open.sum().cast(pl.Float64).alias("open_invoices"),
    )


def build_features(frames: dict[str, pl.DataFrame | None], days: list[date]) -> pl.DataFrame:
    """Features of every advertiser with history before t, for each snapshot day t in `days`.

    Returns one row per (advertiser_id, snapshot_day) with the FEATURES columns plus
    `category` (text) and helper columns used for reasons (`revenue_prev_28`,
    `approval_rate_prev`). Rows exist for advertisers whose first daily row is <= t-1.
    """
    check_frame("advertiser_daily", frames.get("advertiser_daily"))
    check_frame("advertisers", frames.get("advertisers"))
    for name in ("crm_activity", "tier_daily", "receivables", "payments"):
        check_frame(name, frames.get(name))
    snaps = _snapshots_frame(sorted(set(days)))
    daily = _daily_features(daily_grid(frames["advertiser_daily"]))
    out = snaps.join(daily, on="day", how="inner").drop("day")
    out = out.rename({"_approval_rate_prev": "approval_rate_prev",
                      "_revenue_prev_28": "revenue_prev_28"})
    for extra in (
        _crm_features(frames.get("crm_activity"), snaps),
        _tier_features(frames.get("tier_daily"), snaps),
        _debt_features(frames.get("receivables"), frames.get("payments"), snaps),
    ):
        if extra is not None:
            out = out.join(extra, on=["advertiser_id", "snapshot_day"], how="left")
    # Without CRM rows an advertiser has had no contact; without payments debt is unknown (null).
    out = out.with_columns(
        *[pl.col(c).fill_null(0.0) for c in CRM_COUNTS if c in out.columns],
    )
    if "overdue_rub" in out.columns:
        out = out.with_columns(
            pl.col("overdue_rub", "max_days_past_due", "open_invoices").fill_null(0.0)
        )
    adv = frames["advertisers"].select(
        "advertiser_id", pl.col("main_category").alias("category")
    ).unique("advertiser_id", keep="first")
    out = out.join(adv, on="advertiser_id", how="left").with_columns(
        pl.col("category").replace_strict(
            {c: i for i, c in enumerate(CATEGORIES)}, default=None, return_dtype=pl.Float64
        ).alias("category_code")
    )
    for col in FEATURES:
        if col not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=pl.Float64).alias(col))
    out = out.with_columns(*[pl.col(c).cast(pl.Float64) for c in FEATURES])
    lead = ["advertiser_id", "snapshot_day", "category"]
    helpers = ["revenue_prev_28", "approval_rate_prev"]
    return out.select(*lead, *FEATURES, *helpers).sort("snapshot_day", "advertiser_id")
