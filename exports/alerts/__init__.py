"""Alert feeds: rules (docs/metrics.md) -> history -> per-lead feeds -> webhook and e-mail.

The lead's Dagster assets call, in order, :func:`evaluate_alerts`, :func:`record_alerts`,
:func:`write_feeds` and :func:`deliver_feeds` — or :func:`run_alert_cycle`, which does all four.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from exports.alerts.delivery import DeliveryReport, deliver_feeds
from exports.alerts.evaluate import UNASSIGNED_LEAD, Evaluation, evaluate_alerts
from exports.alerts.feeds import FeedSet, write_feeds
from exports.alerts.history import record_alerts, run_alerts
from exports.alerts.notify import notify_run_failure
from exports.alerts.routing import Recipient, load_recipients
from exports.alerts.rules import RULES
from exports.alerts.transport import DeliveryConfig, verify_signature
from ingest.settings import Settings

__all__ = [
    "RULES",
    "UNASSIGNED_LEAD",
    "AlertCycle",
    "DeliveryConfig",
    "DeliveryReport",
    "Evaluation",
    "FeedSet",
    "Recipient",
    "deliver_feeds",
    "evaluate_alerts",
    "load_recipients",
    "notify_run_failure",
    "record_alerts",
    "run_alert_cycle",
    "run_alerts",
    "team_leads",
    "verify_signature",
    "write_feeds",
]


@dataclass(frozen=True)
class AlertCycle:
    evaluation: Evaluation
    feeds: FeedSet
    delivery: DeliveryReport


def team_leads(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every team lead in the CRM, so that each gets a feed even on a quiet day."""
    rows = con.execute(
        "SELECT DISTINCT team_lead_id::VARCHAR FROM marts.dim_advertisers "
        "WHERE team_lead_id IS NOT NULL ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def run_alert_cycle(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    *,
    run_id: str,
    deliver: bool = True,
    config: DeliveryConfig | None = None,
    recipients: dict[str, Recipient] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> AlertCycle:
    """Evaluate, record, write feeds and deliver, for one pipeline run (``con`` writable).

    ``config``/``recipients`` default to the environment and the routing file.
    """
    evaluation = evaluate_alerts(con, settings)
    current = record_alerts(con, evaluation, run_id=run_id)
    feeds = write_feeds(settings, current, run_id=run_id, leads=team_leads(con))
    report = DeliveryReport()
    if deliver:
        report = deliver_feeds(
            settings, feeds, con=con, config=config, recipients=recipients, sleep=sleep
        )
    return AlertCycle(evaluation, feeds, report)
