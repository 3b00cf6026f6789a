"""Jobs, the schedule and the landing-folder sensor."""

from __future__ import annotations

import hashlib
import json

import dagster as dg

from ingest.pipeline import SOURCES, landing_files
from ingest.settings import load_settings
from orchestration.partitions import daily_file_partitions

churn_training_selection = dg.AssetSelection.assets(dg.AssetKey(["ml", "churn_model"]))

full_pipeline = dg.define_asset_job(
    "full_pipeline",
    selection=dg.AssetSelection.all(),
    partitions_def=daily_file_partitions,
    description="Everything, training included (what `make demo` runs over the whole history).",
)

daily_pipeline = dg.define_asset_job(
    "daily_pipeline",
    selection=dg.AssetSelection.all() - churn_training_selection,
    partitions_def=daily_file_partitions,
    description="Everything for one UTC day: ingest its files and every new snapshot, build "
    "the marts, score with the latest churn model, forecast, deliver alerts and publish.",
)

churn_training = dg.define_asset_job(
    "churn_training",
    selection=churn_training_selection,
    description="Retrain and backtest the churn model (weekly).",
)

weekly_training_schedule = dg.ScheduleDefinition(
    job=churn_training, cron_schedule="0 4 * * 1", execution_timezone="UTC"
)

_daily_sources = [name for name, spec in SOURCES.items() if spec.target == "parquet"]
_other_sources = [name for name, spec in SOURCES.items() if spec.target != "parquet"]

ingest_daily_files = dg.define_asset_job(
    "ingest_daily_files",
    selection=dg.AssetSelection.assets(*[dg.AssetKey(["raw", s]) for s in _daily_sources]),
    partitions_def=daily_file_partitions,
    description="Ingest the daily tracker files of one UTC day (launched by the landing sensor).",
)

ingest_other_files = dg.define_asset_job(
    "ingest_other_files",
    selection=dg.AssetSelection.assets(*[dg.AssetKey(["raw", s]) for s in _other_sources]),
    description="Ingest new snapshots, billing and CRM files (launched by the landing sensor).",
)

daily_schedule = dg.build_schedule_from_partitioned_job(
    daily_pipeline,
    hour_of_day=3,
    minute_of_hour=0,
    description="Yesterday's UTC day, at 03:00 UTC.",
)


def _digest(items: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(items)).encode()).hexdigest()[:16]


@dg.sensor(
    jobs=[ingest_daily_files, ingest_other_files],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def landing_sensor(context: dg.SensorEvaluationContext):
    """Launch ingestion for the files that appeared or changed since the last tick.

    A changed daily file launches its own partition; changed snapshots, billing or CRM files
    launch one unpartitioned run of their sources.
    """
    settings = load_settings()
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    current: dict[str, str] = {}
    partitioned: dict[str, list[str]] = {}
    unpartitioned: list[str] = []
    for source, spec in SOURCES.items():
        for f in landing_files(settings, source):
            fingerprint = f"{f.size}:{f.mtime}"
            current[str(f.path)] = fingerprint
            if seen.get(str(f.path)) == fingerprint:
                continue
            change = f"{f.path}={fingerprint}"
            if spec.target == "parquet" and f.day is not None:
                partitioned.setdefault(f.day.isoformat(), []).append(change)
            else:
                unpartitioned.append(change)
    known_days = set(daily_file_partitions.get_partition_keys())
    for day, changes in sorted(partitioned.items()):
        if day not in known_days:
            context.log.warning(f"{day} is outside the partitions; see [ingest] partitions_start")
            continue
        yield dg.RunRequest(
            run_key=f"{day}:{_digest(changes)}", job_name=ingest_daily_files.name, partition_key=day
        )
    if unpartitioned:
        yield dg.RunRequest(
            run_key=f"other:{_digest(unpartitioned)}", job_name=ingest_other_files.name
        )
    context.update_cursor(json.dumps(current))
