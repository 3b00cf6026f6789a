"""Small synthetic marts with planted truth, for tests and for trying the ML code quickly.

Why here and not in tests/: the report command and the lead's smoke checks can use the same
worlds. They are shaped exactly like the marts (interfaces.md section 3), but every effect is
planted on purpose: churners with warning signs (falling conversions, paused offers, silence
in the CRM, support tickets, unpaid invoices), abrupt churners without them, temporary stops
that are not churn, and category series with a planted seasonal peak and an unsettled hold tail.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from ml.churn.features import CATEGORIES

FATES = ("stable", "growing", "declining", "freeze_warned", "freeze_abrupt", "temp_stops")
FATE_P = (0.40, 0.10, 0.10, 0.18, 0.07, 0.15)
HOLD_DAYS = 14
APPROVAL_OF_PENDING = 0.8


@dataclass
class ChurnWorld:
    frames: dict[str, pl.DataFrame]
    truth: pl.DataFrame  # advertiser_id, category, first_day, fate, freeze_day


def churn_world(n_advertisers: int = 120, days: int = 300, start: date = date(2025, 1, 6),
                seed: int = 0) -> ChurnWorld:
    """Advertiser-level marts for `days` days with planted fates (see module docstring)."""
    rng = np.random.default_rng(seed)
    last = days - 1
    daily, crm, invoices, payments, truth = [], [], [], [], []
    for adv in range(1, n_advertisers + 1):
        fate = FATES[rng.choice(len(FATES), p=FATE_P)]
        first = 0 if rng.random() < 0.75 else int(rng.integers(1, max(2, days - 150)))
        freeze = None
        if fate.startswith("freeze"):
            freeze = int(rng.integers(min(first + 90, last - 10), last - 5))
        t = np.arange(first, days)
        lam0 = float(np.exp(rng.normal(1.5, 0.6)))
        mult = np.ones_like(t, dtype=float)
        if fate == "growing":
            mult = 1 + 0.8 * (t - first) / max(1, last - first)
        elif fate == "declining":
            mult = 1 - 0.5 * (t - first) / max(1, last - first)
        warn = int(rng.integers(21, 36))
        warned = np.zeros_like(t, dtype=bool)
        if freeze is not None:
            if fate == "freeze_warned":
                warned = (t >= freeze - warn) & (t < freeze)
                ramp = np.clip((t - (freeze - warn)) / warn, 0, 1)
                mult = np.where(warned, mult * (1 - 0.8 * ramp), mult)
            mult = np.where(t >= freeze, 0.0, mult)
        # temporary stops (every fate has a few; temp_stops advertisers many)
        p_stop = 0.02 if fate == "temp_stops" else 0.003
        stop_days = np.zeros_like(t, dtype=bool)
        i = 0
        while i < t.size:
            if rng.random() < p_stop:
                length = int(rng.integers(3, 12))
                stop_days[i:i + length] = True
                i += length
            i += 1
        mult = np.where(stop_days, 0.0, mult)
        lam = lam0 * mult
        conv = rng.poisson(lam)
        trash = rng.poisson(0.06 * lam)
        clicks = rng.poisson(lam / 0.03 + np.where(mult > 0, 5, 0.5))
        ar = np.where(warned, 0.55, 0.8) + rng.normal(0, 0.02)
        age = last - t
        pend_frac = np.clip(1 - age / HOLD_DAYS, 0, 1)
        pending = rng.binomial(conv, pend_frac)
        approved = rng.binomial(conv - pending, np.clip(ar, 0.05, 0.95))
        rejected = conv - pending - approved
        price = float(rng.uniform(500, 3000))
        revenue = approved * price
        margin = revenue * np.where(warned, 0.18, 0.3)
        n_offers = int(rng.integers(1, 5))
        paused = np.zeros_like(t)
        stopped = np.zeros_like(t)
        if fate == "freeze_warned" and freeze is not None:
            paused = np.where(warned, np.minimum(n_offers, 1 + (t - (freeze - warn)) * n_offers
                                                 // warn), 0)
        if freeze is not None:  # the client switches its offers off some time after leaving
            switch_off = freeze + int(rng.integers(5, 30))
            stopped = np.where(t >= switch_off, n_offers, 0)
            paused = np.where(t >= switch_off, 0, paused)
        active = n_offers - paused - stopped
        cap = max(1.0, lam0 * 1.5)
        cap_util = np.where(active > 0, (approved + pending) / (cap * np.maximum(active, 1)), None)
        live = np.where(clicks > 0, np.maximum(active, 1 if fate != "freeze_abrupt" else 0), 0)
        day_list = [start + timedelta(days=int(d)) for d in t]
        daily.append(pl.DataFrame({
            "day": day_list, "advertiser_id": adv, "clicks": clicks + rng.poisson(3, t.size),
            "clean_clicks": clicks, "conversions": conv, "approved": approved,
            "pending": pending, "rejected": rejected, "trash": trash,
            "revenue": revenue.astype(float), "hold_revenue": (pending * price).astype(float),
            "payout": (revenue - margin).astype(float), "margin": margin.astype(float),
            "offers_live": live, "offers_active": active, "offers_paused": paused,
            "offers_stopped": stopped,
            "avg_cap_utilisation": pl.Series(cap_util.tolist(), dtype=pl.Float64),
        }, schema_overrides={"day": pl.Date}))
        # CRM: routine contact; warned churners go silent and open tickets
        rate = np.full(t.size, 0.12)
        tickets = rng.poisson(np.where(warned, 0.12, 0.008))
        if fate == "freeze_warned" and freeze is not None:
            rate = np.where((t >= freeze - warn - 20) & (t < freeze), 0.0, rate)
        acts = rng.poisson(rate)
        total = acts + tickets
        mask = total > 0
        if mask.any():
            crm.append(pl.DataFrame({
                "day": [d for d, m in zip(day_list, mask, strict=True) if m],
                "advertiser_id": adv, "activities": total[mask], "calls": acts[mask],
                "emails": 0, "meetings": 0, "tickets": tickets[mask], "notes": 0,
                "outbound": acts[mask], "inbound": tickets[mask],
            }, schema_overrides={"day": pl.Date}))
        # Billing: monthly invoices for approved revenue, due in 15 days.
        month_starts = sorted({date(d.year, d.month, 1) for d in day_list})
        rev_by_day = dict(zip(day_list, revenue, strict=True))
        for m_start, m_next in itertools.pairwise(month_starts):
            amount = sum(v for d, v in rev_by_day.items() if m_start <= d < m_next)
            if amount <= 0:
                continue
            number = f"INV-{adv}-{m_start:%Y%m}"
            due = m_next + timedelta(days=15)
            invoices.append((number, adv, m_next, due, float(amount)))
            if freeze is not None and fate == "freeze_warned" and (
                    m_next - start).days >= freeze - warn - 45:
                continue  # the warned churner stops paying
            pay_day = due + timedelta(days=int(rng.integers(-10, 12)))
            payments.append((f"P-{number}", adv, number, pay_day, float(amount)))
        truth.append((adv, CATEGORIES[adv % len(CATEGORIES)], start + timedelta(days=first),
                      fate, start + timedelta(days=freeze) if freeze is not None else None))
    adv_daily = pl.concat(daily, how="vertical_relaxed").with_columns(
        pl.col("day").cast(pl.Date)).filter(pl.col("day") <= start + timedelta(days=last))
    truth_df = pl.DataFrame(truth, schema={
        "advertiser_id": pl.Int64, "category": pl.String, "first_day": pl.Date,
        "fate": pl.String, "freeze_day": pl.Date}, orient="row")
    rev90 = adv_daily.sort("advertiser_id", "day").with_columns(
        pl.col("revenue").rolling_sum(90, min_samples=1).over("advertiser_id").alias("revenue_90d"),
    ).with_columns(
        pl.col("revenue_90d").shift(90).over("advertiser_id").fill_null(0.0)
        .alias("revenue_prev_90d"),
        pl.when(pl.col("revenue_90d") >= 400_000).then(pl.lit("A"))
        .when(pl.col("revenue_90d") >= 150_000).then(pl.lit("B")).otherwise(pl.lit("C"))
        .alias("tier"),
    ).select("day", "advertiser_id", "revenue_90d", "revenue_prev_90d", "tier")
    frames = {
        "advertiser_daily": adv_daily,
        "advertisers": truth_df.select("advertiser_id", pl.col("category").alias("main_category")),
        "crm_activity": pl.concat(crm, how="vertical_relaxed"),
        "tier_daily": rev90,
        "receivables": pl.DataFrame(invoices, schema={
            "invoice_number": pl.String, "advertiser_id": pl.Int64, "invoice_date": pl.Date,
            "due_date": pl.Date, "amount_total": pl.Float64}, orient="row"),
        "payments": pl.DataFrame(payments, schema={
            "payment_number": pl.String, "advertiser_id": pl.Int64, "invoice_number": pl.String,
            "payment_date": pl.Date, "amount": pl.Float64}, orient="row").filter(
            pl.col("payment_date") <= start + timedelta(days=last)),
    }
    return ChurnWorld(frames=frames, truth=truth_df)


def category_world(categories: tuple[str, ...] = ("travel", "finance"), weeks: int = 156,
                   start: date = date(2023, 1, 2), peak_week: dict[str, int] | None = None,
                   seed: int = 0, noise: float = 0.08) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(fct_category_daily-shaped frame, truth of settled daily values) with planted seasons.

    Each category: level x slow trend x smooth yearly wave x a planted peak (x2.2 around
    `peak_week`, ISO week) x weekday profile x lognormal noise. Approved and revenue of the
    last HOLD_DAYS days are partly still pending (the hold tail); the truth holds eventual values.
    """
    rng = np.random.default_rng(seed)
    peak_week = peak_week or {c: 10 + 17 * i for i, c in enumerate(categories)}
    n = weeks * 7
    days = [start + timedelta(days=i) for i in range(n)]
    woy = np.array([d.isocalendar()[1] for d in days])
    dow = np.array([d.isoweekday() for d in days])
    t = np.arange(n)
    rows, truth = [], []
    for i, cat in enumerate(categories):
        level = 2000.0 * (1 + i)
        trend = 1 + 0.15 * t / 365
        wave = 1 + 0.15 * np.sin(2 * np.pi * (woy + 3 * i) / 52.18)
        dist = np.minimum(np.abs(woy - peak_week[cat]), 52 - np.abs(woy - peak_week[cat]))
        peak = 1 + 1.2 * np.exp(-0.5 * (dist / 1.0) ** 2)
        weekday = np.where(dow >= 6, 0.7, 1.1)
        eps = np.exp(rng.normal(0, noise, n))
        clicks = level * trend * wave * peak * weekday * eps
        approved = clicks * 0.04 * np.exp(rng.normal(0, noise / 2, n))
        revenue = approved * 1200 * np.exp(rng.normal(0, noise / 2, n))
        age = (n - 1) - t
        f = np.clip(1 - age / HOLD_DAYS, 0, 1)
        rows.append(pl.DataFrame({
            "day": days, "category": cat, "clicks": np.round(clicks * 1.2),
            "clean_clicks": np.round(clicks), "approved": np.round(approved * (1 - f)),
            "pending": np.round(approved * f / APPROVAL_OF_PENDING),
            "revenue": revenue * (1 - f), "hold_revenue": revenue * f / APPROVAL_OF_PENDING,
            "payout": revenue * (1 - f) * 0.7, "margin": revenue * (1 - f) * 0.3,
        }, schema_overrides={"day": pl.Date}))
        truth.append(pl.DataFrame({
            "day": days, "category": cat, "clean_clicks": np.round(clicks),
            "approved": np.round(approved), "revenue": revenue,
        }, schema_overrides={"day": pl.Date}))
    return pl.concat(rows), pl.concat(truth)
