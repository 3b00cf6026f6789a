"""`generate(config, out_dir)`: stream the world day by day into a landing folder + truth.

Order per UTC day: snapshots (on snapshot days), the day's clicks, the conversion events that
happen that day, CRM activities; at each month end the billing files. Memory holds one day of
clicks plus the status events still to come (bounded by the longest hold), never the history.
"""

from __future__ import annotations

import json
import shutil
import time as _time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from . import seasonality
from .billing import (
    FX_HEADER,
    FX_OFFSET,
    INVOICE_HEADER,
    PAYMENT_HEADER,
    Billing,
    fx_file_lines,
    fx_tables,
)
from .config import WorldConfig, WorldSummary
from .crm import MANAGER_HEADER, PROGRAM_HEADER, PUBLISHER_HEADER, Crm, snapshot_days
from .defects import DefectPlan
from .entities import NEVER, World, am_on, plan_world
from .formats import NBSP, csv_lines, delivery_time, dumps, forget_folders, gzip_bytes
from .ledger import Draft, Ledger
from .seasonality import CATEGORIES
from .traffic import TrafficModel


def _billing_bytes(lines: list[str], encoding: str = "cp1251", bom: bool = False) -> bytes:
    data = ("\r\n".join(lines) + "\r\n").encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


class _Writer:
    """Writes every landing file of the world, routing defect days through the DefectPlan."""

    def __init__(self, world: World, landing: Path, truth: Path) -> None:
        self.w = world
        self.cfg = world.config
        self.ledger = Ledger(landing, truth)
        self.plan = DefectPlan(world, self.ledger) if self.cfg.defects else None

    # -- generic ------------------------------------------------------------------------------
    def text_file(
        self,
        rel: str,
        draft: Draft,
        delivered: datetime,
        *,
        gz: bool = False,
        encoding: str = "utf-8",
        crlf: bool = False,
        bom: bool = False,
    ) -> bytes:
        lines, marks = draft.render()
        nl = "\r\n" if crlf else "\n"
        data = (nl.join(lines) + nl).encode(encoding) if lines else b""
        if bom:
            data = b"\xef\xbb\xbf" + data
        if gz:
            data = gzip_bytes(data)
        rows = len(lines) - (0 if draft.header is None else 1)
        self.ledger.write(rel, data, rows, delivered)
        self.ledger.record_marks(rel, marks)
        return data

    def json_doc(
        self,
        rel: str,
        key: str,
        records: list[dict],
        delivered: datetime,
        exported_at: str | None = None,
    ) -> bytes:
        doc: dict = {"exported_at": exported_at} if exported_at else {}
        doc[key] = records
        data = (dumps(doc) + "\n").encode("utf-8")
        self.ledger.write(rel, data, len(records), delivered)
        return data


def _mtime(d: date, hours: float = 1.0) -> datetime:
    return delivery_time(d, hours)


def generate(config: WorldConfig, out_dir: Path) -> WorldSummary:
    """Write `out_dir/landing` (per docs/sources.md) and `out_dir/truth`. Deterministic."""
    t_start = _time.perf_counter()
    out_dir = Path(out_dir)
    landing, truth = out_dir / "landing", out_dir / "truth"
    for p in (landing, truth):
        if p.exists():
            shutil.rmtree(p)
    forget_folders()
    truth.mkdir(parents=True)
    world = plan_world(config)
    D = config.days
    fx_pub, fx_filled, fx_dates = fx_tables(config.start, D, config.seed)
    traffic = TrafficModel(world, fx_filled, FX_OFFSET)
    billing = Billing(world, fx_filled)
    crm = Crm(world)
    wr = _Writer(world, landing, truth)
    plan = wr.plan
    snaps = set(snapshot_days(config.start, D))
    buckets: dict[int, list[tuple[bytes, np.ndarray]]] = {}  # file day -> NDJSON parts
    conv_writer: pq.ParquetWriter | None = None
    cd_writer: pq.ParquetWriter | None = None
    cd_buffer: list[pl.DataFrame] = []
    conv_buffer: list[pl.DataFrame] = []
    n_off = len(world.offers.ids)
    msk_cur = np.zeros((2, n_off), dtype=np.int64)  # clicks, clean clicks of reporting day d
    msk_next = np.zeros((2, n_off), dtype=np.int64)
    counts = {
        "clicks": 0,
        "conversions": 0,
        "conversion_events": 0,
        "activities": 0,
        "snapshots": 0,
    }
    prev_last_event: str | None = None

    def flush_truth(force: bool = False) -> None:
        nonlocal conv_writer, cd_writer
        if conv_buffer and (
            force or sum(len(x) for x in conv_buffer) > 50_000 or len(conv_buffer) > 2
        ):
            tbl = pl.concat(conv_buffer).to_arrow()
            if conv_writer is None:
                conv_writer = pq.ParquetWriter(truth / "conversions.parquet", tbl.schema)
            conv_writer.write_table(tbl)
            conv_buffer.clear()
        if cd_buffer and (force or len(cd_buffer) > 31):
            tbl = _clicks_daily(world, cd_buffer).to_arrow()
            if cd_writer is None:
                cd_writer = pq.ParquetWriter(truth / "clicks_daily.parquet", tbl.schema)
            cd_writer.write_table(tbl)
            cd_buffer.clear()

    block = None
    # gzip of the day's clicks (the biggest single cost) runs in one helper thread, overlapped
    # with generating the next day; files are written in day order, so output is unchanged
    gz_pool = ThreadPoolExecutor(max_workers=1)
    gz_pending: deque[tuple[str, Future[bytes], int, datetime]] = deque()

    def drain(keep: int) -> None:
        while len(gz_pending) > keep:
            rel_, fut, rows_, mt_ = gz_pending.popleft()
            wr.ledger.write(rel_, fut.result(), rows_, mt_)

    day_csv: list[bytes] = []
    for d in range(D):
        day = world.days[d]
        ds = day.isoformat()
        if block is None or d >= block.d1:
            block = traffic.block(d, min(D, d + traffic.block_days))
            day_csv = block.clicks_csv()
            for k, ev, ts in block.events:
                buckets.setdefault(k, []).append((ev, ts))
            _truth_of_block(block, config, conv_buffer, billing, counts)
        if d in snaps:
            _write_snapshots(wr, crm, d, day)
            counts["snapshots"] += 1
        if plan:
            plan.extra_snapshots(wr, crm, d, day)
        # clicks
        rel = f"tracker/clicks/clicks_{ds}.csv.gz"
        mt = _mtime(day)
        n_clicks = int(block.bounds[d - block.d0 + 1] - block.bounds[d - block.d0])
        if plan and plan.touches_clicks(d):
            plan.clicks(wr, d, rel, block.day_clicks(d), mt)
        else:
            gz_pending.append(
                (rel, gz_pool.submit(gzip_bytes, day_csv[d - block.d0]), n_clicks, mt)
            )
            drain(2)
        counts["clicks"] += n_clicks
        # conversion events of the day, in time order
        rel = f"tracker/conversions/conversions_{ds}.jsonl.gz"
        body = _merge_events(buckets.pop(d, []))
        n_events = body.count(b"\n")
        if plan and plan.touches_conversions(d):
            draft = Draft(None, body.decode("utf-8").splitlines())
            plan.conversions(wr, d, draft, prev_last_event)
            data = wr.text_file(rel, draft, mt, gz=True)
        else:
            data = gzip_bytes(body)
            wr.ledger.write(rel, data, n_events, mt)
        if plan:
            plan.after_conversions(wr, d, rel, data, mt)
        counts["conversion_events"] += n_events
        if n_events:
            prev_last_event = body[body.rstrip(b"\n").rfind(b"\n") + 1 :].decode().strip()
        # activities
        acts = crm.activities(d)
        counts["activities"] += len(acts)
        rel = f"crm/activities/activities_{ds}.jsonl"
        draft = Draft(None, [dumps(r) for r in acts])
        if plan and plan.touches_activities(d):
            plan.activities(wr, d, rel, draft, mt)
        else:
            wr.text_file(rel, draft, mt)
        # truth: clicks per offer and reporting day
        lo, hi = int(block.bounds[d - block.d0]), int(block.bounds[d - block.d0 + 1])
        md = block.click_msk_day[lo:hi] - d  # 0 = reporting day d, 1 = day d+1
        offs = block.click_offer[lo:hi]
        clean = ~block.click_bot[lo:hi]
        for j, acc in ((0, msk_cur), (1, msk_next)):
            sel = md == j
            acc[0] += np.bincount(offs[sel], minlength=n_off)
            acc[1] += np.bincount(offs[sel & clean], minlength=n_off)
        cd_buffer.append(_clicks_daily_rows(d, msk_cur))
        msk_cur, msk_next = msk_next, np.zeros((2, n_off), dtype=np.int64)
        # billing at month end
        if (day + timedelta(days=1)).day == 1 or d == D - 1:
            month = day.replace(day=1)
            if (day + timedelta(days=1)).day == 1:
                billing.close_month(billing.months.index(month))
            _write_billing(wr, billing, month, day)
        flush_truth()
    # the last reporting day spills 3 hours past the last UTC day (partial)
    cd_buffer.append(_clicks_daily_rows(D, msk_cur))
    drain(0)
    gz_pool.shutdown()
    flush_truth(force=True)
    if conv_writer:
        conv_writer.close()
    if cd_writer:
        cd_writer.close()
    # fx rates: whole history, rewritten
    rows = fx_file_lines(fx_pub, fx_dates, config.end)
    draft = Draft(";".join(FX_HEADER), [";".join(r) for r in rows])
    if plan:
        plan.fx(draft)
    wr.text_file("billing/fx_rates.csv", draft, _mtime(config.end, 2), encoding="cp1251", crlf=True)
    if plan:
        plan.finish(wr, crm)
    wr.ledger.finish()
    _write_truth(world, billing, truth, traffic, counts, plan)
    files = len(wr.ledger.files)
    summary = WorldSummary(
        str(out_dir),
        config.as_dict(),
        counts,
        files,
        len(wr.ledger.defects),
        round(_time.perf_counter() - t_start, 3),
    )
    doc = summary.as_dict()
    doc.pop("seconds")  # keep truth byte-identical across runs
    doc.pop("out_dir")
    doc["counts"]["invoices"] = len(billing.invoices)
    doc["counts"]["payments"] = len(billing.payments)
    # tracker files whose facts reach the landing folder only with the replay
    doc["truth_needs_replay"] = sorted(
        r["file"]
        for r in wr.ledger.redeliveries
        if r["expect_outcome"] == "loaded" and r["file"].startswith("tracker/")
    )
    doc["notes"] = _NOTES
    (truth / "summary.json").write_text(
        json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return summary


_NOTES = (
    "Truth facts (conversions, clicks_daily, invoices) describe the clean world after every "
    "re-delivery in redeliveries.jsonl has been copied over landing (replay_redeliveries). "
    "Before the replay, files whose expect_outcome is 'rejected' contribute nothing; defect "
    "rows (defects.jsonl) are extra rows with fresh keys and never part of the truth. "
    "CSV line numbers are physical lines (header = line 1); JSON Lines count from 1; JSON "
    "documents use the 1-based index of the record. Reporting days are Europe/Moscow (UTC+3)."
)


def _merge_events(parts: list[tuple[bytes, np.ndarray]]) -> bytes:
    """One file's NDJSON from the parts scheduled for its day, merged into time order."""
    if not parts:
        return b""
    if len(parts) == 1:
        return parts[0][0]
    ts = np.concatenate([p[1] for p in parts])
    order = np.argsort(ts, kind="stable")
    if not np.any(np.diff(order) != 1):
        return b"".join(p[0] for p in parts)
    lines = [ln for p in parts for ln in p[0].splitlines(keepends=True)]
    return b"".join([lines[i] for i in order])


def _clicks_daily_rows(d: int, acc: np.ndarray) -> tuple[np.ndarray, ...]:
    nz = np.flatnonzero(acc[0])
    return nz, np.full(len(nz), d, dtype=np.int32), acc[0][nz], acc[1][nz]


def _clicks_daily(world: World, rows: list[tuple[np.ndarray, ...]]) -> pl.DataFrame:
    """Truth clicks per offer and reporting day (rows buffered as numpy, framed once)."""
    o = world.offers
    nz, d, clicks, clean = (np.concatenate(x) for x in zip(*rows, strict=True))
    return pl.DataFrame(
        {
            "offer_id": o.ids[nz],
            "advertiser_id": world.advertisers.ids[o.adv[nz]],
            "category": pl.Series(CATEGORIES).gather(o.cat[nz]),
            "day": pl.Series(d + (world.config.start - date(1970, 1, 1)).days).cast(pl.Date),
            "clicks": clicks,
            "clean_clicks": clean,
        }
    )


def _truth_of_block(block, config: WorldConfig, buf: list, billing: Billing, counts: dict) -> None:
    """Buffer a block's conversions for the truth and accrue approved revenue for invoicing."""
    tr = block.truth
    counts["conversions"] += len(tr)
    if not len(tr):
        return
    buf.append(tr.with_columns(day=pl.lit(config.start) + pl.duration(days=pl.col("day"))))
    appr = (tr["status"] == "approved").to_numpy()
    adv_idx = (tr["advertiser_id"].to_numpy() - 101)[appr]
    billing.accrue(adv_idx, tr["day"].to_numpy()[appr], tr["revenue"].to_numpy()[appr])


def _write_snapshots(wr: _Writer, crm: Crm, d: int, day: date) -> None:
    ds = day.isoformat()
    mt = _mtime(day, 0.5)
    exported = f"{ds}T23:30:00Z"
    plan = wr.plan
    wr.json_doc(f"tracker/offers/offers_{ds}.json", "offers", crm.offers(d), mt, exported)
    pubs = crm.publishers(d)
    header = ",".join(PUBLISHER_HEADER)
    draft = Draft(header, csv_lines(PUBLISHER_HEADER, pubs)[1:])
    if plan:
        plan.publishers(wr, d, f"tracker/publishers/publishers_{ds}.csv", draft)
    wr.text_file(f"tracker/publishers/publishers_{ds}.csv", draft, mt)
    wr.json_doc(f"crm/companies/companies_{ds}.json", "companies", crm.companies(d), mt)
    rel = f"crm/managers/managers_{ds}.csv"
    rows = crm.managers(d)
    if plan and plan.managers_broken(d):
        plan.managers(wr, rel, rows, mt)
    else:
        wr.text_file(rel, Draft(",".join(MANAGER_HEADER), csv_lines(MANAGER_HEADER, rows)[1:]), mt)
    rel = f"crm/deals/deals_{ds}.json"
    if plan and plan.deals_broken(d):
        plan.deals(wr, rel, crm.deals_at(d), mt)
    else:
        wr.json_doc(rel, "deals", crm.deals_at(d), mt)
    progs = crm.programs(d)
    if progs:  # no programme announced yet: no file (an empty snapshot would be rejected)
        wr.text_file(
            f"crm/programs/programs_{ds}.csv",
            Draft(",".join(PROGRAM_HEADER), csv_lines(PROGRAM_HEADER, progs)[1:]),
            mt,
        )


def _write_billing(wr: _Writer, billing: Billing, month: date, last_day: date) -> None:
    ym = month.strftime("%Y-%m")
    sep = NBSP if month.month % 2 else " "
    mt = delivery_time(last_day, 6)
    plan = wr.plan
    for kind, header, rows in (
        ("invoices", INVOICE_HEADER, billing.invoice_file_rows(month, sep)),
        ("payments", PAYMENT_HEADER, billing.payment_file_rows(month, sep)),
    ):
        rel = f"billing/{kind}/{kind}_{ym}.csv"
        draft = Draft(";".join(header), [";".join(r) for r in rows])
        enc, bom = "cp1251", False
        if plan:
            enc, bom = plan.billing(wr, kind, month, rel, draft, header, mt)
        wr.text_file(rel, draft, mt, encoding=enc, crlf=True, bom=bom)
        if plan:
            plan.after_billing(wr, kind, month, rel, draft, mt)


def _write_truth(
    world: World,
    billing: Billing,
    truth: Path,
    traffic: TrafficModel,
    counts: dict,
    plan: DefectPlan | None,
) -> None:
    a, cfg = world.advertisers, world.config
    m_idx = {int(x): i for i, x in enumerate(world.managers.ids)}
    am_end = [am_on(a, i, cfg.days - 1) for i in range(len(a.ids))]
    progs = {}
    for p in world.programmes:
        for i in p.control:
            progs.setdefault(i, []).append(f"{p.name}:control")
        for i in p.reference:
            progs.setdefault(i, []).append(f"{p.name}:reference")
    first_live = np.full(len(a.ids), NEVER)
    for k in range(len(world.offers.ids)):
        ai = int(world.offers.adv[k])
        first_live[ai] = min(first_live[ai], max(int(world.offers.launch[k]), int(a.start[ai])))

    def day_or_none(x: int) -> date | None:
        return None if x >= NEVER else cfg.start + timedelta(days=int(x))

    pl.DataFrame(
        {
            "advertiser_id": a.ids,
            "company_id": a.company_id,
            "category": [CATEGORIES[c] for c in a.cat],
            "start_day": [cfg.start + timedelta(days=int(max(s, 0))) for s in a.start],
            "fate": a.fate,
            "freeze_day": pl.Series([day_or_none(x) for x in a.freeze], dtype=pl.Date),
            "warning_start_day": pl.Series([day_or_none(x) for x in a.warn], dtype=pl.Date),
            "account_manager_id": am_end,
            "team_lead_id": [world.managers.team_lead[m_idx[m]] for m in am_end],
            "currency": a.currency,
            "payer": a.payer,
            "size": a.size,
            "programmes": [progs.get(i, []) for i in range(len(a.ids))],
            "temporary_stops": [
                [
                    [cfg.start + timedelta(days=s), cfg.start + timedelta(days=e - 1)]
                    for s, e in st
                    if s < cfg.days
                ]
                for st in a.temp_stops
            ],
        }
    ).write_parquet(truth / "advertisers.parquet")
    invs = []
    for inv in billing.invoices.values():
        if not inv.versions:
            continue
        net = inv.versions[-1][1]
        vat = round(net * (0.2 if inv.currency == "RUB" else 0.0), 2)
        invs.append(
            {
                "invoice_number": inv.number,
                "advertiser_id": int(a.ids[inv.adv]),
                "invoice_date": inv.issued,
                "due_date": inv.due,
                "period_from": inv.period_from,
                "period_to": inv.period_to,
                "currency": inv.currency,
                "amount_net": net,
                "vat": vat,
                "amount_total": round(net + vat, 2),
                "void": inv.void,
                "tracker_revenue": inv.true_net,
                "planted_discrepancy": inv.planted,
                "versions": len(inv.versions),
                "paid": round(billing.paid_by(inv.number, cfg.end), 2),
            }
        )
    inv_schema = {
        "invoice_number": pl.String,
        "advertiser_id": pl.Int64,
        "invoice_date": pl.Date,
        "due_date": pl.Date,
        "period_from": pl.Date,
        "period_to": pl.Date,
        "currency": pl.String,
        "amount_net": pl.Float64,
        "vat": pl.Float64,
        "amount_total": pl.Float64,
        "void": pl.Boolean,
        "tracker_revenue": pl.Float64,
        "planted_discrepancy": pl.Boolean,
        "versions": pl.Int64,
        "paid": pl.Float64,
    }
    inv_frame = pl.DataFrame(invs, schema=inv_schema)
    inv_frame.sort("invoice_number").write_parquet(truth / "invoices.parquet")
    pays = billing.payments
    pl.DataFrame(
        {
            "payment_number": [p.number for p in pays],
            "advertiser_id": [int(a.ids[p.adv]) for p in pays],
            "payment_date": [p.day for p in pays],
            "amount": [float(p.amount) for p in pays],
            "currency": [p.currency for p in pays],
            "invoice_number": [p.invoice for p in pays],
        },
        schema={
            "payment_number": pl.String,
            "advertiser_id": pl.Int64,
            "payment_date": pl.Date,
            "amount": pl.Float64,
            "currency": pl.String,
            "invoice_number": pl.String,
        },
    ).sort("payment_number").write_parquet(truth / "payments.parquet")
    o = world.offers
    pl.DataFrame(
        {
            "offer_id": o.ids,
            "advertiser_id": a.ids[o.adv],
            "category": [CATEGORIES[c] for c in o.cat],
            "payout_model": o.model,
            "currency": o.currency,
            "hold_days": o.hold,
            "daily_cap": pl.Series([int(c) if c > 0 else None for c in o.cap], dtype=pl.Int64),
            "planned_launch_day": [cfg.start + timedelta(days=int(x)) for x in o.launch],
            "stop_day": pl.Series([day_or_none(x) for x in o.stop], dtype=pl.Date),
            "stall_until": pl.Series(
                [day_or_none(x) if x > -NEVER else None for x in o.stall_until], dtype=pl.Date
            ),
            "price_change_day": pl.Series([day_or_none(x) for x in o.change_day], dtype=pl.Date),
        }
    ).write_parquet(truth / "offers.parquet")
    progs_doc = [
        {
            "program": p.name,
            "started_on": (cfg.start + timedelta(days=p.started)).isoformat(),
            "ended_on": None
            if p.ended is None
            else (cfg.start + timedelta(days=p.ended)).isoformat(),
            "control": [int(a.ids[i]) for i in p.control],
            "reference": [int(a.ids[i]) for i in p.reference],
            "planted_uplift": p.uplift,
        }
        for p in world.programmes
    ]
    doc = {
        "categories": seasonality.describe(),
        "programmes": progs_doc,
        "timezone": "Europe/Moscow",
    }
    (truth / "seasonality.json").write_text(
        json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


def replay_redeliveries(out_dir: Path) -> list[str]:
    """Copy every later delivery kept in truth/redeliveries over the landing folder (phase 2).

    Returns the landing-relative paths replaced, in the order they should be ingested.
    """
    out_dir = Path(out_dir)
    done = []
    path = out_dir / "truth" / "redeliveries.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        src = out_dir / "truth" / r["copy_from"]
        dst = out_dir / "landing" / r["file"]
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
        done.append(r["file"])
    return done
