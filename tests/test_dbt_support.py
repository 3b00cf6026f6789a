# ruff: noqa: E501  (fixture SQL rows read best one per line)
"""Support for the dbt tests: a tiny raw layer written directly per docs/raw_layer.md, and dbt runs.

The tiny world is generated here in plain Python with its own record of the truth (every
conversion's final state, clicks per offer and reporting day), so the tests can check the marts
against figures computed independently of the SQL. It deliberately contains what the models
must get right: status changes in later files, a tie on `updated_at` broken by the later file,
duplicate clicks across files, bot clicks, foreign currencies with a missing rate day, offer
snapshots that change the cap, a corrected invoice, a void invoice, payments in another
currency, a prepayment and an overpayment.

(No test functions here: pytest collects this module because of its name and finds none.)
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

REPO = Path(__file__).resolve().parent.parent
DBT_DIR = REPO / "dbt_project"
DBT_BIN = Path(sys.executable).parent / "dbt"
MSK = timedelta(hours=3)
RATES = {"USD": 90.0, "EUR": 100.0, "KZT": 0.2}
CATEGORIES = ["finance", "ecommerce", "travel"]


def reporting_day(ts: datetime) -> date:
    """Moscow day of a naive UTC timestamp (UTC+3, no DST)."""
    return (ts + MSK).date()


@dataclass
class TinyWorld:
    """The tiny world's records: raw rows per source and the final truth."""

    start: date
    days: int
    clicks: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    offers: list[dict] = field(default_factory=list)

    def truth_conversions(self, upto_file_day: date | None = None) -> pl.DataFrame:
        """Final state per conversion: latest updated_at, ties to the later file, then line."""
        ev = pl.DataFrame(self.events)
        if upto_file_day is not None:
            ev = ev.filter(pl.col("file_day") <= upto_file_day)
        ev = ev.sort(["conversion_id", "updated_at", "file_day", "_source_line"])
        final = ev.group_by("conversion_id").last()
        rate = pl.col("currency").replace_strict({**RATES, "RUB": 1.0}, return_dtype=pl.Float64)
        return final.with_columns(
            created_day=(pl.col("created_at") + pl.duration(hours=3)).dt.date(),
            revenue_rub=pl.col("revenue") * rate,
            payout_rub=pl.col("payout") * rate,
        )

    def truth_clicks_daily(self, upto_file_day: date | None = None) -> pl.DataFrame:
        """Clicks and clean clicks per offer and reporting day after dropping repeated click_ids."""
        cl = pl.DataFrame(self.clicks)
        if upto_file_day is not None:
            cl = cl.filter(pl.col("file_day") <= upto_file_day)
        cl = cl.unique(subset=["click_id"], keep="first")
        return (
            cl.with_columns(day=(pl.col("ts") + pl.duration(hours=3)).dt.date())
            .group_by(["offer_id", "day"])
            .agg(clicks=pl.len(), clean_clicks=(~pl.col("is_bot")).sum())
        )


def _hex(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(32))


def make_world(start: date = date(2026, 1, 5), days: int = 70, seed: int = 7) -> TinyWorld:
    """Generate the tiny world's records (deterministic for a seed)."""
    rng = random.Random(seed)
    w = TinyWorld(start=start, days=days)
    # 3 advertisers x 2 offers; advertiser 3 stops after day 40 (a freeze)
    offer_specs = []
    for adv in (1, 2, 3):
        for k in range(2):
            oid = adv * 10 + k
            offer_specs.append(
                {
                    "offer_id": oid,
                    "advertiser_id": adv,
                    "category": CATEGORIES[adv - 1],
                    "payout_model": "CPA" if k == 0 else "CPL",
                    "currency": "RUB" if adv != 2 else "USD",
                    "price": 1500.0 if adv != 2 else 20.0,
                    "payout": 900.0 if adv != 2 else 11.0,
                    "hold_days": 5,
                    "daily_cap": 6 if k == 0 else None,
                }
            )
    w.offers = offer_specs
    conv_n = 0
    for d in range(days):
        file_day = start + timedelta(days=d)
        line_c = 0
        for spec in offer_specs:
            if spec["advertiser_id"] == 3 and d > 40:
                continue
            if spec["offer_id"] == 21 and d < 10:  # launches on day 10
                continue
            n = rng.randint(20, 40)
            for _ in range(n):
                ts = datetime.combine(file_day, datetime.min.time()) + timedelta(
                    seconds=rng.randint(0, 86399)
                )
                line_c += 1
                click = {
                    "click_id": _hex(rng),
                    "ts": ts,
                    "offer_id": spec["offer_id"],
                    "publisher_id": rng.choice([100, 101, 102]),
                    "source": rng.choice(["context", "social", "push"]),
                    "is_bot": rng.random() < 0.1,
                    "is_unique": rng.random() < 0.8,
                    "file_day": file_day,
                    "_source_line": line_c,
                }
                w.clicks.append(click)
                if rng.random() < 0.12 and not click["is_bot"]:
                    conv_n += 1
                    created = ts + timedelta(seconds=rng.randint(60, 3600))
                    if created.date() != file_day:
                        created = ts
                    base = {
                        "conversion_id": f"c{conv_n:06d}",
                        "click_id": click["click_id"],
                        "offer_id": spec["offer_id"],
                        "advertiser_id": spec["advertiser_id"],
                        "publisher_id": click["publisher_id"],
                        "goal": "lead",
                        "created_at": created,
                        "revenue": spec["price"],
                        "payout": spec["payout"],
                        "currency": spec["currency"],
                    }
                    roll = rng.random()
                    first = "trash" if roll < 0.08 else "pending"
                    w.events.append({**base, "status": first, "updated_at": created})
                    if first == "pending":
                        settle_day = d + rng.randint(2, 8)
                        if settle_day < days:
                            final = "approved" if rng.random() < 0.75 else "rejected"
                            upd = datetime.combine(
                                start + timedelta(days=settle_day), datetime.min.time()
                            ) + timedelta(hours=10)
                            w.events.append({**base, "status": final, "updated_at": upd})
        # a retried click repeated in the next day's file (cross-file duplicate)
        if d > 0 and w.clicks:
            dup = dict(rng.choice([c for c in w.clicks if c["file_day"] == file_day - timedelta(1)]))
            dup["file_day"] = file_day
            dup["_source_line"] = 999_999
            w.clicks.append(dup)
    # assign lines per file for events, in file_day order
    files: dict[date, int] = {}
    for e in sorted(w.events, key=lambda e: e["updated_at"]):
        fd = e["updated_at"].date()
        files[fd] = files.get(fd, 0) + 1
        e["file_day"] = fd
        e["_source_line"] = files[fd]
    # a tie: same updated_at, approved in a later file overrides a rejected line (reading 3)
    tie = next(e for e in w.events if e["status"] == "rejected")
    later = dict(tie)
    later["status"] = "approved"
    later["file_day"] = tie["file_day"] + timedelta(days=1)
    later["_source_line"] = 10_000
    if later["file_day"] < start + timedelta(days=days):
        w.events.append(later)
        # the earlier file's line is the greater one: only the file can decide the tie
        tie["_source_line"] = 20_000
    return w


def _write_partitions(rows: list[dict], root: Path, dataset: str, schema: dict) -> None:
    df = pl.DataFrame(rows, schema=schema)
    for (fd,), part in df.group_by(["file_day"]):
        write_partition(part.drop("file_day"), root, dataset, fd)


def write_partition(part: pl.DataFrame, root: Path, dataset: str, file_day: date) -> None:
    """Write one hive partition atomically (beside, then rename), like ingestion does."""
    target = root / dataset / f"day={file_day.isoformat()}"
    target.mkdir(parents=True, exist_ok=True)
    tmp = target / "part-0.parquet.tmp"
    part.write_parquet(tmp)
    os.replace(tmp, target / "part-0.parquet")


CLICK_SCHEMA = {
    "click_id": pl.String, "ts": pl.Datetime("us"), "offer_id": pl.Int64,
    "publisher_id": pl.Int64, "source": pl.String, "sub_id": pl.String, "country": pl.String,
    "device": pl.String, "os": pl.String, "ip_hash": pl.String, "user_agent_hash": pl.String,
    "is_unique": pl.Boolean, "is_bot": pl.Boolean, "_source_file": pl.String,
    "_source_line": pl.Int64, "file_day": pl.Date,
}
EVENT_SCHEMA = {
    "conversion_id": pl.String, "click_id": pl.String, "offer_id": pl.Int64,
    "advertiser_id": pl.Int64, "publisher_id": pl.Int64, "goal": pl.String, "status": pl.String,
    "created_at": pl.Datetime("us"), "updated_at": pl.Datetime("us"), "revenue": pl.Float64,
    "payout": pl.Float64, "currency": pl.String, "sub_id": pl.String, "country": pl.String,
    "comment": pl.String, "_source_file": pl.String, "_source_line": pl.Int64,
    "file_day": pl.Date,
}


def click_rows(world: TinyWorld, days: set[date] | None = None) -> list[dict]:
    out = []
    for c in world.clicks:
        if days is not None and c["file_day"] not in days:
            continue
        out.append(
            {
                **{k: c[k] for k in ("click_id", "ts", "offer_id", "publisher_id", "source",
                                     "is_unique", "is_bot", "_source_line", "file_day")},
                "sub_id": None, "country": "RU", "device": "mobile", "os": "Android",
                "ip_hash": "h" * 64, "user_agent_hash": "u" * 64,
                "_source_file": f"tracker/clicks/clicks_{c['file_day']}.csv.gz",
            }
        )
    return out


def event_rows(world: TinyWorld, days: set[date] | None = None) -> list[dict]:
    out = []
    for e in world.events:
        if days is not None and e["file_day"] not in days:
            continue
        out.append(
            {
                **{k: e[k] for k in EVENT_SCHEMA if k in e},
                "sub_id": None, "country": None, "comment": None,
                "_source_file": f"tracker/conversions/conversions_{e['file_day']}.jsonl.gz",
            }
        )
    return out


def write_raw_layer(world: TinyWorld, data_dir: Path, upto: date | None = None) -> Path:
    """Write the raw layer (Parquet facts up to file day `upto`, raw.* tables); returns the
    warehouse file."""
    raw = data_dir / "raw"
    days = None
    if upto is not None:
        days = {world.start + timedelta(i) for i in range(world.days)}
        days = {d for d in days if d <= upto}
    _write_partitions(click_rows(world, days), raw, "clicks", CLICK_SCHEMA)
    _write_partitions(event_rows(world, days), raw, "conversions", EVENT_SCHEMA)
    warehouse = data_dir / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    try:
        _write_tables(con, world)
    finally:
        con.close()
    return warehouse


def _write_tables(con: duckdb.DuckDBPyConnection, w: TinyWorld) -> None:
    con.execute("create schema if not exists raw")
    s0, s1 = w.start, w.start + timedelta(days=30)
    offers = []
    for snap in (s0, s1):
        for o in w.offers:
            cap = o["daily_cap"]
            if snap == s1 and o["offer_id"] == 10:
                cap = 8  # the cap changes in the second snapshot
            status = "stopped" if (o["advertiser_id"] == 3 and snap == s1) else "active"
            offers.append((snap, o["offer_id"], o["advertiser_id"], f"Offer {o['offer_id']}",
                           o["category"], o["payout_model"], o["currency"], o["price"],
                           o["payout"], o["hold_days"], cap, status, f"tracker/offers/offers_{snap}.json", o["offer_id"]))
    con.execute("""create or replace table raw.offers (snapshot_date date, exported_at timestamp,
        offer_id bigint, advertiser_id bigint, title varchar, category varchar, payout_model varchar,
        currency varchar, price double, payout double, hold_days integer, daily_cap integer,
        status varchar, created_at timestamp, launched_at timestamp, stopped_at timestamp,
        exclusive boolean, allowed_sources varchar[], _source_file varchar, _source_line bigint)""")
    con.executemany(
        """insert into raw.offers values (?, ?::timestamp, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
           timestamp '2025-12-01', null, null, false, ['context'], ?, ?)""",
        [(r[0], str(r[0]), *r[1:]) for r in offers],
    )
    con.execute(f"""create or replace table raw.publishers as
        select date '{s0}' as snapshot_date, p as publisher_id, 'n'||p as name_hash,
               'e'||p as email_hash, 'p'||p as phone_hash, 'RU' as country,
               timestamp '2025-11-01' + p * interval 1 day as registered_at,
               ['context', 'push'] as traffic_types, 'active' as status, 501::bigint as manager_id,
               'tracker/publishers/publishers_{s0}.csv' as _source_file, p - 99 as _source_line
        from range(100, 103) t(p)""")
    # fx: USD/EUR/KZT every day except weekends (a day without a rate takes the latest earlier)
    fx = []
    for i in range(-5, w.days + 1):
        d = w.start + timedelta(i)
        if d.weekday() >= 5:
            continue
        for cur, r in RATES.items():
            fx.append((d, cur, r, "billing/fx_rates.csv", len(fx) + 2))
    con.execute("""create or replace table raw.fx_rates (rate_date date, currency varchar,
        rate double, _source_file varchar, _source_line bigint)""")
    con.executemany("insert into raw.fx_rates values (?, ?, ?, ?, ?)", fx)
    con.execute(f"""create or replace table raw.managers as
        select * from (values
          (date '{s0}', 500::bigint, 'hn500', 'he500', 'team_lead', null::bigint, date '2024-01-01', null::date, 'crm/managers/managers_{s0}.csv', 1::bigint),
          (date '{s0}', 501::bigint, 'hn501', 'he501', 'account_manager', 500::bigint, date '2024-02-01', null::date, 'crm/managers/managers_{s0}.csv', 2::bigint),
          (date '{s0}', 502::bigint, 'hn502', 'he502', 'account_manager', 500::bigint, date '2024-03-01', null::date, 'crm/managers/managers_{s0}.csv', 3::bigint)
        ) t(snapshot_date, manager_id, full_name_hash, email_hash, role, team_lead_id, hired_at, left_at, _source_file, _source_line)""")
    con.execute(f"""create or replace table raw.companies as
        select date '{s0}' as snapshot_date, 1000 + a as company_id, a::bigint as advertiser_id,
               'OOO Client ' || a as name, '77000000' || a as inn, 'retail' as industry,
               (case when a = 1 then 501 else 502 end)::bigint as responsible_user_id,
               null::bigint as bdm_user_id, timestamp '2025-06-01' as created_at,
               timestamp '2025-06-01' as updated_at, ['vip'] as tags, 1 as contact_count,
               ['ch' || a] as contact_email_hashes,
               'crm/companies/companies_{s0}.json' as _source_file, a as _source_line
        from range(1, 4) t(a)""")
    con.execute(f"""create or replace table raw.deals as
        select date '{s0}' as snapshot_date, 1::bigint as deal_id, 1001::bigint as company_id,
               1::bigint as advertiser_id, 'upsell' as pipeline, 'won' as stage,
               500000.0 as expected_monthly_budget, timestamp '2025-12-01' as created_at,
               timestamp '2025-12-20' as closed_at, 501::bigint as responsible_user_id,
               null::varchar as loss_reason, 'crm/deals/deals_{s0}.json' as _source_file,
               1::bigint as _source_line""")
    con.execute(f"""create or replace table raw.activities as
        select i::bigint as activity_id, (1000 + 1 + i % 3)::bigint as company_id,
               (1 + i % 3)::bigint as advertiser_id, 501::bigint as manager_id,
               (['call', 'email', 'meeting', 'ticket', 'note'])[1 + i % 5] as type,
               case when i % 2 = 0 then 'out' else 'in' end as direction,
               timestamp '{s0}' + i * interval 11 hour as occurred_at, 60 as duration_s,
               null::varchar as result, 'crm/activities/activities_x.jsonl' as _source_file,
               i as _source_line
        from range(1, 60) t(i)""")
    con.execute(f"""create or replace table raw.programs as
        select date '{s0}' as snapshot_date, a::bigint as advertiser_id, 'dedicated_manager' as program,
               case when a = 1 then 'control' else 'reference' end as group_name,
               date '{s0}' + interval 31 day as started_on, null::date as ended_on,
               'crm/programs/programs_{s0}.csv' as _source_file, a as _source_line
        from range(1, 4) t(a)""")
    m0 = w.start.replace(day=1)
    m1 = (m0 + timedelta(days=32)).replace(day=1)
    con.execute(f"""create or replace table raw.invoices as select * from (values
        (date '{m1}', 'INV-1', date '{m1}', date '{m1}' + 10, 1::bigint, 'OOO Client 1', '770000001',
         date '{m0}', date '{m1}' - 1, 100000.0, 20000.0, 120000.0, 'RUB', 'выставлен', 'billing/invoices/invoices_{m1:%Y-%m}.csv', 2::bigint),
        (date '{m1}', 'INV-2', date '{m1}', date '{m1}' + 10, 2::bigint, 'OOO Client 2', '770000002',
         date '{m0}', date '{m1}' - 1, 1000.0, 200.0, 1200.0, 'USD', 'выставлен', 'billing/invoices/invoices_{m1:%Y-%m}.csv', 3::bigint),
        (date '{m1}', 'INV-3', date '{m1}', date '{m1}' + 10, 3::bigint, 'OOO Client 3', '770000003',
         date '{m0}', date '{m1}' - 1, 5000.0, 1000.0, 6000.0, 'RUB', 'аннулирован', 'billing/invoices/invoices_{m1:%Y-%m}.csv', 4::bigint),
        (date '{m1}', 'INV-1', date '{m1}', date '{m1}' + 10, 1::bigint, 'OOO Client 1', '770000001',
         date '{m0}', date '{m1}' - 1, 110000.0, 22000.0, 132000.0, 'RUB', 'выставлен', 'billing/invoices/invoices_{m1:%Y-%m}.csv', 9::bigint)
        ) t(file_month, invoice_number, invoice_date, due_date, advertiser_id, counterparty, inn,
            period_from, period_to, amount_net, vat, amount_total, currency, status, _source_file, _source_line)""")
    con.execute(f"""create or replace table raw.payments as select * from (values
        (date '{m1}', 'P-1', date '{m1}' + 3, 1::bigint, '770000001', 50000.0, 'RUB', 'INV-1', 'pay', 'billing/payments/p.csv', 2::bigint),
        (date '{m1}', 'P-2', date '{m1}' + 4, 2::bigint, '770000002', 126000.0, 'RUB', 'INV-2', 'pay', 'billing/payments/p.csv', 3::bigint),
        (date '{m1}', 'P-3', date '{m1}' + 5, 3::bigint, '770000003', 6000.0, 'RUB', 'INV-3', 'pay', 'billing/payments/p.csv', 4::bigint),
        (date '{m1}', 'P-4', date '{m1}' + 6, 1::bigint, '770000001', 7000.0, 'RUB', null, 'prepay', 'billing/payments/p.csv', 5::bigint)
        ) t(file_month, payment_number, payment_date, advertiser_id, inn, amount, currency, invoice_number, purpose, _source_file, _source_line)""")


def dbt(args: list[str], data_dir: Path, *, check: bool = True) -> subprocess.CompletedProcess:
    """Run the dbt CLI on the project with the warehouse and raw folder of `data_dir`."""
    env = {
        **os.environ,
        "CPA_WAREHOUSE": str(data_dir / "warehouse.duckdb"),
        "CPA_RAW_DIR": str(data_dir / "raw"),
        "CPA_TMP_DIR": str(data_dir / "tmp"),
        "CPA_DUCKDB_MEMORY_LIMIT": "2GB",
        "DBT_LOG_PATH": str(data_dir / "dbt_logs"),
        "DBT_TARGET_PATH": str(data_dir / "dbt_target"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    cmd = [str(DBT_BIN), *args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=data_dir)
    if check and proc.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}")
    return proc


def query_rows(warehouse: Path, sql: str) -> list[tuple]:
    """All rows of a query on the warehouse file, opened read-only and closed again."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
