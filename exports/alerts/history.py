"""The alert history: one row per occurrence of an alert key, with first/last seen and resolved.

Decisions (documented in docs/bi.md):
- An alert *key* is rule + subject + period. While the condition holds at every run, the key
  has one open occurrence whose ``last_seen_*`` moves forward: it is *ongoing*, not re-sent.
- When a run evaluates the rule and the key is absent, the occurrence is *resolved* in that run.
- If the key fires again later, a *new occurrence* opens (``occurrence`` + 1, its own
  ``alert_id`` = key#occurrence) and is delivered as new: the client's problem came back.
- A rule that could not be evaluated in a run (input missing) resolves nothing.
- Recording the same ``run_id`` again (a retried Dagster step) first undoes that run's own
  effects, so the table ends as if the run had been recorded once.
All of a run's changes are one transaction: a crash leaves the previous state.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import polars as pl

from exports.alerts.evaluate import Evaluation
from exports.db import query_pl

HISTORY_DDL = """
CREATE SCHEMA IF NOT EXISTS alerts;
CREATE TABLE IF NOT EXISTS alerts.alert_history (
    alert_id VARCHAR NOT NULL,          -- alert_key || '#' || occurrence
    alert_key VARCHAR NOT NULL,         -- rule:subject_type:subject_id[:period]
    occurrence INTEGER NOT NULL,
    rule VARCHAR NOT NULL,
    subject_type VARCHAR NOT NULL,
    subject_id VARCHAR NOT NULL,
    advertiser_id VARCHAR,
    company_name VARCHAR,
    period VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    metrics VARCHAR NOT NULL,           -- JSON: the numbers that fired it (latest sighting)
    account_manager_id VARCHAR,
    team_lead_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,            -- 'open' | 'resolved'
    first_seen_at TIMESTAMPTZ NOT NULL,
    first_seen_day DATE NOT NULL,
    first_seen_run VARCHAR NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    last_seen_day DATE NOT NULL,
    last_seen_run VARCHAR NOT NULL,
    resolved_at TIMESTAMPTZ,
    resolved_day DATE,
    resolved_run VARCHAR
);
CREATE TABLE IF NOT EXISTS alerts.alert_runs (
    run_id VARCHAR NOT NULL,
    as_of DATE NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    evaluated_rules VARCHAR NOT NULL,   -- JSON list
    skipped_rules VARCHAR NOT NULL,     -- JSON object rule -> reason
    alerts_current INTEGER NOT NULL
);
"""


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(HISTORY_DDL)


def record_alerts(
    con: duckdb.DuckDBPyConnection,
    evaluation: Evaluation,
    *,
    run_id: str,
    now: datetime | None = None,
) -> pl.DataFrame:
    """Merge a run's evaluation into ``alerts.alert_history``; return :func:`run_alerts`."""
    ensure_tables(con)
    now = now or datetime.now(UTC)
    cur = evaluation.alerts
    con.register("_cpa_current", cur.to_arrow())
    params = {
        "run": run_id,
        "now": now,
        "day": evaluation.as_of,
        "rules": list(evaluation.evaluated),
    }
    con.execute("BEGIN TRANSACTION")
    try:
        # 0. A retried run: undo its own resolutions and its own openings that no longer hold.
        con.execute(
            """
            UPDATE alerts.alert_history h SET status = 'open', resolved_at = NULL,
                   resolved_day = NULL, resolved_run = NULL
            WHERE resolved_run = $run AND NOT EXISTS (
                SELECT 1 FROM alerts.alert_history h2
                WHERE h2.alert_key = h.alert_key AND h2.occurrence > h.occurrence)
            """,
            {"run": run_id},
        )
        con.execute(
            """
            DELETE FROM alerts.alert_history
            WHERE first_seen_run = $run AND list_contains($rules::VARCHAR[], rule)
              AND alert_key NOT IN (SELECT alert_key FROM _cpa_current)
            """,
            {"run": run_id, "rules": params["rules"]},
        )
        # 1. Still firing: the open occurrence is seen again, with the latest numbers and owner.
        con.execute(
            """
            UPDATE alerts.alert_history h SET last_seen_at = $now, last_seen_day = $day,
                   last_seen_run = $run, metrics = c.metrics, severity = c.severity,
                   company_name = c.company_name, account_manager_id = c.account_manager_id,
                   team_lead_id = c.team_lead_id, advertiser_id = c.advertiser_id
            FROM _cpa_current c
            WHERE h.alert_key = c.alert_key AND h.status = 'open'
            """,
            {"now": now, "day": evaluation.as_of, "run": run_id},
        )
        # 2. Firing with no open occurrence: a new one (the first, or a re-opening).
        con.execute(
            """
            INSERT INTO alerts.alert_history
            SELECT c.alert_key || '#' || (coalesce(p.n, 0) + 1), c.alert_key, coalesce(p.n, 0) + 1,
                   c.rule, c.subject_type, c.subject_id, c.advertiser_id, c.company_name,
                   c.period, c.severity, c.metrics, c.account_manager_id, c.team_lead_id, 'open',
                   $now, $day, $run, $now, $day, $run, NULL, NULL, NULL
            FROM _cpa_current c
            LEFT JOIN (SELECT alert_key, max(occurrence) AS n FROM alerts.alert_history
                       GROUP BY alert_key) p USING (alert_key)
            WHERE NOT EXISTS (SELECT 1 FROM alerts.alert_history h
                              WHERE h.alert_key = c.alert_key AND h.status = 'open')
            """,
            {"now": now, "day": evaluation.as_of, "run": run_id},
        )
        # 3. Evaluated and no longer firing: resolved.
        con.execute(
            """
            UPDATE alerts.alert_history SET status = 'resolved', resolved_at = $now,
                   resolved_day = $day, resolved_run = $run
            WHERE status = 'open' AND list_contains($rules::VARCHAR[], rule)
              AND alert_key NOT IN (SELECT alert_key FROM _cpa_current)
            """,
            params,
        )
        con.execute("DELETE FROM alerts.alert_runs WHERE run_id = ?", [run_id])
        con.execute(
            "INSERT INTO alerts.alert_runs VALUES (?, ?, ?, ?, ?, ?)",
            [
                run_id,
                evaluation.as_of,
                now,
                json.dumps(list(evaluation.evaluated)),
                json.dumps(evaluation.skipped, sort_keys=True),
                cur.height,
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_cpa_current")
    return run_alerts(con, run_id)


def run_alerts(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    """The alerts as a run leaves them: every open occurrence plus those resolved in the run,
    with ``change`` = 'new' (opened in this run) | 'ongoing' | 'resolved' (in this run)."""
    return query_pl(
        con,
        """
        SELECT *, CASE WHEN resolved_run = $run THEN 'resolved'
                       WHEN first_seen_run = $run THEN 'new' ELSE 'ongoing' END AS change
        FROM alerts.alert_history
        WHERE status = 'open' OR resolved_run = $run
        ORDER BY team_lead_id, alert_id
        """,
        {"run": run_id},
    )
