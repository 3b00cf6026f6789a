"""The sample-world generator: contract-shaped landing files, recorded defects, honest truth.

One tiny world with defects is generated per module (2 years, ~300 clicks a day) and read back
independently of the generator: every file is parsed per docs/sources.md, every row is
classified the way the contract's fixed readings say, and the counts must equal what the
generator recorded in truth/expected_files.jsonl; the truth facts must equal what the landing
files say once the re-deliveries are replayed.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import shutil
import weakref
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from ingest.sample_world import WorldConfig, generate, replay_redeliveries
from ingest.sample_world import traffic as traffic_mod
from ingest.sample_world.cli import main as cli_main
from ingest.sample_world.seasonality import CATEGORIES

CLICK_COLUMNS = [
    "click_id",
    "ts",
    "offer_id",
    "publisher_id",
    "source",
    "sub_id",
    "country",
    "device",
    "os",
    "ip",
    "user_agent",
    "is_unique",
    "is_bot",
]
CONVERSION_FIELDS = [
    "conversion_id",
    "click_id",
    "offer_id",
    "advertiser_id",
    "publisher_id",
    "goal",
    "status",
    "created_at",
    "updated_at",
    "revenue",
    "payout",
    "currency",
    "sub_id",
    "country",
    "comment",
]
INVOICE_HEADER = (
    "Номер счета;Дата;Срок оплаты;ID рекламодателя;Контрагент;ИНН;Период с;"
    "Период по;Сумма без НДС;НДС;Сумма;Валюта;Статус"
)
PAYMENT_HEADER = (
    "Номер платежа;Дата;ID рекламодателя;ИНН;Сумма;Валюта;Номер счета;Назначение платежа"
)
STATUSES = {"pending", "approved", "rejected", "trash"}
ACTIVITY_TYPES = {"call", "email", "meeting", "ticket", "note"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny")
    generate(WorldConfig.from_scale("tiny", defects=True), out)
    return out


@pytest.fixture(scope="module")
def replayed(world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("replayed") / "w"
    shutil.copytree(world, out)
    replay_redeliveries(out)
    return out


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def _expected(world: Path) -> dict[str, dict]:
    return {e["file"]: e for e in _jsonl(world / "truth" / "expected_files.jsonl")}


def _rejected(world: Path) -> set[str]:
    return {f for f, e in _expected(world).items() if e["expect_outcome"] == "rejected"}


def _ru_number(s: str) -> float:
    return float(s.replace("\u00a0", "").replace(" ", "").replace(",", "."))


def _billing_text(data: bytes) -> str:
    """Billing files are cp1251; a few are UTF-8 (with or without BOM) by mistake."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1251")


# --------------------------------------------------------------------------- history & layout
def test_two_years_of_history_in_the_contract_layout(world: Path) -> None:
    landing = world / "landing"
    clicks = sorted((landing / "tracker/clicks").glob("clicks_*.csv.gz"))
    assert len(clicks) == 730
    assert clicks[0].name == "clicks_2024-10-01.csv.gz"
    assert clicks[-1].name == "clicks_2026-09-30.csv.gz"
    assert len(list((landing / "tracker/conversions").glob("*.jsonl.gz"))) == 730
    assert len(list((landing / "crm/activities").glob("activities_*.jsonl"))) == 730
    for sub, pattern in [
        ("tracker/offers", "offers_*.json"),
        ("tracker/publishers", "*.csv"),
        ("crm/companies", "*.json"),
        ("crm/managers", "*.csv"),
        ("crm/deals", "*.json"),
    ]:
        n = len(list((landing / sub).glob(pattern)))
        assert 100 <= n <= 110, (sub, n)  # weekly plus the first and last day
    months = sorted(p.name for p in (landing / "billing/invoices").glob("invoices_*.csv"))
    assert months[0] == "invoices_2024-10.csv" and months[-1] == "invoices_2026-09.csv"
    assert (landing / "billing/fx_rates.csv").exists()
    summary = json.loads((world / "truth/summary.json").read_text(encoding="utf-8"))
    assert summary["config"]["days"] == 730 and summary["counts"]["clicks"] > 150_000


def test_every_file_parses_per_contract(world: Path) -> None:
    landing, rejected = world / "landing", _rejected(world)
    expected = _expected(world)
    for rel, e in expected.items():
        if rel in rejected:
            continue
        path = landing / rel
        src = e["source"]
        if src == "clicks":
            text = gzip.decompress(path.read_bytes()).decode("utf-8")
            rows = list(csv.reader(io.StringIO(text)))
            assert rows[0][: len(CLICK_COLUMNS)] == CLICK_COLUMNS, rel
            assert len(rows) - 1 == e["rows"]
        elif src == "conversions":
            lines = gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()
            assert len(lines) == e["rows"]
            for ln in lines:
                assert list(json.loads(ln)) == CONVERSION_FIELDS, rel
        elif src in ("invoices", "payments"):
            data = path.read_bytes()
            text = _billing_text(data)
            assert text.endswith("\r\n"), "billing lines end in CRLF"
            head = text.split("\r\n", 1)[0]
            assert head == (INVOICE_HEADER if src == "invoices" else PAYMENT_HEADER)
            kinds = {d["kind"] for d in _jsonl(world / "truth/defects.jsonl") if d["file"] == rel}
            if not kinds & {"utf8_with_bom", "utf8_without_bom"}:
                data.decode("cp1251")
                with pytest.raises(UnicodeDecodeError):
                    data.decode("utf-8")  # real Windows-1251, not UTF-8 in disguise
        elif src in ("offers", "companies", "deals"):
            doc = json.loads(path.read_text(encoding="utf-8"))
            assert len(doc[src]) == e["rows"] > 0
        elif src in ("publishers", "managers", "programs"):
            rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
            assert len(rows) - 1 == e["rows"] > 0
        elif src == "activities":
            for ln in path.read_text(encoding="utf-8").splitlines():
                rec = json.loads(ln)
                assert isinstance(rec["occurred_at"], int)
    offers = json.loads(sorted((landing / "tracker/offers").glob("*.json"))[-1].read_text())
    cats = {o["category"] for o in offers["offers"]}
    assert cats == set(CATEGORIES)
    assert {o["currency"] for o in offers["offers"]} >= {"RUB", "USD", "EUR", "KZT"}
    companies = json.loads(sorted((landing / "crm/companies").glob("*.json"))[-1].read_text())
    assert isinstance(companies["companies"][0]["created_at"], int)  # Unix seconds
    assert companies["companies"][0]["contacts"][0]["email"]  # nested contacts


def test_clicks_have_rfc4180_quoted_user_agents(world: Path) -> None:
    path = world / "landing/tracker/clicks/clicks_2025-06-01.csv.gz"
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))[1:]
    uas = [r[10] for r in rows]
    assert any("," in ua for ua in uas) and any('"' in ua for ua in uas)
    assert all(len(r) == 13 for r in rows)


def test_billing_uses_russian_formats(world: Path) -> None:
    path = world / "landing/billing/invoices/invoices_2025-07.csv"
    text = _billing_text(path.read_bytes())
    row = text.split("\r\n")[1].split(";")
    datetime.strptime(row[1], "%d.%m.%Y")
    assert "," in row[10] and "." not in row[10]
    all_text = "".join(
        _billing_text(p.read_bytes()) for p in (world / "landing/billing/invoices").glob("*.csv")
    )
    assert "\u00a0" in all_text  # non-breaking thousands separators occur
    assert "аннулирован" in all_text


# --------------------------------------------------------------------------- defects & accounting
REQUIRED_KINDS = {
    "truncated_gzip",
    "empty_file",
    "header_only",
    "stray_file",
    "wrong_field_count",
    "unparsable_number",
    "unparsable_date",
    "unknown_enum",
    "negative_amount",
    "unknown_id",
    "unknown_id_released_later",
    "future_timestamp",
    "utf8_with_bom",
    "utf8_without_bom",
    "new_column",
    "missing_column",
    "header_spaces",
    "duplicate_line",
    "duplicate_across_files",
    "duplicate_record",
    "late_file",
    "empty_snapshot",
    "invalid_json",
}


def test_every_misbehaviour_is_injected_and_recorded(world: Path) -> None:
    defects = _jsonl(world / "truth/defects.jsonl")
    assert {d["kind"] for d in defects} >= REQUIRED_KINDS
    for d in defects:
        assert (world / "landing" / d["file"]).exists(), d
        assert d["expect"] in {
            "quarantine",
            "deduplicated",
            "identical_redelivery",
            "corrected",
            "rejected_file",
            "handled",
        }
    per_file = Counter(d["file"] for d in defects if d["line"] is not None)
    assert max(per_file.values()) <= 12  # a handful per file: the world stays believable
    redel = _jsonl(world / "truth/redeliveries.jsonl")
    assert {r["kind"] for r in redel} == {"identical", "corrected"}
    for r in redel:
        data = (world / "truth" / r["copy_from"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == r["sha256"]
        same = data == (world / "landing" / r["file"]).read_bytes()
        assert same == (r["kind"] == "identical")
    # a late file: delivered after the files of later days
    late = next(d for d in defects if d["kind"] == "late_file")
    lp = world / "landing" / late["file"]
    nxt = lp.parent / f"clicks_{date.fromisoformat(lp.name[7:17]) + timedelta(days=2)}.csv.gz"
    assert lp.stat().st_mtime > nxt.stat().st_mtime
    # the recorded line really is the injected line
    dup = next(d for d in defects if d["kind"] == "duplicate_line" and "clicks" in d["file"])
    lines = gzip.decompress((world / "landing" / dup["file"]).read_bytes()).decode().splitlines()
    assert lines[dup["line"] - 1] == lines[dup["line"] - 2]


def _classify_clicks(world: Path, known_offers: set[int], known_pubs: set[int]) -> dict:
    """An independent reading of clicks files per the contract's fixed readings: every file
    with a recorded defect and every 10th other one (click ids never repeat across files)."""
    seen: set[str] = set()
    out = {}
    defect_files = {d["file"] for d in _jsonl(world / "truth/defects.jsonl")}
    paths = sorted((world / "landing/tracker/clicks").glob("clicks_*.csv.gz"))
    for i, path in enumerate(paths):
        rel = f"tracker/clicks/{path.name}"
        if rel not in defect_files and i % 10:
            continue
        try:
            text = gzip.decompress(path.read_bytes()).decode("utf-8")
        except (EOFError, OSError):
            out[rel] = "rejected"
            continue
        day = date.fromisoformat(path.name[7:17])
        end = f"{day.isoformat()}T23:59:59Z"  # ISO strings of one format sort as times
        rows = list(csv.reader(io.StringIO(text)))
        header = [h.strip() for h in rows[0]]
        c = Counter()
        for r in rows[1:]:
            if len(r) != len(header):
                c["bad_field_count"] += 1
                continue
            rec = dict(zip(header, r, strict=True))
            try:
                offer, pub = int(rec["offer_id"]), int(rec["publisher_id"])
            except ValueError:
                c["unparsable_number"] += 1
                continue
            if rec["ts"] > end:
                c["future_timestamp"] += 1
            elif offer not in known_offers or pub not in known_pubs:
                c["unknown_id"] += 1
            elif rec["click_id"] in seen:
                c["deduplicated"] += 1
            else:
                seen.add(rec["click_id"])
                c["loaded"] += 1
        out[rel] = c
    return out


def _known_ids(landing: Path, rejected: set[str]) -> tuple[set[int], set[int]]:
    offers, pubs = set(), set()
    for p in (landing / "tracker/offers").glob("*.json"):
        if f"tracker/offers/{p.name}" not in rejected:
            offers |= {o["offer_id"] for o in json.loads(p.read_text())["offers"]}
    for p in (landing / "tracker/publishers").glob("*.csv"):
        rows = list(csv.reader(io.StringIO(p.read_text(encoding="utf-8"))))
        pubs |= {int(r[0]) for r in rows[1:]}
    return offers, pubs


def test_expected_counts_match_an_independent_reading(world: Path) -> None:
    expected, rejected = _expected(world), _rejected(world)
    offers, pubs = _known_ids(world / "landing", rejected)
    for rel, got in _classify_clicks(world, offers, pubs).items():
        e = expected[rel]
        if got == "rejected":
            assert e["expect_outcome"] == "rejected"
            continue
        assert e["expect_loaded"] == got["loaded"], rel
        assert e["expect_deduplicated"] == got["deduplicated"], rel
        q = {k: v for k, v in got.items() if k not in ("loaded", "deduplicated")}
        assert e["expect_quarantined_by_reason"] == q, rel
    # conversions: natural key (conversion_id, updated_at, status) across files
    seen: set[tuple] = set()
    for path in sorted((world / "landing/tracker/conversions").glob("*.jsonl.gz")):
        rel = f"tracker/conversions/{path.name}"
        c = Counter()
        for ln in gzip.decompress(path.read_bytes()).decode().splitlines():
            r = json.loads(ln)
            key = (r["conversion_id"], r["updated_at"], r["status"])
            bad = (
                r["status"] not in STATUSES  # unknown_enum
                or not isinstance(r["revenue"], float | int)  # unparsable_number
                or r["revenue"] < 0  # negative_amount
                or r["offer_id"] not in offers  # unknown_id
                or r["publisher_id"] not in pubs
                or int(r["created_at"][8:10]) > 31  # unparsable_date
            )
            if bad:
                c["q"] += 1
            elif key in seen:
                c["dedup"] += 1
            else:
                seen.add(key)
        e = expected[rel]
        assert (e["expect_quarantined"], e["expect_deduplicated"]) == (c["q"], c["dedup"]), rel
    # every non-rejected file's counts add up
    for e in expected.values():
        if e["expect_outcome"] != "rejected":
            total = e["expect_loaded"] + e["expect_deduplicated"] + e["expect_quarantined"]
            assert total == e["rows"], e["file"]
    released = [e for e in expected.values() if e["expect_released_after_replay"]]
    assert len(released) == 1 and released[0]["source"] == "clicks"


# --------------------------------------------------------------------------- truth == landing
def test_truth_conversions_are_the_latest_events(replayed: Path) -> None:
    defect_lines = defaultdict(set)
    for d in _jsonl(replayed / "truth/defects.jsonl"):
        if d["line"] is not None:
            defect_lines[d["file"]].add(d["line"])
    latest: dict[str, tuple[str, str, float]] = {}
    for path in sorted((replayed / "landing/tracker/conversions").glob("*.jsonl.gz")):
        bad = defect_lines[f"tracker/conversions/{path.name}"]
        for i, ln in enumerate(gzip.decompress(path.read_bytes()).decode().splitlines(), 1):
            if i in bad:
                continue
            r = json.loads(ln)
            cur = latest.get(r["conversion_id"])
            if cur is None or r["updated_at"] >= cur[0]:
                latest[r["conversion_id"]] = (r["updated_at"], r["status"], r["revenue"])
    truth = pl.read_parquet(replayed / "truth/conversions.parquet")
    assert truth.height == len(latest)
    got = pl.DataFrame(
        {
            "conversion_id": list(latest),
            "ev_status": [v[1] for v in latest.values()],
            "ev_revenue": [v[2] for v in latest.values()],
        }
    )
    j = truth.join(got, on="conversion_id", how="inner")
    assert j.height == truth.height
    assert (j["status"] == j["ev_status"]).all()
    assert np.allclose(j["revenue"].to_numpy(), j["ev_revenue"].to_numpy())
    assert set(truth["status"].unique()) == STATUSES  # holds still pending at the end
    assert truth.filter(pl.col("currency") != "RUB").height > 0
    foreign = truth.filter((pl.col("currency") == "USD") & (pl.col("revenue") > 0))
    assert (foreign["revenue_rub"] > foreign["revenue"] * 50).all()


def test_truth_clicks_daily_matches_the_files_by_moscow_day(replayed: Path) -> None:
    defect_lines = defaultdict(set)
    for d in _jsonl(replayed / "truth/defects.jsonl"):
        if d["line"] is not None:
            defect_lines[d["file"]].add(d["line"])
    frames = []
    for path in sorted((replayed / "landing/tracker/clicks").glob("clicks_*.csv.gz")):
        bad = defect_lines[f"tracker/clicks/{path.name}"]
        df = pl.read_csv(gzip.decompress(path.read_bytes()), infer_schema=False)
        if bad:
            keep = [i + 2 not in bad for i in range(df.height)]
            df = df.filter(pl.Series(keep))
        frames.append(df.select("offer_id", "ts", "is_bot"))
    clicks = pl.concat(frames).with_columns(
        day=(
            pl.col("ts").str.strptime(pl.Datetime, "%Y-%m-%dT%H:%M:%SZ") + pl.duration(hours=3)
        ).dt.date(),
        offer_id=pl.col("offer_id").cast(pl.Int64),
    )
    got = clicks.group_by("offer_id", "day").agg(
        pl.len().alias("n"), (pl.col("is_bot") == "0").sum().alias("clean")
    )
    truth = pl.read_parquet(replayed / "truth/clicks_daily.parquet")
    j = truth.join(got, on=["offer_id", "day"], how="full", coalesce=True)
    assert j.height == truth.height == got.height
    assert (j["clicks"] == j["n"]).all() and (j["clean_clicks"] == j["clean"]).all()
    assert truth["day"].max() == date(2026, 10, 1)  # the partial last reporting day


# --------------------------------------------------------------------------- a believable network
def test_seasonality_is_visible(world: Path) -> None:
    cd = pl.read_parquet(world / "truth/clicks_daily.parquet").filter(
        pl.col("day") < date(2026, 10, 1)
    )
    monthly = cd.group_by("category", pl.col("day").dt.month().alias("m")).agg(
        pl.col("clean_clicks").sum()
    )

    def share(cat: str, months: list[int]) -> float:
        c = monthly.filter(pl.col("category") == cat)
        return c.filter(pl.col("m").is_in(months))["clean_clicks"].sum() / c["clean_clicks"].sum()

    assert share("ecommerce", [12]) > 1.2 / 12  # December peak
    assert share("education", [7]) < 0.8 * share("education", [9])  # summer dip, September peak
    conv = pl.read_parquet(world / "truth/conversions.parquet").filter(
        pl.col("status") == "approved"
    )
    eco = conv.filter(pl.col("category") == "ecommerce")
    by_month = eco.group_by(pl.col("day").dt.month().alias("m")).agg(pl.col("revenue_rub").sum())
    dec = by_month.filter(pl.col("m") == 12)["revenue_rub"].sum()
    assert dec > by_month["revenue_rub"].mean()
    fin = cd.filter(pl.col("category") == "finance").group_by("day").agg(pl.col("clicks").sum())
    fin = fin.with_columns(
        month_end=(pl.col("day") + pl.duration(days=3)).dt.month() != pl.col("day").dt.month()
    )
    means = fin.group_by("month_end").agg(pl.col("clicks").mean())
    assert (
        means.filter("month_end")["clicks"][0]
        > 1.15 * means.filter(~pl.col("month_end"))["clicks"][0]
    )
    season = json.loads((world / "truth/seasonality.json").read_text(encoding="utf-8"))
    assert season["categories"]["ecommerce"]["peak_month"] == 12


def test_fates_are_planted(world: Path) -> None:
    adv = pl.read_parquet(world / "truth/advertisers.parquet")
    fates = Counter(adv["fate"])
    assert set(fates) == {"growing", "stable", "declining", "freeze_warned", "freeze_abrupt", "new"}
    conv = pl.read_parquet(world / "truth/conversions.parquet")
    for r in adv.filter(pl.col("freeze_day").is_not_null()).iter_rows(named=True):
        mine = conv.filter(
            (pl.col("advertiser_id") == r["advertiser_id"]) & (pl.col("status") != "trash")
        )
        assert mine.filter(pl.col("day") > r["freeze_day"]).height == 0
        assert mine.filter(pl.col("day") < r["freeze_day"]).height > 0
    # warned freezes: approval falls in the warning window
    for r in adv.filter(pl.col("fate") == "freeze_warned").iter_rows(named=True):
        mine = conv.filter(
            (pl.col("advertiser_id") == r["advertiser_id"])
            & pl.col("status").is_in(["approved", "rejected"])
        )
        before = mine.filter(pl.col("day") < r["warning_start_day"])
        during = mine.filter(pl.col("day") >= r["warning_start_day"])
        ar = lambda f: (f["status"] == "approved").mean()  # noqa: E731
        if during.height >= 20 and before.height >= 20:
            assert ar(during) < ar(before)
    new = adv.filter(pl.col("fate") == "new")
    first = conv.group_by("advertiser_id").agg(pl.col("day").min().alias("first"))
    j = new.join(first, on="advertiser_id")
    assert (j["first"] >= j["start_day"]).all() and (j["first"] > date(2024, 11, 1)).all()
    assert adv["team_lead_id"].null_count() == 0


def test_programme_control_group_gains_after_start(world: Path) -> None:
    progs = json.loads((world / "truth/seasonality.json").read_text())["programmes"]
    conv = pl.read_parquet(world / "truth/conversions.parquet").filter(
        pl.col("status") == "approved"
    )
    p = next(x for x in progs if x["program"] == "dedicated_manager")
    start = date.fromisoformat(p["started_on"])

    def growth(ids: list[int]) -> float:
        c = conv.filter(pl.col("advertiser_id").is_in(ids))
        before = c.filter(pl.col("day").is_between(start - timedelta(days=180), start))
        after = c.filter(
            pl.col("day").is_between(start + timedelta(days=30), start + timedelta(days=210))
        )
        m = lambda f: (f["revenue_rub"] - f["payout_rub"]).sum()  # noqa: E731
        return m(after) / max(m(before), 1.0)

    assert growth(p["control"]) > growth(p["reference"])
    landing = sorted((world / "landing/crm/programs").glob("programs_*.csv"))[-1]
    rows = list(csv.DictReader(io.StringIO(landing.read_text(encoding="utf-8"))))
    assert {r["group"] for r in rows} == {"control", "reference"}


def test_billing_tells_the_payment_stories(world: Path) -> None:
    inv = pl.read_parquet(world / "truth/invoices.parquet")
    pay = pl.read_parquet(world / "truth/payments.parquet")
    assert inv.filter(pl.col("versions") > 1).height > 0  # corrected in a later month's file
    assert inv.filter(pl.col("void")).height > 0
    open_ = inv.filter(~pl.col("void") & (pl.col("paid") < pl.col("amount_total") - 0.01))
    assert open_.height > 0  # debts
    assert inv.filter(pl.col("paid") > pl.col("amount_total") + 0.01).height > 0  # overpayments
    assert pay.filter(pl.col("invoice_number").is_null()).height > 0  # prepayments
    assert inv.filter(pl.col("planted_discrepancy")).height > 0
    fair = inv.filter(~pl.col("planted_discrepancy") & ~pl.col("void"))
    assert np.allclose(fair["amount_net"], fair["tracker_revenue"], atol=0.01)
    # the invoiced net equals the truth's approved revenue of the period
    conv = pl.read_parquet(world / "truth/conversions.parquet").filter(
        pl.col("status") == "approved"
    )
    r = fair.row(0, named=True)
    mine = conv.filter(pl.col("advertiser_id") == r["advertiser_id"])
    tr = mine.filter(pl.col("day").is_between(r["period_from"], r["period_to"]))["revenue"].sum()
    assert abs(tr - r["amount_net"]) < 0.05
    # a corrected invoice number appears in two files
    numbers = Counter()
    for p in (world / "landing/billing/invoices").glob("*.csv"):
        for ln in _billing_text(p.read_bytes()).split("\r\n")[1:]:
            if ln:
                numbers[ln.split(";")[0]] += 1
    assert max(numbers.values()) >= 2


# ------------------------------------------------------------------ determinism & streaming
SMALL = dict(days=150, clicks_per_day=120, advertisers=12, publishers=20, defects=True)


def _digest(root: Path) -> dict[str, tuple[str, int]]:
    """Content hash of every file, plus the delivery time (mtime) of every landing file."""
    return {
        str(p.relative_to(root)): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            int(p.stat().st_mtime) if p.relative_to(root).parts[0] == "landing" else 0,
        )
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    generate(WorldConfig.from_scale("tiny", **SMALL), tmp_path / "a")
    generate(WorldConfig.from_scale("tiny", **SMALL), tmp_path / "b")
    a, b = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    assert a == b and len(a) > 400
    generate(WorldConfig.from_scale("tiny", **{**SMALL, "seed": 7, "days": 120}), tmp_path / "c")
    c = _digest(tmp_path / "c")
    key = "landing/tracker/clicks/clicks_2024-11-01.csv.gz"
    assert c[key] != a[key]


def test_streams_day_by_day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """By design: at most one block of days (<= 16) of clicks is alive at a time, and pending
    status events never reach further ahead than the longest hold (+ jitter + chargeback
    window), however long the world is."""
    alive: weakref.WeakSet = weakref.WeakSet()
    peak = {"blocks": 0, "days": 0, "horizon": 0}
    real_block = traffic_mod.TrafficModel.block

    def spy(self, d0: int, d1: int):
        b = real_block(self, d0, d1)
        alive.add(b)
        peak["blocks"] = max(peak["blocks"], len(alive))
        peak["days"] = max(peak["days"], d1 - d0)
        peak["horizon"] = max([peak["horizon"], *[k - d1 for k, _, _ in b.events]])
        return b

    monkeypatch.setattr(traffic_mod.TrafficModel, "block", spy)
    cfg = WorldConfig.from_scale(
        "tiny", days=300, clicks_per_day=100, advertisers=12, publishers=20
    )
    generate(cfg, tmp_path)
    assert peak["blocks"] <= 2
    assert peak["days"] <= 16
    assert peak["horizon"] <= 45 + 3 + 40 + 1


def test_cli_writes_a_world(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli_main(
        [
            "--out",
            str(tmp_path),
            "--days",
            "130",
            "--clicks-per-day",
            "80",
            "--advertisers",
            "12",
            "--seed",
            "3",
        ]
    )
    assert rc == 0
    assert "clicks/s" in capsys.readouterr().out
    assert (tmp_path / "landing/tracker/clicks/clicks_2024-10-01.csv.gz").exists()
    assert cli_main(["--out", str(tmp_path), "--days", "10"]) == 2  # explains, does not crash
    assert "at least 120 days" in capsys.readouterr().err


def test_snapshots_know_every_id_the_facts_use(world: Path) -> None:
    """Without defects no row may be an unknown id: every offer, publisher, company and manager
    referenced appears in a snapshot on or before the day it is used."""
    landing = world / "landing"
    first_seen: dict[int, date] = {}
    for p in sorted((landing / "tracker/offers").glob("*.json")):
        day = date.fromisoformat(p.name[7:17])
        for o in json.loads(p.read_text())["offers"]:
            first_seen.setdefault(o["offer_id"], day)
    defects = {(d["file"], d["line"]) for d in _jsonl(world / "truth/defects.jsonl")}
    for p in sorted((landing / "tracker/clicks").glob("clicks_*.csv.gz"))[::30]:
        day = date.fromisoformat(p.name[7:17])
        try:
            df = pl.read_csv(gzip.decompress(p.read_bytes()), infer_schema=False)
        except (EOFError, OSError):
            continue
        for i, off in enumerate(df["offer_id"].to_list(), 2):
            if (f"tracker/clicks/{p.name}", i) in defects:
                continue
            assert first_seen[int(off)] <= day, (p.name, off)
    managers = set()
    for p in (landing / "crm/managers").glob("*.csv"):
        managers |= {
            int(r["manager_id"]) for r in csv.DictReader(io.StringIO(p.read_text())) if "role" in r
        }
    companies = set()
    for p in (landing / "crm/companies").glob("*.json"):
        companies |= {c["id"] for c in json.loads(p.read_text())["companies"]}
    for p in sorted((landing / "crm/activities").glob("*.jsonl"))[::20]:
        for ln in p.read_text().splitlines():
            r = json.loads(ln)
            if r["type"] in ACTIVITY_TYPES and r["activity_id"] < 9_000_000:
                assert r["manager_id"] in managers and r["company_id"] in companies


def test_many_advertisers_write_a_complete_truth(tmp_path: Path) -> None:
    """Hundreds of advertisers (over a hundred prepayments before the first invoice payment):
    the truth tables still carry their declared types."""
    cfg = WorldConfig.from_scale(
        "tiny", advertisers=520, publishers=20, clicks_per_day=200, days=120
    )
    generate(cfg, tmp_path)
    pay = pl.read_parquet(tmp_path / "truth/payments.parquet")
    assert pay.schema["invoice_number"] == pl.String
    assert pay.filter(pl.col("invoice_number").is_null()).height > 100
    assert pay.filter(pl.col("invoice_number").is_not_null()).height > 0
    adv = pl.read_parquet(tmp_path / "truth/advertisers.parquet")
    assert adv.height == 520 and Counter(adv["fate"])["new"] >= 100
