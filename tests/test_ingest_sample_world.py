"""Ingest a small generated world with every defect planted and check each file's accounting
against the generator's own truth (truth/expected_files.jsonl, truth/redeliveries.jsonl)."""

from __future__ import annotations

import json

import pytest
from ingest_contract_files import query, settings_for

from ingest.pipeline import ingest_all
from ingest.sample_world import WorldConfig, generate, replay_redeliveries


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("world")
    generate(WorldConfig.from_scale("tiny", defects=True, days=150), out)
    return out


def _truth(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_per_file_accounting_matches_the_generators_truth(world, tmp_path, monkeypatch):
    monkeypatch.setenv("CPA_HASH_KEY", "world-test-key")
    settings = settings_for(tmp_path).with_paths(landing=world / "landing")
    ingest_all(settings)

    status = {
        row[0]: row[1:]
        for row in query(settings, "SELECT file_path, outcome, reason, rows_loaded, "
                                   "rows_deduplicated, rows_quarantined, extra_columns "
                                   "FROM meta.file_status")
    }
    reasons: dict[str, dict[str, int]] = {}
    for path, reason, n in query(settings, "SELECT file_path, reason, count(*) FROM "
                                           "meta.quarantine WHERE line IS NOT NULL AND "
                                           "released_at IS NULL GROUP BY ALL"):
        reasons.setdefault(path, {})[reason] = n
    expected = _truth(world / "truth" / "expected_files.jsonl")
    assert len(expected) > 100
    mismatches = []
    for e in expected:
        got = status.get(e["file"])
        want = (e["expect_outcome"], e["expect_reason"], e["expect_loaded"],
                e["expect_deduplicated"], e["expect_quarantined"] or 0,
                sorted(e["extra_columns"]))
        have = None if got is None else (*got[:5], sorted(got[5] or []))
        if have != want or reasons.get(e["file"], {}) != e["expect_quarantined_by_reason"]:
            mismatches.append((e["file"], want, e["expect_quarantined_by_reason"], have,
                               reasons.get(e["file"])))
    assert mismatches == []
    # every row read is accounted for, per delivery
    assert query(settings, "SELECT count(*) FROM meta.file_manifest WHERE rows_read <> "
                           "rows_loaded + rows_deduplicated + rows_quarantined") == [(0,)]

    # phase 2: the later deliveries (identical, corrected, the releasing offers snapshot)
    redeliveries = _truth(world / "truth" / "redeliveries.jsonl")
    replay_redeliveries(world)
    ingest_all(settings)
    latest = dict(query(settings, "SELECT file_path, arg_max(outcome, manifest_id) "
                                  "FROM meta.file_manifest GROUP BY 1"))
    loaded = dict(query(settings, "SELECT file_path, rows_loaded FROM meta.file_status"))
    for r in redeliveries:
        assert latest[r["file"]] == r["expect_outcome"], r
        if r["expect_outcome"] != "identical_redelivery":
            assert loaded[r["file"]] == r["expect_loaded"], r
    released = set(query(settings, "SELECT file_path, line FROM meta.quarantine "
                                   "WHERE released_at IS NOT NULL"))
    want_released = {(x["file"], x["line"]) for r in redeliveries for x in r.get("releases", [])}
    assert want_released and released == want_released
    by_file = dict(query(settings, "SELECT file_path, rows_released FROM meta.file_status"))
    for e in expected:
        assert by_file.get(e["file"], 0) == e["expect_released_after_replay"], e["file"]
