"""Every raw table is also ``<raw>/<t>/part-0.parquet`` (what Spark/Trino read): equal to the
table after a first load, a corrected delivery, a release of held rows and a rerun; a missing,
damaged or stale file is repaired by the next run; an unchanged rerun keeps the bytes."""

from __future__ import annotations

import hashlib

import pytest
from ingest_contract_files import (
    INVOICE_HEADER,
    RAW_TABLES,
    activity,
    base_world,
    company,
    invoice,
    query,
    settings_for,
    write_billing,
    write_json_doc,
    write_jsonl,
)

import ingest.pipeline as pipeline
from ingest.pipeline import ingest_all, ingest_source
from ingest.raw_export import FINGERPRINT_KEY


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("CPA_HASH_KEY", "export-test-key")
    s = settings_for(tmp_path)
    base_world(s.paths.landing)
    return s


def _file(settings, table: str):
    return settings.paths.raw / table / "part-0.parquet"


def _mismatches(settings, tables=RAW_TABLES) -> list[str]:
    """Tables whose Parquet differs from the DuckDB table in columns, types or rows."""
    out = []
    for t in tables:
        path = _file(settings, t)
        if not path.exists():
            out.append(f"{t}: no file")
            continue
        src = f"read_parquet('{path}')"
        if query(settings, f"DESCRIBE raw.{t}") != query(settings, f"DESCRIBE SELECT * FROM {src}"):
            out.append(f"{t}: columns differ")
        table_rows = query(settings, f"SELECT * FROM raw.{t} ORDER BY ALL")
        if query(settings, f"SELECT * FROM {src} ORDER BY ALL") != table_rows:
            out.append(f"{t}: rows differ")
    return out


def _digests(settings) -> dict[str, str]:
    return {t: hashlib.sha256(_file(settings, t).read_bytes()).hexdigest() for t in RAW_TABLES}


def test_every_table_is_exported_equal_and_a_rerun_keeps_the_bytes(settings):
    reports = {r.source: r for r in ingest_all(settings)}
    assert _mismatches(settings) == []
    assert all(reports[t].exported for t in RAW_TABLES)
    assert not reports["clicks"].exported and not (settings.paths.raw / "clicks" / "part-0.parquet"
                                                   ).exists()
    counts = {t: query(settings, f"SELECT count(*) FROM raw.{t}")[0][0] for t in RAW_TABLES}
    assert all(n > 0 for n in counts.values()), counts
    before = _digests(settings)
    reports = {r.source: r for r in ingest_all(settings)}
    assert not any(reports[t].exported for t in RAW_TABLES)
    assert _digests(settings) == before
    assert not list(settings.paths.raw.rglob(".*tmp*"))
    # the manifest accounting is untouched by the export
    assert query(settings, "SELECT outcome, count(*) FROM meta.file_manifest GROUP BY 1 "
                           "ORDER BY 1") == [("identical_redelivery", 12), ("loaded", 12)]


def test_corrected_delivery_rewrites_only_its_table(settings):
    ingest_all(settings)
    before = _digests(settings)
    write_billing(settings.paths.landing / "billing/invoices/invoices_2026-11.csv",
                  INVOICE_HEADER, [invoice("СЧ-1", Сумма="13 000,00")])
    report = ingest_source(settings, "invoices")
    assert [f.outcome for f in report.files] == ["corrected"] and report.exported
    assert _mismatches(settings) == []
    rows = query(settings, f"SELECT invoice_number, amount_total FROM "
                           f"read_parquet('{_file(settings, 'invoices')}')")
    assert rows == [("СЧ-1", 13000.0)]
    after = _digests(settings)
    assert [t for t in RAW_TABLES if after[t] != before[t]] == ["invoices"]


def test_released_rows_reach_the_file(settings):
    land = settings.paths.landing
    write_jsonl(land, "crm/activities", "activities_2026-11-24.jsonl",
                [activity(3, company_id=5)])
    ingest_all(settings)
    assert query(settings, "SELECT reason FROM meta.quarantine WHERE source = 'activities'") == [
        ("unknown_id",)]
    write_json_doc(land, "crm/companies", "companies", "2026-11-24", "companies",
                   [company(1, 100), company(5, None)])
    reports = {r.source: r for r in ingest_all(settings)}
    assert reports["activities"].released == 1 and reports["activities"].exported
    assert _mismatches(settings) == []
    ids = query(settings, f"SELECT activity_id FROM read_parquet('"
                          f"{_file(settings, 'activities')}') ORDER BY 1")
    assert ids == [(1,), (2,), (3,)]


def test_missing_damaged_or_stale_files_are_repaired_by_the_next_run(settings, monkeypatch):
    ingest_all(settings)
    _file(settings, "offers").unlink()
    _file(settings, "deals").write_bytes(b"PAR1 truncated")
    leftover = settings.paths.raw / "payments" / ".part-0.parquet.tmp-999999"
    leftover.write_bytes(b"half a file of a killed writer")
    # a crash between the commit and the export: the table changed, its file did not
    monkeypatch.setattr(pipeline, "export_table", lambda *a, **k: False)
    write_billing(settings.paths.landing / "billing/invoices/invoices_2026-11.csv",
                  INVOICE_HEADER, [invoice("СЧ-9")])
    ingest_source(settings, "invoices")
    assert _mismatches(settings, ["invoices"]) == ["invoices: rows differ"]
    monkeypatch.undo()
    monkeypatch.setenv("CPA_HASH_KEY", "export-test-key")
    reports = {r.source: r for r in ingest_all(settings)}  # every file identical: no new rows
    assert {f.outcome for r in reports.values() for f in r.files} == {"identical_redelivery"}
    assert sorted(t for t in RAW_TABLES if reports[t].exported) == [
        "deals", "invoices", "offers"]
    assert _mismatches(settings) == []
    assert not leftover.exists()
    stored = query(settings, f"SELECT key::VARCHAR FROM parquet_kv_metadata('"
                             f"{_file(settings, 'offers')}')")
    assert (FINGERPRINT_KEY,) in stored
