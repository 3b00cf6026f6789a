"""BI publishing: a complete, PII-free snapshot replaced atomically under live readers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest
from exports_world import build_warehouse, settings_for

from exports.pii import PiiError
from exports.publish import PublishError, current_version, publish

READER_SQL = """
SELECT (SELECT version FROM publish_info),
       (SELECT count(*) FROM marts.fct_offer_daily),
       (SELECT row_count FROM publish_tables WHERE table_name = 'marts.fct_offer_daily'),
       (SELECT count(*) FROM marts.fct_advertiser_daily),
       (SELECT row_count FROM publish_tables WHERE table_name = 'marts.fct_advertiser_daily')
"""


@pytest.fixture()
def world(tmp_path: Path):
    settings = settings_for(tmp_path)
    build_warehouse(settings)
    return settings


def _warehouse_counts(settings) -> dict[str, int]:
    with duckdb.connect(str(settings.paths.warehouse_file), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_schema IN ('marts', 'ml', 'alerts')"
        ).fetchall()
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for (t,) in tables}


def test_publish_writes_snapshot_parquet_and_csv(world):
    result = publish(world, run_id="run-1")
    root = world.paths.publish
    expected = _warehouse_counts(world)
    assert result.tables == expected and "marts.fct_offer_daily" in expected
    assert current_version(world) == result.version
    assert (root / "bi.duckdb").resolve() == (result.version_dir / "bi.duckdb").resolve()
    with duckdb.connect(str(root / "bi.duckdb"), read_only=True) as con:
        for table, rows in expected.items():
            assert con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] == rows
        assert con.execute("SELECT run_id FROM publish_info").fetchall() == [("run-1",)]
    for table, rows in expected.items():
        assert pl.read_parquet(root / "current" / "parquet" / f"{table}.parquet").height == rows
        raw = (root / "current" / "csv" / f"{table}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to read UTF-8
        assert pl.read_csv(raw[3:]).height == rows
    adv = pl.read_csv((root / "current" / "csv" / "marts.dim_advertisers.csv").read_bytes()[3:])
    assert "ООО Ромашка" in adv.get_column("company_name").to_list()
    manifest = json.loads((root / "current" / "manifest.json").read_text())
    assert manifest["version"] == result.version and manifest["tables"] == expected


def test_publish_prunes_old_versions_and_leaves_no_staging(world):
    versions = [publish(world, keep_versions=1).version for _ in range(3)]
    names = sorted(os.listdir(world.paths.publish / "versions"))
    assert names == versions[1:]  # at least the replaced version is kept for late openers
    assert current_version(world) == versions[-1]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("contact_email", "someone"),  # refused by its name alone
        ("phone", "n/a"),
        ("note", "ivan.petrov@example.com"),  # refused by content
        ("source_ref", "192.168.10.4"),
        ("ua_text_x", "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36"),
        ("comment", "+7 (916) 123-45-67"),
    ],
)
def test_publish_refuses_personal_data_and_keeps_current(world, column, value):
    first = publish(world)
    with duckdb.connect(str(world.paths.warehouse_file)) as con:
        con.execute(
            f"CREATE TABLE marts.leaky AS SELECT 'A1' AS advertiser_id, ? AS {column}", [value]
        )
    with pytest.raises(PiiError, match=column):
        publish(world)
    assert current_version(world) == first.version
    assert os.listdir(world.paths.publish / "versions") == [first.version]


def test_hashed_and_count_columns_are_allowed(world):
    # dim_managers.name_hash/email_hash and fct_crm_activity_daily.emails (a count) must pass.
    result = publish(world)
    assert {"marts.dim_managers", "marts.fct_crm_activity_daily"} <= set(result.tables)


def test_nothing_to_publish_is_a_clear_error(tmp_path):
    settings = settings_for(tmp_path)
    settings.paths.warehouse_file.parent.mkdir(parents=True)
    duckdb.connect(str(settings.paths.warehouse_file)).close()
    with pytest.raises(PublishError, match="dbt build"):
        publish(settings)
    assert current_version(settings) is None


_SUBPROCESS_READER = r"""
import json, os, sys, time, duckdb
path, stop_file, sql = sys.argv[1], sys.argv[2], sys.argv[3]
deadline = time.time() + 120
while time.time() < deadline:
    last = os.path.exists(stop_file)
    try:
        with duckdb.connect(path, read_only=True) as con:  # a fresh connection every query
            row = con.execute(sql).fetchall()[0]
        print(json.dumps(list(row)), flush=True)
    except Exception as exc:  # reported, and the test fails on it
        print(json.dumps({"error": repr(exc)}), flush=True)
    if last:
        break
    time.sleep(0.005)
"""


def test_readers_see_old_or_new_version_never_a_mix(world, tmp_path):
    """A connection held open through publishes keeps reading its version (even after that
    version's folder is pruned); fresh connections in another process move from old to new —
    every answer internally consistent (row counts equal that version's manifest), no errors."""
    v1 = publish(world, run_id="r1", keep_versions=2)
    snapshot = str(world.paths.publish / "bi.duckdb")
    held_results, held_errors, stop = [], [], threading.Event()

    def held_reader() -> None:
        try:
            with duckdb.connect(snapshot, read_only=True) as con:
                while not stop.is_set():
                    held_results.append(con.execute(READER_SQL).fetchall()[0])
                    time.sleep(0.002)
                held_results.append(con.execute(READER_SQL).fetchall()[0])  # after pruning
        except Exception as exc:
            held_errors.append(exc)

    thread = threading.Thread(target=held_reader)
    thread.start()
    stop_file = tmp_path / "stop-reader"
    proc = subprocess.Popen(
        [sys.executable, "-c", _SUBPROCESS_READER, snapshot, str(stop_file), READER_SQL],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines = [proc.stdout.readline()]  # the other process is reading before we publish
    deadline = time.monotonic() + 60
    while len(held_results) < 3 and not held_errors and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not held_errors and len(held_results) >= 3, held_errors

    published = [v1]
    for extra in (40, 7):  # each build changes the row counts of two tables
        with duckdb.connect(str(world.paths.warehouse_file)) as con:
            con.execute(
                "INSERT INTO marts.fct_offer_daily "
                f"SELECT * FROM marts.fct_offer_daily LIMIT {extra}"
            )
            con.execute(
                "DELETE FROM marts.fct_advertiser_daily WHERE advertiser_id = "
                f"'A{len(published) + 4}'"
            )
        published.append(publish(world, run_id=f"r{len(published) + 1}", keep_versions=2))
    stop_file.touch()
    out, err = proc.communicate(timeout=120)
    stop.set()
    thread.join(timeout=30)

    v3 = published[2]
    assert v3.pruned == [v1.version]  # the held reader's version is gone from disk
    assert not held_errors
    for version, offers, offers_manifest, adv, adv_manifest in held_results:
        assert version == v1.version
        assert (offers, adv) == (offers_manifest, adv_manifest) == (
            v1.tables["marts.fct_offer_daily"], v1.tables["marts.fct_advertiser_daily"])

    rows = [json.loads(line) for line in [*lines, *out.splitlines()] if line.strip()]
    assert proc.returncode == 0, err
    assert not [r for r in rows if isinstance(r, dict)], [r for r in rows if isinstance(r, dict)]
    order = {v.version: i for i, v in enumerate(published)}
    seen = [order[r[0]] for r in rows]
    assert seen == sorted(seen)  # old, then newer: never back to an older version
    assert seen[0] == 0 and seen[-1] == 2
    expected = {v.version: v.tables for v in published}
    for version, offers, offers_manifest, adv, adv_manifest in rows:
        assert offers == offers_manifest == expected[version]["marts.fct_offer_daily"]
        assert adv == adv_manifest == expected[version]["marts.fct_advertiser_daily"]
    assert len({v.tables["marts.fct_offer_daily"] for v in published}) == 3
    assert len({v.tables["marts.fct_advertiser_daily"] for v in published}) == 3


def test_publish_through_the_callers_writer_connection_copies_views(world):
    """The orchestrator may hand over its open warehouse writer; views become tables."""
    from ingest.warehouse import connect

    with connect(world) as con:
        con.execute("CREATE VIEW marts.v_top_offers AS SELECT offer_id, sum(revenue) AS revenue "
                    "FROM marts.fct_offer_daily GROUP BY offer_id")
        result = publish(world, con=con, run_id="in-process")
        con.execute("CREATE TABLE marts.after_publish AS SELECT 1 AS x")  # still a writer
    assert result.tables["marts.v_top_offers"] == 5
    with duckdb.connect(str(world.paths.publish / "bi.duckdb"), read_only=True) as snap:
        kinds = snap.execute("SELECT table_type FROM information_schema.tables "
                             "WHERE table_name = 'v_top_offers'").fetchall()
    assert kinds == [("BASE TABLE",)]


def test_snapshot_uses_the_configured_storage_format(world):
    """BI drivers often bundle an older DuckDB: the snapshot is written in the configured
    (by default v1.0.0, version number 64) file format, not this DuckDB's newest one."""
    import struct
    from dataclasses import replace

    assert world.publish.storage_version == "v1.0.0"
    publish(world)
    header = (world.paths.publish / "bi.duckdb").read_bytes()[:20]
    assert header[8:12] == b"DUCK" and struct.unpack("<Q", header[12:20])[0] == 64
    newer = replace(world, publish=replace(world.publish, storage_version="v1.2.0"))
    publish(newer)
    header = (world.paths.publish / "bi.duckdb").read_bytes()[:20]
    assert struct.unpack("<Q", header[12:20])[0] == 65


def test_a_warehouse_locked_by_another_writer_is_a_clear_error(world):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, duckdb; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
         "sys.stdin.read()", str(world.paths.warehouse_file)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(PublishError, match="another process is writing"):
            publish(world)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert current_version(world) is None
    assert os.listdir(world.paths.publish / "versions") == []
