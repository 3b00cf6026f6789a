"""Planted demand patterns per vertical: a weekly profile, yearly bumps and month-end spikes.

Each category gets its own shape (December peak for e-commerce, summer dip for education,
month-end spikes for finance, ...), so forecasting and seasonal-profile marts have something
real to find. The parameters are written to `truth/seasonality.json` for the tests.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

CATEGORIES = [
    "finance",
    "insurance",
    "hr",
    "fmcg",
    "ecommerce",
    "education",
    "travel",
    "telecom",
    "gaming",
    "auto",
    "realty",
    "health",
]

NEW_YEAR = (4, 5, -0.35)  # the Russian New Year holidays (1-8 January): most verticals sag

# weekly multipliers Monday..Sunday; bumps (day of year centre, width in days, amplitude);
# month_end: extra share of demand on the last 3 and first 2 days of a month.
PROFILES: dict[str, dict] = {
    "finance": {
        "weekly": [1.12, 1.1, 1.06, 1.04, 1.0, 0.84, 0.84],
        "bumps": [NEW_YEAR],
        "month_end": 0.45,
    },
    "insurance": {
        "weekly": [1.1, 1.08, 1.06, 1.04, 1.0, 0.86, 0.86],
        "bumps": [(100, 30, 0.35), (250, 20, 0.12), NEW_YEAR],
        "month_end": 0.0,
    },
    "hr": {
        "weekly": [1.22, 1.16, 1.1, 1.04, 0.94, 0.66, 0.88],
        "bumps": [(20, 18, 0.35), (255, 22, 0.25), (200, 30, -0.2)],
        "month_end": 0.0,
    },
    "fmcg": {
        "weekly": [0.96, 0.96, 0.97, 1.0, 1.04, 1.04, 1.03],
        "bumps": [(352, 10, 0.5), (66, 5, 0.4)],
        "month_end": 0.0,
    },
    "ecommerce": {
        "weekly": [0.95, 0.94, 0.95, 0.98, 1.02, 1.1, 1.06],
        "bumps": [(346, 12, 0.9), (315, 3, 0.5), (333, 3, 0.6), (12, 10, -0.3)],
        "month_end": 0.0,
    },
    "education": {
        "weekly": [1.14, 1.1, 1.05, 1.0, 0.88, 0.8, 1.03],
        "bumps": [(196, 32, -0.45), (245, 14, 0.4), (22, 14, 0.15), NEW_YEAR],
        "month_end": 0.0,
    },
    "travel": {
        "weekly": [0.94, 0.94, 0.96, 0.98, 1.02, 1.08, 1.08],
        "bumps": [(150, 40, 0.5), (320, 30, -0.3), (356, 8, 0.2)],
        "month_end": 0.0,
    },
    "telecom": {
        "weekly": [1.02, 1.02, 1.01, 1.0, 1.0, 0.98, 0.97],
        "bumps": [(245, 15, 0.2), (350, 10, 0.15)],
        "month_end": 0.0,
    },
    "gaming": {
        "weekly": [0.9, 0.9, 0.9, 0.95, 1.05, 1.16, 1.14],
        "bumps": [(2, 20, 0.35), (190, 30, -0.2)],
        "month_end": 0.0,
    },
    "auto": {
        "weekly": [1.08, 1.06, 1.05, 1.04, 1.0, 0.9, 0.87],
        "bumps": [(100, 35, 0.4), (350, 15, -0.2), NEW_YEAR],
        "month_end": 0.0,
    },
    "realty": {
        "weekly": [0.96, 0.98, 0.98, 0.98, 0.98, 1.06, 1.06],
        "bumps": [(110, 30, 0.25), (270, 30, 0.25), (5, 12, -0.4)],
        "month_end": 0.0,
    },
    "health": {
        "weekly": [1.06, 1.04, 1.02, 1.0, 0.98, 0.94, 0.96],
        "bumps": [(15, 20, 0.35), (300, 30, 0.25), (200, 30, -0.15)],
        "month_end": 0.0,
    },
}


def _yearly(doy: np.ndarray, bumps: list[tuple[float, float, float]]) -> np.ndarray:
    mult = np.ones_like(doy, dtype=float)
    for centre, width, amp in bumps:
        dist = np.abs(doy - centre)
        dist = np.minimum(dist, 365.25 - dist)  # the year wraps around
        mult += amp * np.exp(-0.5 * (dist / width) ** 2)
    return np.maximum(mult, 0.15)


def _month_end(days: list[date]) -> np.ndarray:
    flag = np.zeros(len(days))
    for i, d in enumerate(days):
        if d.day <= 2 or (d + timedelta(days=3)).month != d.month:
            flag[i] = 1.0
    return flag


def season_matrix(days: list[date]) -> np.ndarray:
    """Demand multiplier per category (rows, CATEGORIES order) and day (columns)."""
    doy = np.array([d.timetuple().tm_yday for d in days], dtype=float)
    wd = np.array([d.weekday() for d in days])
    me = _month_end(days)
    out = np.empty((len(CATEGORIES), len(days)))
    for i, cat in enumerate(CATEGORIES):
        p = PROFILES[cat]
        out[i] = np.asarray(p["weekly"])[wd] * _yearly(doy, p["bumps"]) * (1 + p["month_end"] * me)
    return out


def describe() -> dict[str, dict]:
    """The planted profile per category, with its peak and trough ISO weeks (for tests)."""
    year = [date(2025, 1, 1) + timedelta(days=i) for i in range(365)]
    doy = np.arange(1, 366, dtype=float)
    out: dict[str, dict] = {}
    for cat in CATEGORIES:
        p = PROFILES[cat]
        y = _yearly(doy, p["bumps"])
        weekly_mean: dict[int, list[float]] = {}
        for d, v in zip(year, y, strict=True):
            weekly_mean.setdefault(d.isocalendar().week, []).append(float(v))
        wk = {w: float(np.mean(v)) for w, v in weekly_mean.items() if len(v) == 7}
        ranked = sorted(wk, key=lambda w: wk[w])
        out[cat] = {
            "weekly_mon_to_sun": [float(x) for x in p["weekly"]],
            "yearly_bumps": [
                {"day_of_year": c, "width_days": w, "amplitude": a} for c, w, a in p["bumps"]
            ],
            "month_end_uplift": p["month_end"],
            "peak_iso_weeks": sorted(ranked[-3:]),
            "trough_iso_weeks": sorted(ranked[:3]),
            "peak_month": int(
                np.argmax([np.mean(y[[d.month == m for d in year]]) for m in range(1, 13)]) + 1
            ),
            "trough_month": int(
                np.argmin([np.mean(y[[d.month == m for d in year]]) for m in range(1, 13)]) + 1
            ),
        }
    return out


# Share of a UTC day's clicks per UTC hour: Moscow (UTC+3) evenings are busiest, nights quiet.
_MSK_HOURLY = np.array(
    [
        0.5,
        0.3,
        0.2,
        0.15,
        0.15,
        0.25,
        0.5,
        0.9,
        1.2,
        1.4,
        1.5,
        1.5,
        1.5,
        1.5,
        1.5,
        1.5,
        1.5,
        1.6,
        1.7,
        1.9,
        2.0,
        1.9,
        1.5,
        0.9,
    ]
)
HOURLY_UTC = np.roll(_MSK_HOURLY, -3) / np.roll(_MSK_HOURLY, -3).sum()
