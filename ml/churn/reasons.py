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
    return f"{x:,.0f}".replace(",", " ")


Message = tuple[str, dict]

# Reason texts by language ([alerts] language); numbers are formatted before substitution.
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "conv_none_7d": "no conversions in the last 7 days ({n:.0f} in the 3 weeks before)",
        "conv_drop_7d": "conversions in the last 7 days are {pct} below the weekly average of "
                        "the 3 weeks before",
        "conv_drop_28d": "conversions fell {pct} vs the previous 4 weeks ({now:.0f} vs "
                         "{before:.0f})",
        "conv_few": "only {n:.0f} conversions in the last 4 weeks",
        "conv_none_days": "no conversions for {days:.0f} days",
        "revenue_drop": "approved revenue fell {pct} vs the previous 4 weeks",
        "clicks_none_days": "no clean clicks for {days:.0f} days",
        "clicks_drop_7d": "clean clicks fell {pct} in the last 7 days vs the 4 weeks before",
        "clicks_drop_28d": "clean clicks fell {pct} vs the previous 4 weeks",
        "offers_paused": "{n:.0f} of {total:.0f} offers paused",
        "offers_stopped": "{n:.0f} of {total:.0f} offers stopped",
        "offers_fewer": "active offers fell from {before:.0f} to {now:.0f} in 4 weeks",
        "offers_no_traffic": "no offer received traffic yesterday",
        "approval_drop": "approval rate fell from {before} to {now}",
        "trash_share": "{pct} of conversions marked trash in the last 4 weeks",
        "margin_negative": "negative margin in the last 4 weeks",
        "margin_drop": "margin fell from {before} to {now} of revenue",
        "caps_low": "offers use only {pct} of their daily caps (last 7 days)",
        "crm_never": "no CRM contact on record",
        "crm_silent": "no CRM contact for {days:.0f} days",
        "outbound_never": "no outbound contact from the manager on record",
        "outbound_silent": "no outbound contact from the manager for {days:.0f} days",
        "tickets": "{n:.0f} support ticket(s) in the last 4 weeks",
        "overdue": "invoice {days:.0f} days overdue ({amount} RUB past due)",
        "new_client": "new client: first activity {days:.0f} days ago",
        "tier_drop": "tier dropped from {before} to {now} in 90 days",
        "revenue_90d_drop": "90-day revenue fell {pct} vs the 90 days before",
    },
    "ru": {
        "conv_none_7d": "нет конверсий 7 дн. (за 3 недели до этого: {n:.0f})",
        "conv_drop_7d": "конверсий за 7 дн. на {pct} меньше среднего за 3 недели до этого",
        "conv_drop_28d": "конверсии упали на {pct} к предыдущим 4 неделям ({now:.0f} против "
                         "{before:.0f})",
        "conv_few": "всего {n:.0f} конверсий за 4 недели",
        "conv_none_days": "нет конверсий {days:.0f} дн.",
        "revenue_drop": "подтверждённая выручка упала на {pct} к предыдущим 4 неделям",
        "clicks_none_days": "нет чистых кликов {days:.0f} дн.",
        "clicks_drop_7d": "чистые клики за 7 дн. упали на {pct} к 4 неделям до этого",
        "clicks_drop_28d": "чистые клики упали на {pct} к предыдущим 4 неделям",
        "offers_paused": "{n:.0f} из {total:.0f} офферов на паузе",
        "offers_stopped": "{n:.0f} из {total:.0f} офферов остановлены",
        "offers_fewer": "активных офферов стало {now:.0f} вместо {before:.0f} за 4 недели",
        "offers_no_traffic": "вчера ни один оффер не получил трафика",
        "approval_drop": "апрув упал с {before} до {now}",
        "trash_share": "{pct} конверсий в треше за 4 недели",
        "margin_negative": "отрицательная маржа за 4 недели",
        "margin_drop": "маржа упала с {before} до {now} выручки",
        "caps_low": "офферы используют лишь {pct} дневных капов (7 дн.)",
        "crm_never": "в CRM нет ни одного контакта",
        "crm_silent": "нет контакта в CRM {days:.0f} дн.",
        "outbound_never": "менеджер ни разу не выходил на связь",
        "outbound_silent": "менеджер не выходил на связь {days:.0f} дн.",
        "tickets": "обращений в поддержку за 4 недели: {n:.0f}",
        "overdue": "счёт просрочен на {days:.0f} дн. (долг {amount} руб.)",
        "new_client": "новый клиент: первая активность {days:.0f} дн. назад",
        "tier_drop": "тир понизился с {before} до {now} за 90 дн.",
        "revenue_90d_drop": "выручка за 90 дн. упала на {pct} к 90 дн. до этого",
    },
}


def render(message: Message, language: str = "en") -> str:
    key, params = message
    return TEXTS.get(language, TEXTS["en"])[key].format(**params)


def _conversions(r: dict) -> Message | None:
    t28, t7 = _num(r, "conv_trend_28"), _num(r, "conv_trend_7")
    c28, prev = _num(r, "conv_28") or 0, _num(r, "conv_prev_28") or 0
    c7 = _num(r, "conv_7") or 0
    if c7 == 0 and c28 > 0:
        return "conv_none_7d", {"n": c28}
    if t7 is not None and t7 <= -0.3 and (t28 is None or t7 < t28):
        return "conv_drop_7d", {"pct": _pct(t7)}
    if t28 is not None and t28 <= -0.2:
        return "conv_drop_28d", {"pct": _pct(t28), "now": c28, "before": prev}
    if t28 is None and c28 < 10:
        return "conv_few", {"n": c28}
    return None


def _recency(r: dict) -> Message | None:
    d = _num(r, "days_since_conversion")
    if d is None or d < 3:
        return None
    return "conv_none_days", {"days": d - 1}


def _revenue(r: dict) -> Message | None:
    t = _num(r, "revenue_trend_28")
    if t is not None and t <= -0.2:
        return "revenue_drop", {"pct": _pct(t)}
    return None


def _traffic(r: dict) -> Message | None:
    d = _num(r, "days_since_click")
    if d is not None and d > 2:
        return "clicks_none_days", {"days": d - 1}
    t7, t28 = _num(r, "clicks_trend_7"), _num(r, "clicks_trend_28")
    if t7 is not None and t7 <= -0.3:
        return "clicks_drop_7d", {"pct": _pct(t7)}
    if t28 is not None and t28 <= -0.3:
        return "clicks_drop_28d", {"pct": _pct(t28)}
    return None


def _offers(r: dict) -> Message | None:
    active = _num(r, "offers_active") or 0
    paused = _num(r, "offers_paused") or 0
    stopped = _num(r, "offers_stopped") or 0
    total = active + paused + stopped
    change = _num(r, "offers_active_change_28")
    if paused > 0 and total:
        return "offers_paused", {"n": paused, "total": total}
    if stopped > 0 and total:
        return "offers_stopped", {"n": stopped, "total": total}
    if change is not None and change < 0:
        return "offers_fewer", {"before": active - change, "now": active}
    if total and (_num(r, "offers_live") or 0) == 0:
        return "offers_no_traffic", {}
    return None


def _approval(r: dict) -> Message | None:
    rate, change = _num(r, "approval_rate_28"), _num(r, "approval_rate_change")
    if rate is not None and change is not None and change <= -0.05:
        return "approval_drop", {"before": _pct(rate - change), "now": _pct(rate)}
    trash = _num(r, "trash_share_28")
    if trash is not None and trash > 0.2:
        return "trash_share", {"pct": _pct(trash)}
    return None


def _margin(r: dict) -> Message | None:
    m, change = _num(r, "margin_pct_28"), _num(r, "margin_pct_change")
    if m is not None and m < 0:
        return "margin_negative", {}
    if m is not None and change is not None and change <= -0.03:
        return "margin_drop", {"before": _pct(m - change), "now": _pct(m)}
    return None


def _caps(r: dict) -> Message | None:
    c = _num(r, "cap_utilisation_7")
    if c is not None and c < 0.3:
        return "caps_low", {"pct": _pct(c)}
    return None


def _crm(r: dict) -> Message | None:
    d = _num(r, "days_since_crm")
    if d is None:
        return "crm_never", {}
    if d >= 14:
        return "crm_silent", {"days": d}
    out = _num(r, "days_since_outbound")
    if out is None or out >= 21:
        return ("outbound_never", {}) if out is None else ("outbound_silent", {"days": out})
    return None


def _tickets(r: dict) -> Message | None:
    n = _num(r, "crm_tickets_28") or 0
    if n == 0:
        return None
    return "tickets", {"n": n}


def _debt(r: dict) -> Message | None:
    dpd, owed = _num(r, "max_days_past_due"), _num(r, "overdue_rub")
    if dpd and dpd > 0 and owed:
        return "overdue", {"days": dpd, "amount": _money(owed)}
    return None


def _tenure(r: dict) -> Message | None:
    d = _num(r, "tenure_days") or 0
    return ("new_client", {"days": d}) if d < 90 else None


def _tier(r: dict) -> Message | None:
    rank, change = _num(r, "tier_rank"), _num(r, "tier_change_90")
    names = {v: k for k, v in TIER_RANK.items()}
    if rank is not None and change is not None and change < 0:
        before, now = names.get(rank - change, "?"), names.get(rank, "?")
        return "tier_drop", {"before": before, "now": now}
    t = _num(r, "revenue_90d_trend")
    if t is not None and t <= -0.2:
        return "revenue_90d_drop", {"pct": _pct(t)}
    return None


def _category(r: dict) -> Message | None:
    return None  # a category effect is real but not something a manager can act on


# Each renderer speaks only of a warning sign: it returns None when the advertiser's own
# numbers do not show one (the model may still weigh that group; the next group is used).
RENDER: dict[str, Callable[[dict], Message | None]] = {
    "conversions": _conversions, "recency": _recency, "revenue": _revenue, "traffic": _traffic,
    "offers": _offers, "approval": _approval, "margin": _margin, "caps": _caps, "crm": _crm,
    "tickets": _tickets, "debt": _debt, "tenure": _tenure, "tier": _tier, "category": _category,
}
GREEDY_STEPS = 6  # occlusion steps tried to find up to three reasons with a warning sign


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


def explain(model: ChurnModel, frame: pl.DataFrame, top: int = 3,
            language: str = "en") -> pl.DataFrame:
    """advertiser_id, snapshot_day, churn_probability, reason_1..reason_<top> for each row."""
    probs, chosen, drops = contributions(model, frame, max(top, GREEDY_STEPS))
    names = list(GROUPS)
    reasons: list[list[str | None]] = []
    for j, row in enumerate(frame.to_dicts()):
        texts: list[str | None] = []
        for step in range(chosen.shape[1]):
            if len(texts) == top or drops[j, step] < MIN_CONTRIBUTION:
                break
            message = RENDER[names[chosen[j, step]]](row)
            if message:
                texts.append(render(message, language))
        reasons.append(texts + [None] * (top - len(texts)))
    data = {
        "advertiser_id": frame["advertiser_id"],
        "snapshot_day": frame["snapshot_day"],
        "churn_probability": probs,
    }
    for i in range(top):
        data[f"reason_{i + 1}"] = pl.Series([r[i] for r in reasons], dtype=pl.String)
    return pl.DataFrame(data)
