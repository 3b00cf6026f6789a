"""The pipeline's stages as separate processes: ``python -m benchmarks.stages STAGE ...``.

The benchmark runs each stage in its own process so that its wall time and peak memory are its
own. Stages call the domain code exactly as the Dagster assets do (orchestration/assets), in the
same order: ingest → dbt build → ML → alerts → publish. Each writes a small JSON result (row
counts) to ``--result``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path

from ingest.settings import Settings, dbt_env_values, load_settings

TRACKER_DAILY = ("clicks", "conversions")


def bench_settings(landing: Path, data: Path, config: Path | None = None) -> Settings:
    """The settings of ``config`` (default: ``CPA_CONFIG`` or the repository's cpa.toml) on
    these folders."""
    return load_settings(config).with_paths(landing=landing, data=data)


def dbt_vars(settings: Settings) -> dict[str, object]:
    """Mirror of orchestration/assets/dbt.py ``dbt_vars`` (importing that module loads Dagster
    and needs a prepared manifest, which would distort the timing of a bare dbt build)."""
    return {"timezone": settings.network.timezone, **asdict(settings.metrics)}


def dbt_command(
    settings: Settings, scratch: Path, target: str = "duckdb"
) -> tuple[list[str], dict[str, str]]:
    """The `dbt build` the orchestrator runs on ``target`` (a profiles.yml output: duckdb or
    spark), with target/log folders outside the repository (other runs of the project may be
    using dbt_project/target at the same time)."""
    from ingest.settings import REPO_ROOT

    dbt = Path(sys.executable).parent / "dbt"
    project = REPO_ROOT / "dbt_project"
    argv = [
        str(dbt),
        "build",
        "--vars",
        json.dumps(dbt_vars(settings)),
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target",
        target,
    ]
    suffix = "" if target == "duckdb" else f"_{target}"
    env = {
        **dbt_env_values(settings),
        "DBT_TARGET_PATH": str(scratch / f"dbt_target{suffix}"),
        "DBT_LOG_PATH": str(scratch / f"dbt_logs{suffix}"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    return argv, env


def _ingest(settings: Settings, day: date | None, run_id: str) -> dict[str, object]:
    from ingest.pipeline import ingest_all, ingest_source

    if day is None:
        reports = ingest_all(settings, run_id=run_id)
    else:  # the daily partition: that UTC day's tracker files only, as the Dagster job does
        reports = [ingest_source(settings, s, days=[day], run_id=run_id) for s in TRACKER_DAILY]
    return {
        "sources": {
            r.source: {
                "files": len(r.files),
                "rows_read": r.rows_read,
                "rows_loaded": r.rows_loaded,
                "rows_deduplicated": r.rows_deduplicated,
                "rows_quarantined": r.rows_quarantined,
                "seconds": round(r.seconds, 3),
            }
            for r in reports
        }
    }


def _ml(settings: Settings) -> dict[str, object]:
    from ingest.warehouse import connect
    from ml import churn
    from ml.pipeline import run_churn, run_forecast

    out: dict[str, object] = {}
    with connect(settings) as con:
        try:  # as orchestration/assets/ml.py: too little history skips scoring, not the run
            run = run_churn(settings, con)
            out["advertisers_scored"] = run.scores.height
        except churn.TrainingError as exc:
            out["churn_skipped"] = str(exc)
        out["forecast_rows"] = run_forecast(settings, con).forecasts.height
    return out


def _alerts(settings: Settings, run_id: str) -> dict[str, object]:
    from exports.alerts import run_alert_cycle
    from ingest.warehouse import connect

    with connect(settings) as con:
        cycle = run_alert_cycle(con, settings, run_id=run_id, deliver=False)
    return {"alerts_firing": cycle.evaluation.alerts.height}


def _publish(settings: Settings, run_id: str) -> dict[str, object]:
    from exports.publish import publish
    from ingest.warehouse import connect

    with connect(settings, read_only=True) as con:
        result = publish(settings, con=con, run_id=run_id)
    return {"tables": len(result.tables), "rows": sum(result.tables.values())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("stage", choices=["ingest", "ml", "alerts", "publish", "floor", "landing"])
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--day", type=date.fromisoformat, default=None)
    parser.add_argument("--run-id", default="benchmark")
    args = parser.parse_args(argv)
    settings = bench_settings(args.landing, args.data)
    if args.stage == "ingest":
        result = _ingest(settings, args.day, args.run_id)
    elif args.stage == "ml":
        result = _ml(settings)
    elif args.stage == "alerts":
        result = _alerts(settings, args.run_id)
    elif args.stage == "publish":
        result = _publish(settings, args.run_id)
    elif args.stage == "landing":
        from benchmarks.floor import run_landing

        result = run_landing(settings)
    else:
        from benchmarks.floor import run_floor

        result = run_floor(settings)
    result["duckdb_memory_limit"] = settings.duckdb.memory_limit  # the budget it ran with
    args.result.parent.mkdir(parents=True, exist_ok=True)
    args.result.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
