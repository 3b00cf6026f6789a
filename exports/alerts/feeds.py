"""Per-lead alert feeds of a run: JSON Lines and CSV for machines, an XLSX digest for people.

Layout: ``<feeds>/<run_id>/<lead_id>/alerts.jsonl | alerts.csv | alerts.xlsx`` and a ``latest``
symlink (plus a ``LATEST`` text file for tools that do not follow links) naming the newest
run. A run's folder is written completely beside and renamed into place, so a reader never
sees a half-written feed. A lead's folder holds only that lead's clients: isolation is by
construction (filtering on ``team_lead_id``) and re-checked before writing.
"""

from __future__ import annotations

import csv
import json
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from exports import pii
from exports.alerts.texts import render
from exports.fsutil import replace_dir, safe_name, swap_symlink, write_text_atomic
from ingest.settings import Settings

FEED_COLUMNS = [
    "alert_id",
    "alert_key",
    "occurrence",
    "change",
    "severity",
    "rule",
    "subject_type",
    "subject_id",
    "advertiser_id",
    "company_name",
    "account_manager_id",
    "team_lead_id",
    "period",
    "first_seen_day",
    "last_seen_day",
    "resolved_day",
    "title",
    "message",
    "next_step",
    "metrics",
]
_CHANGE_ORDER = {"new": 0, "ongoing": 1, "resolved": 2}
_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class LeadFeed:
    lead_id: str
    directory: Path
    rows: pl.DataFrame  # FEED_COLUMNS
    counts: dict[str, int] = field(default_factory=dict)  # change -> alerts

    @property
    def jsonl(self) -> Path:
        return self.directory / "alerts.jsonl"

    @property
    def csv(self) -> Path:
        return self.directory / "alerts.csv"

    @property
    def xlsx(self) -> Path:
        return self.directory / "alerts.xlsx"


@dataclass(frozen=True)
class FeedSet:
    run_id: str
    directory: Path
    language: str
    leads: dict[str, LeadFeed]


def feed_rows(run_alerts: pl.DataFrame, language: str) -> pl.DataFrame:
    """The run's alerts with texts, sorted for reading: new first, then by severity."""
    records = []
    for row in run_alerts.iter_rows(named=True):
        records.append({**{c: row.get(c) for c in FEED_COLUMNS}, **render(row, language)})
    frame = pl.DataFrame(
        records,
        schema={
            c: (pl.Int64 if c == "occurrence" else pl.Date if c.endswith("_day") else pl.String)
            for c in FEED_COLUMNS
        },
    )
    return frame.sort(
        pl.col("change").replace_strict(_CHANGE_ORDER, default=9),
        pl.col("severity").replace_strict(_SEVERITY_ORDER, default=9),
        "rule",
        "alert_id",
    )


def _json_row(row: dict[str, Any]) -> str:
    out = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
    out["metrics"] = json.loads(row["metrics"])
    return json.dumps(out, ensure_ascii=False, sort_keys=False)


_XLSX_HEADERS = {
    "en": [
        "Status",
        "Severity",
        "Rule",
        "Subject",
        "Company",
        "Account manager",
        "Alert",
        "Numbers",
        "Next step",
        "First seen",
        "Last seen",
        "Resolved",
    ],
    "ru": [
        "Статус",
        "Важность",
        "Правило",
        "Объект",
        "Компания",
        "Аккаунт-менеджер",
        "Алерт",
        "Цифры",
        "Что сделать",
        "Впервые",
        "Последний раз",
        "Решено",
    ],
}
_XLSX_CHANGE = {"ru": {"new": "новый", "ongoing": "продолжается", "resolved": "решён"}}


def write_xlsx(path: Path, rows: pl.DataFrame, *, lead_id: str, run_id: str, language: str) -> None:
    """A digest a person can open: one sheet of alerts (filterable), one of counts."""
    wb = xlsxwriter.Workbook(str(path))
    try:
        head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        top = wb.add_format({"valign": "top"})
        date_fmt = wb.add_format({"num_format": "yyyy-mm-dd", "valign": "top"})
        ws = wb.add_worksheet("Алерты" if language == "ru" else "Alerts")
        ws.write_row(0, 0, _XLSX_HEADERS[language], head)
        for i, r in enumerate(rows.iter_rows(named=True), start=1):
            change = _XLSX_CHANGE.get(language, {}).get(r["change"], r["change"])
            values = [
                change,
                r["severity"],
                r["rule"],
                f"{r['subject_type']} {r['subject_id']}",
                r["company_name"] or "",
                r["account_manager_id"] or "",
                r["title"],
                r["message"],
                r["next_step"],
            ]
            ws.write_row(i, 0, values, top)
            ws.write(i, 7, r["message"], wrap)
            ws.write(i, 8, r["next_step"], wrap)
            for j, c in enumerate(("first_seen_day", "last_seen_day", "resolved_day"), start=9):
                if r[c] is not None:
                    ws.write_datetime(i, j, _as_datetime(r[c]), date_fmt)
        for col, width in enumerate([12, 9, 18, 22, 28, 16, 40, 70, 60, 12, 12, 12]):
            ws.set_column(col, col, width)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(rows.height, 1), len(_XLSX_HEADERS[language]) - 1)
        summary = wb.add_worksheet("Сводка" if language == "ru" else "Summary")
        summary.write_row(0, 0, ["run", run_id], head)
        summary.write_row(1, 0, ["lead", lead_id])
        summary.write_row(3, 0, ["rule", "new", "ongoing", "resolved"], head)
        counts = rows.group_by("rule", "change").len()
        for i, rule in enumerate(sorted(rows.get_column("rule").unique().to_list()), start=4):
            summary.write(i, 0, rule)
            for j, change in enumerate(("new", "ongoing", "resolved"), start=1):
                n = counts.filter((pl.col("rule") == rule) & (pl.col("change") == change))
                summary.write_number(i, j, int(n.get_column("len").sum()) if n.height else 0)
        summary.set_column(0, 0, 20)
    finally:
        wb.close()


def _as_datetime(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


def _write_lead(directory: Path, rows: pl.DataFrame, lead_id: str, run_id: str, lang: str) -> None:
    directory.mkdir(parents=True)
    with (directory / "alerts.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows.iter_rows(named=True):
            fh.write(_json_row(row) + "\n")
    # utf-8-sig: Excel opens the CSV with Cyrillic intact.
    with (directory / "alerts.csv").open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(FEED_COLUMNS)
        for row in rows.iter_rows():
            writer.writerow(
                [
                    "" if v is None else (v.isoformat() if hasattr(v, "isoformat") else v)
                    for v in row
                ]
            )
    write_xlsx(directory / "alerts.xlsx", rows, lead_id=lead_id, run_id=run_id, language=lang)


def write_feeds(
    settings: Settings,
    run_alerts: pl.DataFrame,
    *,
    run_id: str,
    language: str | None = None,
    leads: list[str] | tuple[str, ...] = (),
) -> FeedSet:
    """Write every lead's feed for a run (``leads`` adds empty feeds for leads with no alerts)
    and point ``latest`` at it. Re-writing the same run replaces its folder whole."""
    lang = language or settings.alerts.language
    rows = feed_rows(run_alerts, lang)
    pii.check_frame(rows, f"alert feed of run {run_id}")
    root = settings.paths.feeds
    root.mkdir(parents=True, exist_ok=True)
    run_dir_name = safe_name(run_id)
    staging = root / f".{run_dir_name}.{uuid.uuid4().hex}.staging"
    staging.mkdir()
    all_leads = sorted(set(rows.get_column("team_lead_id").to_list()) | set(leads))
    built: dict[str, pl.DataFrame] = {}
    try:
        for lead in all_leads:
            mine = rows.filter(pl.col("team_lead_id") == lead)
            if mine.height and set(mine.get_column("team_lead_id").to_list()) != {lead}:
                raise AssertionError(f"feed of lead {lead} would hold another team's alerts")
            _write_lead(staging / safe_name(lead), mine, lead, run_id, lang)
            built[lead] = mine
        (staging / "run.json").write_text(
            json.dumps({"run_id": run_id, "language": lang, "leads": all_leads}, indent=2),
            encoding="utf-8",
        )
        final = root / run_dir_name
        replace_dir(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    swap_symlink(root / "latest", run_dir_name)
    write_text_atomic(root / "LATEST", run_dir_name + "\n")
    feeds = {
        lead: LeadFeed(
            lead,
            final / safe_name(lead),
            mine,
            {
                c: int((mine.get_column("change") == c).sum())
                for c in ("new", "ongoing", "resolved")
            },
        )
        for lead, mine in built.items()
    }
    return FeedSet(run_id, final, lang, feeds)
