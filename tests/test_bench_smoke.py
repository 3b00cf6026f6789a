"""The benchmark command end to end on the tiniest world, so that it cannot rot.

Runs ``python -m benchmarks.run`` (in-process ``main``; every stage is still its own child
process) on a 150-day tiny world in tmp folders and checks what the results files say: every
stage of the full and the incremental build ran and succeeded with a measured peak memory, the
incremental run read only the held-back day, and the floor query saw every generated click.
The history check runs too (a 120-day world, then both lengths with a fixed DuckDB budget).
No wall-clock assertions: the host is shared.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.run import FULL_STAGES, main
from ingest.settings import load_settings

pytestmark = pytest.mark.slow


def test_benchmark_runs_end_to_end_on_a_tiny_world(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    rc = main(
        [
            "--scales",
            "tiny",
            "--days",
            "150",
            "--history-days",
            "120",
            "--history-memory-limit",
            "200MB",
            "--work-dir",
            str(tmp_path / "work"),
            "--out",
            str(out),
            "--spark-scales",
            "tiny-150d",
        ]
    )
    assert rc == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert list(report["scales"]) == ["tiny-150d"]  # preset + history length (the check aside)
    run = report["scales"]["tiny-150d"]
    world_clicks = run["world_counts"]["clicks"]
    assert world_clicks > 0

    for phase in ("full", "incremental"):
        assert list(run[phase]) == list(FULL_STAGES), phase
        for stage, cost in run[phase].items():
            assert cost["returncode"] == 0, f"{phase} {stage}: see {cost.get('failed_log')}"
            assert cost["peak_rss_mib"] > 10 and cost["seconds"] > 0

    dbt = run["full"]["dbt"]["detail"]  # dbt's own per-node timing, kept for profiling
    assert dbt["nodes"] > 50 and dbt["slowest"]
    full_sources = run["full"]["ingest"]["detail"]["sources"]
    day_sources = run["incremental"]["ingest"]["detail"]["sources"]
    # The full build saw every day but the held-back one; the incremental run only that day.
    assert full_sources["clicks"]["files"] == run["days"] - 1
    assert set(day_sources) == {"clicks", "conversions"}
    assert day_sources["clicks"]["files"] == 1 and day_sources["conversions"]["files"] == 1
    assert full_sources["clicks"]["rows_read"] + day_sources["clicks"]["rows_read"] == world_clicks

    floor = run["floor"]
    assert floor["returncode"] == 0 and floor["detail"]["clicks"] == world_clicks
    assert floor["detail"]["mart_rows"] > 0
    landing = run["landing_floor"]  # every tracker row read and written, nothing else
    events = run["world_counts"]["conversion_events"]
    assert landing["returncode"] == 0
    assert (landing["detail"]["clicks"], landing["detail"]["conversion_events"]) == (
        world_clicks, events)
    assert not (tmp_path / "work" / "tiny-150d" / "floor_data").exists()  # Parquet removed

    derived = report["derived"]["tiny-150d"]
    assert derived["completed"] and derived["incremental_share_ingest_dbt"] > 0
    assert derived["pipeline_over_floor"] > 0
    assert derived["landing_over_floor"] > 0 and derived["ingest_over_landing"] > 0
    assert run["warehouse_bytes"] > 0 and run["raw_parquet_bytes"] > 0
    assert report["machine"]["cores"] >= 1 and report["machine"]["versions"]["duckdb"]

    # The second engine built the same project on the same raw layer, with the same marts.
    spark = run["spark"]
    assert spark.get("returncode") == 0, spark.get("not_run") or spark.get("failed_log")
    counts = spark["mart_row_counts"]
    assert counts["marts"] > 20 and counts["equal_counts"] == counts["marts"], counts["counts"]

    # The history check: the same daily volume over 120 days, then both lengths again with
    # DuckDB's budget fixed; every stage ran with the budget it was given.
    check = report["history_check"]
    assert (check["short_days"], check["long_days"]) == (120, 150)
    short_clicks = check["short"]["world_counts"]["clicks"]
    assert 0 < short_clicks < world_clicks
    configured = load_settings().duckdb.memory_limit
    assert configured != "200MB"
    for stage in ("ingest", "dbt", "ml", "publish"):
        assert run["full"][stage]["detail"]["duckdb_memory_limit"] == configured, stage
    for length in ("long", "short"):
        budget = check["budget"][length]
        assert budget["memory_limit"] == "200MB" and list(budget["full"]) == list(FULL_STAGES)
        for stage, cost in budget["full"].items():
            assert cost["returncode"] == 0, f"budget {length} {stage}: {cost.get('failed_log')}"
            assert cost["detail"]["duckdb_memory_limit"] == "200MB", (length, stage)
        assert budget["full"]["dbt"]["detail"]["threads_used"] == 2, length  # the profile's
    assert run["full"]["dbt"]["detail"]["threads_used"] == 2
    budget_clicks = check["budget"]["long"]["full"]["ingest"]["detail"]["sources"]["clicks"]
    assert budget_clicks["rows_read"] == world_clicks  # the whole history, nothing held back

    text = out.read_text()
    assert "With DuckDB's memory budget fixed at 200MB" in text and "dbt with 2 threads)" in text
    assert "## dbt build on both engines" in text and "Landing floor (" in text
    assert "## Targets" in text and "### Incremental run after one new day" in text
    assert f"{world_clicks:,}" in text


def test_history_scale_must_be_one_of_the_scales(tmp_path: Path, capsys) -> None:
    """A history check on a scale the run does not build is refused before anything runs."""
    with pytest.raises(SystemExit) as stop:
        main(["--scales", "tiny", "--history-scale", "10m", "--work-dir", str(tmp_path)])
    assert stop.value.code == 2
    assert "--history-scale '10m' is not one of --scales" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
