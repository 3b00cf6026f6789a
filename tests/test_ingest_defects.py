"""Every misbehaviour listed in docs/sources.md ends loaded, deduplicated or quarantined with a
named reason, and every input row is accounted for."""

from __future__ import annotations

import gzip
import json

import pytest
from ingest_contract_files import (
    CLICK_HEADER,
    INVOICE_HEADER,
    MANAGER_HEADER,
    PAYMENT_HEADER,
    activity,
    base_world,
    click_line,
    company,
    conversion,
    invoice,
    offer,
    payment,
    quarantine,
    query,
    settings_for,
    write_billing,
    write_clicks,
    write_conversions,
    write_csv,
    write_json_doc,
    write_jsonl,
    write_offers,
    write_publishers,
)

from ingest.pipeline import ingest_all, ingest_source


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("CPA_HASH_KEY", "defect-test-key")
    s = settings_for(tmp_path)
    base_world(s.paths.landing)
    ingest_all(s)
    return s


def _accounting_holds(settings) -> None:
    bad = query(settings, "SELECT file_path FROM meta.file_manifest WHERE rows_read <> "
                          "rows_loaded + rows_deduplicated + rows_quarantined")
    assert bad == []
    # the manifest's quarantined count equals the rows in meta.quarantine for that delivery
    mismatch = query(settings, """
        SELECT m.file_path FROM meta.file_manifest m
        LEFT JOIN (SELECT file_path, content_hash, count(*) n FROM meta.quarantine
                   WHERE line IS NOT NULL GROUP BY ALL) q
          ON q.file_path = m.file_path AND q.content_hash = m.content_hash
        WHERE m.outcome IN ('loaded', 'corrected') AND m.rows_quarantined <> coalesce(q.n, 0)""")
    assert mismatch == []


def test_click_row_defects_each_get_their_reason(settings):
    day = "2026-11-24"
    lines = [
        click_line(101, day),                                   # 2 ok
        click_line(101, day),                                   # 3 duplicate within the file
        click_line(102, day) + ",extra",                        # 4 too many fields
        click_line(103, day).rsplit(",", 1)[0],                 # 5 too few fields
        click_line(104, day, offer_id="x1"),                    # 6 unparsable number
        click_line(105, day, ts="2026-11-24 12:00:00"),         # 7 unparsable date
        click_line(106, day, device="fridge"),                  # 8 unknown enum
        click_line(107, day, offer=999),                        # 9 unknown offer id
        click_line(108, day, ts="2026-11-25T00:00:01Z"),        # 10 future timestamp
        click_line(109, day, ip=""),                            # 11 missing value
        click_line(110, day, click_id="XYZ"),                  # 12 invalid click id
        click_line(111, day, is_bot="2"),                      # 13 not 0/1
        "",                                                   # blank line: not a row
        click_line(112, day, user_agent='a "quoted", agent'),  # 15 ok
    ]
    write_clicks(settings.paths.landing, day, lines)
    report = ingest_source(settings, "clicks")
    f = report.files[-1]
    assert (f.rows_read, f.rows_loaded, f.rows_deduplicated, f.rows_quarantined) == (13, 2, 1, 10)
    got = [r for r in quarantine(settings, "clicks") if r[0] == f"clicks_{day}.csv.gz"]
    assert got == [
        (f"clicks_{day}.csv.gz", 4, None, "bad_field_count"),
        (f"clicks_{day}.csv.gz", 5, None, "bad_field_count"),
        (f"clicks_{day}.csv.gz", 6, "offer_id", "unparsable_number"),
        (f"clicks_{day}.csv.gz", 7, "ts", "unparsable_date"),
        (f"clicks_{day}.csv.gz", 8, "device", "unknown_enum"),
        (f"clicks_{day}.csv.gz", 9, "offer_id", "unknown_id"),
        (f"clicks_{day}.csv.gz", 10, "ts", "future_timestamp"),
        (f"clicks_{day}.csv.gz", 11, "ip", "missing_value"),
        (f"clicks_{day}.csv.gz", 12, "click_id", "invalid_format"),
        (f"clicks_{day}.csv.gz", 13, "is_bot", "unknown_enum"),
    ]
    _accounting_holds(settings)


def test_unknown_id_is_released_when_a_snapshot_brings_it(settings):
    day = "2026-11-24"
    write_clicks(settings.paths.landing, day, [click_line(201, day), click_line(202, day, offer=3)])
    write_conversions(settings.paths.landing, day, [conversion(1, day, offer_id=3)])
    first = {r.source: r for r in ingest_all(settings)}
    assert first["clicks"].files[-1].quarantine_reasons == {"unknown_id": 1}
    assert first["conversions"].files[-1].quarantine_reasons == {"unknown_id": 1}
    # a later offers snapshot knows offer 3: the next run releases the held rows
    write_offers(settings.paths.landing, "2026-11-25", [offer(1), offer(2), offer(3)])
    second = {r.source: r for r in ingest_all(settings)}
    assert second["clicks"].released == 1 and second["conversions"].released == 1
    status = query(settings, "SELECT rows_read, rows_loaded, rows_quarantined, rows_released "
                             "FROM meta.file_status WHERE file_path LIKE '%clicks_2026-11-24%'")
    assert status == [(2, 2, 0, 1)]
    clicks = query(settings, f"SELECT count(*) FROM read_parquet('{settings.paths.raw}/clicks/"
                             "*/*.parquet') WHERE offer_id = 3")
    assert clicks == [(1,)]
    # released is idempotent: another run changes nothing
    third = {r.source: r for r in ingest_all(settings)}
    assert third["clicks"].released == 0
    assert query(settings, f"SELECT count(*) FROM read_parquet('{settings.paths.raw}/clicks/"
                           "*/*.parquet')") == [(7,)]


def test_whole_file_rejections_are_named(settings):
    land = settings.paths.landing
    # truncated gzip
    good = gzip.compress(("\n".join([CLICK_HEADER, click_line(1, "2026-11-25")]) + "\n").encode())
    (land / "tracker/clicks/clicks_2026-11-25.csv.gz").write_bytes(good[: len(good) // 2])
    # 0-byte file
    (land / "crm/activities/activities_2026-11-25.jsonl").write_bytes(b"")
    # invalid JSON document
    (land / "tracker/offers/offers_2026-11-25.json").write_text('{"offers": [', encoding="utf-8")
    # snapshot with no records
    write_json_doc(land, "crm/companies", "companies", "2026-11-25", "companies", [])
    # expected column missing
    write_csv(land, "crm/managers", "managers_2026-11-25.csv",
              MANAGER_HEADER.replace(",email", ""), [[7, "A B", "account_manager", 3,
                                                     "2024-02-01", ""]])
    # undecodable billing bytes (0x98 is undefined in Windows-1251)
    (land / "billing/payments/payments_2026-10.csv").write_bytes(
        PAYMENT_HEADER.encode("cp1251") + b"\r\n\x98\x98;1\r\n")
    # stray file
    (land / "tracker/clicks/clicks_latest.csv.gz").write_bytes(b"whatever")
    reports = {r.source: r for r in ingest_all(settings)}
    rejected = {f.file_path.rsplit("/", 1)[1]: f.reason for r in reports.values()
                for f in r.files if f.outcome == "rejected"}
    assert rejected == {
        "clicks_2026-11-25.csv.gz": "unreadable_file",
        "activities_2026-11-25.jsonl": "unreadable_file",
        "offers_2026-11-25.json": "invalid_json",
        "companies_2026-11-25.json": "empty_snapshot",
        "managers_2026-11-25.csv": "missing_column",
        "payments_2026-10.csv": "encoding_error",
    }
    assert reports["clicks"].stray_files == ["tracker/clicks/clicks_latest.csv.gz"]
    assert query(settings, "SELECT field FROM meta.quarantine WHERE reason = 'missing_column'") \
        == [("email",)]
    assert query(settings, "SELECT outcome, reason FROM meta.file_manifest "
                           "WHERE file_name = 'clicks_latest.csv.gz'") == [("rejected",
                                                                            "stray_file")]
    # the empty snapshot never became the newest truth: still the 23rd's companies
    assert query(settings, "SELECT max(snapshot_date)::VARCHAR FROM raw.companies") == [
        ("2026-11-23",)]
    # a later clean delivery of the same name loads it all
    write_clicks(land, "2026-11-25", [click_line(1, "2026-11-25")])
    again = ingest_source(settings, "clicks")
    assert [(f.outcome, f.rows_loaded) for f in again.files if "11-25" in f.file_path] == [
        ("loaded", 1)]
    # strays are recorded once, not on every run
    assert query(settings, "SELECT count(*) FROM meta.file_manifest "
                           "WHERE reason = 'stray_file'") == [(1,)]
    _accounting_holds(settings)


def test_header_only_csv_is_a_valid_empty_file_but_not_a_snapshot(settings):
    land = settings.paths.landing
    write_clicks(land, "2026-11-26", [])
    write_publishers(land, "2026-11-26", [])
    reports = {r.source: r for r in ingest_all(settings)}
    clicks = next(f for f in reports["clicks"].files if "11-26" in f.file_path)
    assert (clicks.outcome, clicks.rows_read) == ("loaded", 0)
    pubs = next(f for f in reports["publishers"].files if "11-26" in f.file_path)
    assert (pubs.outcome, pubs.reason) == ("rejected", "empty_snapshot")


def test_billing_defects(settings):
    land = settings.paths.landing
    write_billing(land / "billing/invoices/invoices_2026-12.csv", INVOICE_HEADER, [
        invoice("A-1", Дата="01.12.2026"),                            # ok
        invoice("A-2", Дата="01.12.2026", Сумма="-5 000,00"),           # negative
        invoice("A-3", Дата="32.12.2026"),                            # bad date
        invoice("A-4", Дата="01.12.2026", НДС="12.5"),                 # decimal point
        invoice("A-5", Дата="01.01.2027"),                            # future for the month
        invoice("A-6", Дата="01.12.2026", Валюта="GBP"),               # no rate ever
        invoice("A-7", Дата="01.12.2026", Статус="черновик"),          # unknown status
        invoice("A-8", Дата="01.12.2026", **{"ID рекламодателя": 555}),  # unknown advertiser
        invoice("A-1", Дата="01.12.2026"),                            # identical line
        invoice("A-1", Дата="01.12.2026", Статус="оплачен"),           # new version: kept
    ])
    write_billing(land / "billing/payments/payments_2026-12.csv", PAYMENT_HEADER, [
        payment("P-1", Дата="02.12.2026"),
        payment("P-1", Дата="02.12.2026"),                            # duplicate payment number
        payment("П-1", Дата="02.12.2026"),                            # already in November's file
        payment("P-2", Дата="02.12.2026", Валюта="USD", Сумма="10,00"),  # rate from 01.11
        payment("P-3", Дата="02.12.2026", Сумма="1 0 0,00"),
    ])
    reports = {r.source: r for r in ingest_all(settings)}
    inv = reports["invoices"].files[-1]
    assert (inv.rows_read, inv.rows_loaded, inv.rows_deduplicated, inv.rows_quarantined) == (
        10, 2, 1, 7)
    assert [(r[1], r[2], r[3]) for r in quarantine(settings, "invoices")] == [
        (3, "Сумма", "negative_amount"),
        (4, "Дата", "unparsable_date"),
        (5, "НДС", "unparsable_number"),
        (6, "Дата", "future_timestamp"),
        (7, "Валюта", "no_fx_rate"),
        (8, "Статус", "unknown_enum"),
        (9, "ID рекламодателя", "unknown_id"),
    ]
    pay = reports["payments"].files[-1]
    assert (pay.rows_read, pay.rows_loaded, pay.rows_deduplicated, pay.rows_quarantined) == (
        5, 3, 2, 0)
    _accounting_holds(settings)


def test_json_sources_defects(settings):
    land = settings.paths.landing
    day = "2026-11-24"
    write_conversions(land, day, [
        conversion(1, day),
        conversion(1, day),                                        # same event twice
        conversion(1, day, status="approved", updated_at=f"{day}T15:00:00Z"),  # new status
        conversion(2, day, revenue=-1),
        conversion(3, day, revenue="12"),                          # a string, not a number
        conversion(4, day, goal="purchase"),
        conversion(5, day, currency="USD", created_at="2026-10-01T10:00:00Z"),  # before rates
        '{"conversion_id": "c6", "offer_id": 1',                   # broken line
        conversion(7, day, created_at="2026-11-25T00:00:00Z"),
        {k: v for k, v in conversion(8, day).items() if k != "status"},  # key missing
        conversion(9, day, currency="EUR", comment="ok"),
    ])
    write_jsonl(land, "crm/activities", f"activities_{day}.jsonl", [
        activity(10, occurred_at=1795428000 - 86400),              # logged a day late: fine
        activity(10),                                              # repeat of activity 10
        activity(1),                                               # already loaded on the 23rd
        activity(11, manager_id=99),
        activity(12, occurred_at="yesterday"),
        activity(13, extra_field=1),
    ])
    reports = {r.source: r for r in ingest_all(settings)}
    conv = reports["conversions"].files[-1]
    assert (conv.rows_read, conv.rows_loaded, conv.rows_deduplicated, conv.rows_quarantined) == (
        11, 3, 1, 7)
    assert [(r[1], r[2], r[3]) for r in quarantine(settings, "conversions")] == [
        (4, "revenue", "negative_amount"),
        (5, "revenue", "unparsable_number"),
        (6, "goal", "unknown_enum"),
        (7, "currency", "no_fx_rate"),
        (8, None, "invalid_json"),
        (9, "created_at", "future_timestamp"),
        (10, "status", "missing_value"),
    ]
    act = reports["activities"].files[-1]
    assert (act.rows_read, act.rows_loaded, act.rows_deduplicated, act.rows_quarantined) == (
        6, 2, 2, 2)
    assert act.extra_columns == ["extra_field"]
    assert [(r[1], r[2], r[3]) for r in quarantine(settings, "activities")] == [
        (4, "manager_id", "unknown_id"), (5, "occurred_at", "unparsable_date")]
    _accounting_holds(settings)


def test_extra_column_accepted_and_reported(settings):
    land = settings.paths.landing
    header = MANAGER_HEADER + ",office"
    write_csv(land, "crm/managers", "managers_2026-11-24.csv", header,
              [[7, "Мария Иванова", "m@x.ru", "account_manager", 3, "2024-02-01", "", "Москва"]])
    report = ingest_source(settings, "managers")
    f = report.files[-1]
    assert (f.outcome, f.rows_loaded, f.extra_columns) == ("loaded", 1, ["office"])
    assert query(settings, "SELECT extra_columns FROM meta.file_manifest "
                           "WHERE file_name = 'managers_2026-11-24.csv'") == [(["office"],)]


def test_quarantine_never_holds_raw_personal_data(settings):
    land = settings.paths.landing
    day = "2026-11-24"
    secret_ip, secret_mail = "203.0.113.77", "secret.person@example.com"
    write_clicks(land, day, [
        click_line(1, day, ip=secret_ip, device="toaster"),        # quarantined row
        click_line(2, day, ip=secret_ip) + ",x",                   # unsplittable row
    ])
    write_json_doc(land, "crm/companies", "companies", day, "companies", [
        company(1, 100, contacts=[{"name": "X", "email": secret_mail, "phone": "1",
                                   "position": "CEO"}]),
        company(2, 100, created_at="not a number",
                contacts=[{"name": "Y", "email": secret_mail, "phone": "2", "position": "-"}]),
    ])
    ingest_all(settings)
    dump = json.dumps(query(settings, "SELECT * FROM meta.quarantine"), default=str)
    assert secret_ip not in dump and secret_mail not in dump
    assert "toaster" in dump  # the record is there, only personal data is hashed
