"""Partitions of the tracker facts: one per UTC day, the day each export file covers."""

from __future__ import annotations

import dagster as dg

from ingest.settings import load_settings

daily_file_partitions = dg.DailyPartitionsDefinition(
    start_date=load_settings().ingest.partitions_start,
    timezone="UTC",
    end_offset=1,
)
