"""`make demo`: the whole pipeline, end to end, on the bundled sample network.

Generates the sample world if the landing folder is empty, then runs the `full_pipeline` job
over every day in the landing folder as ONE Dagster run (a single-run backfill), in a
persistent Dagster instance under the data folder, so `dagster dev` afterwards shows the run,
the materializations and the checks. Ends with a summary of what landed where.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import dagster as dg

from ingest.settings import load_settings

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def ensure_dagster_home(data_dir: Path) -> Path:
    """A Dagster instance beside the warehouse, with one run at a time (DuckDB has one writer)."""
    home = Path(os.environ.get("DAGSTER_HOME") or data_dir / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(
            (Path(__file__).parent / "dagster.yaml").read_text(encoding="utf-8"), encoding="utf-8"
        )
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def ensure_sample_world(landing: Path) -> None:
    if landing.exists() and any(landing.rglob("*.*")):
        print(f"Landing folder {landing} already has files: using them.")
        return
    from ingest.sample_world import WorldConfig, generate

    print(f"Generating the sample network into {landing.parent} …")
    started = time.perf_counter()
    summary = generate(WorldConfig.from_scale("demo", defects=True), landing.parent)
    print(f"  {summary} in {time.perf_counter() - started:.1f} s")


def landing_day_range(landing: Path) -> tuple[str, str]:
    from ingest.pipeline import landing_files
    from ingest.settings import load_settings as _load

    days = sorted(
        f.day.isoformat()
        for source in ("clicks", "conversions")
        for f in landing_files(_load(), source)
        if f.day is not None
    )
    if not days:
        sys.exit(f"No daily tracker files under {landing}/tracker: nothing to run.")
    return days[0], days[-1]


def main() -> int:
    settings = load_settings()
    started = time.perf_counter()
    ensure_dagster_home(settings.paths.data)
    ensure_sample_world(settings.paths.landing)
    first, last = landing_day_range(settings.paths.landing)

    from orchestration.definitions import defs

    job = defs.resolve_job_def("full_pipeline")
    print(f"Running full_pipeline for {first} … {last} in one Dagster run …")
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance, tags={RANGE_START: first, RANGE_END: last}, raise_on_error=False
        )
    from orchestration.summary import print_summary

    print_summary(settings, elapsed_s=time.perf_counter() - started)
    if not result.success:
        print("The run failed: see the log above, or `make dev` and open the run in the UI.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
