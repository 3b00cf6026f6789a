"""The one `Definitions` of the platform: assets, checks, jobs, schedules, sensors, resources."""

from __future__ import annotations

import dagster as dg

from orchestration.assets.dbt import warehouse_dbt_assets
from orchestration.assets.delivery import alert_feeds, bi_snapshot, notify_on_run_failure
from orchestration.assets.ingestion import ingestion_assets, ingestion_checks
from orchestration.assets.ml import category_forecasts, churn_model, churn_scores
from orchestration.jobs import (
    churn_training,
    daily_pipeline,
    daily_schedule,
    full_pipeline,
    ingest_daily_files,
    ingest_other_files,
    landing_sensor,
    weekly_training_schedule,
)
from orchestration.resources import build_resources

defs = dg.Definitions(
    assets=[
        *ingestion_assets,
        warehouse_dbt_assets,
        churn_model,
        churn_scores,
        category_forecasts,
        alert_feeds,
        bi_snapshot,
    ],
    asset_checks=ingestion_checks,
    jobs=[full_pipeline, daily_pipeline, churn_training, ingest_daily_files, ingest_other_files],
    schedules=[daily_schedule, weekly_training_schedule],
    sensors=[landing_sensor, notify_on_run_failure],
    resources=build_resources(),
)
