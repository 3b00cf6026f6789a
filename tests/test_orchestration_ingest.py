"""End to end through Dagster: the ingestion assets on a generated world with every defect.

Materialises the real asset definitions (the ones `dagster dev` shows) twice over the whole
partition range, and checks the manifest's accounting file by file against what the generator
says it wrote and injected.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ingest.sample_world import WorldConfig, generate
from ingest.settings import load_settings

RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    generate(WorldConfig.from_scale("tiny", days=240, defects=True, seed=7), out)
    return out


@pytest.fixture(scope="module")
def env(world: Path, tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CPA_LANDING_DIR", str(world / "landing"))
        mp.setenv("CPA_DATA_DIR", str(data))
        mp.setenv("CPA_DEMO", "1")
        yield load_settings()


def _materialize(settings) -> dg.ExecuteInProcessResult:
    from orchestration.assets.ingestion import ingestion_assets, ingestion_checks
    from orchestration.resources import WarehouseResource

    days = sorted(p.name[7:17] for p in (settings.paths.landing / "tracker/clicks").glob("*.gz"))
    return dg.materialize(
        [*ingestion_assets, *ingestion_checks],
        resources={"warehouse": WarehouseResource()},
        tags={RANGE[0]: days[0], RANGE[1]: days[-1]},
        raise_on_error=False,
    )


def _warehouse_state(settings) -> dict[str, str]:
    """A fingerprint of every raw table and Parquet partition (content, not mtimes)."""
    state = {}
    with duckdb.connect(str(settings.paths.warehouse_file), read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        ).fetchall()
        for (table,) in tables:
            rows = con.execute(f"select * from raw.{table} order by all").fetchall()
            state[f"raw.{table}"] = hashlib.sha256(repr(rows).encode()).hexdigest()
    for part in sorted(settings.paths.raw.rglob("*.parquet")):
        state[str(part.relative_to(settings.paths.raw))] = hashlib.sha256(
            part.read_bytes()
        ).hexdigest()
    return state


def test_ingestion_assets_account_for_every_row_and_rerun_changes_nothing(env, world):
    first = _materialize(env)
    assert first.success, "first materialization failed"
    materialized = {e.asset_key.path[-1] for e in first.get_asset_materialization_events()}
    assert {"clicks", "conversions", "offers", "invoices", "companies"} <= materialized

    expected = {
        row["file"]: row
        for row in map(json.loads, (world / "truth/expected_files.jsonl").read_text().splitlines())
    }
    with duckdb.connect(str(env.paths.warehouse_file), read_only=True) as con:
        status = con.execute(
            "select file_path, outcome, rows_read, rows_loaded, rows_deduplicated, "
            "rows_quarantined, reason from meta.file_status"
        ).fetchall()
    assert status, "the manifest is empty"
    by_file = {r[0]: r for r in status}
    for path, _outcome, read, loaded, dedup, quarantined, _reason in status:
        assert read == loaded + dedup + quarantined, f"{path}: rows not accounted for"
    mismatches = []
    for path, want in expected.items():
        got = by_file.get(path)
        if got is None:
            mismatches.append(f"{path}: not in the manifest")
            continue
        if want["expect_outcome"] == "rejected":
            if (got[1], got[6], got[3]) != ("rejected", want["expect_reason"], 0):
                mismatches.append(f"{path}: got {got[1:]} want rejected {want['expect_reason']}")
        elif (got[3], got[4], got[5]) != (
            want["expect_loaded"],
            want["expect_deduplicated"],
            want["expect_quarantined"],
        ):
            mismatches.append(f"{path}: got {got[3:]} want {want}")
    assert not mismatches, "\n".join(mismatches[:20])

    before = _warehouse_state(env)
    second = _materialize(env)
    assert second.success
    assert _warehouse_state(env) == before, "a second run over the same files changed the data"
    with duckdb.connect(str(env.paths.warehouse_file), read_only=True) as con:
        outcomes = dict(
            con.execute(
                "select outcome, count(*) from meta.file_manifest "
                "where run_id = ? group by outcome",
                [second.run_id],
            ).fetchall()
        )
    assert set(outcomes) <= {"identical_redelivery"}, outcomes

    evaluations = second.get_asset_check_evaluations()
    assert {e.asset_key.path[-1] for e in evaluations} >= {"clicks", "offers", "invoices"}
    for evaluation in evaluations:
        assert "summary" in evaluation.metadata


def test_daily_pipeline_job_builds_marts_scores_feeds_and_snapshot(env):
    """The job `make demo` runs, on the same world: ingestion through to the BI snapshot."""
    from orchestration.definitions import defs

    days = sorted(p.name[7:17] for p in (env.paths.landing / "tracker/clicks").glob("*.gz"))
    job = defs.resolve_job_def("full_pipeline")
    result = job.execute_in_process(
        tags={RANGE[0]: days[0], RANGE[1]: days[-1]}, raise_on_error=False
    )
    assert result.success
    materialized = {"/".join(e.asset_key.path) for e in result.get_asset_materialization_events()}
    assert {
        "marts/fct_offer_daily",
        "ml/churn_scores",
        "ml/category_forecasts",
        "alerts/alert_feeds",
        "publish/bi_snapshot",
    } <= materialized
    counts = {
        "/".join(e.asset_key.path): e.materialization.metadata.get("dagster/row_count")
        for e in result.get_asset_materialization_events()
    }
    with duckdb.connect(str(env.paths.warehouse_file), read_only=True) as con:
        offer_rows = con.execute("select count(*) from marts.fct_offer_daily").fetchall()[0][0]
    assert counts["marts/fct_offer_daily"].value == offer_rows > 0
    assert "staging/stg_clicks" in counts and counts["staging/stg_clicks"] is None  # a view
    dbt_checks = [e for e in result.get_asset_check_evaluations() if e.asset_key.path[0] != "raw"]
    assert dbt_checks and all(e.passed for e in dbt_checks), [
        e.check_name for e in dbt_checks if not e.passed
    ]

    snapshot = env.paths.publish / "bi.duckdb"
    with duckdb.connect(str(snapshot), read_only=True) as bi:
        offers = bi.execute("select count(*), sum(revenue) from marts.fct_offer_daily").fetchall()
        scores = bi.execute("select count(*) from ml.churn_scores").fetchall()
    assert offers[0][0] > 0 and offers[0][1] > 0
    assert scores[0][0] > 0, "no advertiser was scored"
    assert list((env.paths.publish / "current").rglob("*.parquet"))
    feeds = list(env.paths.feeds.rglob("alerts.jsonl"))
    assert feeds, "no per-lead feed was written"
    assert "ml/churn_model" in materialized

    # The scheduled daily run: one partition, scoring with the saved model, no retraining.
    daily = defs.resolve_job_def("daily_pipeline").execute_in_process(
        partition_key=days[-1], raise_on_error=False
    )
    assert daily.success
    daily_keys = {"/".join(e.asset_key.path) for e in daily.get_asset_materialization_events()}
    assert "ml/churn_scores" in daily_keys and "ml/churn_model" not in daily_keys


def test_landing_sensor_launches_the_partitions_of_new_or_changed_files(env):
    from orchestration.jobs import landing_sensor

    first = dg.build_sensor_context(cursor=None)
    requests = list(landing_sensor(first))
    days = {r.partition_key for r in requests if r.partition_key}
    clicks = sorted(env.paths.landing.glob("tracker/clicks/*.csv.gz"))
    assert {p.name[7:17] for p in clicks} <= days
    assert any(r.job_name == "ingest_other_files" for r in requests)

    quiet = dg.build_sensor_context(cursor=first.cursor)
    assert list(landing_sensor(quiet)) == []

    changed = clicks[3]
    os.utime(changed, (1, 1))  # a re-delivery: same name, new modification time
    again = list(landing_sensor(dg.build_sensor_context(cursor=first.cursor)))
    assert [r.partition_key for r in again] == [changed.name[7:17]]
