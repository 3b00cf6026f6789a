"""Writers for small landing files in the exact contract formats (docs/sources.md).

Ingestion tests build their own tiny worlds with these, so every misbehaviour of the contract
can be planted precisely (a line, a field, an encoding) without the sample-world generator.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from ingest.sources import ORDER, SOURCES

CLICK_HEADER = (
    "click_id,ts,offer_id,publisher_id,source,sub_id,country,device,os,ip,user_agent,"
    "is_unique,is_bot"
)
UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "Q"'


def csv_field(value: object, sep: str = ",") -> str:
    if value is None:
        return ""
    s = str(value)
    if any(c in s for c in (sep, '"', "\r", "\n")):
        return '"' + s.replace('"', '""') + '"'
    return s


def click_line(
    i: int, day: str = "2026-11-23", offer: int = 1, publisher: int = 10, **over: object
) -> str:
    row = {
        "click_id": f"{i:032x}",
        "ts": f"{day}T12:{i % 60:02d}:00Z",
        "offer_id": offer,
        "publisher_id": publisher,
        "source": "context",
        "sub_id": "",
        "country": "RU",
        "device": "mobile",
        "os": "Android",
        "ip": f"10.0.{i // 256 % 256}.{i % 256}",
        "user_agent": UA,
        "is_unique": 1,
        "is_bot": 0,
    }
    row.update(over)
    return ",".join(csv_field(v) for v in row.values())


def write_clicks(landing: Path, day: str, lines: list[str], header: str = CLICK_HEADER) -> Path:
    path = landing / "tracker" / "clicks" / f"clicks_{day}.csv.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(("\n".join([header, *lines]) + "\n").encode("utf-8")))
    return path


def conversion(i: int, day: str = "2026-11-23", **over: object) -> dict:
    row = {
        "conversion_id": f"c{i}",
        "click_id": f"{i:032x}",
        "offer_id": 1,
        "advertiser_id": 100,
        "publisher_id": 10,
        "goal": "lead",
        "status": "pending",
        "created_at": f"{day}T10:00:00Z",
        "updated_at": f"{day}T10:00:00Z",
        "revenue": 500.0,
        "payout": 300,
        "currency": "RUB",
        "sub_id": None,
        "country": "RU",
        "comment": None,
    }
    row.update(over)
    return row


def write_conversions(landing: Path, day: str, rows: list[dict | str]) -> Path:
    path = landing / "tracker" / "conversions" / f"conversions_{day}.jsonl.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n"
                   for r in rows)
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    return path


def offer(offer_id: int = 1, advertiser_id: int = 100, **over: object) -> dict:
    row = {
        "offer_id": offer_id, "advertiser_id": advertiser_id, "title": f"Offer {offer_id}",
        "category": "finance", "payout_model": "CPA", "currency": "RUB", "price": 500.0,
        "payout": 300.0, "hold_days": 14, "daily_cap": 100, "status": "active",
        "created_at": "2026-01-01T00:00:00Z", "launched_at": "2026-01-02T00:00:00Z",
        "stopped_at": None, "exclusive": False, "allowed_sources": ["context", "seo"],
    }
    row.update(over)
    return row


def write_offers(landing: Path, day: str, offers: list[dict]) -> Path:
    path = landing / "tracker" / "offers" / f"offers_{day}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"exported_at": f"{day}T23:00:00Z", "offers": offers}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


PUBLISHER_HEADER = (
    "publisher_id, name, email, phone, country, registered_at, traffic_types, status, manager_id"
)


def write_publishers(landing: Path, day: str, rows: list[list[object]],
                     header: str = PUBLISHER_HEADER) -> Path:
    path = landing / "tracker" / "publishers" / f"publishers_{day}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [header] + [",".join(csv_field(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def publisher(pid: int = 10, **over: object) -> list[object]:
    row = {"publisher_id": pid, "name": "Иван Петров", "email": f"pub{pid}@example.org",
           "phone": "+7 900 123-45-67", "country": "RU", "registered_at": "2025-05-01T09:00:00Z",
           "traffic_types": "context|seo", "status": "active", "manager_id": 7}
    row.update(over)
    return list(row.values())


INVOICE_HEADER = ("Номер счета;Дата;Срок оплаты;ID рекламодателя;Контрагент;ИНН;Период с;"
                  "Период по;Сумма без НДС;НДС;Сумма;Валюта;Статус")
PAYMENT_HEADER = ("Номер платежа;Дата;ID рекламодателя;ИНН;Сумма;Валюта;Номер счета;"
                  "Назначение платежа")
FX_HEADER = "Дата;Валюта;Курс"

# Every source kept as a DuckDB table raw.<name> (and its Parquet copy), in ingestion order.
RAW_TABLES = [name for name in ORDER if SOURCES[name].target == "table"]


def write_billing(path: Path, header: str, rows: list[list[object]], *,
                  encoding: str = "cp1251", bom: bool = False, eol: str = "\r\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = eol.join([header] + [";".join(csv_field(v, ";") for v in r) for r in rows]) + eol
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)
    return path


def invoice(number: str = "СЧ-1", **over: object) -> list[object]:
    row = {"Номер счета": number, "Дата": "15.11.2026", "Срок оплаты": "30.11.2026",
           "ID рекламодателя": 100, "Контрагент": "ООО «Ромашка»", "ИНН": "7701234567",
           "Период с": "01.11.2026", "Период по": "14.11.2026",
           "Сумма без НДС": "10\u00a0000,00", "НДС": "2 000,00", "Сумма": "12 000,00",
           "Валюта": "RUB", "Статус": "выставлен"}
    row.update(over)
    return list(row.values())


def payment(number: str = "П-1", **over: object) -> list[object]:
    row = {"Номер платежа": number, "Дата": "20.11.2026", "ID рекламодателя": 100,
           "ИНН": "7701234567", "Сумма": "12 000,00", "Валюта": "RUB", "Номер счета": "СЧ-1",
           "Назначение платежа": "Оплата по счету СЧ-1"}
    row.update(over)
    return list(row.values())


def company(cid: int = 1, advertiser_id: int | None = 100, **over: object) -> dict:
    row = {"id": cid, "advertiser_id": advertiser_id, "name": "ООО «Ромашка»",
           "inn": "7701234567", "industry": "finance", "responsible_user_id": 7,
           "bdm_user_id": None, "created_at": 1735689600, "updated_at": 1763000000,
           "tags": ["vip"],
           "contacts": [{"name": "Анна Смирнова", "email": "anna@romashka.ru",
                         "phone": "+7 495 000-00-00", "position": "CMO"}]}
    row.update(over)
    return row


def write_json_doc(landing: Path, folder: str, prefix: str, day: str, key: str,
                   records: list[dict]) -> Path:
    path = landing / folder / f"{prefix}_{day}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({key: records}, ensure_ascii=False), encoding="utf-8")
    return path


def write_csv(landing: Path, folder: str, name: str, header: str,
              rows: list[list[object]]) -> Path:
    path = landing / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [header] + [",".join(csv_field(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


MANAGER_HEADER = "manager_id,full_name,email,role,team_lead_id,hired_at,left_at"
PROGRAM_HEADER = "advertiser_id,program,group,started_on,ended_on"


def deal(did: int = 1, **over: object) -> dict:
    row = {"deal_id": did, "company_id": 1, "advertiser_id": 100, "pipeline": "upsell",
           "stage": "won", "expected_monthly_budget": 250000, "created_at": 1760000000,
           "closed_at": None, "responsible_user_id": 7, "loss_reason": None}
    row.update(over)
    return row


def activity(aid: int = 1, occurred_at: int = 1795428000, **over: object) -> dict:
    row = {"activity_id": aid, "company_id": 1, "advertiser_id": 100, "manager_id": 7,
           "type": "call", "direction": "out", "occurred_at": occurred_at, "duration_s": 120,
           "result": "договорились о созвоне"}
    row.update(over)
    return row


def write_jsonl(landing: Path, folder: str, name: str, rows: list[dict | str]) -> Path:
    path = landing / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n"
                   for r in rows)
    path.write_text(text, encoding="utf-8")
    return path


def base_world(landing: Path, day: str = "2026-11-23") -> None:
    """One clean file per source: every source loads something."""
    write_offers(landing, day, [offer(1, 100), offer(2, 100, status="stopped")])
    write_publishers(landing, day, [publisher(10), publisher(11, status="banned")])
    write_json_doc(landing, "crm/companies", "companies", day, "companies",
                   [company(1, 100), company(2, None)])
    write_csv(landing, "crm/managers", f"managers_{day}.csv", MANAGER_HEADER,
              [[7, "Мария Иванова", "m.ivanova@net.ru", "account_manager", 3, "2024-02-01", ""],
               [3, "Олег Сидоров", "o.sidorov@net.ru", "team_lead", "", "2023-01-10", ""]])
    write_json_doc(landing, "crm/deals", "deals", day, "deals", [deal(1), deal(2, stage="lost",
                   loss_reason="budget", closed_at=1763000000)])
    write_csv(landing, "crm/programs", f"programs_{day}.csv", PROGRAM_HEADER,
              [[100, "dedicated_manager", "control", "2026-06-01", ""]])
    write_billing(landing / "billing" / "fx_rates.csv", FX_HEADER,
                  [["01.11.2026", "USD", "92,5000"], ["01.11.2026", "EUR", "99,1000"],
                   ["01.11.2026", "KZT", "0,1900"]])
    write_clicks(landing, day, [click_line(i, day) for i in range(5)])
    write_conversions(landing, day, [conversion(i, day) for i in range(3)])
    write_billing(landing / "billing" / "invoices" / "invoices_2026-11.csv", INVOICE_HEADER,
                  [invoice("СЧ-1"), invoice("СЧ-2", Валюта="USD", Сумма="1 000,50")])
    write_billing(landing / "billing" / "payments" / "payments_2026-11.csv", PAYMENT_HEADER,
                  [payment("П-1"), payment("П-2", **{"Номер счета": ""})])
    write_jsonl(landing, "crm/activities", f"activities_{day}.jsonl",
                [activity(1), activity(2, type="email")])


# --------------------------------------------------------------------------- test helpers


def settings_for(tmp: Path):
    """Settings pointing at a landing folder and a data folder under ``tmp``."""
    from ingest.settings import Settings

    return Settings().with_paths(landing=tmp / "landing", data=tmp / "data")


def query(settings, sql: str, params: list | None = None) -> list[tuple]:
    """Read the warehouse (read-only connection, closed before returning)."""
    import duckdb

    con = duckdb.connect(str(settings.paths.warehouse_file), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def quarantine(settings, source: str | None = None, *, open_only: bool = True) -> list[tuple]:
    """(file name, line, field, reason) of quarantine rows, sorted."""
    where = ["1=1"]
    if source:
        where.append(f"source = '{source}'")
    if open_only:
        where.append("released_at IS NULL AND superseded_at IS NULL")
    rows = query(
        settings,
        "SELECT regexp_extract(file_path, '[^/]+$'), line, field, reason FROM meta.quarantine "
        f"WHERE {' AND '.join(where)} ORDER BY 1, 2 NULLS FIRST, 3, 4",
    )
    return rows


def parquet_rows(settings, dataset: str) -> list[dict]:
    import polars as pl

    root = settings.paths.raw / dataset
    files = sorted(root.glob("day=*/part-0.parquet"))
    if not files:
        return []
    frame = pl.read_parquet(files, hive_partitioning=True)
    return frame.sort("_source_file", "_source_line").to_dicts()
