"""Evaluating every alert rule as of the last reporting day, and routing each alert.

A rule whose input table is missing (say, ML has not scored yet) is *skipped*, not failed and
not empty: an empty result would resolve its open alerts, which would be a lie.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import duckdb
import polars as pl

from exports.alerts.rules import ALERT_COLUMNS, RULES
from exports.db import query_pl
from ingest.settings import Settings

log = logging.getLogger(__name__)

UNASSIGNED_LEAD = "_unassigned"  # alerts whose advertiser has no team lead in the CRM
EVALUATED_COLUMNS = [
    "alert_key",
    "rule",
    *ALERT_COLUMNS,
    "company_name",
    "account_manager_id",
    "team_lead_id",
    "as_of",
]


class AlertInputError(RuntimeError):
    """The marts the alerts need are missing; the message says which and what to run."""


@dataclass(frozen=True)
class Evaluation:
    as_of: date
    alerts: pl.DataFrame  # EVALUATED_COLUMNS, one row per alert key
    evaluated: tuple[str, ...]
    skipped: dict[str, str] = field(default_factory=dict)  # rule -> why


def _existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database()"
    ).fetchall()
    return {r[0] for r in rows}


def last_reporting_day(con: duckdb.DuckDBPyConnection) -> date:
    """The day the alerts are evaluated as of: the newest day of the advertiser mart."""
    day = con.execute("SELECT max(day) FROM marts.fct_advertiser_daily").fetchall()[0][0]
    if day is None:
        raise AlertInputError("marts.fct_advertiser_daily is empty: run ingestion and dbt first.")
    return day


def alert_key(rule: str, subject_type: str, subject_id: str, period: str) -> str:
    """rule:subject_type:subject_id[:period] — stable across runs while the condition persists."""
    base = f"{rule}:{subject_type}:{subject_id}"
    return f"{base}:{period}" if period else base


def evaluate_alerts(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    *,
    as_of: date | None = None,
    rules: list[str] | None = None,
) -> Evaluation:
    """Run every rule (or the named ones) over the marts and route the alerts to their owners."""
    tables = _existing_tables(con)
    needed = {"marts.fct_advertiser_daily", "marts.dim_advertisers", "marts.dim_managers"}
    missing = sorted(needed - tables)
    if missing:
        raise AlertInputError(
            f"cannot evaluate alerts: {', '.join(missing)} missing from "
            f"{settings.paths.warehouse_file}. Build the marts (dbt build) first."
        )
    day = as_of or last_reporting_day(con)
    names = rules or list(RULES)
    unknown = sorted(set(names) - set(RULES))
    if unknown:
        raise ValueError(f"unknown alert rule(s) {unknown}; known: {', '.join(RULES)}")
    frames, evaluated, skipped = [], [], {}
    for name in names:
        rule = RULES[name]
        absent = [t for t in rule.requires if t not in tables]
        if absent:
            skipped[name] = f"input missing: {', '.join(absent)}"
            log.warning("alert rule %s skipped: %s", name, skipped[name])
            continue
        frame = rule.query(con, settings.alerts, day)
        frames.append(frame.with_columns(pl.lit(name).alias("rule")))
        evaluated.append(name)
    alerts = (
        pl.concat(frames)
        if frames
        else pl.DataFrame(schema={**{c: pl.String for c in ALERT_COLUMNS}, "rule": pl.String})
    )
    alerts = alerts.with_columns(
        pl.struct("rule", "subject_type", "subject_id", "period")
        .map_elements(
            lambda s: alert_key(s["rule"], s["subject_type"], s["subject_id"], s["period"]),
            return_dtype=pl.String,
        )
        .alias("alert_key")
    ).unique("alert_key", keep="first", maintain_order=True)
    routed = _route(con, alerts, with_offers="marts.dim_offers" in tables)
    routed = routed.with_columns(pl.lit(day).alias("as_of"))
    return Evaluation(day, routed.select(EVALUATED_COLUMNS), tuple(evaluated), skipped)


def _route(
    con: duckdb.DuckDBPyConnection, alerts: pl.DataFrame, *, with_offers: bool
) -> pl.DataFrame:
    """Owner of each alert from the CRM: the advertiser's account manager and team lead.

    The team lead comes from the advertiser; failing that, from the manager's own lead; a lead
    who manages clients personally leads them too. No lead at all -> ``_unassigned`` (ops).
    Offer alerts also get the offer's title into their metrics, so that a person recognises it.
    """
    offers = (
        "LEFT JOIN marts.dim_offers o ON a.subject_type = 'offer' "
        "AND o.offer_id::VARCHAR = a.subject_id"
        if with_offers
        else "LEFT JOIN (SELECT NULL::VARCHAR AS title) o ON false"
    )
    con.register("_cpa_alerts_to_route", alerts.to_arrow())
    try:
        rows = query_pl(
            con,
            f"""
            SELECT a.* EXCLUDE (metrics),
                   CASE WHEN o.title IS NULL THEN a.metrics
                        ELSE json_merge_patch(a.metrics,
                                              json_object('offer_title', o.title))::VARCHAR
                   END AS metrics,
                   d.company_name::VARCHAR AS company_name,
                   d.account_manager_id::VARCHAR AS account_manager_id,
                   coalesce(d.team_lead_id::VARCHAR, m.team_lead_id::VARCHAR,
                            CASE WHEN m.role ILIKE '%lead%' THEN m.manager_id::VARCHAR END,
                            ?) AS team_lead_id
            FROM _cpa_alerts_to_route a
            LEFT JOIN marts.dim_advertisers d ON d.advertiser_id::VARCHAR = a.advertiser_id
            LEFT JOIN marts.dim_managers m ON m.manager_id = d.account_manager_id
            {offers}
            """,
            [UNASSIGNED_LEAD],
        )
    finally:
        con.unregister("_cpa_alerts_to_route")
    return rows
