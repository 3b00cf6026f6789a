"""The input frames the ML code reads, with the columns it needs from each mart.

Checked up front so that a missing mart or a renamed column fails with a message that names
the mart and the column, not with a Polars error deep inside feature engineering.
"""

from __future__ import annotations

import polars as pl

# name in the frames dict -> (mart, required columns, optional?)
INPUTS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "advertiser_daily": (
        "marts.fct_advertiser_daily",
        (
            "day", "advertiser_id", "clean_clicks", "conversions", "approved", "pending",
            "rejected", "trash", "revenue", "margin", "offers_live", "offers_active",
            "offers_paused", "offers_stopped", "avg_cap_utilisation",
        ),
        False,
    ),
    "advertisers": (
        "marts.dim_advertisers", ("advertiser_id", "main_category"), False,
    ),
    "crm_activity": (
        "marts.fct_crm_activity_daily",
        ("day", "advertiser_id", "activities", "tickets", "outbound", "inbound"),
        True,
    ),
    "tier_daily": (
        "marts.fct_advertiser_tier_daily",
        ("day", "advertiser_id", "revenue_90d", "revenue_prev_90d", "tier"),
        True,
    ),
    # All invoices (latest version, void excluded), paid or not: the debt at a past snapshot
    # is rebuilt from these and the dated payments (fct_receivables holds open ones only and
    # its `paid` is as of today, which would leak the future into past snapshots).
    "receivables": (
        "marts.fct_invoices",
        ("invoice_number", "advertiser_id", "invoice_date", "due_date", "amount_total"),
        True,
    ),
    "payments": (
        "marts.fct_payments", ("advertiser_id", "invoice_number", "payment_date", "amount"), True,
    ),
    "category_daily": (
        "marts.fct_category_daily",
        ("day", "category", "clean_clicks", "approved", "pending", "revenue", "hold_revenue"),
        False,
    ),
}


# Where a mart does not exist (yet), the same columns from another relation of the dbt project.
FALLBACKS: dict[str, str] = {
    "payments": (
        "select advertiser_id, applied_invoice_number as invoice_number, payment_date, "
        "amount_in_invoice_currency as amount from intermediate.int_payments "
        "where applied_invoice_number is not null"
    ),
}
FALLBACK_RELATIONS = {"payments": "intermediate.int_payments"}


class InputError(ValueError):
    """An input mart is missing or lacks a column; the message names both and the fix."""


def check_frame(name: str, frame: pl.DataFrame | None) -> None:
    """Raise InputError when a required frame is missing or any needed column is absent."""
    mart, columns, optional = INPUTS[name]
    if frame is None:
        if optional:
            return
        raise InputError(
            f"{mart} is missing: the ML step needs it. Run the dbt build (dbt build in "
            f"dbt_project/) before the ML assets."
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{mart} lacks column(s) {', '.join(missing)} that the ML step reads "
            f"(contract: interfaces.md section 3). Rebuild the marts or update ml/frames.py."
        )
