"""The generator's own accounting: every landing file written, every defect injected, and the
exact counts the pipeline must report for each file (written to `truth/`).

Defect rows are always *extra* rows with their own fresh keys, so the clean world (the truth
facts) is unaffected by them; whole-file defects are repaired by a later re-delivery kept in
`truth/redeliveries/` (see `replay_redeliveries`).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .formats import write_bytes

SOURCE_BY_DIR = {
    "tracker/clicks": "clicks",
    "tracker/conversions": "conversions",
    "tracker/offers": "offers",
    "tracker/publishers": "publishers",
    "billing/invoices": "invoices",
    "billing/payments": "payments",
    "crm/companies": "companies",
    "crm/managers": "managers",
    "crm/deals": "deals",
    "crm/activities": "activities",
    "crm/programs": "programs",
}


def source_of(rel: str) -> str:
    if rel == "billing/fx_rates.csv":
        return "fx_rates"
    return SOURCE_BY_DIR.get(rel.rsplit("/", 1)[0], "unknown")


@dataclass
class Insertion:
    after: int  # data-row index the line goes after (-1 = before the first row)
    text: str
    meta: dict[str, Any]


@dataclass
class Draft:
    """A text file being assembled: a header line (or None) and data lines, plus defect lines."""

    header: str | None
    rows: list[str]
    inserts: list[Insertion] = field(default_factory=list)

    def add(
        self, after: int, text: str, kind: str, expect: str, reason: str | None, **extra: Any
    ) -> None:
        self.inserts.append(
            Insertion(after, text, {"kind": kind, "expect": expect, "reason": reason, **extra})
        )

    def render(self) -> tuple[list[str], list[tuple[int, int, dict]]]:
        """Final lines, and (physical line, data row, meta) of every inserted line."""
        by_pos: dict[int, list[Insertion]] = {}
        for ins in self.inserts:
            by_pos.setdefault(ins.after, []).append(ins)
        out: list[str] = [] if self.header is None else [self.header]
        marks = []
        off = 0 if self.header is None else 1

        def emit(ins: Insertion) -> None:
            out.append(ins.text)
            marks.append((len(out), len(out) - off, ins.meta))

        for ins in by_pos.get(-1, []):
            emit(ins)
        for i, r in enumerate(self.rows):
            out.append(r)
            for ins in by_pos.get(i, []):
                emit(ins)
        return out, marks


def split_csv(line: str, sep: str = ",") -> list[str]:
    return next(csv.reader([line], delimiter=sep))


class Ledger:
    def __init__(self, landing: Path, truth: Path) -> None:
        self.landing = landing
        self.truth = truth
        self.files: dict[str, dict[str, Any]] = {}
        self.defects: list[dict[str, Any]] = []
        self.redeliveries: list[dict[str, Any]] = []

    def write(self, rel: str, data: bytes, rows: int, delivered_at: datetime) -> None:
        write_bytes(self.landing / rel, data, delivered_at)
        self.files[rel] = {"file": rel, "source": source_of(rel), "rows": rows}

    def defect(
        self, file: str, line: int | None, kind: str, expect: str, reason: str | None, **extra: Any
    ) -> None:
        self.defects.append(
            {"file": file, "line": line, "kind": kind, "expect": expect, "reason": reason, **extra}
        )

    def record_marks(self, rel: str, marks: list[tuple[int, int, dict]]) -> None:
        for line, row, meta in marks:
            meta = dict(meta)
            self.defect(
                rel, line, meta.pop("kind"), meta.pop("expect"), meta.pop("reason"), row=row, **meta
            )

    def redeliver(
        self, rel: str, data: bytes, kind: str, rows: int, delivered_at: datetime, **extra: Any
    ) -> None:
        """Keep a later delivery of `rel` (same name) for tests to copy over the landing file."""
        write_bytes(self.truth / "redeliveries" / rel, data, delivered_at)
        identical = kind == "identical"
        # a clean delivery of a name whose first delivery was rejected simply loads (reading 8)
        was_rejected = any(
            d["file"] == rel and d["expect"] == "rejected_file" for d in self.defects
        )
        outcome = "identical_redelivery" if identical else "loaded" if was_rejected else "corrected"
        self.defect(
            rel,
            None,
            f"redelivery_{kind}",
            "identical_redelivery" if identical else "corrected",
            None,
            phase=2,
            copy_from=f"redeliveries/{rel}",
        )
        self.redeliveries.append(
            {
                "file": rel,
                "kind": kind,
                "copy_from": f"redeliveries/{rel}",
                "rows": rows,
                "sha256": hashlib.sha256(data).hexdigest(),
                "expect_outcome": outcome,
                "expect_loaded": 0 if kind == "identical" else rows,
                "expect_deduplicated": None if kind == "identical" else 0,
                "expect_quarantined": 0,
                **extra,
            }
        )

    def expected(self) -> list[dict[str, Any]]:
        """Per landing file: rows and the counts ingestion must report (one run, dependency
        order: snapshots, fx, then facts; files of a source in name order)."""
        by_file: dict[str, list[dict]] = {}
        for d in self.defects:
            by_file.setdefault(d["file"], []).append(d)
        out = []
        for rel in sorted(self.files):
            info = self.files[rel]
            ds = by_file.get(rel, [])
            rejected = [d for d in ds if d["expect"] == "rejected_file"]
            dedup = sum(1 for d in ds if d["expect"] == "deduplicated")
            q = Counter(d["reason"] for d in ds if d["expect"] == "quarantine")
            released = sum(1 for d in ds if d["expect"] == "quarantine" and d.get("released_by"))
            extra_cols = sorted({c for d in ds for c in d.get("extra_columns", [])})
            if rejected:
                rec = {
                    "expect_loaded": 0,
                    "expect_deduplicated": 0,
                    "expect_quarantined": None,
                    "expect_quarantined_by_reason": {},
                    "expect_outcome": "rejected",
                    "expect_reason": rejected[0]["reason"],
                }
            else:
                nq = sum(q.values())
                rec = {
                    "expect_loaded": info["rows"] - dedup - nq,
                    "expect_deduplicated": dedup,
                    "expect_quarantined": nq,
                    "expect_quarantined_by_reason": dict(sorted(q.items())),
                    "expect_outcome": "loaded",
                    "expect_reason": None,
                }
            out.append(
                {
                    **info,
                    **rec,
                    "expect_released_after_replay": released,
                    "extra_columns": extra_cols,
                }
            )
        return out

    def finish(self) -> None:
        self.truth.mkdir(parents=True, exist_ok=True)
        with (self.truth / "defects.jsonl").open("w", encoding="utf-8") as f:
            for d in self.defects:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
        with (self.truth / "expected_files.jsonl").open("w", encoding="utf-8") as f:
            for e in self.expected():
                f.write(json.dumps(e, ensure_ascii=False) + "\n")
        with (self.truth / "redeliveries.jsonl").open("w", encoding="utf-8") as f:
            for r in self.redeliveries:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
