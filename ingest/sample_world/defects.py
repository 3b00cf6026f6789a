"""`--defects`: every misbehaviour listed at the end of docs/sources.md, a few per file.

Each injected defect is recorded in the ledger (truth/defects.jsonl) with what the pipeline
must do with it. Row defects are extra rows with fresh keys (the clean world stays intact);
whole-file defects get a clean re-delivery under the same name in truth/redeliveries/.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from .crm import MANAGER_HEADER, Crm, snapshot_days
from .formats import csv_field, csv_lines, delivery_time, dumps, gzip_bytes, hex_ids
from .ledger import Draft, split_csv

if TYPE_CHECKING:
    from .entities import World
    from .generate import _Writer
    from .ledger import Ledger

UNKNOWN_OFFER = 990_001  # no snapshot ever knows it
UNKNOWN_PUBLISHER = 990_002


def _join(fields: list[Any]) -> str:
    return ",".join(csv_field(f) for f in fields)


class DefectPlan:
    def __init__(self, world: World, ledger: Ledger) -> None:
        self.w = world
        self.ledger = ledger
        cfg = world.config
        self.rng = np.random.default_rng([cfg.seed, 11])
        D = cfg.days
        days = self.rng.choice(np.arange(40, D - 40), size=12, replace=False)
        (
            self.d_click_rows,
            self.d_click_trunc,
            self.d_click_late,
            self.d_click_release,
            self.d_conv_rows,
            self.d_conv_identical,
            self.d_act_empty,
            self.d_act_rows,
            self.d_empty_snapshot,
            _,
            _,
            _,
        ) = (int(x) for x in days)
        mondays = [
            d
            for d in snapshot_days(cfg.start, D)
            if 30 < d < D - 30 and world.days[d].weekday() == 0
        ]
        picks = self.rng.choice(mondays, size=3, replace=False)
        self.d_managers_missing, self.d_deals_invalid, self.d_pub_dup = (int(x) for x in picks)
        self.d_pub_spaces_from = mondays[len(mondays) // 2]
        while self.w.days[self.d_empty_snapshot].weekday() == 0:
            self.d_empty_snapshot += 1
        if self.d_act_empty in (self.d_act_rows, self.d_act_rows - 1):
            self.d_act_empty = self.d_act_rows - 5  # its content must load for the dedup check
        months = sorted({d.replace(day=1) for d in world.days})[1:-1]
        mp = self.rng.choice(len(months), size=4, replace=len(months) < 5)
        self.m_inv_bom, self.m_inv_rows, self.m_pay_nobom, self.m_pay_rows = (months[i] for i in mp)
        rest = [m for i, m in enumerate(months) if i not in set(mp.tolist())]
        self.m_inv_fix = rest[len(rest) // 3] if rest else None
        self.test_offer_id = int(world.offers.ids.max()) + 1
        self.released_lines: list[dict] = []
        self.prev_activity: dict | None = None
        self.last_payment_line: str | None = None
        self.stray_source: tuple[str, bytes] | None = None

    # -- tracker -------------------------------------------------------------------------------
    def touches_clicks(self, d: int) -> bool:
        return d in (self.d_click_rows, self.d_click_trunc, self.d_click_late, self.d_click_release)

    def clicks(self, wr: _Writer, d: int, rel: str, df: pl.DataFrame, mt: datetime) -> None:
        day = self.w.days[d]
        rng = np.random.default_rng([self.w.config.seed, 12, d])
        if d == self.d_click_trunc:
            full = gzip_bytes(df.write_csv().encode("utf-8"))
            wr.ledger.write(rel, full[: len(full) // 2], len(df), mt)
            wr.ledger.defect(rel, None, "truncated_gzip", "rejected_file", "unreadable_file")
            wr.ledger.redeliver(rel, full, "corrected", len(df), mt + timedelta(days=2))
            return
        if d == self.d_click_late:
            late = mt + timedelta(days=4)
            wr.ledger.write(rel, gzip_bytes(df.write_csv().encode("utf-8")), len(df), late)
            wr.ledger.defect(
                rel,
                None,
                "late_file",
                "handled",
                None,
                delivered_at=late.isoformat() + "Z",
                note="arrives after the files of the next 4 days (mtime)",
            )
            return
        extra_cols: list[str] = []
        if d == self.d_click_rows:
            df = df.with_columns(
                referrer=pl.when(pl.Series(rng.random(len(df)) < 0.3))
                .then(pl.lit("https://news.example.ru/article?id=1,2"))
                .otherwise(pl.lit(""))
            )
            extra_cols = ["referrer"]
        lines = df.write_csv().splitlines()
        draft = Draft(lines[0], lines[1:])
        n = len(draft.rows)
        base = split_csv(draft.rows[n // 2])
        fresh = [s.decode() for s in hex_ids(rng, 8)]
        if d == self.d_click_rows:
            wr.ledger.defect(rel, 1, "new_column", "handled", None, extra_columns=extra_cols)
            for i in sorted(rng.choice(n, size=min(3, n), replace=False)):
                draft.add(int(i), draft.rows[int(i)], "duplicate_line", "deduplicated", None)
            bad = base[:]
            bad[0] = fresh[0]
            draft.add(n // 3, _join(bad[:-2]), "wrong_field_count", "quarantine", "bad_field_count")
            bad = base[:]
            bad[0], bad[2] = fresh[1], bad[2][:-1] + "O"
            draft.add(
                n // 3 + 1,
                _join(bad),
                "unparsable_number",
                "quarantine",
                "unparsable_number",
                field="offer_id",
            )
            bad = base[:]
            bad[0], bad[1] = fresh[2], f"{(day + timedelta(days=2)).isoformat()}T10:15:00Z"
            draft.add(
                n // 2, _join(bad), "future_timestamp", "quarantine", "future_timestamp", field="ts"
            )
            bad = base[:]
            bad[0], bad[2] = fresh[3], str(UNKNOWN_OFFER)
            draft.add(
                2 * n // 3,
                _join(bad),
                "unknown_id",
                "quarantine",
                "unknown_id",
                field="offer_id",
                released_by=None,
            )
        if d == self.d_click_release:
            for j in range(2):
                bad = base[:]
                bad[0], bad[2] = fresh[4 + j], str(self.test_offer_id)
                draft.add(
                    n // 2 + j,
                    _join(bad),
                    "unknown_id_released_later",
                    "quarantine",
                    "unknown_id",
                    field="offer_id",
                    released_by=self._last_offers_rel(),
                )
        wr.text_file(rel, draft, mt, gz=True)

    def _last_offers_rel(self) -> str:
        return f"tracker/offers/offers_{self.w.config.end.isoformat()}.json"

    def touches_conversions(self, d: int) -> bool:
        return d == self.d_conv_rows

    def conversions(self, wr: _Writer, d: int, draft: Draft, prev: str | None) -> None:
        """Duplicates (within and across files) and one bad row per kind, after the middle."""
        if d != self.d_conv_rows or not draft.rows:
            return
        rng = np.random.default_rng([self.w.config.seed, 13, d])
        n = len(draft.rows)
        for i in sorted(rng.choice(n, size=min(2, n), replace=False)):
            draft.add(int(i), draft.rows[int(i)], "duplicate_line", "deduplicated", None)
        if prev:
            draft.add(
                -1,
                prev,
                "duplicate_across_files",
                "deduplicated",
                None,
                note="an event of the previous day's file, re-sent",
            )
        base = json.loads(draft.rows[n // 2])
        day = self.w.days[d].isoformat()

        def variant(suffix: str, **changes: Any) -> str:
            rec = dict(base)
            rec["conversion_id"] = f"{base['conversion_id']}{suffix}"
            rec.update(changes)
            return json.dumps(rec, ensure_ascii=False)

        draft.add(
            n // 2,
            variant("x1", status="hold"),
            "unknown_enum",
            "quarantine",
            "unknown_enum",
            field="status",
        )
        draft.add(
            n // 2,
            variant("x2", created_at=f"{day[:8]}32T10:00:00Z"),
            "unparsable_date",
            "quarantine",
            "unparsable_date",
            field="created_at",
        )
        draft.add(
            n // 2,
            variant("x3", status="approved", revenue=-1500.0, payout=-900.0),
            "negative_amount",
            "quarantine",
            "negative_amount",
            field="revenue",
        )
        draft.add(
            n // 2,
            variant("x4", publisher_id=UNKNOWN_PUBLISHER),
            "unknown_id",
            "quarantine",
            "unknown_id",
            field="publisher_id",
            released_by=None,
        )
        draft.add(
            n // 2,
            variant("x5", revenue="1 500,00"),
            "unparsable_number",
            "quarantine",
            "unparsable_number",
            field="revenue",
        )

    def after_conversions(self, wr: _Writer, d: int, rel: str, data: bytes, mt: datetime) -> None:
        if d == self.d_conv_identical:
            rows = wr.ledger.files[rel]["rows"]
            wr.ledger.redeliver(rel, data, "identical", rows, mt + timedelta(days=1))

    # -- CRM -----------------------------------------------------------------------------------
    def touches_activities(self, d: int) -> bool:
        return d in (self.d_act_empty, self.d_act_rows, self.d_act_rows - 1)

    def activities(self, wr: _Writer, d: int, rel: str, draft: Draft, mt: datetime) -> None:
        if d == self.d_act_empty:
            lines, _ = draft.render()
            full = ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
            wr.ledger.write(rel, b"", len(lines), mt)
            wr.ledger.defect(rel, None, "empty_file", "rejected_file", "unreadable_file")
            wr.ledger.redeliver(rel, full, "corrected", len(lines), mt + timedelta(days=3))
            return
        if d == self.d_act_rows - 1:
            self.prev_activity = json.loads(draft.rows[-1]) if draft.rows else None
            wr.text_file(rel, draft, mt)
            return
        n = len(draft.rows)
        if n:
            base = json.loads(draft.rows[n // 2])
            draft.add(n // 2, draft.rows[n // 2], "duplicate_line", "deduplicated", None)
            rec = dict(base, activity_id=base["activity_id"] + 9_000_000, type="sms")
            draft.add(
                n // 2, dumps(rec), "unknown_enum", "quarantine", "unknown_enum", field="type"
            )
            rec = dict(
                base,
                activity_id=base["activity_id"] + 9_000_001,
                occurred_at=base["occurred_at"] + 3 * 86_400,
            )
            draft.add(
                n // 2,
                dumps(rec),
                "future_timestamp",
                "quarantine",
                "future_timestamp",
                field="occurred_at",
            )
        if self.prev_activity is not None:
            draft.add(
                -1,
                dumps(self.prev_activity),
                "duplicate_across_files",
                "deduplicated",
                None,
                note="re-sent from the previous day's file",
            )
        wr.text_file(rel, draft, mt)

    def managers_broken(self, d: int) -> bool:
        return d == self.d_managers_missing

    def managers(self, wr: _Writer, rel: str, rows: list[list], mt: datetime) -> None:
        good = csv_lines(MANAGER_HEADER, rows)
        cut = MANAGER_HEADER.index("role")
        broken = csv_lines(
            [h for h in MANAGER_HEADER if h != "role"], [r[:cut] + r[cut + 1 :] for r in rows]
        )
        wr.ledger.write(rel, ("\n".join(broken) + "\n").encode(), len(rows), mt)
        wr.ledger.defect(
            rel, None, "missing_column", "rejected_file", "missing_column", field="role"
        )
        wr.ledger.redeliver(
            rel, ("\n".join(good) + "\n").encode(), "corrected", len(rows), mt + timedelta(days=1)
        )

    def deals_broken(self, d: int) -> bool:
        return d == self.d_deals_invalid

    def deals(self, wr: _Writer, rel: str, records: list[dict], mt: datetime) -> None:
        data = (dumps({"deals": records}) + "\n").encode()
        wr.ledger.write(rel, data[: int(len(data) * 0.6)], len(records), mt)
        wr.ledger.defect(rel, None, "invalid_json", "rejected_file", "invalid_json")
        wr.ledger.redeliver(rel, data, "corrected", len(records), mt + timedelta(hours=5))

    def publishers(self, wr: _Writer, d: int, rel: str, draft: Draft) -> None:
        if d >= self.d_pub_spaces_from and draft.header:
            draft.header = draft.header.replace(",", ", ")
            wr.ledger.defect(rel, 1, "header_spaces", "handled", None)
        if d == self.d_pub_dup and draft.rows:
            draft.add(
                len(draft.rows) // 2,
                draft.rows[len(draft.rows) // 2],
                "duplicate_record",
                "deduplicated",
                None,
            )

    def extra_snapshots(self, wr: _Writer, crm: Crm, d: int, day: date) -> None:
        if d == self.d_empty_snapshot:
            rel = f"tracker/offers/offers_{day.isoformat()}.json"
            wr.json_doc(rel, "offers", [], delivery_time(day, 0.5), f"{day.isoformat()}T23:30:00Z")
            wr.ledger.defect(rel, None, "empty_snapshot", "rejected_file", "empty_snapshot")

    # -- billing --------------------------------------------------------------------------------
    def billing(
        self,
        wr: _Writer,
        kind: str,
        month: date,
        rel: str,
        draft: Draft,
        header: list[str],
        mt: datetime,
    ) -> tuple[str, bool]:
        enc, bom = "cp1251", False
        if kind == "invoices" and not draft.rows:
            wr.ledger.defect(rel, None, "header_only", "handled", None)
        if kind == "invoices" and month == self.m_inv_bom:
            enc, bom = "utf-8", True
            wr.ledger.defect(rel, None, "utf8_with_bom", "handled", None)
        if kind == "payments" and month == self.m_pay_nobom:
            enc = "utf-8"
            wr.ledger.defect(rel, None, "utf8_without_bom", "handled", None)
        if kind == "invoices" and month == self.m_inv_rows and draft.rows:
            base = split_csv(draft.rows[0], ";")
            neg = base[:]
            neg[0] = base[0] + "-К"
            neg[8], neg[9], neg[10] = "-12 000,00", "-2 400,00", "-14 400,00"
            draft.add(
                0, ";".join(neg), "negative_amount", "quarantine", "negative_amount", field="Сумма"
            )
            short = base[:]
            short[0] = base[0] + "-Д"
            draft.add(0, ";".join(short[:-3]), "wrong_field_count", "quarantine", "bad_field_count")
        if kind == "payments" and month == self.m_pay_rows and draft.rows:
            n = len(draft.rows)
            base = split_csv(draft.rows[n // 2], ";")
            bad = base[:]
            bad[0], bad[4] = base[0] + "-1", "12 3OO,00"
            draft.add(
                n // 2,
                ";".join(bad),
                "unparsable_number",
                "quarantine",
                "unparsable_number",
                field="Сумма",
            )
            bad = base[:]
            bad[0], bad[1] = base[0] + "-2", "31.02." + base[1][-4:]
            draft.add(
                n // 2,
                ";".join(bad),
                "unparsable_date",
                "quarantine",
                "unparsable_date",
                field="Дата",
            )
            draft.add(n // 2, draft.rows[n // 2], "duplicate_line", "deduplicated", None)
            if self.last_payment_line:
                draft.add(
                    -1,
                    self.last_payment_line,
                    "duplicate_across_files",
                    "deduplicated",
                    None,
                    note="a payment of the previous month's file, exported again",
                )
        if kind == "payments" and draft.rows:
            self.last_payment_line = draft.rows[-1]
        return enc, bom

    def after_billing(
        self, wr: _Writer, kind: str, month: date, rel: str, draft: Draft, mt: datetime
    ) -> None:
        if kind == "payments" and month == self.m_pay_rows:
            stray = rel.replace(".csv", " (копия).csv")
            data = (wr.ledger.landing / rel).read_bytes()
            wr.ledger.write(stray, data, wr.ledger.files[rel]["rows"], mt)
            wr.ledger.defect(stray, None, "stray_file", "rejected_file", "stray_file")
        if kind == "invoices" and month == self.m_inv_fix and draft.rows:
            # the accounting team re-exports an old month with a typo in a name fixed
            lines, _ = draft.render()
            fixed = [lines[0]] + [ln.replace("ООО «", "ООО «", 1) for ln in lines[1:]]
            first = split_csv(fixed[1], ";")
            first[4] = first[4].replace("ООО", "АО")
            fixed[1] = ";".join(first)
            data = ("\r\n".join(fixed) + "\r\n").encode("cp1251")
            wr.ledger.redeliver(
                rel,
                data,
                "corrected",
                len(fixed) - 1,
                mt + timedelta(days=95),
                note="counterparty of the first invoice corrected months later",
            )

    def fx(self, draft: Draft) -> None:
        i = len(draft.rows) // 2
        draft.add(i, draft.rows[i], "duplicate_line", "deduplicated", None)

    # -- the end: late snapshot that releases unknown ids ---------------------------------------
    def finish(self, wr: _Writer, crm: Crm) -> None:
        cfg = self.w.config
        d = cfg.days - 1
        rel = self._last_offers_rel()
        recs = crm.offers(d)
        first = self.w.days[self.d_click_release]
        adv0 = int(self.w.advertisers.ids[0])
        recs.append(
            {
                "offer_id": self.test_offer_id,
                "advertiser_id": adv0,
                "title": "Тестовый оффер (интеграция)",
                "category": recs[0]["category"],
                "payout_model": "CPA",
                "currency": "RUB",
                "price": 100.0,
                "payout": 70.0,
                "hold_days": 0,
                "daily_cap": 10,
                "status": "stopped",
                "created_at": f"{(first - timedelta(days=1)).isoformat()}T08:00:00Z",
                "launched_at": f"{first.isoformat()}T00:00:00Z",
                "stopped_at": f"{(first + timedelta(days=1)).isoformat()}T00:00:00Z",
                "exclusive": False,
                "allowed_sources": ["context"],
            }
        )
        doc = {"exported_at": f"{cfg.end.isoformat()}T23:45:00Z", "offers": recs}
        data = (dumps(doc) + "\n").encode("utf-8")
        released = [d for d in wr.ledger.defects if d.get("released_by") == rel]
        wr.ledger.redeliver(
            rel,
            data,
            "corrected",
            len(recs),
            delivery_time(cfg.end, 3),
            releases=[{"file": x["file"], "line": x["line"]} for x in released],
            note="the catalogue export now includes a test offer it had "
            "filtered out; its clicks are released from quarantine",
        )
