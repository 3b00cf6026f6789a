"""Each source's parser on real files written in the exact contract formats."""

from __future__ import annotations

import gzip
from datetime import date, datetime

import pytest
from ingest_contract_files import (
    FX_HEADER,
    INVOICE_HEADER,
    PAYMENT_HEADER,
    base_world,
    invoice,
    parquet_rows,
    payment,
    query,
    settings_for,
    write_billing,
)

from ingest.landing import discover
from ingest.pii import keyed_hash_hex
from ingest.pipeline import _plan_batches, ingest_all, ingest_source
from ingest.readers.text import content_size, split_lines
from ingest.sources import SOURCES

KEY = "parser-test-key"


@pytest.fixture
def world(tmp_path, monkeypatch):
    monkeypatch.setenv("CPA_HASH_KEY", KEY)
    settings = settings_for(tmp_path)
    base_world(settings.paths.landing)
    reports = {r.source: r for r in ingest_all(settings)}
    return settings, reports


def test_every_source_loads_every_row_of_clean_files(world):
    settings, reports = world
    for source, report in reports.items():
        assert report.rows_read > 0, source
        assert report.rows_loaded == report.rows_read, (source, report.files)
        assert [f.outcome for f in report.files] == ["loaded"], source
    manifest = query(settings, "SELECT count(*), sum(rows_read - rows_loaded - rows_deduplicated "
                               "- rows_quarantined) FROM meta.file_manifest")
    assert manifest == [(12, 0)]


def test_clicks_types_quoting_and_hashed_pii(world):
    settings, _ = world
    rows = parquet_rows(settings, "clicks")
    assert len(rows) == 5
    first = rows[0]
    assert first["click_id"] == f"{0:032x}"
    assert first["ts"] == datetime(2026, 11, 23, 12, 0)
    assert first["offer_id"] == 1 and first["publisher_id"] == 10
    assert first["sub_id"] is None and first["country"] == "RU"
    assert first["is_unique"] is True and first["is_bot"] is False
    assert first["day"] == date(2026, 11, 23)
    assert first["_source_file"] == "tracker/clicks/clicks_2026-11-23.csv.gz"
    assert first["_source_line"] == 2
    # the user agent has commas and doubled quotes inside an RFC 4180 quoted field
    from ingest_contract_files import UA

    assert first["user_agent_hash"] == keyed_hash_hex(UA, KEY.encode())
    assert first["ip_hash"] == keyed_hash_hex("10.0.0.0", KEY.encode())
    assert "ip" not in first and "user_agent" not in first


def test_conversions_events_with_nulls_and_numbers(world):
    settings, _ = world
    rows = parquet_rows(settings, "conversions")
    assert len(rows) == 3
    assert rows[0]["revenue"] == 500.0 and rows[0]["payout"] == 300.0
    assert rows[0]["created_at"] == datetime(2026, 11, 23, 10, 0)
    assert rows[0]["sub_id"] is None and rows[0]["comment"] is None
    assert [r["_source_line"] for r in rows] == [1, 2, 3]


def test_billing_russian_formats(world):
    settings, _ = world
    inv = query(settings, "SELECT invoice_number, invoice_date, due_date, advertiser_id, "
                          "counterparty, amount_net, vat, amount_total, currency, status, "
                          "file_month, _source_line FROM raw.invoices ORDER BY 1")
    assert inv[0] == ("СЧ-1", date(2026, 11, 15), date(2026, 11, 30), 100, "ООО «Ромашка»",
                      10000.0, 2000.0, 12000.0, "RUB", "выставлен", date(2026, 11, 1), 2)
    assert inv[1][7] == 1000.5 and inv[1][8] == "USD"
    pay = query(settings, "SELECT payment_number, invoice_number, amount FROM raw.payments "
                          "ORDER BY 1")
    assert pay == [("П-1", "СЧ-1", 12000.0), ("П-2", None, 12000.0)]
    fx = query(settings, "SELECT rate_date, currency, rate FROM raw.fx_rates ORDER BY 2")
    assert fx[0] == (date(2026, 11, 1), "EUR", 99.1)


@pytest.mark.parametrize(
    ("encoding", "bom", "eol"),
    [("utf-8", True, "\r\n"), ("utf-8", False, "\n"), ("cp1251", False, "\n")],
)
def test_billing_file_saved_as_utf8_or_lf_reads_the_same(tmp_path, monkeypatch, encoding, bom,
                                                       eol):
    monkeypatch.setenv("CPA_HASH_KEY", KEY)
    settings = settings_for(tmp_path)
    base_world(settings.paths.landing)
    ingest_all(settings)
    write_billing(settings.paths.landing / "billing" / "invoices" / "invoices_2026-10.csv",
                  INVOICE_HEADER,
                  [invoice("СЧ-9", Дата="10.10.2026", Сумма="1\u00a0234\u00a0567,89")],
                  encoding=encoding, bom=bom, eol=eol)
    report = ingest_source(settings, "invoices")
    assert report.rows_loaded == 1
    assert query(settings, "SELECT counterparty, amount_total, status FROM raw.invoices "
                           "WHERE invoice_number = 'СЧ-9'") == [
        ("ООО «Ромашка»", 1234567.89, "выставлен")]


def test_snapshots_and_crm(world):
    settings, _ = world
    offers = query(settings, "SELECT offer_id, snapshot_date, exported_at, hold_days, daily_cap, "
                             "exclusive, allowed_sources, stopped_at FROM raw.offers ORDER BY 1")
    assert offers[0] == (1, date(2026, 11, 23), datetime(2026, 11, 23, 23, 0), 14, 100, False,
                         ["context", "seo"], None)
    pubs = query(settings, "SELECT publisher_id, name_hash, email_hash, traffic_types, status "
                           "FROM raw.publishers ORDER BY 1")
    assert pubs[0] == (10, keyed_hash_hex("Иван Петров", KEY.encode()),
                       keyed_hash_hex("pub10@example.org", KEY.encode()), ["context", "seo"],
                       "active")
    comp = query(settings, "SELECT company_id, advertiser_id, created_at, tags, contact_count, "
                           "contact_email_hashes FROM raw.companies ORDER BY 1")
    assert comp[0] == (1, 100, datetime(2025, 1, 1), ["vip"], 1,
                       [keyed_hash_hex("anna@romashka.ru", KEY.encode())])
    assert comp[1][1] is None  # a prospect
    mgr = query(settings, "SELECT manager_id, role, team_lead_id, hired_at, left_at "
                          "FROM raw.managers ORDER BY 1")
    assert mgr == [(3, "team_lead", None, date(2023, 1, 10), None),
                   (7, "account_manager", 3, date(2024, 2, 1), None)]
    act = query(settings, "SELECT activity_id, occurred_at, duration_s, type FROM raw.activities "
                          "ORDER BY 1")
    assert act[0] == (1, datetime(2026, 11, 23, 10, 0), 120, "call")
    deals = query(settings, "SELECT deal_id, closed_at, loss_reason, expected_monthly_budget "
                            "FROM raw.deals ORDER BY 1")
    assert deals[1] == (2, datetime(2025, 11, 13, 2, 13, 20), "budget", 250000.0)
    prog = query(settings, "SELECT advertiser_id, program, group_name, started_on, ended_on "
                           "FROM raw.programs")
    assert prog == [(100, "dedicated_manager", "control", date(2026, 6, 1), None)]


def test_payment_and_fx_headers_exact(tmp_path, monkeypatch):
    """Header names are trimmed and found by name, whatever their order."""
    monkeypatch.setenv("CPA_HASH_KEY", KEY)
    settings = settings_for(tmp_path)
    base_world(settings.paths.landing)
    cols = PAYMENT_HEADER.split(";")
    reordered = ";".join(f" {c} " for c in reversed(cols))
    row = list(reversed(payment("П-7")))
    write_billing(settings.paths.landing / "billing" / "payments" / "payments_2026-11.csv",
                  reordered, [row])
    write_billing(settings.paths.landing / "billing" / "fx_rates.csv", FX_HEADER,
                  [["01.11.2026", "USD", "92,5"]])
    reports = {r.source: r for r in ingest_all(settings)}
    assert reports["payments"].rows_loaded == 1
    assert query(settings, "SELECT payment_number, amount FROM raw.payments") == [("П-7", 12000.0)]


def test_json_values_and_types_are_extracted_exactly():
    """Each key's text and JSON type, read straight from the record: numbers as JSON writes
    them back, strings unescaped, null / missing / object / array without a text value; list
    fields keep their elements."""
    import polars as pl

    from ingest.readers.jsonl import read_json_records

    texts = [
        '{"a": 1.50, "b": "x\\u00e9 \\"q\\"", "c": [1, 2], "d": {"e": 1}, "f": null, '
        '"g": true, "h": 1e5, "i": -0.0, "j": 12345678901234567890, "l": ["u", 3]}',
        '{"a": "12", "l": "not a list"}',
        "[1, 2]",
    ]
    lines = pl.DataFrame({"_source_file": ["f.jsonl"] * 3, "_source_line": [1, 2, 3],
                          "_text": texts})
    got = read_json_records(lines, expected=list("abcdfghijl"), required=["a"],
                            list_fields=["l"], extra_sql={}, raw_line_hash=lambda s: s)
    rows = got.frame.sort("_source_line").to_dicts()
    values = {k: rows[0][k] for k in "abcdfghij"}
    assert values == {"a": "1.5", "b": 'xé "q"', "c": None, "d": None, "f": None, "g": "true",
                      "h": "100000.0", "i": "-0.0", "j": "12345678901234567890"}
    types = {k: rows[0][f"{k}__t"] for k in "abcdfghij"}
    assert types == {"a": "DOUBLE", "b": "VARCHAR", "c": "ARRAY", "d": "OBJECT", "f": "NULL",
                     "g": "BOOLEAN", "h": "DOUBLE", "i": "DOUBLE", "j": "UBIGINT"}
    assert rows[0]["l"] == ["u", "3"] and rows[0]["l__t"] == "ARRAY"
    assert rows[1]["a"] == "12" and rows[1]["a__t"] == "VARCHAR"
    assert rows[1]["l"] is None and rows[1]["l__t"] == "VARCHAR"
    assert rows[1]["b"] is None and rows[1]["b__t"] is None  # missing key
    assert got.bad["_source_line"].to_list() == [3] and got.bad["reason"][0] == "invalid_json"


def test_json_keys_are_accounted_per_file():
    """Unexpected keys are reported for the file they occur in, whichever record has them (one
    record of many; a repeated key is not unexpected); a required key absent from every record
    of a file rejects that file only; a file of bad lines only is neither."""
    import polars as pl

    from ingest.readers.jsonl import read_json_records

    files = {
        "plain": ['{"a": 1, "b": 2}', '{"a": 3}'],
        "one_extra": ['{"a": 1, "b": 2}'] * 3 + ['{"a": 1, "zz": 0}', '{"b": 1, "a": 2}'],
        "repeated": ['{"a": 1, "a": 2, "b": 3}'],
        "no_a": ['{"b": 1, "y": 2}', '{"b": 2}'],
        "bad_only": ["nope", "[1]"],
    }
    lines = pl.DataFrame(
        [(f, i, t) for f, texts in files.items() for i, t in enumerate(texts, start=1)],
        schema={"_source_file": pl.String, "_source_line": pl.Int64, "_text": pl.String},
        orient="row",
    )
    got = read_json_records(lines, expected=["a", "b"], required=["a"], list_fields=[],
                            extra_sql={}, raw_line_hash=lambda s: s)
    assert got.extra_columns == {"plain": [], "one_extra": ["zz"], "repeated": [],
                                 "no_a": ["y"]}
    assert {f: r.reason for f, r in got.rejected.items()} == {"no_a": "missing_column"}
    assert got.rows_read == {f: len(t) for f, t in files.items()}
    assert sorted(got.frame["_source_file"].unique()) == ["one_extra", "plain", "repeated"]
    assert got.bad["_source_file"].to_list() == ["bad_only", "bad_only"]


@pytest.mark.parametrize("repeats", [1, 40])  # nearly distinct values; few distinct values
def test_personal_data_hash_is_the_keyed_sha256_of_each_value(repeats: int):
    """Both hashing paths (row by row, and once per distinct value) give exactly
    SHA-256(key ‖ utf8(value)) per row; null and empty give null; a list hashes its elements."""
    import polars as pl

    from ingest.pii import hash_list_series, hash_series

    key = "ключ-key".encode()
    values = ["10.0.0.1", "", None, "Иван Петров", "Mozilla/5.0 (X11; Linux x86_64)", "é" * 90]
    expected = [keyed_hash_hex(v, key) if v else None for v in values] * repeats
    assert hash_series(pl.Series("ip", values * repeats), key).to_list() == expected

    emails = pl.Series("e", [["a@x.ru", None, "b@y.ru"], [], None] * repeats)
    want = [[keyed_hash_hex("a@x.ru", key), keyed_hash_hex("b@y.ru", key)], [], None]
    assert hash_list_series(emails, key).to_list() == want * repeats


@pytest.mark.parametrize("lines", [3, 60_000])  # below and above the 1 MiB fast-path threshold
@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_split_lines_numbers_every_physical_line(lines: int, ending: str):
    """Empty lines are kept (they are counted and skipped later), one CR before LF is dropped,
    a final newline adds no line; lines are numbered from 1."""
    body = [f'{{"n": {i}, "note": "строка {i}"}}' if i % 7 else "" for i in range(lines)]
    text = ending.join(body) + ending
    frame = split_lines(text)
    assert frame["_source_line"].to_list() == list(range(1, lines + 1))
    assert frame["_text"].to_list() == body


def test_content_size_reads_the_gzip_trailer(tmp_path):
    """The decompressed size without inflating; a plain file's size on disk."""
    text = ("click,row\n" * 50_000).encode()
    packed = tmp_path / "clicks_2026-11-20.csv.gz"
    packed.write_bytes(gzip.compress(text))
    plain = tmp_path / "fx_rates.csv"
    plain.write_bytes(text[:1234])
    assert packed.stat().st_size < len(text) // 20  # it compresses well
    assert content_size(packed) == len(text)
    assert content_size(plain) == 1234
    wrapped = tmp_path / "clicks_2026-11-21.csv.gz"  # a trailer below the file (4 GiB wrap)
    wrapped.write_bytes(gzip.compress(text)[:-4] + (0).to_bytes(4, "little"))
    assert content_size(wrapped) == wrapped.stat().st_size


def test_batches_are_cut_by_decompressed_content(tmp_path):
    """Highly compressible files are batched by what they hold once decoded: three 40 KB
    texts (a few hundred bytes each on disk) under a 100 KB budget make two batches, in order;
    a file larger than the budget is a batch of its own."""
    folder = tmp_path / "tracker" / "clicks"
    folder.mkdir(parents=True)
    for day, rows in ((20, 4_000), (21, 4_000), (22, 4_000), (23, 20_000)):
        (folder / f"clicks_2026-11-{day}.csv.gz").write_bytes(gzip.compress(b"0123456789" * rows))
    files = discover(tmp_path, "clicks", SOURCES["clicks"].pattern)
    assert sum(f.size for f in files) < 10_000
    batches = _plan_batches(files, 100_000)
    assert [[f.day.day for f in b] for b in batches] == [[20, 21], [22], [23]]
