"""Re-delivery: every landing file delivered again, identical and then corrected.

Identical: the raw layer, the current manifest state and the quarantine do not move at all.
Corrected (the generator's truth/redeliveries.jsonl, applied by replay_redeliveries): each file
gets the outcome and counts the generator expects, the rows of a corrected file are exactly
those a fresh ingestion of the final landing gives that file, and the rows of every other file
are untouched except the held rows that the new snapshot releases.
"""

from __future__ import annotations

import json
import os
import shutil

import duckdb
import polars as pl
import pytest
from reliability.harness import (
    RAW_DATASETS,
    RAW_TABLES,
    differences,
    generate_world,
    manifest_accounting_errors,
    raw_state,
    run_stage,
    settings_at,
)
from reliability.tally import record

from ingest.sample_world import replay_redeliveries


def _freeze(row: dict) -> tuple:
    return tuple(tuple(v) if isinstance(v, list) else v for v in row.values())


def _rows_by_file(settings) -> dict[str, set[tuple]]:
    """table/dataset -> set of (source_file, source_line, row as tuple)."""
    out: dict[str, set[tuple]] = {}
    con = duckdb.connect(str(settings.paths.warehouse_file), read_only=True)
    try:
        for table in RAW_TABLES:
            frame = pl.from_arrow(con.sql(f"SELECT * FROM raw.{table}").to_arrow_table())
            out[table] = {(r["_source_file"], r["_source_line"], _freeze(r))
                          for r in frame.to_dicts()}
    finally:
        con.close()
    for ds in RAW_DATASETS:
        frame = pl.read_parquet(sorted((settings.paths.raw / ds).glob("*/*.parquet")),
                                hive_partitioning=True)
        out[ds] = {(r["_source_file"], r["_source_line"], _freeze(r))
                   for r in frame.to_dicts()}
    return out


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    root = tmp_path_factory.mktemp("rel_redeliver")
    generate_world(root / "w")
    settings = settings_at(root / "w" / "landing", root / "data")
    assert run_stage("ingest", settings).returncode == 0
    return root, settings


def test_identical_redelivery_of_every_file_changes_nothing(loaded):
    _, settings = loaded
    before = raw_state(settings)
    files = [p for p in settings.paths.landing.rglob("*") if p.is_file()]
    for p in files:  # delivered again: same bytes, new mtime
        data = p.read_bytes()
        p.unlink()
        p.write_bytes(data)
        os.utime(p, (p.stat().st_atime + 3600, p.stat().st_mtime + 3600))
    run = run_stage("ingest", settings)
    assert run.returncode == 0, run.stderr
    after = raw_state(settings)
    assert after == before, differences(after, before)
    con = duckdb.connect(str(settings.paths.warehouse_file), read_only=True)
    try:
        last = con.execute("SELECT max(run_id) FROM meta.file_manifest").fetchall()[0][0]
        outcomes = con.execute(
            "SELECT outcome, count(*), sum(rows_loaded + rows_quarantined) FROM "
            "meta.file_manifest WHERE run_id = ? GROUP BY 1", [last]).fetchall()
    finally:
        con.close()
    # stray files are recorded once per content; every other file is an identical re-delivery
    assert {o for o, _, _ in outcomes} == {"identical_redelivery"}, outcomes
    assert sum(n for _, n, _ in outcomes) == len(files) - 1  # the planted stray file
    assert all(moved == 0 for _, _, moved in outcomes)
    record("re-delivery", "every landing file delivered again, identical", inputs=len(files),
           rows_lost=0, rows_checked=sum(len(v) for v in before.values()))


def test_corrected_deliveries_change_exactly_their_files(loaded, tmp_path):
    root, settings = loaded
    work = tmp_path / "w"
    shutil.copytree(root / "w", work)
    data = tmp_path / "data"
    shutil.copytree(settings.paths.data, data, symlinks=True)
    s = settings_at(work / "landing", data)
    before = _rows_by_file(s)
    redelivered = replay_redeliveries(work)
    truth = [json.loads(line) for line in
             (work / "truth" / "redeliveries.jsonl").read_text(encoding="utf-8").splitlines()]
    assert run_stage("ingest", s).returncode == 0
    after = _rows_by_file(s)
    fresh = settings_at(work / "landing", tmp_path / "fresh")
    assert run_stage("ingest", fresh).returncode == 0
    clean = _rows_by_file(fresh)
    con = duckdb.connect(str(s.paths.warehouse_file), read_only=True)
    try:
        for t in truth:
            got = con.execute(
                "SELECT outcome, rows_loaded, rows_deduplicated, rows_quarantined FROM "
                "meta.file_manifest WHERE file_path = ? ORDER BY ingested_at DESC, "
                "manifest_id DESC LIMIT 1", [t["file"]]).fetchall()[0]
            want = (t["expect_outcome"], t["expect_loaded"], t["expect_deduplicated"],
                    t["expect_quarantined"])
            if t["expect_outcome"] == "identical_redelivery":
                want = ("identical_redelivery", 0, 0, 0)
            assert got == want, (t["file"], got, want)
        released = set(con.execute(
            "SELECT file_path, line FROM meta.quarantine WHERE released_at IS NOT NULL "
            "AND superseded_at IS NULL").fetchall())
    finally:
        con.close()
    changed = set(redelivered)
    for table in after:
        mine = {r for r in after[table] if r[0] in changed}
        assert mine == {r for r in clean[table] if r[0] in changed}, table
        others_after = {r for r in after[table] if r[0] not in changed}
        others_before = {r for r in before[table] if r[0] not in changed}
        assert others_before <= others_after, f"{table}: rows of untouched files lost"
        assert {(r[0], r[1]) for r in others_after - others_before} <= released, table
    assert manifest_accounting_errors(s) == []
    record("re-delivery", "corrected deliveries from truth/redeliveries.jsonl",
           inputs=len(redelivered), rows_lost=0,
           rows_checked=sum(len(v) for v in after.values()))


def test_every_planted_misbehaviour_is_accounted_for(loaded):
    """The generator plants every misbehaviour of docs/sources.md (truth/defects.jsonl): each
    quarantined row / rejected file is in meta.quarantine with its reason, and the manifest
    accounting holds for every delivery."""
    root, settings = loaded
    defects = [json.loads(line) for line in
               (root / "w" / "truth" / "defects.jsonl").read_text(encoding="utf-8").splitlines()]
    con = duckdb.connect(str(settings.paths.warehouse_file), read_only=True)
    try:
        held = set(con.execute("SELECT file_path, line, reason FROM meta.quarantine").fetchall())
        files = dict(con.execute("SELECT file_path, arg_min(outcome, manifest_id) "
                                 "FROM meta.file_manifest GROUP BY 1").fetchall())
    finally:
        con.close()
    missing = []
    for d in defects:
        if d["expect"] == "quarantine" and (d["file"], d["line"], d["reason"]) not in held:
            missing.append(d)
        if d["expect"] == "rejected_file" and (
                files.get(d["file"]) != "rejected" or (d["file"], None, d["reason"]) not in held):
            missing.append(d)
        if d["expect"] == "handled" and files.get(d["file"]) != "loaded":
            missing.append(d)
    assert missing == []
    assert manifest_accounting_errors(settings) == []
    kinds = sorted({d["kind"] for d in defects})
    record("bad input", "planted misbehaviours of docs/sources.md (generator truth)",
           inputs=len(defects), rows_lost=0, note=", ".join(kinds))
