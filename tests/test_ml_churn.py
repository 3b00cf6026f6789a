"""Churn model on synthetic marts with planted fates: labels, leakage, ranking, reasons."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from ml import churn
from ml.synthetic import churn_world


@pytest.fixture(scope="module")
def world():
    return churn_world(n_advertisers=150, days=330, seed=1)


@pytest.fixture(scope="module")
def labelled(world):
    daily = world.frames["advertiser_daily"]
    days = churn.snapshot_days(daily["day"].min(), daily["day"].max())
    feats = churn.build_features(world.frames, days)
    return churn.labelled_features(feats, churn.build_labels(daily, days))


@pytest.fixture(scope="module")
def backtest(labelled):
    return churn.backtest(labelled, folds=6, seed=7)


def _daily(conv: list[int], start: date = date(2025, 1, 1), adv: int = 1) -> pl.DataFrame:
    n = len(conv)
    zeros = [0] * n
    return pl.DataFrame({
        "day": [start + timedelta(days=i) for i in range(n)], "advertiser_id": adv,
        "clean_clicks": [c * 10 for c in conv], "conversions": conv, "approved": conv,
        "pending": zeros, "rejected": zeros, "trash": zeros,
        "revenue": [float(c) for c in conv], "margin": [0.3 * c for c in conv],
        "offers_live": [1] * n, "offers_active": [1] * n, "offers_paused": zeros,
        "offers_stopped": zeros, "avg_cap_utilisation": [0.5] * n,
    })


def test_labels_follow_the_frozen_definition():
    start = date(2025, 1, 1)
    t = start + timedelta(days=40)
    # last conversion on t-2 (active), nothing from t on for 30 days -> frozen, active
    conv = [1] * 39 + [0] * 50
    a = _daily(conv, start, adv=1)
    # last conversion on t-10 (stopped), one conversion on t+29 -> not frozen
    conv_b = [1] * 31 + [0] * 38 + [1] + [0] * 19
    b = _daily(conv_b, start, adv=2)
    # last conversion on t-29: outside [t-28, t-1] -> not eligible
    conv_c = [1] * 12 + [0] * 77
    c = _daily(conv_c, start, adv=3)
    labels = churn.build_labels(pl.concat([a, b, c]), [t, start + timedelta(days=70)])
    at_t = {r["advertiser_id"]: r for r in labels.filter(pl.col("snapshot_day") == t).to_dicts()}
    assert at_t[1]["eligible"] and at_t[1]["frozen"] is True and at_t[1]["risk_group"] == "active"
    assert at_t[2]["eligible"] and at_t[2]["frozen"] is False
    assert at_t[2]["risk_group"] == "stopped"
    assert not at_t[3]["eligible"]
    # at t = day 70 the window [t, t+29] runs past the data (89 days): label unknown
    late = labels.filter(pl.col("snapshot_day") == start + timedelta(days=70))
    assert late["frozen"].is_null().all()


def test_features_at_t_ignore_everything_from_t_on(world):
    frames = world.frames
    t = date(2025, 8, 4)
    before = churn.build_features(frames, [t])
    changed = dict(frames)
    cut = pl.col("day") >= t
    changed["advertiser_daily"] = frames["advertiser_daily"].with_columns(
        *[pl.when(cut).then(pl.col(c) * 7 + 3).otherwise(pl.col(c)).alias(c)
          for c in ("conversions", "clean_clicks", "revenue", "approved", "offers_paused")]
    )
    changed["crm_activity"] = frames["crm_activity"].filter(~cut)
    changed["tier_daily"] = frames["tier_daily"].with_columns(
        pl.when(cut).then(pl.lit("A")).otherwise(pl.col("tier")).alias("tier"))
    changed["payments"] = frames["payments"].filter(pl.col("payment_date") < t)  # unpaid now
    changed["receivables"] = pl.concat([frames["receivables"], pl.DataFrame({
        "invoice_number": ["LATE"], "advertiser_id": [1], "invoice_date": [t],
        "due_date": [t - timedelta(days=90)], "amount_total": [1e6]})])
    after = churn.build_features(changed, [t])
    assert before.height > 100
    assert before.equals(after)
    # and the change is visible one week later, so the test can fail
    later = t + timedelta(days=7)
    assert not churn.build_features(frames, [later]).equals(churn.build_features(changed, [later]))


def test_model_beats_recency_inside_the_stopped_group_and_the_rule_overall(backtest):
    _preds, m = backtest

    def value(scope: str, method: str, metric: str) -> float:
        row = m.filter((pl.col("scope") == scope) & (pl.col("method") == method)
                       & (pl.col("metric") == metric))
        return float(row["value"][0])

    assert value("stopped", "model", "roc_auc") > value("stopped", "recency", "roc_auc") + 0.03
    assert value("stopped", "model", "pr_auc") > value("stopped", "recency", "pr_auc")
    assert value("overall", "model", "pr_auc") > value("overall", "rule_3d", "pr_auc") + 0.1
    assert value("overall", "model", "accuracy") >= value("overall", "rule_3d", "accuracy")
    assert value("stopped", "model", "accuracy") > value("stopped", "recency", "accuracy")


def test_planted_churners_rank_above_temporary_stops(backtest, world):
    preds, _ = backtest
    fates = preds.join(world.truth.select("advertiser_id", "fate"), on="advertiser_id")
    stopped = fates.filter(pl.col("risk_group") == "stopped")
    churners = stopped.filter(pl.col("frozen"))["model"].mean()
    temporary = stopped.filter(~pl.col("frozen") & (pl.col("fate") == "temp_stops"))["model"]
    assert temporary.len() > 5
    assert churners > 0.6 > temporary.mean()


@pytest.fixture(scope="module")
def model(labelled):
    return churn.train(labelled, seed=3)


def test_scores_cover_every_eligible_advertiser_with_readable_reasons(model, labelled):
    score_day = labelled["snapshot_day"].max()
    scores = churn.score(model, labelled, score_day)
    eligible = labelled.filter(pl.col("snapshot_day") == score_day)
    assert scores.height == eligible.height > 50
    assert set(scores.columns) == set(churn.SCORE_SCHEMA)
    p = scores["churn_probability"].to_numpy()
    assert np.all((p >= 0) & (p <= 1))
    assert scores["model_version"].unique().to_list() == [model.version]
    # warned churners stopping now: high score, with reasons from their warning signs
    top = scores.filter(pl.col("churn_probability") >= 0.5)
    assert top.height > 0
    reasons = top.select("reason_1", "reason_2", "reason_3").to_numpy().ravel()
    texts = [r for r in reasons if r]
    assert texts and all(isinstance(r, str) and len(r) > 10 for r in texts)
    assert any(("no conversions" in r) or ("conversions fell" in r) or ("paused" in r)
               for r in texts)


def test_reasons_speak_the_configured_language(model, labelled):
    score_day = labelled["snapshot_day"].max()
    en = churn.score(model, labelled, score_day)
    ru = churn.score(model, labelled, score_day, language="ru")
    assert en["churn_probability"].to_list() == ru["churn_probability"].to_list()
    texts = [t for t in ru["reason_1"].to_list() if t]
    assert texts and all(any("а" <= ch <= "я" for ch in t) for t in texts)
    assert ru["reason_1"].null_count() == en["reason_1"].null_count()


def test_training_is_deterministic_for_a_seed(model, labelled):
    again = churn.train(labelled, seed=3)
    assert again.version == model.version
    assert np.array_equal(again.predict(labelled), model.predict(labelled))
    other = churn.train(labelled, seed=4)
    assert other.version != model.version


def test_backtest_folds_fitted_at_once_give_the_same_predictions(backtest, labelled):
    preds, _ = backtest
    parallel, _ = churn.backtest(labelled, folds=6, seed=7, workers=3)
    assert parallel["origin"].n_unique() > 1
    assert parallel.equals(preds)


def test_too_little_history_is_a_clear_error():
    short = _daily([1] * 20)
    days = [date(2025, 1, 15)]
    frames = {"advertiser_daily": short,
              "advertisers": pl.DataFrame({"advertiser_id": [1], "main_category": ["hr"]})}
    data = churn.labelled_features(churn.build_features(frames, days),
                                   churn.build_labels(short, days))
    with pytest.raises(churn.TrainingError, match="history"):
        churn.train(data)


def test_crm_features_match_their_definition_row_by_row():
    """Recency and 28-day counts of CRM activity strictly before each snapshot, checked
    against the definition evaluated per (advertiser, snapshot) in plain Python: days since the
    last activity and the last outbound one before t, sums over days [t-28, t-1]; an advertiser
    appears at t only with an activity before t. Includes activity on t itself and on t-29
    (both outside), t-28 (inside), two rows of one day, and a day with no activity."""
    rng = np.random.default_rng(3)
    start = date(2025, 3, 1)
    rows = []
    for adv in (1, 2, 3):
        for offset in sorted(rng.choice(120, size=25, replace=False).tolist()):
            rows.append((adv, start + timedelta(days=offset), *rng.integers(0, 3, 3).tolist()))
    snapshot_days = [start + timedelta(days=d) for d in (0, 29, 57, 58, 86, 120)]
    rows += [(1, snapshot_days[2], 5, 1, 1), (1, snapshot_days[2] - timedelta(days=29), 7, 0, 1),
             (1, snapshot_days[2] - timedelta(days=28), 2, 1, 0),
             (1, snapshot_days[2] - timedelta(days=28), 1, 0, 1), (2, start, 0, 0, 0)]
    rows += [(3, None, 4, 1, 1)]  # a row without a day counts nowhere
    crm = pl.DataFrame(
        [(a, d, n, t, n - o, o) for a, d, n, t, o in rows],
        schema=["advertiser_id", "day", "activities", "tickets", "inbound", "outbound"],
        orient="row",
    )
    expected = []
    for adv in (1, 2, 3):
        for t in snapshot_days:
            before = [r for r in crm.iter_rows(named=True)
                      if r["advertiser_id"] == adv and r["day"] is not None and r["day"] < t
                      and r["activities"] > 0]
            if not before:
                continue
            window = [r for r in before if (t - r["day"]).days <= 28]
            outbound = [r["day"] for r in before if r["outbound"] > 0]
            expected.append({
                "advertiser_id": adv, "snapshot_day": t,
                "days_since_crm": float((t - max(r["day"] for r in before)).days),
                "days_since_outbound": float((t - max(outbound)).days) if outbound else None,
                **{f"crm_{k}_28": float(sum(r[k] for r in window))
                   for k in ("activities", "tickets", "inbound")},
            })
    snaps = pl.DataFrame({"snapshot_day": snapshot_days}).with_columns(
        (pl.col("snapshot_day") - pl.duration(days=1)).alias("day"))
    got = churn.features._crm_features(crm, snaps).sort("advertiser_id", "snapshot_day")
    assert got.to_dicts() == expected
    # no activity at all: no row, but the columns (build_features zero-fills the counts)
    silent = churn.features._crm_features(crm.with_columns(pl.lit(0).alias("activities")), snaps)
    assert silent.is_empty() and set(silent.columns) == set(got.columns)
    assert {(r["advertiser_id"], r["snapshot_day"]) for r in expected} >= {(1, snapshot_days[2])}


def test_debt_features_match_their_definition_row_by_row():
    """Overdue debt at each snapshot t from invoices dated before t and payments made before t,
    checked against the definition in plain Python (an advertiser without open debt at t may
    be absent: build_features reads that as zero). Covers partial payments, a payment on t
    itself (not yet counted), a refund that reopens a paid invoice, an invoice never paid, one
    too small to count as open, and a currency rate."""
    d = date(2025, 1, 1)
    invoices = pl.DataFrame({
        "advertiser_id": [1, 1, 2, 2, 3],
        "invoice_number": ["A", "B", "C", "D", "E"],
        "invoice_date": [d, d + timedelta(days=20), d + timedelta(days=5), d, d],
        "due_date": [d + timedelta(days=14), d + timedelta(days=34), d + timedelta(days=19),
                     d + timedelta(days=10), d + timedelta(days=10)],
        "amount_total": [1000.0, 500.0, 2000.0, 800.0, 0.9],
        "amount_total_rub": [1000.0, 500.0, 2000.0 * 90, 800.0, 0.9],
    })
    payments = pl.DataFrame({
        "advertiser_id": [1, 1, 2, 2, 2],
        "invoice_number": ["A", "A", "C", "C", "C"],
        "payment_date": [d + timedelta(days=10), d + timedelta(days=28), d + timedelta(days=21),
                         d + timedelta(days=30), d + timedelta(days=50)],
        "amount": [400.0, 600.0, 2000.0, -1500.0, 1500.0],
    })
    payments = pl.concat([payments, pl.DataFrame(  # a payment without a date counts nowhere
        {"advertiser_id": [2], "invoice_number": ["D"], "payment_date": [None], "amount": [800.0]},
        schema=payments.schema)])
    snapshot_days = [d + timedelta(days=k) for k in (0, 7, 21, 28, 35, 49, 56, 70)]
    snaps = pl.DataFrame({"snapshot_day": snapshot_days}).with_columns(
        (pl.col("snapshot_day") - pl.duration(days=1)).alias("day"))
    expected = {}
    for inv in invoices.iter_rows(named=True):
        for t in snapshot_days:
            if inv["invoice_date"] >= t:
                continue
            paid = sum(p["amount"] for p in payments.iter_rows(named=True)
                       if p["invoice_number"] == inv["invoice_number"]
                       and p["payment_date"] is not None and p["payment_date"] < t)
            left = inv["amount_total"] - paid
            is_open = left > 0.005 * abs(inv["amount_total"]) + 1.0
            dpd = (t - inv["due_date"]).days - 1
            row = expected.setdefault((inv["advertiser_id"], t), [0.0, 0.0, 0.0])
            if is_open and dpd > 0:
                rate = inv["amount_total_rub"] / inv["amount_total"]
                row[0] += left * rate
                row[1] = max(row[1], float(dpd))
            row[2] += float(is_open)
    got = churn.features._debt_features(invoices, payments, snaps)
    got = {(r["advertiser_id"], r["snapshot_day"]): [r["overdue_rub"], r["max_days_past_due"],
                                                    r["open_invoices"]]
           for r in got.iter_rows(named=True)}
    assert set(got) <= set(expected)
    for key, values in expected.items():
        assert got.get(key, [0.0, 0.0, 0.0]) == pytest.approx(values), key
    # the case the pairing must not cut short: C paid (t = 28), reopened by the refund
    # (t = 35, beside D, never paid), paid again (t = 56)
    assert [expected[(2, d + timedelta(days=k))][2] for k in (28, 35, 56)] == [1, 2, 1]
