"""Crash safety and concurrency after ingestion: the dbt build, ML scoring and publishing
killed with SIGKILL, then rerun; BI readers querying the published snapshot throughout.

Baselines are uninterrupted runs on a copy of the same ingested warehouse. The marts (and the
ml tables) after crash + rerun must equal the baseline row for row; a reader must only ever see
a complete published version (every table's row count equal to the count the version recorded).
"""

from __future__ import annotations

import re
import shutil
import signal
import threading
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pytest
from reliability.harness import (
    copy_data,
    differences,
    generate_world,
    relation_state,
    run_stage,
    settings_at,
    total_rows,
)
from reliability.tally import record

from ingest.settings import Settings
from ingest.warehouse import connect


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """An ingested world (data0), and a copy built by dbt and published once (clean)."""
    root = tmp_path_factory.mktemp("rel_down")
    generate_world(root / "w")
    ingested = settings_at(root / "w" / "landing", root / "data0")
    assert run_stage("ingest", ingested).returncode == 0
    clean = settings_at(ingested.paths.landing, copy_data(ingested.paths.data, root / "clean"))
    run = run_stage("dbt", clean)
    assert run.returncode == 0, run.stderr
    marts = relation_state(clean.paths.warehouse_file, ("marts",))
    assert marts and total_rows(marts) > 0
    run = run_stage("publish", clean)
    assert run.returncode == 0, run.stderr
    return root, ingested, clean, marts


class Readers:
    """BI readers: open the stable snapshot path, check the version is complete, close, repeat."""

    def __init__(self, snapshot: Path, n: int = 2) -> None:
        self.snapshot = snapshot
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.versions: set[str] = set()
        self.queries = 0
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(n)]

    def _read_once(self) -> None:
        with duckdb.connect(str(self.snapshot), read_only=True, config={"threads": 1}) as con:
            version = con.execute("SELECT version FROM main.publish_info").fetchall()[0][0]
            counts = con.execute("SELECT table_name, row_count FROM main.publish_tables "
                                 "WHERE table_name LIKE 'marts.%'").fetchall()
            if not counts:
                self.errors.append(f"{version}: no marts")
            for name, expected in counts:
                schema, table = name.split(".", 1)
                got = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchall()[0][0]
                if got != expected:
                    self.errors.append(f"{version} {name}: {got} rows, recorded {expected}")
            self.versions.add(version)
            self.queries += 1 + len(counts)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                self._read_once()
            except Exception as exc:  # a reader must never fail
                self.errors.append(f"{type(exc).__name__}: {exc}")
            self.stop.wait(0.05)

    def __enter__(self) -> Readers:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)


def _same(got: dict, want: dict) -> None:
    """Row for row, doubles to 1e-9 (parallel float sums differ in the last bits run to run)."""
    diff = differences(got, want, float_tolerance=True)
    assert not diff, diff


def _models_done(settings) -> float:
    """Share of dbt models finished so far, from the run's own log (DBT_LOG_PATH per data dir)."""
    log = settings.paths.data / "dbt_logs" / "dbt.log"
    if not log.exists():
        return 0.0
    done = re.findall(r"(\d+) of (\d+) OK created", log.read_text(errors="replace"))
    return max((int(a) / int(b) for a, b in done), default=0.0)


def _version(settings) -> str:
    return Path(settings.paths.publish.joinpath("current").readlink()).name


def test_dbt_build_killed_then_rerun_equals_clean_build_readers_never_see_partial(built):
    root, ingested, clean, marts = built
    crash = settings_at(ingested.paths.landing, copy_data(ingested.paths.data, root / "dbtcrash"))
    shutil.copytree(clean.paths.publish, crash.paths.publish, symlinks=True)
    first = _version(crash)
    with Readers(crash.paths.publish / "bi.duckdb") as readers:
        killed = run_stage("dbt", crash, kill_when=lambda: _models_done(crash) >= 0.4)
        assert killed.killed, "dbt finished before the kill"
        rerun = run_stage("dbt", crash)
        assert rerun.returncode == 0, rerun.stderr
        after = relation_state(crash.paths.warehouse_file, ("marts",))
        _same(after, marts)
        published = run_stage("publish", crash)
        assert published.returncode == 0, published.stderr
        second = _version(crash)
        ok = readers.stop.wait  # let the readers see the new version
        for _ in range(100):
            if second in readers.versions:
                break
            ok(0.1)
    assert readers.errors == []
    assert readers.versions == {first, second}, readers.versions
    republished = relation_state(crash.paths.publish / "bi.duckdb", ("marts",))
    _same(republished, marts)
    record("crash: dbt build", "SIGKILL `dbt run` once 40 % of models are built, rerun",
           faults=1, rows_lost=0, rows_checked=total_rows(marts))
    record("concurrency", "BI readers querying the snapshot through a killed dbt run, its rerun "
           "and a publish", note=f"{readers.queries} reader queries, 0 errors, only complete "
           "versions seen")


PUBLISH_POINTS = [
    ("exports.publish:_export_files:1", "snapshot built, Parquet/CSV not yet written"),
    ("exports.publish:swap_symlink:1", "version complete, `current` not yet swapped"),
    ("exports.publish:_prune:1", "`current` swapped, old versions not yet pruned"),
]


def test_publish_killed_at_each_step_leaves_a_complete_current_version(built):
    root, _, clean, marts = built
    pub = settings_at(clean.paths.landing, copy_data(clean.paths.data, root / "pubcrash"))
    faults = 0
    with Readers(pub.paths.publish / "bi.duckdb") as readers:
        for point, _where in PUBLISH_POINTS:
            before = _version(pub)
            run = run_stage("publish", pub, kill_at=point)
            assert run.returncode == -signal.SIGKILL, (point, run.stderr)
            faults += 1
            now = _version(pub)
            assert (now == before) if point != "exports.publish:_prune:1" else now != before
            snapshot = relation_state(pub.paths.publish / "bi.duckdb", ("marts",))
            assert not differences(snapshot, marts, float_tolerance=True), point
        run = run_stage("publish", pub)
        assert run.returncode == 0, run.stderr
    assert readers.errors == []
    final = relation_state(pub.paths.publish / "bi.duckdb", ("marts",))
    _same(final, marts)
    leftovers = [p.name for p in (pub.paths.publish / "versions").iterdir()
                 if p.name.endswith(".building")]
    record("crash: publishing", "SIGKILL at each publishing step, rerun", faults=faults,
           rows_lost=0, rows_checked=total_rows(marts),
           note=f"{len(leftovers)} hidden .building folder(s) of killed publishes left for the "
                "6-hour sweep")


@pytest.fixture(scope="module")
def churn_warehouse(tmp_path_factory):
    """Advertiser marts with planted fates (ml.synthetic): enough history to train the model."""
    from ml.frames import INPUTS
    from ml.synthetic import churn_world

    root = tmp_path_factory.mktemp("rel_ml")
    cfg = root / "cpa.toml"
    cfg.write_text("[ml]\nbacktest_folds = 2\nforecast_backtest_origins = 4\n", encoding="utf-8")
    base = Settings().with_paths(data=root / "base", landing=root / "landing")
    settings = replace(base, ml=replace(base.ml, backtest_folds=2))
    world = churn_world(n_advertisers=80, days=300, start=date(2025, 1, 6), seed=3)
    con = connect(settings)
    con.execute("CREATE SCHEMA marts")
    for name, frame in world.frames.items():
        con.register("_f", frame.to_arrow())
        con.execute(f"CREATE TABLE {INPUTS[name][0]} AS SELECT * FROM _f")
        con.unregister("_f")
    con.close()
    return root, settings, {"CPA_CONFIG": str(cfg)}


def test_churn_scoring_killed_then_rerun_equals_clean_run(churn_warehouse):
    root, base, env = churn_warehouse
    clean = settings_at(base.paths.landing, copy_data(base.paths.data, root / "clean"))
    run = run_stage("churn", clean, env=env)
    assert run.returncode == 0, run.stderr
    expected = relation_state(clean.paths.warehouse_file, ("ml",))
    assert expected.get("ml.churn_scores"), "the clean run scored nobody"
    crash = settings_at(base.paths.landing, copy_data(base.paths.data, root / "crash"))
    faults = 0
    for point in ("ml.io:_write:1:after", "ml.io:_write:2"):
        run = run_stage("churn", crash, env=env, kill_at=point)
        assert run.returncode == -signal.SIGKILL, (point, run.stderr)
        faults += 1
    run = run_stage("churn", crash, env=env)
    assert run.returncode == 0, run.stderr
    after = relation_state(crash.paths.warehouse_file, ("ml",))
    _same(after, expected)
    record("crash: ML scoring", "SIGKILL between and before ml table writes, rerun",
           faults=faults, rows_lost=0, rows_checked=total_rows(expected))


def test_two_publishes_launched_at_once_leave_one_complete_current_version(built):
    import subprocess
    import sys

    from reliability.harness import stage_env

    from ingest.settings import REPO_ROOT

    root, _, clean, marts = built
    pub = settings_at(clean.paths.landing, copy_data(clean.paths.data, root / "pubtwice"))
    procs = [subprocess.Popen([sys.executable, "-m", "tests.reliability.stage", "publish"],
                              cwd=REPO_ROOT, env=stage_env(pub), stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    for p in procs:
        p.stderr.close()
    assert any(code == 0 for code, _ in results), results
    versions = [p.name for p in (pub.paths.publish / "versions").iterdir()
                if not p.name.startswith(".")]
    assert _version(pub) in versions
    _same(relation_state(pub.paths.publish / "bi.duckdb", ("marts",)), marts)
    record("concurrency", "two publishes launched at once", faults=1, rows_lost=0,
           rows_checked=total_rows(marts),
           note=f"{sum(c == 0 for c, _ in results)} of 2 succeeded; current is complete")
