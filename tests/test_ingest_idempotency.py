"""Re-running is idempotent, corrections replace, late files land in their own partition, a
crash at any point leaves consistent data that a rerun completes, and no raw personal data is
stored anywhere."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from ingest_contract_files import (
    INVOICE_HEADER,
    RAW_TABLES,
    base_world,
    click_line,
    invoice,
    parquet_rows,
    query,
    settings_for,
    write_billing,
    write_clicks,
)

import ingest.pipeline as pipeline
from ingest.pipeline import ingest_all, ingest_source


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("CPA_HASH_KEY", "idem-test-key")
    s = settings_for(tmp_path)
    base_world(s.paths.landing)
    return s


def _state(settings) -> dict:
    """Everything ingestion produced, as comparable values."""
    out = {t: query(settings, f"SELECT * FROM raw.{t} ORDER BY ALL") for t in RAW_TABLES}
    for path in sorted(settings.paths.raw.rglob("*.parquet")):
        out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    out["quarantine"] = query(settings, "SELECT file_path, line, reason FROM meta.quarantine "
                                        "WHERE released_at IS NULL AND superseded_at IS NULL "
                                        "ORDER BY ALL")
    return out


def test_same_files_again_change_nothing(settings):
    ingest_all(settings)
    before = _state(settings)
    reports = ingest_all(settings)
    assert {f.outcome for r in reports for f in r.files} == {"identical_redelivery"}
    assert all(r.rows_read == 0 and r.rows_loaded == 0 for r in reports)
    assert _state(settings) == before
    outcomes = query(settings, "SELECT outcome, count(*) FROM meta.file_manifest GROUP BY 1 "
                               "ORDER BY 1")
    assert outcomes == [("identical_redelivery", 12), ("loaded", 12)]


def test_corrected_file_replaces_exactly_its_rows(settings):
    land = settings.paths.landing
    write_clicks(land, "2026-11-24", [click_line(i, "2026-11-24") for i in range(100, 110)])
    ingest_all(settings)
    write_billing(land / "billing/invoices/invoices_2026-10.csv", INVOICE_HEADER,
                  [invoice("СЧ-1", Дата="10.10.2026", Сумма="1,00")])
    ingest_source(settings, "invoices")
    # corrected deliveries: fewer clicks, an invoice changed
    write_clicks(land, "2026-11-24", [click_line(i, "2026-11-24") for i in range(100, 104)])
    write_billing(land / "billing/invoices/invoices_2026-11.csv", INVOICE_HEADER,
                  [invoice("СЧ-1", Сумма="13 000,00")])
    reports = {r.source: r for r in ingest_all(settings)}
    assert [f.outcome for f in reports["clicks"].files] == ["identical_redelivery", "corrected"]
    clicks = parquet_rows(settings, "clicks")
    assert len([c for c in clicks if str(c["day"]) == "2026-11-24"]) == 4
    assert len([c for c in clicks if str(c["day"]) == "2026-11-23"]) == 5
    inv = query(settings, "SELECT file_month::VARCHAR, amount_total FROM raw.invoices "
                          "WHERE invoice_number = 'СЧ-1' ORDER BY 1")
    assert inv == [("2026-10-01", 1.0), ("2026-11-01", 13000.0)]
    # СЧ-2 was only in the first delivery of November's file: gone with it
    assert query(settings, "SELECT count(*) FROM raw.invoices") == [(2,)]


def test_late_file_lands_in_its_own_partition(settings):
    land = settings.paths.landing
    # the 25th's file also carries click 300 of the 24th (a tracker retry after midnight)
    write_clicks(land, "2026-11-25", [click_line(300, "2026-11-24")]
                 + [click_line(i, "2026-11-25") for i in range(301, 303)])
    ingest_all(settings)
    # the 24th arrives after the 25th, with click 300 again: a repeat, loaded once only
    write_clicks(land, "2026-11-24", [click_line(i, "2026-11-24") for i in range(200, 203)]
                 + [click_line(300, "2026-11-24")])
    report = ingest_source(settings, "clicks", days=[date(2026, 11, 24)])
    assert [(f.file_path.rsplit("_", 1)[1], f.outcome, f.rows_loaded, f.rows_deduplicated)
            for f in report.files] == [("2026-11-24.csv.gz", "loaded", 3, 1)]
    parts = sorted(p.parent.name for p in settings.paths.raw.glob("clicks/*/part-0.parquet"))
    assert parts == ["day=2026-11-23", "day=2026-11-24", "day=2026-11-25"]


def test_crash_between_partition_and_manifest_is_repaired_by_rerun(settings, monkeypatch):
    ingest_all(settings)
    land = settings.paths.landing
    write_clicks(land, "2026-11-24", [click_line(i, "2026-11-24") for i in range(100, 105)])
    write_billing(land / "billing/invoices/invoices_2026-12.csv", INVOICE_HEADER,
                  [invoice("СЧ-5", Дата="01.12.2026")])
    real = pipeline._record_deliveries

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(pipeline, "_record_deliveries", crash)
    for source in ("clicks", "invoices"):
        with pytest.raises(KeyboardInterrupt):
            ingest_source(settings, source)
    # the table insert rolled back with the manifest; the partition may already be in place
    assert query(settings, "SELECT count(*) FROM raw.invoices WHERE invoice_number = 'СЧ-5'") \
        == [(0,)]
    assert query(settings, "SELECT count(*) FROM meta.file_manifest WHERE file_path LIKE "
                           "'%2026-11-24%' OR file_path LIKE '%2026-12%'") == [(0,)]
    monkeypatch.setattr(pipeline, "_record_deliveries", real)
    reports = {r.source: r for r in ingest_all(settings)}
    assert reports["clicks"].files[-1].rows_loaded == 5
    assert reports["invoices"].files[-1].rows_loaded == 1
    clicks = parquet_rows(settings, "clicks")
    assert len(clicks) == 10 and len({c["click_id"] for c in clicks}) == 10
    assert query(settings, "SELECT count(*) FROM raw.invoices") == [(3,)]
    assert not list(settings.paths.raw.rglob(".*tmp*"))


def test_no_raw_personal_data_in_warehouse_or_parquet(settings):
    land = settings.paths.landing
    ip, mail = "198.51.100.23", "unique.person.mail@example.net"
    write_clicks(land, "2026-11-24", [click_line(500, "2026-11-24", ip=ip),
                                      click_line(501, "2026-11-24", ip=ip, device="x")])
    from ingest_contract_files import publisher, write_publishers

    write_publishers(land, "2026-11-24", [publisher(10, email=mail), publisher(11)])
    ingest_all(settings)
    for path in [settings.paths.warehouse_file, *settings.paths.raw.rglob("*.parquet")]:
        data = path.read_bytes()
        assert ip.encode() not in data and mail.encode() not in data, path
    # and no column of any table holds them (DuckDB may compress strings on disk)
    tables = query(settings, "SELECT table_schema, table_name FROM information_schema.tables "
                             "WHERE table_schema IN ('raw', 'meta')")
    for schema, table in tables:
        dump = str(query(settings, f"SELECT * FROM {schema}.{table}"))
        assert ip not in dump and mail not in dump, table
    dump = str(query(settings, f"SELECT * FROM read_parquet('{settings.paths.raw}/*/*/*.parquet',"
                               " union_by_name = true)"))
    assert ip not in dump and mail not in dump


def test_missing_hash_key_is_a_clear_error(settings, monkeypatch):
    from ingest.settings import ConfigError

    monkeypatch.delenv("CPA_HASH_KEY")
    monkeypatch.delenv("CPA_DEMO", raising=False)
    with pytest.raises(ConfigError, match="CPA_HASH_KEY"):
        ingest_all(settings)
