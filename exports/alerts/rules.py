"""The alert rules of docs/metrics.md, one SQL query per rule over the marts.

Every rule returns the same shape (:data:`ALERT_COLUMNS`): the subject it is about, the
advertiser that owns the subject (for routing), a *period* that together with rule and subject
makes the stable alert key, a severity, and ``metrics``: a JSON object with the numbers that
fired it (texts and feeds are rendered from these, in either language).

The period is chosen so that a condition that persists keeps one key:
- empty for continuing states (churn risk, overdue debt, margin drop, needs traffic, promotion
  candidate): the alert lives as long as the state and resolves when it clears;
- the natural occasion where there is one: the first day of a traffic stop, the launch day of a
  stalled launch, the invoice period of a reconciliation gap, the day and tiers of a tier change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from ingest.settings import AlertSettings

ALERT_COLUMNS = ["subject_type", "subject_id", "advertiser_id", "period", "severity", "metrics"]
ALERT_SCHEMA = {c: pl.String for c in ALERT_COLUMNS}


@dataclass(frozen=True)
class Rule:
    name: str
    requires: tuple[str, ...]  # "schema.table" the rule reads; missing -> the rule is skipped
    query: Callable[[duckdb.DuckDBPyConnection, AlertSettings, date], pl.DataFrame]


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> pl.DataFrame:
    rows = con.execute(sql, params).fetchall()
    return pl.DataFrame(rows, schema=ALERT_SCHEMA, orient="row")


def churn_risk(con: duckdb.DuckDBPyConnection, cfg: AlertSettings, as_of: date) -> pl.DataFrame:
    """Advertisers whose latest churn score is at or above the threshold."""
    high = (1 + cfg.churn_threshold) / 2
    return _frame(
        con,
        """
        WITH latest AS (
            SELECT * FROM ml.churn_scores
            WHERE score_date = (SELECT max(score_date) FROM ml.churn_scores
                                WHERE score_date <= $as_of + 1)
            QUALIFY row_number() OVER (PARTITION BY advertiser_id ORDER BY model_version DESC) = 1
        )
        SELECT 'advertiser', advertiser_id::VARCHAR, advertiser_id::VARCHAR, '',
               CASE WHEN churn_probability >= $high THEN 'high' ELSE 'medium' END,
               to_json({'churn_probability': round(churn_probability, 3),
                        'threshold': $threshold, 'risk_group': risk_group,
                        'reasons': list_filter([reason_1, reason_2, reason_3],
                                               lambda x: x IS NOT NULL),
                        'score_date': score_date, 'model_version': model_version})::VARCHAR
        FROM latest WHERE churn_probability >= $threshold
        """,
        {"as_of": as_of, "high": high, "threshold": cfg.churn_threshold},
    )


def traffic_stop(con: duckdb.DuckDBPyConnection, cfg: AlertSettings, as_of: date) -> pl.DataFrame:
    """Advertisers averaging >= N conversions a day over the 28 days before the last
    ``traffic_stop_days`` days, and with none in those days (non-trash conversions)."""
    return _frame(
        con,
        """
        WITH w AS (
            SELECT advertiser_id,
                   coalesce(sum(conversions) FILTER (WHERE day > $as_of - $days), 0) AS recent,
                   coalesce(sum(conversions) FILTER (WHERE day <= $as_of - $days), 0) AS base
            FROM marts.fct_advertiser_daily
            WHERE day BETWEEN $as_of - ($days + 27) AND $as_of
            GROUP BY advertiser_id
        ), last_conv AS (
            SELECT advertiser_id, max(day) AS last_day FROM marts.fct_advertiser_daily
            WHERE conversions > 0 AND day <= $as_of GROUP BY advertiser_id
        )
        SELECT 'advertiser', w.advertiser_id::VARCHAR, w.advertiser_id::VARCHAR,
               strftime(l.last_day + 1, '%Y-%m-%d'), 'high',
               to_json({'avg_daily_conversions_28d': round(base / 28.0, 2),
                        'min_avg_daily_conversions': $min_daily,
                        'days_without_conversions': $as_of - l.last_day,
                        'last_conversion_day': l.last_day})::VARCHAR
        FROM w JOIN last_conv l USING (advertiser_id)
        WHERE w.recent = 0 AND w.base / 28.0 >= $min_daily
        """,
        {
            "as_of": as_of,
            "days": cfg.traffic_stop_days,
            "min_daily": cfg.traffic_stop_min_daily_conversions,
        },
    )


def margin_drop(con: duckdb.DuckDBPyConnection, cfg: AlertSettings, as_of: date) -> pl.DataFrame:
    """Offers whose margin % over the last 7 days is >= N points below the 28 days before, or
    whose margin over the last 7 days is negative."""
    return _frame(
        con,
        """
        WITH w AS (
            SELECT offer_id, any_value(advertiser_id) AS advertiser_id,
                   coalesce(sum(revenue) FILTER (WHERE day > $as_of - 7), 0) AS rev7,
                   coalesce(sum(margin) FILTER (WHERE day > $as_of - 7), 0) AS m7,
                   coalesce(sum(revenue) FILTER (WHERE day <= $as_of - 7), 0) AS rev28,
                   coalesce(sum(margin) FILTER (WHERE day <= $as_of - 7), 0) AS m28
            FROM marts.fct_offer_daily
            WHERE day BETWEEN $as_of - 34 AND $as_of
            GROUP BY offer_id
        ), x AS (
            SELECT *, CASE WHEN rev7 > 0 THEN m7 / rev7 END AS pct7,
                      CASE WHEN rev28 > 0 THEN m28 / rev28 END AS pct28
            FROM w
        )
        SELECT 'offer', offer_id::VARCHAR, advertiser_id::VARCHAR, '',
               CASE WHEN m7 < 0 THEN 'high' ELSE 'medium' END,
               to_json({'margin_pct_7d': round(pct7 * 100, 1),
                        'margin_pct_prev_28d': round(pct28 * 100, 1),
                        'drop_points': round((pct28 - pct7) * 100, 1),
                        'threshold_points': $points,
                        'margin_7d': round(m7, 2), 'revenue_7d': round(rev7, 2),
                        'negative_margin': m7 < 0})::VARCHAR
        FROM x
        WHERE m7 < 0 OR (pct7 IS NOT NULL AND pct28 IS NOT NULL AND (pct28 - pct7) * 100 >= $points)
        """,
        {"as_of": as_of, "points": cfg.margin_drop_points},
    )


def needs_traffic(con: duckdb.DuckDBPyConnection, cfg: AlertSettings, as_of: date) -> pl.DataFrame:
    """Offers on the latest weekly needs-traffic list (the list itself is the mart)."""
    return _frame(
        con,
        """
        WITH latest AS (
            SELECT * FROM marts.offers_needing_traffic
            WHERE week_start = (SELECT max(week_start) FROM marts.offers_needing_traffic
                                WHERE week_start <= $as_of)
            QUALIFY row_number() OVER (PARTITION BY offer_id ORDER BY reason) = 1
        )
        SELECT 'offer', offer_id::VARCHAR, advertiser_id::VARCHAR, '', 'low',
               to_json({'week_start': week_start, 'reason': reason,
                        'avg_cap_utilisation_pct': round(avg_cap_utilisation * 100, 1),
                        'clean_clicks_7d': clean_clicks_7d,
                        'clean_clicks_prev_28d': clean_clicks_prev_28d})::VARCHAR
        FROM latest
        """,
        {"as_of": as_of},
    )


def launch_stalled(con: duckdb.DuckDBPyConnection, cfg: AlertSettings, as_of: date) -> pl.DataFrame:
    """Offers launched N or more days ago without any approved or pending conversion.
    Stopped offers are left out: they are no longer a launch anyone can rescue."""
    return _frame(
        con,
        """
        WITH f AS (
            SELECT offer_id, sum(approved + pending) AS approved_or_pending,
                   sum(clean_clicks) AS clean_clicks
            FROM marts.fct_offer_daily WHERE day <= $as_of GROUP BY offer_id
        )
        SELECT 'offer', o.offer_id::VARCHAR, o.advertiser_id::VARCHAR,
               strftime(o.launch_day, '%Y-%m-%d'), 'medium',
               to_json({'launch_day': o.launch_day, 'days_since_launch': $as_of - o.launch_day,
                        'min_days': $days, 'clean_clicks_since_launch': coalesce(f.clean_clicks, 0),
                        'status': o.status})::VARCHAR
        FROM marts.dim_offers o LEFT JOIN f USING (offer_id)
        WHERE o.launch_day IS NOT NULL AND o.launch_day <= $as_of - $days
          AND coalesce(f.approved_or_pending, 0) = 0
          AND coalesce(o.status, '') <> 'stopped'
        """,
        {"as_of": as_of, "days": cfg.launch_stalled_days},
    )


def overdue_debt(con: duckdb.DuckDBPyConnection, cfg: AlertSettings, as_of: date) -> pl.DataFrame:
    """Advertisers owing more than N RUB that is M+ days past due (as of the last reporting day)."""
    return _frame(
        con,
        """
        SELECT 'advertiser', advertiser_id::VARCHAR, advertiser_id::VARCHAR, '',
               CASE WHEN max(days_past_due) >= 90 THEN 'high' ELSE 'medium' END,
               to_json({'overdue_rub': round(sum(receivable_rub), 2), 'threshold_rub': $rub,
                        'invoices': count(*), 'max_days_past_due': max(days_past_due),
                        'invoice_numbers': (list(invoice_number ORDER BY days_past_due DESC))[1:10]
                       })::VARCHAR
        FROM marts.fct_receivables
        WHERE days_past_due >= $days AND receivable_rub > 0
        GROUP BY advertiser_id
        HAVING sum(receivable_rub) > $rub
        """,
        {"rub": cfg.overdue_debt_rub, "days": cfg.overdue_debt_days},
    )


def reconciliation_gap(
    con: duckdb.DuckDBPyConnection, cfg: AlertSettings, as_of: date
) -> pl.DataFrame:
    """Advertiser invoice periods the reconciliation mart marks as a discrepancy."""
    return _frame(
        con,
        """
        SELECT 'advertiser', advertiser_id::VARCHAR, advertiser_id::VARCHAR,
               strftime(period_from, '%Y-%m-%d') || '..' || strftime(period_to, '%Y-%m-%d'),
               'medium',
               to_json({'period_from': period_from, 'period_to': period_to,
                        'tracker_revenue': round(tracker_revenue, 2),
                        'invoiced_net': round(invoiced_net, 2), 'gap': round(gap, 2),
                        'gap_pct': round(gap_share * 100, 1)})::VARCHAR
        FROM marts.fct_reconciliation WHERE is_discrepancy
        """,
        [],
    )


def tier_change(con: duckdb.DuckDBPyConnection, cfg: AlertSettings, as_of: date) -> pl.DataFrame:
    """Tier moves in the last N days (one alert per move) and current promotion candidates."""
    return _frame(
        con,
        """
        SELECT 'advertiser', advertiser_id::VARCHAR, advertiser_id::VARCHAR,
               strftime(day, '%Y-%m-%d') || ':' || previous_tier || '->' || tier,
               CASE WHEN tier > previous_tier THEN 'medium' ELSE 'low' END,
               to_json({'kind': 'tier_change', 'day': day, 'previous_tier': previous_tier,
                        'tier': tier, 'revenue_90d': round(revenue_90d, 2),
                        'revenue_prev_90d': round(revenue_prev_90d, 2)})::VARCHAR
        FROM marts.fct_advertiser_tier_daily
        WHERE tier_changed AND previous_tier IS NOT NULL
          AND day > $as_of - $lookback AND day <= $as_of
        UNION ALL
        SELECT 'advertiser', advertiser_id::VARCHAR, advertiser_id::VARCHAR,
               'promotion_candidate', 'low',
               to_json({'kind': 'promotion_candidate', 'day': day, 'previous_tier': previous_tier,
                        'tier': tier, 'revenue_90d': round(revenue_90d, 2),
                        'revenue_prev_90d': round(revenue_prev_90d, 2),
                        'growth_pct':
                            round((revenue_90d / nullif(revenue_prev_90d, 0) - 1) * 100, 1)
                       })::VARCHAR
        FROM marts.fct_advertiser_tier_daily
        WHERE is_promotion_candidate AND day = $as_of
        """,
        {"as_of": as_of, "lookback": cfg.tier_change_lookback_days},
    )


RULES: dict[str, Rule] = {
    r.name: r
    for r in (
        Rule("churn_risk", ("ml.churn_scores",), churn_risk),
        Rule("traffic_stop", ("marts.fct_advertiser_daily",), traffic_stop),
        Rule("margin_drop", ("marts.fct_offer_daily",), margin_drop),
        Rule("needs_traffic", ("marts.offers_needing_traffic",), needs_traffic),
        Rule("launch_stalled", ("marts.dim_offers", "marts.fct_offer_daily"), launch_stalled),
        Rule("overdue_debt", ("marts.fct_receivables",), overdue_debt),
        Rule("reconciliation_gap", ("marts.fct_reconciliation",), reconciliation_gap),
        Rule("tier_change", ("marts.fct_advertiser_tier_daily",), tier_change),
    )
}
