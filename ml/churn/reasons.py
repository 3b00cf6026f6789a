"""Top reasons behind each advertiser's churn score, in words an account manager understands.

Method (a one-row occlusion test): for each group of related features, replace the
advertiser's values with those of a typical healthy advertiser (the training medians of
non-frozen rows) and see how much the score drops. The groups that lower the score most when
made "healthy" are the reasons; each is rendered from the advertiser's own numbers, e.g.
"conversions fell 60 % vs the previous 4 weeks" or "no CRM contact for 41 days".
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import polars as pl

from ml.churn.features import TIER_RANK
from ml.churn.model import ChurnModel, matrix, predict_proba

GROUPS: dict[str, tuple[str, ...]] = {
    "conversions": ("conv_3", "conv_7", "conv_28", "conv_prev_28", "conv_trend_28",
                    "conv_trend_7", "conv_91_daily"),
    "recency": ("days_since_conversion",),
    "revenue": ("revenue_28", "revenue_trend_28"),
    "traffic": ("clicks_trend_7", "clicks_trend_28", "days_since_click"),
    "offers": ("offers_live", "offers_live_7d", "offers_active", "offers_paused",
               "offers_stopped", "offers_paused_share", "offers_active_change_28"),
    "approval": ("approval_rate_28", "approval_rate_change", "trash_share_28"),
    "margin": ("margin_pct_28", "margin_pct_change"),
    "caps": ("cap_utilisation_7", "cap_utilisation_28"),
    "crm": ("days_since_crm", "days_since_outbound", "crm_activities_28", "crm_inbound_28"),
    "tickets": ("crm_tickets_28",),
    "debt": ("overdue_rub", "max_days_past_due", "open_invoices"),
    "tenure": ("tenure_days",),
    "tier": ("tier_rank", "tier_change_90", "revenue_90d_trend"),
    "category": ("category_code",),
}
MIN_CONTRIBUTION = 0.005  # a reason must move the probability by at least half a point


def _num(row: dict, key: str) -> float | None:
    value = row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _pct(x: float) -> str:
    return f"{abs(x) * 100:.0f} %"


def _money(x: float) -> str:
    return f"{x:,.0f} RUB".replace(",", " ")


def _conversions(r: dict) -> str:
    t28, t7 = _num(r, "conv_trend_28"), _num(r, "conv_trend_7")
    c28, prev = _num(r, "conv_28") or 0, _num(r, "conv_prev_28") or 0
    c7 = _num(r, "conv_7") or 0
    if c7 == 0 and c28 > 0:
        return f"no conversions in the last 7 days ({c28:.0f} in the 3 weeks before)"
    if t7 is not None and t7 <= -0.3 and (t28 is None or t7 < t28):
        return (f"conversions in the last 7 days are {_pct(t7)} below the weekly average "
                "of the 3 weeks before")
    if t28 is not None and t28 < 0:
        return f"conversions fell {_pct(t28)} vs the previous 4 weeks ({c28:.0f} vs {prev:.0f})"
    if t28 is not None:
        return f"conversions changed +{_pct(t28)} vs the previous 4 weeks ({c28:.0f} vs {prev:.0f})"
    return f"only {c28:.0f} conversions in the last 4 weeks, none in the 4 weeks before"


def _recency(r: dict) -> str:
    d = _num(r, "days_since_conversion")
    if d is None:
        return "no conversion on record"
    if d <= 1:
        return "last conversion yesterday"
    return f"no conversions for {d - 1:.0f} days"


def _revenue(r: dict) -> str:
    t = _num(r, "revenue_trend_28")
    rev = _num(r, "revenue_28") or 0
    if t is None:
        return f"approved revenue {_money(rev)} in the last 4 weeks, none in the 4 weeks before"
    word = "fell" if t < 0 else "rose"
    return f"approved revenue {word} {_pct(t)} vs the previous 4 weeks"


def _traffic(r: dict) -> str:
    d = _num(r, "days_since_click")
    if d is not None and d > 2:
        return f"no clean clicks for {d - 1:.0f} days"
    t7, t28 = _num(r, "clicks_trend_7"), _num(r, "clicks_trend_28")
    if t7 is not None and t7 < 0:
        return f"clean clicks fell {_pct(t7)} in the last 7 days vs the 4 weeks before"
    if t28 is not None:
        word = "fell" if t28 < 0 else "rose"
        return f"clean clicks {word} {_pct(t28)} vs the previous 4 weeks"
    return "little traffic in the last weeks"


def _offers(r: dict) -> str:
    active = _num(r, "offers_active") or 0
    paused = _num(r, "offers_paused") or 0
    stopped = _num(r, "offers_stopped") or 0
    total = active + paused + stopped
    change = _num(r, "offers_active_change_28")
    if paused > 0 and total:
        return f"{paused:.0f} of {total:.0f} offers paused"
    if stopped > 0 and total:
        return f"{stopped:.0f} of {total:.0f} offers stopped"
    if change is not None and change < 0:
        return f"active offers fell from {active - change:.0f} to {active:.0f} in 4 weeks"
    live = _num(r, "offers_live") or 0
    if live == 0:
        return "no offer received traffic yesterday"
    return f"{live:.0f} of {total:.0f} offers received traffic yesterday"


def _approval(r: dict) -> str:
    rate, change = _num(r, "approval_rate_28"), _num(r, "approval_rate_change")
    if rate is None:
        return "no decided conversions in the last 4 weeks"
    if change is not None and change < 0:
        return f"approval rate fell from {_pct(rate - change)} to {_pct(rate)}"
    trash = _num(r, "trash_share_28")
    if trash is not None and trash > 0.2:
        return f"{_pct(trash)} of conversions marked trash in the last 4 weeks"
    return f"approval rate {_pct(rate)} in the last 4 weeks"


def _margin(r: dict) -> str:
    m, change = _num(r, "margin_pct_28"), _num(r, "margin_pct_change")
    if m is None:
        return "no approved revenue, so no margin, in the last 4 weeks"
    if change is not None and change < 0:
        return f"margin fell from {_pct(m - change)} to {_pct(m)} of revenue"
    return f"margin {m * 100:.0f} % of revenue in the last 4 weeks"


def _caps(r: dict) -> str:
    c = _num(r, "cap_utilisation_7")
    if c is None:
        return "offers have no daily caps to measure demand against"
    return f"offers use only {_pct(c)} of their daily caps (last 7 days)"


def _crm(r: dict) -> str:
    d = _num(r, "days_since_crm")
    if d is None:
        return "no CRM contact on record"
    out = _num(r, "days_since_outbound")
    if out is not None and out > d + 14:
        return f"no outbound contact from the manager for {out:.0f} days"
    return f"no CRM contact for {d:.0f} days"


def _tickets(r: dict) -> str:
    n = _num(r, "crm_tickets_28") or 0
    if n == 0:
        return "no support tickets in the last 4 weeks"
    return f"{n:.0f} support ticket{'s' if n != 1 else ''} in the last 4 weeks"


def _debt(r: dict) -> str:
    dpd, owed = _num(r, "max_days_past_due"), _num(r, "overdue_rub")
    if dpd is None:
        return "payment history unknown"
    if dpd > 0 and owed:
        return f"invoice {dpd:.0f} days overdue ({_money(owed)} past due)"
    return "no overdue invoices"


def _tenure(r: dict) -> str:
    d = _num(r, "tenure_days") or 0
    if d < 90:
        return f"new client: first activity {d:.0f} days ago"
    return f"client for {d / 30.4:.0f} months"


def _tier(r: dict) -> str:
    rank, change = _num(r, "tier_rank"), _num(r, "tier_change_90")
    names = {v: k for k, v in TIER_RANK.items()}
    if rank is not None and change is not None and change < 0:
        before, now = names.get(rank - change, "?"), names.get(rank, "?")
        return f"tier dropped from {before} to {now} in 90 days"
    t = _num(r, "revenue_90d_trend")
    if t is not None and t < 0:
        return f"90-day revenue fell {_pct(t)} vs the 90 days before"
    return f"tier {names.get(rank, 'unknown') if rank is not None else 'unknown'}"


def _category(r: dict) -> str:
    return f"category {r.get('category') or 'unknown'} freezes more often than average"


RENDER: dict[str, Callable[[dict], str]] = {
    "conversions": _conversions, "recency": _recency, "revenue": _revenue, "traffic": _traffic,
    "offers": _offers, "approval": _approval, "margin": _margin, "caps": _caps, "crm": _crm,
    "tickets": _tickets, "debt": _debt, "tenure": _tenure, "tier": _tier, "category": _category,
}


def contributions(model: ChurnModel, frame: pl.DataFrame, top: int = 3
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(probabilities, chosen groups[n_rows, top], their score drops[n_rows, top]).

    Greedy occlusion: step 1 picks the group whose healthy values lower the score most; step 2
    keeps it healthy and picks the next group; and so on. Unlike occluding one group at a time,
    this still finds the second and third reasons when the score is saturated by redundant
    signals (e.g. a client with no conversions AND paused offers AND an overdue invoice).
    """
    x = matrix(frame, model.features)
    index = {f: i for i, f in enumerate(model.features)}
    names = list(GROUPS)
    n, g = x.shape[0], len(names)
    base = predict_proba(model.estimator, x)
    current = x.copy()
    current_p = base.copy()
    chosen = np.full((n, top), -1)
    drops = np.zeros((n, top))
    available = np.ones((n, g), dtype=bool)
    for step in range(top):
        blocks = []
        for cols in GROUPS.values():
            xo = current.copy()
            for c in cols:
                if c in index and c in model.reference:
                    xo[:, index[c]] = model.reference[c]
            blocks.append(xo)
        probs = predict_proba(model.estimator, np.vstack(blocks)).reshape(g, n)
        gain = np.where(available.T, current_p[None, :] - probs, -np.inf)
        best = np.argmax(gain, axis=0)
        rows = np.arange(n)
        chosen[:, step] = best
        drops[:, step] = gain[best, rows]
        available[rows, best] = False
        current = np.stack([blocks[b][r] for r, b in enumerate(best)]) if n else current
        current_p = probs[best, rows]
    return base, chosen, drops


def explain(model: ChurnModel, frame: pl.DataFrame, top: int = 3) -> pl.DataFrame:
    """advertiser_id, snapshot_day, churn_probability, reason_1..reason_<top> for each row."""
    probs, chosen, drops = contributions(model, frame, top)
    names = list(GROUPS)
    reasons: list[list[str | None]] = []
    for j, row in enumerate(frame.to_dicts()):
        texts = [RENDER[names[chosen[j, i]]](row) for i in range(top)
                 if drops[j, i] >= MIN_CONTRIBUTION]
        reasons.append(texts + [None] * (top - len(texts)))
    data = {
        "advertiser_id": frame["advertiser_id"],
        "snapshot_day": frame["snapshot_day"],
        "churn_probability": probs,
    }
    for i in range(top):
        data[f"reason_{i + 1}"] = pl.Series([r[i] for r in reasons], dtype=pl.String)
    return pl.DataFrame(data)
