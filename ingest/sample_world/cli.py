"""Command line: generate a sample world into a folder (see `--help`)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from .config import SCALES, WorldConfig
from .generate import generate


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ingest.sample_world",
        description="Generate a deterministic sample CPA network: DIR/landing (the exports the "
        "pipeline reads) and DIR/truth (what was planted, for tests).",
    )
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        help="output folder (landing/ and truth/ inside are replaced)",
    )
    p.add_argument(
        "--scale", default="tiny", choices=list(SCALES), help="preset size (default: tiny)"
    )
    p.add_argument("--clicks-per-day", type=int, help="override the preset's clicks per day")
    p.add_argument("--start", type=date.fromisoformat, help="first UTC day (default 2024-10-01)")
    p.add_argument("--days", type=int, help="days of history (default 730)")
    p.add_argument("--advertisers", type=int, help="number of advertisers")
    p.add_argument("--publishers", type=int, help="number of publishers")
    p.add_argument("--seed", type=int, help="random seed (default 42)")
    p.add_argument("--defects", action="store_true", help="inject the exporters' misbehaviours")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        cfg = WorldConfig.from_scale(
            args.scale,
            clicks_per_day=args.clicks_per_day,
            start=args.start,
            days=args.days,
            advertisers=args.advertisers,
            publishers=args.publishers,
            seed=args.seed,
            defects=args.defects or None,
        )
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    s = generate(cfg, args.out)
    rate = s.counts["clicks"] / max(s.seconds, 1e-9)
    print(
        f"wrote {s.files} files to {args.out}/landing ({cfg.start} .. {cfg.end}, seed {cfg.seed})"
    )
    for k, v in s.counts.items():
        print(f"  {k:<18} {v:>12,}")
    print(f"  defects injected   {s.defects:>12,}")
    print(f"  generated in {s.seconds:.1f} s ({rate:,.0f} clicks/s)")
    return 0
