"""Schema drift: an added column is tolerated and reported; a missing required column rejects
that file with a named error (missing_column, the column named) while the other sources load."""

from __future__ import annotations

import pytest
from ingest_contract_files import (
    CLICK_HEADER,
    INVOICE_HEADER,
    PUBLISHER_HEADER,
    base_world,
    click_line,
    invoice,
    publisher,
    query,
    settings_for,
    write_billing,
    write_clicks,
    write_publishers,
)
from reliability.tally import record

from ingest.pipeline import ingest_all


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("CPA_HASH_KEY", "drift-key")
    s = settings_for(tmp_path)
    base_world(s.paths.landing)
    return s


def _by_file(settings) -> dict[str, tuple]:
    rows = query(settings, "SELECT file_path, arg_max(outcome, manifest_id), "
                           "arg_max(reason, manifest_id), arg_max(detail, manifest_id), "
                           "arg_max(rows_loaded, manifest_id), "
                           "arg_max(extra_columns, manifest_id) FROM meta.file_manifest "
                           "GROUP BY file_path")
    return {r[0]: r[1:] for r in rows}


def test_added_columns_are_loaded_around_and_reported(settings):
    land = settings.paths.landing
    write_clicks(land, "2026-11-23", [click_line(i) + ",x" for i in range(5)],
                 header=CLICK_HEADER + ",landing_page")
    write_billing(land / "billing/invoices/invoices_2026-11.csv", "Менеджер;" + INVOICE_HEADER,
                  [["Петров", *invoice("СЧ-1")], ["Петров", *invoice("СЧ-2")]])
    reports = {r.source: r for r in ingest_all(settings)}
    files = _by_file(settings)
    clicks = files["tracker/clicks/clicks_2026-11-23.csv.gz"]
    invoices = files["billing/invoices/invoices_2026-11.csv"]
    assert clicks[0] == "loaded" and clicks[3] == 5 and clicks[4] == ["landing_page"]
    assert invoices[0] == "loaded" and invoices[3] == 2 and invoices[4] == ["Менеджер"]
    assert reports["clicks"].extra_columns == ["landing_page"]
    assert reports["invoices"].extra_columns == ["Менеджер"]
    assert query(settings, "SELECT count(*) FROM raw.invoices WHERE counterparty IS NULL") \
        == [(0,)]  # columns found by name, not shifted by the new first column
    record("schema drift", "added column (clicks, invoices: first position)", inputs=2)


def test_missing_required_column_stops_that_file_by_name_others_proceed(settings):
    land = settings.paths.landing
    header = PUBLISHER_HEADER.replace(", email", "")
    rows = [[v for i, v in enumerate(publisher(p)) if i != 2] for p in (10, 11)]
    write_publishers(land, "2026-11-23", rows, header=header)
    write_billing(land / "billing/invoices/invoices_2026-11.csv",
                  INVOICE_HEADER.replace(";ИНН", ""),
                  [[v for i, v in enumerate(invoice("СЧ-1")) if i != 5]])
    reports = ingest_all(settings)  # no exception: the run goes on
    files = _by_file(settings)
    pub = files["tracker/publishers/publishers_2026-11-23.csv"]
    inv = files["billing/invoices/invoices_2026-11.csv"]
    assert pub[:2] == ("rejected", "missing_column") and "'email'" in pub[2], pub
    assert inv[:2] == ("rejected", "missing_column") and "'ИНН'" in inv[2], inv
    assert query(settings, "SELECT field FROM meta.quarantine WHERE reason = 'missing_column' "
                           "ORDER BY 1") == [("email",), ("ИНН",)]
    others = {p: f for p, f in files.items() if p not in (
        "tracker/publishers/publishers_2026-11-23.csv", "billing/invoices/invoices_2026-11.csv")}
    assert {f[0] for f in others.values()} == {"loaded"}, others
    # rows of sources that do not depend on the rejected one load in full
    assert query(settings, "SELECT count(*) FROM raw.offers") == [(2,)]
    assert query(settings, "SELECT count(*) FROM raw.payments") == [(2,)]
    assert sum(len(r.rejected_files) for r in reports) == 2
    record("schema drift", "required column missing (publishers email, invoices ИНН)", inputs=2)
