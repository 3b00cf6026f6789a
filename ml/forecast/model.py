"""The weekly forecaster: trend + yearly season + New Year effect, fitted in log space.

Why this method: with about two years of weekly data there are only two observations of each
week of the year, too few for anything with many free parameters. A ridge regression of
log(1 + y) on a linear trend, a few yearly Fourier terms and a New Year dummy captures the broad
season; the week-of-year residuals, smoothed with their neighbours and shrunk toward zero,
add back sharp planted or real peaks (e.g. a sales week) without chasing noise. Forecasts are
anchored to the latest level (mean residual of the last weeks), and intervals come from the
rolling-origin backtest's residual quantiles (ml.forecast.backtest), not from model theory.

A series with less than MIN_SEASONAL_WEEKS of history cannot estimate a yearly season: it
borrows the network's seasonal profile (if the network has one) on top of its recent level.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

FOURIER_K = 6
MIN_SEASONAL_WEEKS = 60
LEVEL_WEEKS = 8
RIDGE_SEASON = 0.5
RIDGE_TREND = 2.0
PROFILE_SHRINK = 0.25  # shrink week-of-year residual means by n / (n + PROFILE_SHRINK)
TREND_CAP = 0.5  # |trend| in log units per year is capped: no runaway extrapolation
MAX_GROWTH = 1.5  # a forecast never exceeds 1.5 x the largest week in the history
SPARSE_WEEKS = 13
SPARSE_ZERO_SHARE = 0.25  # more empty weeks than this in the last 13: recent mean instead


@dataclass
class Fitted:
    """Forecast (original units) for the requested future weeks, plus the seasonal profile."""

    forecast: np.ndarray
    profile: np.ndarray  # 54 values (index = ISO week 1..53), log-space effect, mean ~0
    method: str


def iso_week(d: date) -> int:
    return d.isocalendar()[1]


def _fourier(weeks: list[date], k: int) -> np.ndarray:
    doy = np.array([(d + timedelta(days=3)).timetuple().tm_yday for d in weeks]) / 365.25
    cols = []
    for j in range(1, k + 1):
        cols += [np.sin(2 * np.pi * j * doy), np.cos(2 * np.pi * j * doy)]
    return np.column_stack(cols) if cols else np.zeros((len(weeks), 0))


def _new_year(weeks: list[date]) -> np.ndarray:
    return np.array([1.0 if iso_week(d) in (1, 52, 53) else 0.0 for d in weeks])


def _smooth_profile(resid: np.ndarray, woy: np.ndarray) -> np.ndarray:
    """Per ISO week mean residual, smoothed with neighbours (1-2-1, circular), shrunk to 0."""
    sums = np.zeros(54)
    counts = np.zeros(54)
    for r, w in zip(resid, woy, strict=True):
        sums[w] += r
        counts[w] += 1
    mean = np.divide(sums, counts, out=np.zeros(54), where=counts > 0)[1:53]
    cnt = counts[1:53]
    num = 0.5 * mean * cnt + 0.25 * np.roll(mean * cnt, 1) + 0.25 * np.roll(mean * cnt, -1)
    den = 0.5 * cnt + 0.25 * np.roll(cnt, 1) + 0.25 * np.roll(cnt, -1)
    smooth = np.divide(num, den, out=np.zeros(52), where=den > 0)
    shrunk = smooth * den / (den + PROFILE_SHRINK)
    return np.append(np.insert(shrunk, 0, 0.0), shrunk[-1])  # index 0 unused, 53 ~ 52


def _finish(zf: np.ndarray, offset: float, y_ok: np.ndarray) -> np.ndarray:
    """Back from log space, kept within [0, MAX_GROWTH x the largest week seen]."""
    return np.clip(np.exp(zf) - offset, 0.0, MAX_GROWTH * float(np.max(y_ok)))


def fit_forecast(y: np.ndarray, weeks: list[date], horizon: int,
                 borrowed_profile: np.ndarray | None = None, start_offset: int = 0) -> Fitted:
    """Forecast the `horizon` weeks after weeks[-1] + start_offset weeks.

    `y` holds weekly values (NaN = unknown, e.g. unsettled); `weeks` their Monday dates.
    `borrowed_profile` (54 log effects by ISO week) is used when the series is too short.
    The log transform is log(y + c) with c = half the median non-zero week: small, lumpy
    series (a category of a few clients) then do not let zero weeks dominate the fit. Series
    with many empty weeks get the recent mean (times the borrowed season) instead of a fit.
    """
    y = np.clip(np.asarray(y, dtype=float), 0, None)
    ok = np.isfinite(y)
    future = [weeks[-1] + timedelta(weeks=start_offset + i + 1) for i in range(horizon)]
    if ok.sum() == 0 or not np.any(y[ok] > 0):
        return Fitted(np.zeros(horizon), np.zeros(54), "empty")
    y_ok = y[ok]
    offset = max(1.0, 0.5 * float(np.median(y_ok[y_ok > 0])))
    zk, wk = np.log(y_ok + offset), [w for w, o in zip(weeks, ok, strict=True) if o]
    woy = np.array([iso_week(w) for w in wk])
    fwoy = np.array([iso_week(w) for w in future])
    profile = borrowed_profile if borrowed_profile is not None else np.zeros(54)
    if np.mean(y_ok[-SPARSE_WEEKS:] == 0) > SPARSE_ZERO_SHARE:
        level = float(np.mean(y_ok[-SPARSE_WEEKS:]))
        return Fitted(np.clip(level * np.exp(profile[fwoy]), 0, MAX_GROWTH * y_ok.max()),
                      profile, "sparse_recent_mean")
    if ok.sum() < MIN_SEASONAL_WEEKS:
        recent = zk[-LEVEL_WEEKS:] - profile[woy[-LEVEL_WEEKS:]]
        level = float(np.mean(recent))
        method = "short_history_borrowed_season" if borrowed_profile is not None else "level"
        return Fitted(_finish(level + profile[fwoy], offset, y_ok), profile, method)
    t0 = weeks[0]
    tt = np.array([(w - t0).days / 365.25 for w in wk])
    ft = np.array([(w - t0).days / 365.25 for w in future])
    x = np.column_stack([np.ones_like(tt), tt, _fourier(wk, FOURIER_K), _new_year(wk)])
    fx = np.column_stack([np.ones_like(ft), ft, _fourier(future, FOURIER_K), _new_year(future)])
    penalty = np.full(x.shape[1], RIDGE_SEASON)
    penalty[0], penalty[1] = 0.0, RIDGE_TREND
    coef = np.linalg.solve(x.T @ x + np.diag(penalty), x.T @ zk)
    coef[1] = float(np.clip(coef[1], -TREND_CAP, TREND_CAP))
    fitted = x @ coef
    resid = zk - fitted
    profile = _smooth_profile(resid, woy)
    resid2 = resid - profile[woy]
    level = float(np.mean(resid2[-LEVEL_WEEKS:]))
    reps = [date.fromisocalendar(2020, w, 1) for w in range(1, 54)]  # 2020 has 53 ISO weeks
    season = np.column_stack([_fourier(reps, FOURIER_K), _new_year(reps)]) @ coef[2:]
    full_profile = np.zeros(54)
    full_profile[1:] = season + profile[1:]
    full_profile[1:] -= full_profile[1:53].mean()
    zf = fx @ coef + profile[fwoy] + level
    return Fitted(_finish(zf, offset, y_ok), full_profile, "trend_fourier_profile")
