"""``python -m ingest.quality``: run the data-quality checks without Dagster and print them.

For a data engineer checking a warehouse by hand (after ``python -m ingest.cli``), or a cron
job: the exit status is 0 if every checked source passed or only has findings (WARN), 1 if a
contract is broken (ERROR), 2 for a configuration or usage error.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from ingest.quality.contracts import CONTRACTS
from ingest.settings import ConfigError, load_settings


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day like 2026-11-24") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest.quality", description=__doc__)
    parser.add_argument("--source", action="append", choices=list(CONTRACTS),
                        help="check this source (repeatable; default: all twelve)")
    parser.add_argument("--day", action="append", type=_day,
                        help="clicks/conversions: check only this UTC day's partition "
                             "(repeatable; default: every day)")
    parser.add_argument("--config", help="settings file (default: CPA_CONFIG or cpa.toml)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not settings.paths.warehouse_file.exists():
        print(f"error: no warehouse at {settings.paths.warehouse_file}: run "
              "`python -m ingest.cli` first (or point CPA_DATA_DIR / --config at it)",
              file=sys.stderr)
        return 2

    from ingest.quality.runner import run_source_checks
    from ingest.warehouse import connect

    con = connect(settings, read_only=True)
    broken = False
    try:
        for source in args.source or list(CONTRACTS):
            result = run_source_checks(settings, source, days=args.day, con=con)
            broken |= not result.passed and result.severity == "ERROR"
            print(result.markdown, end="\n\n")
    finally:
        con.close()
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
