"""Command line for operators: publish the BI snapshot or run the alert cycle by hand.

    python -m exports.cli publish [--run-id R]
    python -m exports.cli alerts --run-id R [--no-deliver]

The orchestrator calls the same functions (see docs/bi.md, "For the orchestrator").
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime

from exports.alerts import run_alert_cycle
from exports.publish import publish
from ingest.settings import load_settings
from ingest.warehouse import connect


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m exports.cli", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--config", help="settings file (default: CPA_CONFIG or cpa.toml)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("publish", help="publish marts/ml/alerts for BI (atomic swap)")
    p.add_argument("--run-id", default=None)
    a = sub.add_parser("alerts", help="evaluate, record, write feeds and deliver")
    a.add_argument("--run-id", default=f"manual-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
    a.add_argument("--no-deliver", action="store_true", help="write feeds only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = load_settings(args.config)
    if args.command == "publish":
        result = publish(settings, run_id=args.run_id)
        print(
            f"published version {result.version}: {len(result.tables)} tables -> {result.snapshot}"
        )
        for table, rows in sorted(result.tables.items()):
            print(f"  {table:<45} {rows:>12,}")
        return 0
    with connect(settings) as con:
        cycle = run_alert_cycle(con, settings, run_id=args.run_id, deliver=not args.no_deliver)
    ev = cycle.evaluation
    print(
        f"alerts as of {ev.as_of}: {ev.alerts.height} firing; skipped rules: {ev.skipped or 'none'}"
    )
    for lead, feed in sorted(cycle.feeds.leads.items()):
        print(f"  lead {lead:<14} {feed.counts}  {feed.directory}")
    report = cycle.delivery
    print(
        f"delivery: {len(report.delivered)} delivered, {len(report.failed)} failed, "
        f"{len(report.skipped)} skipped"
    )
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
