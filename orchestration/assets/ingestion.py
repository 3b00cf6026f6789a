"""Ingestion assets: one per source of the contract, keyed `raw/<source>`.

dbt's sources carry the same keys, so the lineage from landing files to marts is continuous.
Clicks and conversion events are partitioned by the UTC day their file covers (backfillable
from the UI in a single run); snapshots, billing and CRM files are unpartitioned: each run
loads every new or changed file, which the manifest makes idempotent. The Great Expectations
check of each source sits next to it and blocks downstream assets when the contract is broken
beyond the configured threshold.
"""

from datetime import date

import dagster as dg

from ingest.pipeline import SOURCES, SourceReport, ingest_source
from orchestration.partitions import daily_file_partitions
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource


def _days(context: dg.AssetExecutionContext) -> list[date] | None:
    if not context.has_partition_key_range and not context.has_partition_key:
        return None
    return [date.fromisoformat(key) for key in context.partition_keys]


def _report_metadata(report: SourceReport) -> dict[str, dg.MetadataValue]:
    rows = [
        "| file | outcome | read | loaded | deduplicated | quarantined |",
        "|---|---|---:|---:|---:|---:|",
    ]
    rows += [
        f"| {f.file_path} | {f.outcome} | {f.rows_read} | {f.rows_loaded} | "
        f"{f.rows_deduplicated} | {f.rows_quarantined} |"
        for f in report.files[:200]
    ]
    if len(report.files) > 200:
        rows.append(f"| … {len(report.files) - 200} more files | | | | | |")
    return {
        "files": dg.MetadataValue.int(len(report.files)),
        "rows_read": dg.MetadataValue.int(report.rows_read),
        "rows_loaded": dg.MetadataValue.int(report.rows_loaded),
        "rows_deduplicated": dg.MetadataValue.int(report.rows_deduplicated),
        "rows_quarantined": dg.MetadataValue.int(report.rows_quarantined),
        "rows_released": dg.MetadataValue.int(report.released),
        "rejected_files": dg.MetadataValue.int(len(report.rejected_files)),
        "stray_files": dg.MetadataValue.int(len(report.stray_files)),
        "quarantine_share": dg.MetadataValue.float(round(report.quarantine_share, 6)),
        "extra_columns": dg.MetadataValue.text(", ".join(report.extra_columns) or "none"),
        "manifest": dg.MetadataValue.md("\n".join(rows)),
    }


def build_ingestion_asset(source: str) -> dg.AssetsDefinition:
    spec = SOURCES[source]
    partitioned = spec.target == "parquet"
    system = spec.pattern.folder.split("/")[0]

    @dg.asset(
        key=["raw", source],
        group_name=f"ingest_{system}",
        description=f"{source} from landing/{spec.pattern.folder}, as docs/sources.md specifies "
        f"({'day-partitioned Parquet' if partitioned else 'table raw.' + source}).",
        partitions_def=daily_file_partitions if partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
        deps=[dg.AssetKey(["raw", upstream]) for upstream in spec.depends_on],
        kinds={"polars", "duckdb", "parquet" if partitioned else "table"},
        pool=WAREHOUSE_POOL,
    )
    def _ingest(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        report = ingest_source(
            warehouse.settings, source, days=_days(context), run_id=context.run.run_id
        )
        return dg.MaterializeResult(metadata=_report_metadata(report))

    return _ingest


def build_quality_check(source: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["raw", source]),
        name=f"{source}_contract",
        description=f"Great Expectations suite for {source}, plus its quarantine share.",
        blocking=True,
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
        from ingest.quality.runner import run_source_checks

        result = run_source_checks(warehouse.settings, source)
        metadata = {
            key: dg.MetadataValue.md(value) if key == "summary" else value
            for key, value in result.metadata().items()
        }
        return dg.AssetCheckResult(
            passed=result.passed,
            severity=dg.AssetCheckSeverity(result.severity),
            metadata={"rows_checked": result.row_count, **metadata},
        )

    return _check


ingestion_assets = [build_ingestion_asset(source) for source in SOURCES]
ingestion_checks = [build_quality_check(source) for source in SOURCES]
