"""Data-quality suites (ingest/quality) on real DuckDB files and Parquet partitions.

A small raw layer shaped per docs/raw_layer.md is built in a temporary folder: clean, every
source passes; then one property at a time is broken and the check that names it must fail
with the right severity (contract → ERROR, data-quality finding → WARN).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingest.manifest import ensure_schema
from ingest.quality import CONTRACTS, QualityResult, run_source_checks
from ingest.settings import Settings, load_settings

DAY1, DAY2 = date(2026, 11, 1), date(2026, 11, 2)

# Staging schema `st` holds clicks/conversions before they are written as Parquet partitions,
# so a test can break them with SQL like any other table.
GOOD_WORLD = """
CREATE SCHEMA st;

CREATE TABLE st.clicks AS
SELECT md5('click' || i || d) AS click_id,
       d + INTERVAL (i * 7) MINUTE AS ts,
       1 + i % 2 AS offer_id, 10 + i % 2 AS publisher_id,
       ['context', 'push', 'seo'][1 + i % 3] AS source,
       CASE WHEN i % 4 = 0 THEN NULL ELSE 'sub' || i END AS sub_id,
       CASE WHEN i % 5 = 0 THEN NULL ELSE 'RU' END AS country,
       ['desktop', 'mobile', 'tablet'][1 + i % 3] AS device, 'Android' AS os,
       sha256('ip' || i) AS ip_hash, sha256('ua' || i) AS user_agent_hash,
       i % 3 <> 0 AS is_unique, i % 11 = 0 AS is_bot,
       'tracker/clicks/clicks_' || strftime(d, '%Y-%m-%d') || '.csv.gz' AS _source_file,
       (i + 1)::BIGINT AS _source_line, d::DATE AS file_day
FROM range(60) r(i), (VALUES (DATE '2026-11-01'), (DATE '2026-11-02')) days(d);

CREATE TABLE st.conversions AS
SELECT 'cv' || i || '-' || strftime(d, '%d') AS conversion_id, md5('click' || i || d) AS click_id,
       1 + i % 2 AS offer_id, (1 + i % 2) * 100 AS advertiser_id, 10 + i % 2 AS publisher_id,
       'lead' AS goal, ['pending', 'approved', 'rejected', 'trash'][1 + i % 4] AS status,
       d + INTERVAL (i * 30) MINUTE AS created_at, d + INTERVAL (i * 30 + 5) MINUTE AS updated_at,
       (100.0 + i)::DOUBLE AS revenue, (60.0 + i)::DOUBLE AS payout,
       ['RUB', 'USD'][1 + i % 2] AS currency,
       NULL::VARCHAR AS sub_id, 'RU' AS country, NULL::VARCHAR AS comment,
       'tracker/conversions/conversions_' || strftime(d, '%Y-%m-%d') || '.jsonl.gz'
           AS _source_file,
       (i + 1)::BIGINT AS _source_line, d::DATE AS file_day
FROM range(20) r(i), (VALUES (DATE '2026-11-01'), (DATE '2026-11-02')) days(d);

CREATE TABLE st.offers AS
SELECT s AS snapshot_date, s::TIMESTAMP + INTERVAL 1 HOUR AS exported_at, o AS offer_id,
       o * 100 AS advertiser_id, 'Offer ' || o AS title, 'finance' AS category,
       'CPA' AS payout_model, 'RUB' AS currency, 1000.0::DOUBLE AS price, 600.0::DOUBLE AS payout,
       30 AS hold_days, CASE WHEN o = 1 THEN 50 END AS daily_cap, 'active' AS status,
       TIMESTAMP '2026-01-01 10:00:00' AS created_at,
       TIMESTAMP '2026-01-05 10:00:00' AS launched_at, NULL::TIMESTAMP AS stopped_at,
       false AS exclusive, ['context', 'push']::VARCHAR[] AS allowed_sources,
       'tracker/offers/offers_' || strftime(s, '%Y-%m-%d') || '.json' AS _source_file,
       o::BIGINT AS _source_line
FROM (VALUES (DATE '2026-10-31'), (DATE '2026-11-01')) a(s), (VALUES (1), (2)) b(o);

CREATE TABLE st.publishers AS
SELECT DATE '2026-10-31' AS snapshot_date, p::BIGINT AS publisher_id,
       sha256('n' || p) AS name_hash, sha256('e' || p) AS email_hash,
       CASE WHEN p = 10 THEN sha256('ph') END AS phone_hash, 'RU' AS country,
       TIMESTAMP '2025-05-01 00:00:00' AS registered_at,
       ['context']::VARCHAR[] AS traffic_types, 'active' AS status, 7::BIGINT AS manager_id,
       'tracker/publishers/publishers_2026-10-31.csv' AS _source_file,
       (p - 8)::BIGINT AS _source_line
FROM (VALUES (10), (11)) t(p);

CREATE TABLE st.invoices AS
SELECT DATE '2026-10-01' AS file_month, 'INV-' || i AS invoice_number,
       DATE '2026-10-10' AS invoice_date, DATE '2026-10-20' AS due_date,
       (i * 100)::BIGINT AS advertiser_id, 'ООО Ромашка' AS counterparty, '7701234567' AS inn,
       DATE '2026-09-01' AS period_from, DATE '2026-09-30' AS period_to,
       1000.0::DOUBLE AS amount_net, 200.0::DOUBLE AS vat, 1200.0::DOUBLE AS amount_total,
       'RUB' AS currency,
       ['выставлен', 'оплачен'][i] AS status,
       'billing/invoices/invoices_2026-10.csv' AS _source_file, (i + 1)::BIGINT AS _source_line
FROM (VALUES (1), (2)) t(i);

CREATE TABLE st.payments AS
SELECT DATE '2026-10-01' AS file_month, 'PAY-' || i AS payment_number,
       DATE '2026-10-15' AS payment_date, (i * 100)::BIGINT AS advertiser_id,
       '7701234567' AS inn, 1200.0::DOUBLE AS amount, 'RUB' AS currency,
       CASE WHEN i = 1 THEN 'INV-1' END AS invoice_number, 'Оплата по счёту' AS purpose,
       'billing/payments/payments_2026-10.csv' AS _source_file, (i + 1)::BIGINT AS _source_line
FROM (VALUES (1), (2)) t(i);

CREATE TABLE st.fx_rates AS
SELECT DATE '2026-10-30' + i::INTEGER AS rate_date, c AS currency, (90.0 + i)::DOUBLE AS rate,
       'billing/fx_rates.csv' AS _source_file, (i * 3 + j + 2)::BIGINT AS _source_line
FROM range(3) r(i), (VALUES (0, 'USD'), (1, 'EUR'), (2, 'KZT')) cur(j, c);

CREATE TABLE st.companies AS
SELECT DATE '2026-10-31' AS snapshot_date, c::BIGINT AS company_id,
       CASE WHEN c < 3 THEN c * 100 END::BIGINT AS advertiser_id, 'ООО Клиент ' || c AS name,
       '770100000' || c AS inn, 'finance' AS industry, 7::BIGINT AS responsible_user_id,
       NULL::BIGINT AS bdm_user_id, TIMESTAMP '2025-01-01 00:00:00' AS created_at,
       TIMESTAMP '2026-10-01 00:00:00' AS updated_at, ['vip']::VARCHAR[] AS tags,
       1 AS contact_count, [sha256('c' || c)]::VARCHAR[] AS contact_email_hashes,
       'crm/companies/companies_2026-10-31.json' AS _source_file, c::BIGINT AS _source_line
FROM (VALUES (1), (2), (3)) t(c);

CREATE TABLE st.managers AS
SELECT DATE '2026-10-31' AS snapshot_date, m::BIGINT AS manager_id,
       sha256('fn' || m) AS full_name_hash, sha256('em' || m) AS email_hash, r AS role,
       CASE WHEN r = 'team_lead' THEN NULL ELSE 5 END::BIGINT AS team_lead_id,
       DATE '2024-01-01' AS hired_at, NULL::DATE AS left_at,
       'crm/managers/managers_2026-10-31.csv' AS _source_file, (m - 3)::BIGINT AS _source_line
FROM (VALUES (5, 'team_lead'), (7, 'account_manager'), (8, 'bdm')) t(m, r);

CREATE TABLE st.deals AS
SELECT DATE '2026-10-31' AS snapshot_date, d::BIGINT AS deal_id, 1::BIGINT AS company_id,
       100::BIGINT AS advertiser_id, 'upsell' AS pipeline, ['lead', 'won'][d] AS stage,
       500000.0::DOUBLE AS expected_monthly_budget, TIMESTAMP '2026-09-01 00:00:00' AS created_at,
       CASE WHEN d = 2 THEN TIMESTAMP '2026-10-01 00:00:00' END AS closed_at,
       8::BIGINT AS responsible_user_id, NULL::VARCHAR AS loss_reason,
       'crm/deals/deals_2026-10-31.json' AS _source_file, d::BIGINT AS _source_line
FROM (VALUES (1), (2)) t(d);

CREATE TABLE st.activities AS
SELECT a::BIGINT AS activity_id, 1::BIGINT AS company_id, 100::BIGINT AS advertiser_id,
       7::BIGINT AS manager_id, ['call', 'email', 'meeting'][a] AS type, 'out' AS direction,
       TIMESTAMP '2026-11-01 09:00:00' + INTERVAL (a) HOUR AS occurred_at,
       CASE WHEN a = 1 THEN 120 END AS duration_s, NULL::VARCHAR AS result,
       'crm/activities/activities_2026-11-01.jsonl' AS _source_file, a::BIGINT AS _source_line
FROM (VALUES (1), (2), (3)) t(a);

CREATE TABLE st.programs AS
SELECT DATE '2026-10-31' AS snapshot_date, (g * 100)::BIGINT AS advertiser_id,
       'dedicated_manager' AS program, ['control', 'reference'][g] AS group_name,
       DATE '2026-06-01' AS started_on, NULL::DATE AS ended_on,
       'crm/programs/programs_2026-10-31.csv' AS _source_file, (g + 1)::BIGINT AS _source_line
FROM (VALUES (1), (2)) t(g);

"""

# Every source delivered 100 rows of which one was quarantined (1% < 5% default threshold).
MANIFEST = """
INSERT INTO meta.file_manifest BY NAME
SELECT source, path AS file_path, regexp_extract(path, '[^/]+$') AS file_name,
       'h-' || path AS content_hash, 1000 AS size_bytes,
       TIMESTAMP '2026-11-02 22:00:00' AS delivered_at, TIMESTAMP '2026-11-02 23:00:00'
       AS ingested_at, 'run-1' AS run_id, 'loaded' AS outcome, 100 AS rows_read,
       99 AS rows_loaded, 0 AS rows_deduplicated, 1 AS rows_quarantined,
       TRY_CAST(regexp_extract(path, '(\\d{{4}}-\\d{{2}}-\\d{{2}})', 1) AS DATE) AS covers_day
FROM (SELECT DISTINCT source, path FROM (VALUES {values}) v(source, path));
INSERT INTO meta.quarantine BY NAME
SELECT source, file_path, content_hash, 5 AS line, 'revenue' AS field, '-1' AS value,
       'negative_amount' AS reason, '{{}}' AS record, ingested_at AS quarantined_at,
       run_id FROM meta.file_manifest;
"""


@dataclass
class World:
    """A raw layer in a temporary folder, breakable with SQL before it is materialised."""

    settings: Settings
    con: duckdb.DuckDBPyConnection

    def sql(self, statements: str) -> None:
        self.con.execute(statements)

    def materialise(self) -> None:
        """Write st.clicks / st.conversions as day partitions (as ingestion does)."""
        for dataset in ("clicks", "conversions"):
            days = self.con.execute(f"SELECT DISTINCT file_day FROM st.{dataset}").fetchall()
            for (day,) in days:
                folder = Path(self.settings.paths.raw) / dataset / f"day={day.isoformat()}"
                folder.mkdir(parents=True, exist_ok=True)
                self.con.execute(
                    f"COPY (SELECT * FROM st.{dataset} WHERE file_day = DATE '{day}') "
                    f"TO '{folder / 'part-0.parquet'}' (FORMAT parquet)"
                )

    def check(self, source: str, **kwargs: object) -> QualityResult:
        self.materialise()
        return run_source_checks(self.settings, source, con=self.con, **kwargs)


def _manifest_values() -> str:
    files = {
        "clicks": ["tracker/clicks/clicks_2026-11-01.csv.gz",
                   "tracker/clicks/clicks_2026-11-02.csv.gz"],
        "conversions": ["tracker/conversions/conversions_2026-11-01.jsonl.gz",
                        "tracker/conversions/conversions_2026-11-02.jsonl.gz"],
    }
    rows = []
    for source in CONTRACTS:
        for path in files.get(source, [f"{source}/{source}_2026-10-31.csv"]):
            rows.append(f"('{source}', '{path}')")
    return ", ".join(rows)


@pytest.fixture(scope="module")
def gx_loaded() -> None:
    """Import great_expectations once for the module (it takes seconds)."""
    import great_expectations  # noqa: F401


def _settings(root: Path) -> Settings:
    return load_settings().with_paths(data=root / "data", landing=root / "landing",
                                      warehouse=None)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The clean raw layer, built once; each test works on a copy of it."""
    root = tmp_path_factory.mktemp("quality_template")
    settings = _settings(root)
    settings.paths.data.mkdir(parents=True)
    con = duckdb.connect(str(settings.paths.warehouse_file))
    con.execute(GOOD_WORLD)
    ensure_schema(con)  # ingestion's own DDL: raw tables, meta.file_manifest, meta.file_status
    for source, spec in CONTRACTS.items():
        if spec.storage == "table":
            con.execute(f"INSERT INTO raw.{source} BY NAME SELECT * FROM st.{source}")
    con.execute(MANIFEST.format(values=_manifest_values()))
    World(settings, con).materialise()
    con.close()
    return root


@pytest.fixture
def world(tmp_path: Path, template: Path, gx_loaded: None) -> World:
    shutil.copytree(template / "data", tmp_path / "data")
    settings = _settings(tmp_path)
    con = duckdb.connect(str(settings.paths.warehouse_file))
    yield World(settings, con)
    con.close()


@pytest.mark.parametrize("source", list(CONTRACTS))
def test_clean_raw_layer_passes_every_source(world: World, source: str) -> None:
    result = world.check(source)
    assert result.passed, result.markdown
    assert result.row_count > 0
    assert result.quarantine is not None and result.quarantine.rows_quarantined == 2 - (
        source not in ("clicks", "conversions")
    )
    assert result.outcome("quarantine_share").success
    assert {"columns_present", "no_raw_pii_columns", "unique(_source_file, _source_line)"} <= {
        o.name for o in result.outcomes
    }


# Known advertisers, but not the offer's own (sources.md reading 12): a finding, not a breach.
SWAP_ADVERTISERS = ("UPDATE st.conversions SET advertiser_id = CASE offer_id WHEN 1 THEN 200 "
                    "ELSE 100 END WHERE _source_line IN (1, 2, 3)")

BROKEN = [
    # (id, source, SQL that breaks one property, check expected to fail, severity)
    ("click-dup", "clicks",
     "UPDATE st.clicks SET click_id = md5('click0' || file_day) WHERE _source_line = 5",
     "unique(click_id)", "ERROR"),
    ("click-id-format", "clicks",
     "UPDATE st.clicks SET click_id = 'NOT-HEX' WHERE _source_line = 3 AND file_day = "
     "DATE '2026-11-01'",
     "format(click_id)", "ERROR"),
    ("click-raw-ip", "clicks",
     "ALTER TABLE st.clicks ADD COLUMN ip VARCHAR DEFAULT '10.0.0.1'",
     "no_raw_pii_columns", "ERROR"),
    ("click-ip-unhashed", "clicks",
     "UPDATE st.clicks SET ip_hash = '10.0.0.1' WHERE _source_line = 2",
     "format(ip_hash)", "ERROR"),
    ("click-source-enum", "clicks",
     "UPDATE st.clicks SET source = 'tv' WHERE _source_line = 2",
     "accepted_values(source)", "ERROR"),
    ("click-null-offer", "clicks",
     "UPDATE st.clicks SET offer_id = NULL WHERE _source_line = 2",
     "not_null(offer_id)", "ERROR"),
    ("click-future", "clicks",
     "UPDATE st.clicks SET ts = file_day + INTERVAL 30 HOUR WHERE _source_line = 2",
     "ts_not_after_file_day", "ERROR"),
    ("click-unknown-offer", "clicks",
     "UPDATE st.clicks SET offer_id = 999 WHERE _source_line = 2",
     "offer_known", "ERROR"),
    ("click-late-file", "clicks",
     "UPDATE st.clicks SET ts = file_day - INTERVAL 2 HOUR WHERE _source_line = 2",
     "ts_not_before_file_day", "WARN"),
    ("conv-negative", "conversions",
     "UPDATE st.conversions SET revenue = -5 WHERE _source_line = 2",
     "range(revenue)", "ERROR"),
    ("conv-dup-event", "conversions",
     "INSERT INTO st.conversions SELECT * REPLACE (999::BIGINT AS _source_line) "
     "FROM st.conversions WHERE _source_line = 3",
     "unique(conversion_id, updated_at, status)", "ERROR"),
    ("conv-status", "conversions",
     "UPDATE st.conversions SET status = 'hold' WHERE _source_line = 2",
     "accepted_values(status)", "ERROR"),
    ("conv-currency", "conversions",
     "UPDATE st.conversions SET currency = 'GBP' WHERE _source_line = 2",
     "accepted_values(currency)", "ERROR"),
    ("conv-advertiser-mismatch", "conversions",
     SWAP_ADVERTISERS, "offer_advertiser_matches", "WARN"),
    ("conv-unknown-advertiser", "conversions",
     "UPDATE st.conversions SET advertiser_id = 777 WHERE _source_line = 4",
     "advertiser_known", "ERROR"),
    ("offer-dup", "offers",
     "INSERT INTO raw.offers SELECT * REPLACE (99::BIGINT AS _source_line) FROM raw.offers "
     "WHERE offer_id = 1 AND snapshot_date = DATE '2026-11-01'",
     "unique(snapshot_date, offer_id)", "ERROR"),
    ("offer-price", "offers", "UPDATE raw.offers SET price = -1 WHERE offer_id = 2",
     "range(price)", "ERROR"),
    ("offer-payout-over-price", "offers",
     "UPDATE raw.offers SET payout = 2000 WHERE offer_id = 2",
     "payout_within_price", "WARN"),
    ("offer-future-launch", "offers",
     "UPDATE raw.offers SET launched_at = snapshot_date + INTERVAL 2 DAY WHERE offer_id = 2",
     "timestamps_not_after_snapshot", "ERROR"),
    ("offer-negative-cap", "offers", "UPDATE raw.offers SET daily_cap = -1 WHERE offer_id = 1",
     "range(daily_cap)", "WARN"),
    ("publisher-raw-email", "publishers",
     "ALTER TABLE raw.publishers ADD COLUMN email VARCHAR",
     "no_raw_pii_columns", "ERROR"),
    ("invoice-status", "invoices", "UPDATE raw.invoices SET status = 'paid' WHERE _source_line = 2",
     "accepted_values(status)", "ERROR"),
    ("invoice-sum", "invoices", "UPDATE raw.invoices SET vat = 100 WHERE _source_line = 2",
     "total_is_net_plus_vat", "WARN"),
    ("payment-dup", "payments", "UPDATE raw.payments SET payment_number = 'PAY-1'",
     "unique(payment_number)", "ERROR"),
    ("fx-zero", "fx_rates", "UPDATE raw.fx_rates SET rate = 0 WHERE _source_line = 2",
     "range(rate)", "ERROR"),
    ("company-contact-unhashed", "companies",
     "UPDATE raw.companies SET contact_email_hashes = ['ivan@example.com'] WHERE company_id = 1",
     "contact_emails_hashed", "ERROR"),
    ("manager-role", "managers", "UPDATE raw.managers SET role = 'ceo' WHERE manager_id = 8",
     "accepted_values(role)", "ERROR"),
    ("manager-no-lead", "managers",
     "UPDATE raw.managers SET team_lead_id = NULL WHERE manager_id = 7",
     "account_manager_has_lead", "WARN"),
    ("deal-missing-column", "deals", "ALTER TABLE raw.deals DROP COLUMN pipeline",
     "columns_present", "ERROR"),
    ("activity-type", "activities", "UPDATE raw.activities SET type = 'sms' WHERE activity_id = 1",
     "accepted_values(type)", "ERROR"),
    ("activity-dup", "activities", "UPDATE raw.activities SET activity_id = 1",
     "unique(activity_id)", "ERROR"),
    ("program-group", "programs", "UPDATE raw.programs SET group_name = 'treatment'",
     "accepted_values(group_name)", "ERROR"),
    ("quarantine-share", "payments",
     "UPDATE meta.file_manifest SET rows_quarantined = 40, rows_loaded = 60 "
     "WHERE source = 'payments'",
     "quarantine_share", "ERROR"),
]


# Checks that legitimately fail together with the broken one (same cause, other angle).
ALSO_FAILS = {
    "deal-missing-column": {"not_null(pipeline)", "accepted_values(pipeline)"},
    "conv-unknown-advertiser": {"offer_advertiser_matches"},
    "offer-price": {"payout_within_price"},
    "offer-future-launch": {"order(stopped_at >= launched_at)"},
}


@pytest.mark.parametrize(("case", "source", "breakage", "check", "severity"),
                         [pytest.param(*case, id=case[0]) for case in BROKEN])
def test_each_broken_property_fails_its_named_check(
    world: World, case: str, source: str, breakage: str, check: str, severity: str
) -> None:
    world.sql(breakage)
    result = world.check(source)
    assert not result.passed
    failed = {o.name for o in result.failed}
    assert check in failed, result.markdown
    assert failed <= {check, *ALSO_FAILS.get(case, ())}, result.markdown  # and nothing else
    assert result.severity == severity, result.markdown
    assert check in result.markdown


def test_advertiser_mismatch_is_counted_and_located(world: World) -> None:
    world.sql(SWAP_ADVERTISERS)
    result = world.check("conversions", days=[DAY1])
    mismatch = result.outcome("offer_advertiser_matches")
    assert mismatch.unexpected_count == 3
    assert result.metadata()["offer_advertiser_mismatches"] == 3
    assert {ex["_source_line"] for ex in mismatch.examples} == {1, 2, 3}
    assert all(ex["_source_file"].endswith("conversions_2026-11-01.jsonl.gz")
               for ex in mismatch.examples)


def test_days_limit_the_partitions_read(world: World) -> None:
    world.sql(f"UPDATE st.clicks SET source = 'tv' WHERE file_day = DATE '{DAY2}'")
    day1 = world.check("clicks", days=[DAY1])
    day2 = world.check("clicks", days=[DAY2])
    assert day1.passed and day1.row_count == 60, day1.markdown
    assert day2.outcome("accepted_values(source)").unexpected_count == 60
    assert day1.quarantine is not None and day1.quarantine.rows_read == 100


def test_missing_partition_is_reported_not_crashing(world: World) -> None:
    result = world.check("clicks", days=[date(2026, 11, 9)])
    assert not result.passed and result.severity == "WARN"
    assert result.outcome("not_empty").success is False
    assert "no Parquet partition" in result.markdown


def test_key_hash_sample_keeps_duplicates_together(world: World) -> None:
    # every click duplicated (a whole retried file): any key-complete sample sees them all
    world.sql("INSERT INTO st.clicks SELECT * REPLACE (_source_line + 1000 AS _source_line) "
              "FROM st.clicks")
    result = world.check("clicks", days=[DAY1], max_rows=30)
    assert result.sampled and result.rows_in_scope == 120
    assert 0 < result.row_count < 120
    dup = result.outcome("unique(click_id)")
    assert dup.unexpected_count == result.row_count  # each sampled key with its twin
    assert result.severity == "ERROR"


def test_cross_source_checks_are_skipped_when_catalogue_missing(world: World) -> None:
    world.sql("DROP TABLE raw.offers")
    result = world.check("conversions")
    names = {o.name for o in result.outcomes}
    assert "offer_advertiser_matches" not in names and "offer_known" not in names
    assert "raw.offers is not loaded" in result.markdown
    assert result.passed, result.markdown


def test_examples_never_show_free_text(world: World) -> None:
    world.sql("UPDATE raw.invoices SET status = 'paid', inn = 'ИП Иванов' WHERE _source_line = 2")
    result = world.check("invoices")
    inn = result.outcome("format(inn)")
    assert not inn.success
    assert all(ex["inn"] == "<redacted>" for ex in inn.examples)
    assert "Иванов" not in result.markdown
    assert result.outcome("accepted_values(status)").examples[0]["status"] == "paid"


def test_without_warehouse_parquet_is_still_checked(world: World) -> None:
    world.materialise()
    settings = world.settings.with_paths(warehouse=world.settings.paths.data / "absent.duckdb")
    result = run_source_checks(settings, "clicks", days=[DAY1])
    assert result.row_count == 60
    assert result.outcome("unique(click_id)").success
    assert "meta.file_manifest" in result.markdown  # no manifest: said, not silently passed


def test_unknown_source_is_named() -> None:
    with pytest.raises(ValueError, match=r"unknown source 'click'.*clicks"):
        run_source_checks(load_settings(), "click")


# ---- on what ingestion really loaded (ingest.pipeline over contract-shaped landing files) ----


def test_checks_on_really_ingested_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gx_loaded: None
) -> None:
    from ingest_contract_files import (
        base_world,
        click_line,
        conversion,
        offer,
        settings_for,
        write_clicks,
        write_conversions,
        write_offers,
    )

    from ingest.pipeline import ingest_all
    from ingest.warehouse import connect

    monkeypatch.setenv("CPA_HASH_KEY", "quality-test-key")
    settings = settings_for(tmp_path)
    day, bad_day = "2026-11-23", "2026-11-24"
    base_world(settings.paths.landing, day)
    # a second advertiser's offer, and a conversion of offer 1 billed to it (reading 12)
    write_offers(settings.paths.landing, day, [offer(1, 100), offer(2, 100, status="stopped"),
                                               offer(3, 200)])
    write_conversions(settings.paths.landing, day, [
        *(conversion(i, day) for i in range(3)), conversion(3, day, advertiser_id=200)])
    # a day where 2 of 5 click rows break the contract: 40% quarantined > 5%
    write_clicks(settings.paths.landing, bad_day,
                 [click_line(i, bad_day) for i in range(100, 103)]
                 + [click_line(103, bad_day, device="fridge"),
                    click_line(104, bad_day, ts="2026-11-25T00:00:01Z")])
    ingest_all(settings)

    con = connect(settings, read_only=True)
    try:
        results = {s: run_source_checks(settings, s, con=con) for s in CONTRACTS}
        good_day = run_source_checks(settings, "clicks", days=[date(2026, 11, 23)], con=con)
        broken_day = run_source_checks(settings, "clicks", days=[date(2026, 11, 24)], con=con)
    finally:
        con.close()

    # what ingestion loads honours the contract everywhere: no critical check fails
    for source, result in results.items():
        contract_failures = [o.name for o in result.failed if o.severity == "critical"
                             and o.name != "quarantine_share"]
        assert contract_failures == [], f"{source}: {result.markdown}"
        assert result.row_count > 0, f"{source}: {result.markdown}"
    mismatch = results["conversions"].outcome("offer_advertiser_matches")
    assert not mismatch.success and mismatch.unexpected_count == 1
    assert results["conversions"].severity == "WARN"
    assert mismatch.examples[0]["_source_file"] == f"tracker/conversions/conversions_{day}.jsonl.gz"

    assert good_day.passed, good_day.markdown
    assert not broken_day.passed and broken_day.severity == "ERROR"
    share = broken_day.outcome("quarantine_share")
    assert not share.success and share.unexpected_count == 2
    assert broken_day.quarantine is not None
    assert broken_day.quarantine.reasons == {"unknown_enum": 1, "future_timestamp": 1}
    assert broken_day.row_count == 3  # the loaded rows themselves are clean


def test_documentation_lists_every_check() -> None:
    from ingest.quality.contracts import checks_markdown

    doc = (Path(__file__).resolve().parent.parent / "docs" / "data_quality.md").read_text()
    assert checks_markdown() in doc, "regenerate the tables of docs/data_quality.md"


def test_cli_exit_status_follows_the_verdict(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ingest.quality.__main__ import main

    world.sql("UPDATE raw.payments SET payment_number = 'PAY-1'")
    world.materialise()
    world.con.close()
    monkeypatch.setenv("CPA_DATA_DIR", str(world.settings.paths.data))
    assert main(["--source", "fx_rates"]) == 0
    assert main(["--source", "payments", "--source", "fx_rates"]) == 1
    out = capsys.readouterr().out
    assert "**payments: contract broken (blocks downstream)**" in out
    assert "unique(payment_number)" in out
    world.con = duckdb.connect(str(world.settings.paths.warehouse_file))  # for the fixture


@pytest.mark.slow
def test_generated_world_with_defects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gx_loaded: None
) -> None:
    """sample_world --defects -> ingest_all -> every suite: the contract holds everywhere, and
    the files the generator made unreadable are exactly the ones reported as rejected."""
    import json

    from ingest.pipeline import ingest_all, landing_files
    from ingest.sample_world import WorldConfig, generate
    from ingest.warehouse import connect

    monkeypatch.setenv("CPA_HASH_KEY", "quality-world-key")
    config = WorldConfig.from_scale("tiny", start=date(2026, 1, 1), days=120, defects=True,
                                    clicks_per_day=60)
    generate(config, tmp_path)
    settings = _settings(tmp_path)
    ingest_all(settings)
    defects = [json.loads(line) for line in (tmp_path / "truth" / "defects.jsonl").open()]
    planted_rejects = {d["file"] for d in defects if d["expect"] == "rejected_file"}

    con = connect(settings, read_only=True)
    try:
        results = {s: run_source_checks(settings, s, con=con) for s in CONTRACTS}
    finally:
        con.close()
    reported_rejects: set[str] = set()
    for source, result in results.items():
        assert result.severity == "WARN", f"{source}: {result.markdown}"
        if not landing_files(settings, source):  # e.g. no programme ran in this short world
            assert result.row_count == 0 and result.outcome("not_empty").success is False
            continue
        assert result.row_count > 0, f"{source}: {result.markdown}"
        assert result.quarantine is not None
        assert result.quarantine.share <= settings.ingest.max_quarantine_share
        reported_rejects |= {path for path, _ in result.quarantine.rejected_files}
    assert planted_rejects and reported_rejects == planted_rejects
