"""Files of a batch are decoded on several threads, and the next batch is read ahead while one
is processed: the output (raw rows, Parquet partitions, manifest, quarantine with
file/line/reason) is the same as with one thread and one batch, whatever finishes first."""

from __future__ import annotations

import dataclasses

from ingest_contract_files import (
    base_world,
    click_line,
    conversion,
    query,
    settings_for,
    write_clicks,
    write_conversions,
)

from ingest import pipeline
from ingest.pipeline import ingest_all
from ingest.settings import DuckDBSettings

DAYS = ["2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22"]
HELD_CHAIN, LOADED_CHAIN = 900_007, 900_055  # ids no other line uses
HELD_EVENT = 900_001


def _world(settings) -> None:
    """Four days of clicks and conversions with bad lines, a rejected file, a repeat of the
    day before, two clicks sent again every day (one held for an unknown offer, one loaded),
    and a held conversion event sent again every day."""
    land = settings.paths.landing
    base_world(land)
    for n, day in enumerate(DAYS):
        lines = [click_line(1000 * n + i, day) for i in range(30)]
        lines[3] = lines[3] + ",extra"  # bad_field_count
        lines[5] = click_line(HELD_CHAIN, day, offer=999)  # unknown_id (held)
        lines[6] = click_line(LOADED_CHAIN, day)
        if day == "2026-11-21":
            lines.append(click_line(1000 * 1 + 2, day))  # repeat of the day before: dedup
        write_clicks(land, day, lines)
        rows = [conversion(100 * n + i, day) for i in range(10)]
        rows.append("{not json")
        rows.append(conversion(HELD_EVENT, DAYS[0], offer_id=999))  # one held event, re-sent
        write_conversions(land, day, rows)
    bad = write_clicks(land, "2026-11-18", [click_line(1, "2026-11-18")])
    bad.write_bytes(bad.read_bytes()[:-6])  # truncated gzip: the file is rejected


def _state(settings) -> dict:
    out = {}
    for t in ("offers", "publishers", "activities", "invoices"):
        out[t] = query(settings, f"SELECT * FROM raw.{t} ORDER BY ALL")
    for ds in ("clicks", "conversions"):
        files = sorted(p.relative_to(settings.paths.raw).as_posix()
                       for p in (settings.paths.raw / ds).glob("day=*/*.parquet"))
        out[ds + "_files"] = files
        out[ds] = query(settings, f"SELECT * FROM read_parquet('{settings.paths.raw}/{ds}/*/"
                                  "*.parquet', hive_partitioning = true) ORDER BY ALL")
    out["manifest"] = query(settings, "SELECT source, file_path, outcome, reason, detail, "
                                      "rows_read, rows_loaded, rows_deduplicated, "
                                      "rows_quarantined FROM meta.file_manifest ORDER BY ALL")
    out["quarantine"] = query(settings, "SELECT source, file_path, line, field, value, reason, "
                                        "detail, record::VARCHAR FROM meta.quarantine "
                                        "ORDER BY ALL")
    return out


def test_output_does_not_depend_on_the_number_of_threads(tmp_path, monkeypatch):
    monkeypatch.setenv("CPA_HASH_KEY", "parallel-test-key")
    states = []
    for threads in (1, 2):
        s = settings_for(tmp_path / f"t{threads}")
        s = dataclasses.replace(s, duckdb=DuckDBSettings(threads=threads))
        _world(s)
        ingest_all(s)
        states.append(_state(s))
    one = states[0]
    assert len(one["clicks_files"]) == 5  # 4 days + base day; the truncated file has none
    reasons = {r[5] for r in one["quarantine"]}
    assert {"bad_field_count", "unknown_id", "invalid_json", "unreadable_file"} <= reasons
    assert any(r[7] > 0 for r in one["manifest"] if r[0] == "clicks")  # a repeat dropped
    assert states[1] == one


def test_output_does_not_depend_on_batch_boundaries(tmp_path, monkeypatch):
    """One file per batch (every batch read ahead of the one before, repeats crossing batch
    boundaries) gives exactly what one batch per source gives, as if the files were processed
    one at a time: a click repeating one kept (loaded, or held for an unknown id) in the file of
    the day before or after is dropped, and one repeating a dropped row is not."""
    monkeypatch.setenv("CPA_HASH_KEY", "parallel-test-key")
    states = []
    for batch_files in (pipeline.BATCH_FILES, 1):
        monkeypatch.setattr(pipeline, "BATCH_FILES", batch_files)
        s = settings_for(tmp_path / f"b{batch_files}")
        _world(s)
        ingest_all(s)
        states.append(_state(s))
    one = states[0]
    assert len(one["clicks_files"]) == 5
    # each chain: days 1 and 3 kept, days 2 and 4 dropped as repeats of a kept row
    for chain, where in ((HELD_CHAIN, "quarantine"), (LOADED_CHAIN, "clicks")):
        click_id = f"{chain:032x}"
        rows = [r for r in one[where] if click_id in str(r)]
        assert len(rows) == 2, (chain, rows)
        assert {d for d in (DAYS[0], DAYS[2]) if any(d in str(r) for r in rows)} == {
            DAYS[0], DAYS[2]}
    dedup = {r[1].rsplit("_", 1)[1][:10]: r[7] for r in one["manifest"] if r[0] == "clicks"}
    assert dedup == {"2026-11-18": 0, DAYS[0]: 0, DAYS[1]: 2, DAYS[2]: 1, DAYS[3]: 2,
                     "2026-11-23": 0}
    # conversion events (deduplicated across all files): held once, a repeat in every later file
    assert sum(f'"c{HELD_EVENT}"' in (r[7] or "") for r in one["quarantine"]) == 1
    events = {r[1].rsplit("_", 1)[1][:10]: r[7] for r in one["manifest"] if r[0] == "conversions"}
    assert [events[d] for d in DAYS] == [0, 1, 1, 1]
    assert states[1] == one
