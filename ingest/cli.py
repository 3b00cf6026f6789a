"""``python -m ingest.cli``: ingest the landing folder and print what happened per source."""

from __future__ import annotations

import argparse
import sys
import time

from ingest.settings import ConfigError, load_settings
from ingest.sources import ORDER


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", choices=ORDER, help="ingest one source only")
    parser.add_argument("--config", help="settings file (default: CPA_CONFIG or cpa.toml)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
        from ingest.pipeline import ingest_all, ingest_source

        started = time.perf_counter()
        reports = (
            [ingest_source(settings, args.source)] if args.source else ingest_all(settings)
        )
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    total = time.perf_counter() - started
    head = (f"{'source':<12} {'files':>5} {'same':>5} {'rejected':>8} {'read':>10} {'loaded':>10} "
            f"{'dedup':>8} {'quarant.':>8} {'released':>8} {'seconds':>8} {'rows/s':>10}")
    print(head)
    print("-" * len(head))
    for r in reports:
        rate = r.rows_read / r.seconds if r.seconds > 0 else 0.0
        same = sum(f.outcome == "identical_redelivery" for f in r.files)
        print(
            f"{r.source:<12} {len(r.files):>5} {same:>5} {len(r.rejected_files):>8} "
            f"{r.rows_read:>10} "
            f"{r.rows_loaded:>10} {r.rows_deduplicated:>8} {r.rows_quarantined:>8} "
            f"{r.released:>8} {r.seconds:>8.2f} {rate:>10.0f}"
        )
    for r in reports:
        for f in r.files:
            if f.outcome == "rejected":
                print(f"rejected {f.file_path}: {f.reason}: {f.detail}")
        for path in r.stray_files:
            print(f"stray file {path}: its name matches no source pattern")
        if r.extra_columns:
            print(f"{r.source}: extra columns accepted and ignored: {', '.join(r.extra_columns)}")
    print(f"total {total:.2f} s ('same': identical re-deliveries, nothing changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
