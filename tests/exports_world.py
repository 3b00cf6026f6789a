"""A tiny warehouse for the exports tests: the mart tables of /work/interfaces.md section 3 and
``ml.churn_scores``, filled so that every alert rule fires for exactly one planted subject.

Teams: lead L1 (managers M1, M2) owns A1, A2; lead L2 (manager M3) owns A3, A4, A5; A6 has no
manager or lead (routed to ops). Planted conditions, as of AS_OF:
  churn_risk A2 | traffic_stop A1 | margin_drop O3 (A3) | needs_traffic O2 (A2)
  launch_stalled O4 (A4) | overdue_debt A3 and A6 | reconciliation_gap A2 (Feb)
  tier_change A4 (C->B) and A2 (promotion candidate)
Near misses that must NOT fire: A5 (steady, 40k overdue, low churn score, old tier change),
O5 (healthy margin), an older needs-traffic week for O5.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl

from ingest.settings import Settings, load_settings

AS_OF = date(2026, 3, 31)
DAYS = [AS_OF - timedelta(days=i) for i in range(59, -1, -1)]
TEAMS = {"L1": {"A1", "A2"}, "L2": {"A3", "A4", "A5"}, "_unassigned": {"A6"}}
EXPECTED = {
    ("churn_risk", "A2"), ("traffic_stop", "A1"), ("margin_drop", "O3"), ("needs_traffic", "O2"),
    ("launch_stalled", "O4"), ("overdue_debt", "A3"), ("overdue_debt", "A6"),
    ("reconciliation_gap", "A2"), ("tier_change", "A4"), ("tier_change", "A2"),
}

ADVERTISERS = [
    # id, manager, lead, company, category, conversions/day
    ("A1", "M1", "L1", "ООО Ромашка", "finance", 10),
    ("A2", "M2", "L1", "Acme Loans", "finance", 3),
    ("A3", "M3", "L2", "Beta Shop", "ecommerce", 8),
    ("A4", "M3", "L2", "Gamma Games", "games", 2),
    ("A5", "M3", "L2", "Delta Travel", "travel", 6),
    ("A6", None, None, "Orphan LLC", "travel", 1),
]
OFFERS = [("O1", "A1"), ("O2", "A2"), ("O3", "A3"), ("O4", "A4"), ("O5", "A5")]


def settings_for(tmp: Path) -> Settings:
    """Settings pointing every path into ``tmp`` (the repository's cpa.toml, other folders)."""
    base = load_settings()
    return base.with_paths(data=tmp / "data", warehouse=tmp / "data" / "warehouse.duckdb",
                           landing=tmp / "landing")


def _advertiser_daily() -> pl.DataFrame:
    rows = []
    for adv, _, _, _, _, per_day in ADVERTISERS:
        for d in DAYS:
            conv = 0 if adv == "A1" and d > AS_OF - timedelta(days=3) else per_day
            rev = conv * 1000.0
            rows.append({
                "day": d, "advertiser_id": adv, "clicks": conv * 60, "clean_clicks": conv * 50,
                "conversions": conv, "approved": conv, "pending": 0, "rejected": 0, "trash": 0,
                "revenue": rev, "hold_revenue": 0.0, "payout": rev * 0.7, "margin": rev * 0.3,
                "offers_live": 1, "offers_active": 1, "offers_paused": 0, "offers_stopped": 0,
                "avg_cap_utilisation": 0.5,
            })
    return pl.DataFrame(rows)


def _offer_daily() -> pl.DataFrame:
    rows = []
    for offer, adv in OFFERS:
        for d in DAYS:
            if offer == "O4" and d < AS_OF - timedelta(days=10):
                continue
            approved = 0 if offer == "O4" else 5
            revenue = 10_000.0 if approved else 0.0
            pct = 0.15 if offer == "O3" and d > AS_OF - timedelta(days=7) else 0.30
            margin = revenue * pct
            rows.append({
                "day": d, "offer_id": offer, "advertiser_id": adv, "category": "finance",
                "payout_model": "CPA", "clicks": 120, "clean_clicks": 100, "conversions": approved,
                "approved": approved, "pending": 0, "rejected": 0, "trash": 0,
                "cr": approved / 100, "approval_rate": 1.0 if approved else None,
                "revenue": revenue, "hold_revenue": 0.0, "payout": revenue - margin,
                "hold_payout": 0.0, "margin": margin, "margin_pct": pct if revenue else None,
                "epc": (revenue - margin) / 100, "revenue_per_click": revenue / 100,
                "daily_cap": 20, "cap_utilisation": approved / 20,
            })
    return pl.DataFrame(rows)


def _tables() -> dict[str, pl.DataFrame]:
    t: dict[str, pl.DataFrame] = {}
    t["marts.dim_managers"] = pl.DataFrame({
        "manager_id": ["L1", "M1", "M2", "L2", "M3"],
        "name_hash": [f"h{i}" * 8 for i in range(5)],
        "email_hash": [f"e{i}" * 8 for i in range(5)],
        "role": ["team_lead", "account_manager", "account_manager", "team_lead", "account_manager"],
        "team_lead_id": [None, "L1", "L1", None, "L2"],
        "hired_at": [date(2024, 1, 1)] * 5,
        "left_at": [None] * 5,
    }, schema_overrides={"left_at": pl.Date, "team_lead_id": pl.String})
    t["marts.dim_advertisers"] = pl.DataFrame({
        "advertiser_id": [a[0] for a in ADVERTISERS],
        "company_id": [f"C{a[0][1:]}" for a in ADVERTISERS],
        "company_name": [a[3] for a in ADVERTISERS],
        "industry": [a[4] for a in ADVERTISERS],
        "main_category": [a[4] for a in ADVERTISERS],
        "account_manager_id": [a[1] for a in ADVERTISERS],
        "team_lead_id": [a[2] for a in ADVERTISERS],
        "first_revenue_day": [DAYS[0]] * len(ADVERTISERS),
        "cohort_month": [DAYS[0].replace(day=1)] * len(ADVERTISERS),
        "current_tier": ["B", "B", "B", "B", "C", "C"],
        "is_active_now": [True] * len(ADVERTISERS),
    }, schema_overrides={"account_manager_id": pl.String, "team_lead_id": pl.String})
    t["marts.dim_offers"] = pl.DataFrame({
        "offer_id": [o for o, _ in OFFERS], "advertiser_id": [a for _, a in OFFERS],
        "title": [f"Offer {o}" for o, _ in OFFERS], "category": ["finance"] * 5,
        "payout_model": ["CPA"] * 5, "currency": ["RUB"] * 5, "price": [2000.0] * 5,
        "payout": [1400.0] * 5, "hold_days": [14] * 5, "daily_cap": [20] * 5,
        "status": ["active"] * 5,
        "launch_day": [AS_OF - timedelta(days=10) if o == "O4" else DAYS[0] for o, _ in OFFERS],
    })
    t["marts.fct_advertiser_daily"] = _advertiser_daily()
    t["marts.fct_offer_daily"] = _offer_daily()
    cat = _advertiser_daily().join(
        pl.DataFrame({"advertiser_id": [a[0] for a in ADVERTISERS],
                      "category": [a[4] for a in ADVERTISERS]}), on="advertiser_id")
    t["marts.fct_category_daily"] = cat.group_by("day", "category").agg(
        pl.col("clicks", "clean_clicks", "approved", "pending", "revenue", "hold_revenue",
               "payout", "margin").sum())
    week = AS_OF - timedelta(days=AS_OF.weekday())
    t["marts.offers_needing_traffic"] = pl.DataFrame({
        "week_start": [week, week - timedelta(days=14)], "offer_id": ["O2", "O5"],
        "advertiser_id": ["A2", "A5"], "category": ["finance", "finance"],
        "reason": ["click_drop", "low_cap_utilisation"], "avg_cap_utilisation": [0.2, 0.1],
        "clean_clicks_7d": [100, 50], "clean_clicks_prev_28d": [900, 400],
    })
    receivables = pl.DataFrame({
        "invoice_number": ["INV-1", "INV-2", "INV-3", "INV-4"],
        "advertiser_id": ["A3", "A5", "A6", "A1"],
        "invoice_date": [AS_OF - timedelta(days=60)] * 3 + [AS_OF - timedelta(days=5)],
        "due_date": [AS_OF - timedelta(days=n) for n in (45, 45, 35, -10)],
        "currency": ["RUB"] * 4, "amount_total": [80_000.0, 40_000.0, 60_000.0, 100_000.0],
        "paid": [0.0] * 4, "receivable": [80_000.0, 40_000.0, 60_000.0, 100_000.0],
        "overpayment": [0.0] * 4, "receivable_rub": [80_000.0, 40_000.0, 60_000.0, 100_000.0],
        "days_past_due": [45, 45, 35, 0], "ageing_bucket": ["31-60", "31-60", "31-60", "not_due"],
    })
    t["marts.fct_receivables"] = receivables
    t["marts.fct_invoices"] = receivables
    t["marts.fct_reconciliation"] = pl.DataFrame({
        "advertiser_id": ["A2", "A5"], "period_from": [date(2026, 2, 1)] * 2,
        "period_to": [date(2026, 2, 28)] * 2, "tracker_revenue": [500_000.0, 180_000.0],
        "invoiced_net": [450_000.0, 180_000.0], "gap": [50_000.0, 0.0],
        "gap_share": [0.1, 0.0], "is_discrepancy": [True, False],
    })
    def tier_of(adv: str, d: date) -> str:
        if adv == "A4":
            return "B" if d >= AS_OF - timedelta(days=2) else "C"
        if adv == "A5":  # an old downgrade, outside the lookback window
            return "C" if d >= AS_OF - timedelta(days=30) else "B"
        return "B"

    tiers = []
    for adv, *_ in ADVERTISERS:
        for d in DAYS[-40:]:
            tier, prev = tier_of(adv, d), tier_of(adv, d - timedelta(days=1))
            tiers.append({
                "day": d, "advertiser_id": adv, "revenue_90d": 900_000.0,
                "revenue_prev_90d": 600_000.0, "tier": tier, "previous_tier": prev,
                "tier_changed": tier != prev,
                "is_promotion_candidate": adv == "A2" and d == AS_OF,
            })
    t["marts.fct_advertiser_tier_daily"] = pl.DataFrame(tiers)
    t["marts.fct_crm_activity_daily"] = pl.DataFrame({
        "day": [AS_OF] * 2, "advertiser_id": ["A1", "A2"], "activities": [2, 1], "calls": [1, 0],
        "emails": [1, 1], "meetings": [0, 0], "tickets": [0, 0], "notes": [0, 0],
        "outbound": [2, 1], "inbound": [0, 0],
    })
    t["ml.churn_scores"] = pl.DataFrame({
        "score_date": [AS_OF + timedelta(days=1)] * 6 + [AS_OF - timedelta(days=6)],
        "advertiser_id": ["A1", "A2", "A3", "A4", "A5", "A6", "A5"],
        "churn_probability": [0.3, 0.7, 0.1, 0.2, 0.2, 0.1, 0.9],  # A5's 0.9 is an old score
        "risk_group": ["stopped", "active", "active", "active", "active", "active", "active"],
        "reason_1": ["conversions fell 60% in 2 weeks"] * 7,
        "reason_2": ["no calls for 30 days"] * 7, "reason_3": [None] * 7,
        "model_version": ["test-1"] * 7,
    }, schema_overrides={"reason_3": pl.String})
    t["ml.category_forecasts"] = pl.DataFrame({
        "category": ["_network"], "metric": ["revenue"], "week_start": [AS_OF],
        "forecast": [1.0], "lo80": [0.5], "hi80": [1.5], "lo95": [0.2], "hi95": [2.0],
        "model_version": ["test-1"],
    })
    return t


_TEMPLATE: Path | None = None


def build_warehouse(settings: Settings) -> Path:
    """Create the warehouse file with all the tables above; returns its path.

    Built once per test process and copied: a file copy is much cheaper than building.
    """
    global _TEMPLATE
    if _TEMPLATE is None or not _TEMPLATE.exists():
        folder = tempfile.mkdtemp(prefix="cpa-exports-world-")
        atexit.register(shutil.rmtree, folder, True)
        template = Path(folder) / "warehouse.duckdb"
        with duckdb.connect(str(template)) as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS marts; CREATE SCHEMA IF NOT EXISTS ml")
            for name, frame in _tables().items():
                con.register("_frame", frame.to_arrow())
                con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _frame")
                con.unregister("_frame")
        _TEMPLATE = template
    path = settings.paths.warehouse_file
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_TEMPLATE, path)
    return path
