"""Crash safety of ingestion: SIGKILL at precise points and at random instants, then a rerun.

Baseline: an uninterrupted ingestion of the same landing folder. After every crash and rerun
the raw layer (tables, day-partitioned Parquet), the current manifest state and the open
quarantine must equal the baseline row for row, and the manifest's accounting must hold.
"""

from __future__ import annotations

import random
import shutil
import signal
import time

import pytest
from reliability.harness import (
    differences,
    generate_world,
    manifest_accounting_errors,
    raw_state,
    run_stage,
    settings_at,
    total_rows,
)
from reliability.tally import record

from ingest.sample_world import replay_redeliveries

# (injection point, what is interrupted)
POINTS = [
    ("ingest.pipeline:_record_deliveries:2", "inside the 2nd batch's transaction, before COMMIT"),
    ("ingest.pipeline:write_partition:60", "clicks partitions renamed in, batch uncommitted"),
    ("ingest.pipeline:_ingest_batch:5:after", "right after the 5th batch committed"),
    ("polars:DataFrame.write_parquet:30:after", "a partition written beside, not yet renamed"),
    ("ingest.pipeline:release_quarantined:1", "before the first release of held rows"),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("rel_ingest")
    generate_world(root / "w")
    settings = settings_at(root / "w" / "landing", root / "clean")
    started = time.monotonic()
    run = run_stage("ingest", settings)
    assert run.returncode == 0, run.stderr
    return root, settings, raw_state(settings), time.monotonic() - started


def _check_rerun(settings, baseline) -> None:
    run = run_stage("ingest", settings)
    assert run.returncode == 0, run.stderr
    state = raw_state(settings)
    assert state == baseline, differences(state, baseline)
    assert manifest_accounting_errors(settings) == []


@pytest.mark.parametrize("point,where", POINTS, ids=[p[0].split(":", 1)[1] for p in POINTS])
def test_killed_at_an_injected_point_then_rerun_equals_clean_run(world, point, where):
    root, clean, baseline, _ = world
    settings = settings_at(clean.paths.landing, root / f"crash_{point.replace(':', '_')}")
    run = run_stage("ingest", settings, kill_at=point)
    assert run.returncode == -signal.SIGKILL, f"the fault at {point} did not fire: {run.stderr}"
    _check_rerun(settings, baseline)
    record("crash: ingestion", f"SIGKILL {where}", faults=1, rows_lost=0,
           rows_checked=total_rows(baseline))


def test_killed_repeatedly_at_random_instants_then_rerun_equals_clean_run(world):
    """Random instants, scaled to how long a clean run took here; the first kill hits a run
    from scratch, the next ones whatever work is left. The host's load changes between the
    timed clean run and these, so when every kill came after the run had finished, the round
    starts again on a fresh warehouse with the instants halved."""
    root, clean, baseline, duration = world
    rng = random.Random(20261125)
    kills = 0
    for round_ in range(5):
        settings = settings_at(clean.paths.landing, root / f"crash_random_{round_}")
        scale = duration * 0.5**round_
        for fraction in (rng.uniform(0.3, 0.7), rng.uniform(0.2, 0.6), rng.uniform(0.2, 0.6)):
            run = run_stage("ingest", settings, kill_after=fraction * scale)
            kills += run.killed
        if kills:
            break
    assert kills >= 1, "no random kill interrupted ingestion"
    _check_rerun(settings, baseline)
    record("crash: ingestion", "SIGKILL at random instants, 3 times on one warehouse",
           faults=kills, rows_lost=0, rows_checked=total_rows(baseline))


def test_killed_while_releasing_held_rows_after_redeliveries(world, tmp_path):
    """Phase 2 (corrected deliveries, a snapshot releasing unknown_id rows) killed mid-way."""
    root, clean, _, _ = world
    shutil.copytree(root / "w", tmp_path / "w")
    replay_redeliveries(tmp_path / "w")
    landing = tmp_path / "w" / "landing"
    ref = settings_at(landing, tmp_path / "ref")
    crashed = settings_at(landing, tmp_path / "crashed")
    shutil.copytree(clean.paths.data, ref.paths.data, symlinks=True)
    shutil.copytree(clean.paths.data, crashed.paths.data, symlinks=True)
    assert run_stage("ingest", ref).returncode == 0
    expected = raw_state(ref)
    faults = 0
    for point in ("ingest.pipeline:write_partition:2:after",
                  "ingest.pipeline:release_quarantined:2:after"):
        run = run_stage("ingest", crashed, kill_at=point)
        faults += run.returncode == -signal.SIGKILL
    assert faults >= 1
    _check_rerun(crashed, expected)
    record("crash: ingestion", "SIGKILL while corrected deliveries and released rows are written",
           faults=faults, rows_lost=0, rows_checked=total_rows(expected))


def test_two_ingestions_launched_at_once_do_not_corrupt_the_warehouse(world):
    """DuckDB has one writer per file: the second run waits or fails cleanly, never half-writes."""
    import subprocess
    import sys

    from reliability.harness import stage_env

    from ingest.settings import REPO_ROOT

    root, clean, baseline, _ = world
    settings = settings_at(clean.paths.landing, root / "concurrent")
    procs = [subprocess.Popen([sys.executable, "-m", "ingest.cli"], cwd=REPO_ROOT,
                              env=stage_env(settings), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert any(code == 0 for code, _ in results), results
    for code, err in results:
        if code != 0:  # the loser names the lock, it did not die half-way through a write
            assert "lock" in err.lower(), err
    state = raw_state(settings)
    if all(code == 0 for code, _ in results):
        assert state == baseline, differences(state, baseline)
    _check_rerun(settings, baseline)
    record("concurrency", "two ingestions launched at once on one warehouse", faults=1,
           rows_lost=0, note="the second failed on DuckDB's file lock, nothing written"
           if any(c != 0 for c, _ in results) else "the second waited for the first")
