"""Delivering alert feeds by webhook and e-mail, exactly once per alert event and recipient.

What is sent: every *event* of an alert — ``new`` (it opened) and ``resolved`` (it cleared in
this run) — goes once to each recipient on each channel: the webhook per lead, the lead's
e-mail digest, and the digest of the alert's account manager. ``alerts.notifications``
remembers which (alert, event) each recipient has received, so an ongoing alert is never
re-sent, while an event whose delivery failed stays pending and goes with the next run (and a
recipient added to the routing later receives the alerts still open once).

How it is sent: a delivery's body and ``Idempotency-Key`` are derived from run, lead,
recipient and events only, so every retry — and a re-run of the same pipeline run — sends
byte-identical requests with the same key, and the receiver can drop duplicates; this side
also never re-sends a key the log shows delivered. If an endpoint stays unreachable after all
retries, the channel is not tried for the other leads of this run (their events stay pending):
delivery must not hold the warehouse for long.

Every attempt goes to ``alerts.delivery_log``; it records hosts, never URLs (they may carry
tokens) nor e-mail addresses (personal data; also masked in error texts).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

import duckdb
import polars as pl

from exports import pii
from exports.alerts.evaluate import UNASSIGNED_LEAD
from exports.alerts.feeds import FeedSet, LeadFeed
from exports.alerts.routing import OPS, Recipient, load_recipients
from exports.alerts.texts import render
from exports.alerts.transport import DeliveryConfig, post_webhook, send_email
from ingest.settings import Settings

log = logging.getLogger(__name__)

DELIVERY_DDL = """
CREATE SCHEMA IF NOT EXISTS alerts;
CREATE TABLE IF NOT EXISTS alerts.delivery_log (
    attempted_at TIMESTAMPTZ NOT NULL,
    run_id VARCHAR NOT NULL,
    event VARCHAR NOT NULL,            -- 'alerts' | 'run_failure'
    channel VARCHAR NOT NULL,          -- 'webhook' | 'email'
    lead_id VARCHAR,                   -- whose feed (NULL for run failures)
    recipient_id VARCHAR,              -- lead/manager id or 'ops'
    idempotency_key VARCHAR NOT NULL,
    attempt INTEGER NOT NULL,          -- 0 for a delivery not attempted (skipped)
    outcome VARCHAR NOT NULL,          -- 'delivered' | 'retry' | 'failed' | 'skipped'
    response_code INTEGER,             -- HTTP status or SMTP reply code
    detail VARCHAR,
    alerts INTEGER,
    target VARCHAR                     -- host[:port] only
);
CREATE TABLE IF NOT EXISTS alerts.notifications (
    channel VARCHAR NOT NULL,
    recipient_id VARCHAR NOT NULL,     -- the lead for the webhook; lead/manager/ops for e-mail
    alert_id VARCHAR NOT NULL,
    event VARCHAR NOT NULL,            -- 'new' | 'resolved'
    run_id VARCHAR NOT NULL,
    idempotency_key VARCHAR NOT NULL,
    notified_at TIMESTAMPTZ NOT NULL
);
"""
_EMAIL_RE = re.compile(pii.CONTENT_PATTERNS["e-mail address"])


@dataclass(frozen=True)
class Attempt:
    channel: str
    lead_id: str | None
    recipient_id: str | None
    idempotency_key: str
    attempt: int
    outcome: str
    response_code: int | None = None
    detail: str = ""


@dataclass
class DeliveryReport:
    attempts: list[Attempt] = field(default_factory=list)

    def _outcome(self, outcome: str) -> list[Attempt]:
        return [a for a in self.attempts if a.outcome == outcome]

    @property
    def delivered(self) -> list[Attempt]:
        return self._outcome("delivered")

    @property
    def failed(self) -> list[Attempt]:
        return self._outcome("failed")

    @property
    def skipped(self) -> list[Attempt]:
        return self._outcome("skipped")


class Journal:
    """The delivery log and the notification memory (in the warehouse when ``con`` is given;
    each write is committed at once, so a crash mid-delivery keeps what was done)."""

    def __init__(self, con: duckdb.DuckDBPyConnection | None, run_id: str, event: str) -> None:
        self.con, self.run_id, self.event = con, run_id, event
        self.report = DeliveryReport()
        if con is not None:
            con.execute(DELIVERY_DDL)

    def delivered_key(self, key: str, channel: str) -> bool:
        if self.con is None:
            return False
        return (
            self.con.execute(
                "SELECT count(*) FROM alerts.delivery_log WHERE idempotency_key = ? "
                "AND channel = ? AND outcome = 'delivered'",
                [key, channel],
            ).fetchall()[0][0]
            > 0
        )

    def notified(self, channel: str, recipient_id: str) -> set[tuple[str, str]]:
        if self.con is None:
            return set()
        rows = self.con.execute(
            "SELECT alert_id, event FROM alerts.notifications "
            "WHERE channel = ? AND recipient_id = ?",
            [channel, recipient_id],
        ).fetchall()
        return {(r[0], r[1]) for r in rows}

    def mark(self, channel: str, recipient_id: str, rows: pl.DataFrame, key: str) -> None:
        if self.con is None:
            return
        now = datetime.now(UTC)
        self.con.executemany(
            "INSERT INTO alerts.notifications VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                [channel, recipient_id, a, e, self.run_id, key, now]
                for a, e in rows.select("alert_id", "event").iter_rows()
            ],
        )

    def add(self, a: Attempt, *, alerts: int | None, target: str | None) -> None:
        a = Attempt(
            a.channel,
            a.lead_id,
            a.recipient_id,
            a.idempotency_key,
            a.attempt,
            a.outcome,
            a.response_code,
            _EMAIL_RE.sub("<address>", a.detail)[:1000],
        )
        self.report.attempts.append(a)
        level = logging.WARNING if a.outcome in ("retry", "failed") else logging.INFO
        log.log(
            level,
            "%s %s lead=%s recipient=%s attempt=%s: %s %s",
            self.event,
            a.channel,
            a.lead_id,
            a.recipient_id,
            a.attempt,
            a.outcome,
            a.detail,
        )
        if self.con is not None:
            self.con.execute(
                "INSERT INTO alerts.delivery_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    datetime.now(UTC),
                    self.run_id,
                    self.event,
                    a.channel,
                    a.lead_id,
                    a.recipient_id,
                    a.idempotency_key,
                    a.attempt,
                    a.outcome,
                    a.response_code,
                    a.detail,
                    alerts,
                    target,
                ],
            )

    def deliver(
        self,
        channel: str,
        lead_id: str | None,
        recipient_id: str | None,
        key: str,
        n: int,
        target: str,
        send: Callable[[Callable], str],
    ) -> str:
        """Run ``send`` unless the key was delivered before; log every attempt."""
        if self.delivered_key(key, channel):
            self.add(
                Attempt(
                    channel,
                    lead_id,
                    recipient_id,
                    key,
                    0,
                    "skipped",
                    None,
                    "already delivered (same idempotency key)",
                ),
                alerts=n,
                target=target,
            )
            return "delivered"

        def record(attempt: int, outcome: str, code: int | None, detail: str) -> None:
            self.add(
                Attempt(channel, lead_id, recipient_id, key, attempt, outcome, code, detail),
                alerts=n,
                target=target,
            )

        return send(record)


def idempotency_key(*parts: str) -> str:
    """A key that is the same for every retry and re-run of one logical delivery."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:40]


def target_host(url: str) -> str:
    parts = urlsplit(url)
    return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else "?"


def with_events(rows: pl.DataFrame) -> pl.DataFrame:
    """Each feed row's event: 'resolved' for alerts resolved in the run, else 'new'."""
    return rows.with_columns(
        pl.when(pl.col("change") == "resolved")
        .then(pl.lit("resolved"))
        .otherwise(pl.lit("new"))
        .alias("event")
    )


def pending(journal: Journal, channel: str, recipient_id: str, rows: pl.DataFrame) -> pl.DataFrame:
    """The rows whose event this recipient has not received on this channel yet."""
    done = journal.notified(channel, recipient_id)
    if not done:
        return rows
    keep = [(a, e) not in done for a, e in rows.select("alert_id", "event").iter_rows()]
    return rows.filter(pl.Series(keep, dtype=pl.Boolean))


def _event_ids(rows: pl.DataFrame) -> list[str]:
    return sorted(f"{a}:{e}" for a, e in rows.select("alert_id", "event").iter_rows())


def _alert_payload(rows: pl.DataFrame) -> list[dict[str, Any]]:
    out = []
    for r in rows.iter_rows(named=True):
        item = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
        item["metrics"] = json.loads(r["metrics"])
        item["texts"] = {lang: render(r, lang) for lang in ("en", "ru")}
        out.append(item)
    return out


def webhook_body(feed: LeadFeed, rows: pl.DataFrame, run_id: str, language: str) -> bytes:
    """The JSON body for a lead's pending events. Deterministic (no clock) by design."""
    payload = {
        "event": "alerts",
        "run_id": run_id,
        "lead_id": feed.lead_id,
        "language": language,
        "counts": feed.counts,
        "alerts": _alert_payload(rows),
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")


_SUBJECT = {
    "en": "[CPA alerts] {who}: {new} new, {resolved} resolved, {ongoing} ongoing",
    "ru": "[CPA алерты] {who}: новых {new}, решено {resolved}, продолжаются {ongoing}",
}
_SECTION = {
    "en": {
        "new": "NEW",
        "resolved": "RESOLVED",
        "next": "Next step",
        "ongoing": "{n} ongoing alert(s) already sent are listed in the feed and digest.",
    },
    "ru": {
        "new": "НОВЫЕ",
        "resolved": "РЕШЕНЫ",
        "next": "Что сделать",
        "ongoing": "Продолжающиеся алерты, отправленные ранее ({n}), — в фиде и сводке.",
    },
}


def digest_text(rows: pl.DataFrame, lang: str, ongoing: int) -> str:
    """The readable e-mail body: new alerts with numbers and next step, then resolved ones."""
    s = _SECTION[lang]
    lines: list[str] = []
    for event in ("new", "resolved"):
        part = rows.filter(pl.col("event") == event)
        if not part.height:
            continue
        lines.append(f"== {s[event]} ({part.height}) ==")
        for r in part.iter_rows(named=True):
            t = render(r, lang)
            lines.append(f"* [{r['severity']}] {t['title']}")
            lines.append(f"  {t['message']}")
            if event == "new":
                lines.append(f"  {s['next']}: {t['next_step']}")
            lines.append(f"  ({r['alert_id']}, manager {r['account_manager_id'] or '-'})")
        lines.append("")
    if ongoing:
        lines.append(s["ongoing"].format(n=ongoing))
    return "\n".join(lines) + "\n"


def build_email(
    cfg: DeliveryConfig,
    to: Recipient,
    subject: str,
    text: str,
    key: str,
    attachment: tuple[bytes, str] | None = None,
) -> EmailMessage:
    """A plain-text message with a deterministic Message-ID (receivers can de-duplicate)."""
    msg = EmailMessage()
    msg["From"] = cfg.smtp_from
    msg["To"] = to.email
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = f"<{key}@cpa-warehouse>"
    msg["X-CPA-Idempotency-Key"] = key
    msg.set_content(text)
    if attachment:
        data, name = attachment
        msg.add_attachment(
            data,
            maintype="application",
            subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            filename=name,
        )
    return msg


def deliver_feeds(
    settings: Settings,
    feeds: FeedSet,
    *,
    con: duckdb.DuckDBPyConnection | None,
    config: DeliveryConfig | None = None,
    recipients: dict[str, Recipient] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Send each lead's pending alert events by webhook (if CPA_WEBHOOK_URL) and e-mail (if
    CPA_SMTP_HOST and the routing file names the lead / manager / ops).

    ``con``: the warehouse, writable — it holds the delivery log and the notification memory
    (without it nothing is remembered and every open alert counts as pending). Failures are
    logged and reported, not raised: one unreachable endpoint must not hide the other leads.
    """
    cfg = config or DeliveryConfig.from_env(settings)
    people = load_recipients(settings) if recipients is None else recipients
    journal = Journal(con, feeds.run_id, "alerts")
    broken: dict[str, str] = {}  # channel -> lead whose delivery found it unreachable
    for _, feed in sorted(feeds.leads.items()):
        rows = with_events(feed.rows)
        if not rows.height:
            continue
        if cfg.webhook_url:
            _webhook_lead(cfg, journal, feeds, feed, rows, broken, sleep)
        if cfg.smtp_host:
            _email_lead(cfg, journal, feeds, feed, rows, people, broken, sleep)
    return journal.report


def _skip_broken(
    journal: Journal,
    channel: str,
    lead_id: str,
    rid: str,
    n: int,
    target: str,
    broken: dict[str, str],
) -> bool:
    if channel not in broken:
        return False
    journal.add(
        Attempt(
            channel,
            lead_id,
            rid,
            "-",
            0,
            "skipped",
            None,
            f"not attempted: {channel} was unreachable for lead {broken[channel]} "
            "earlier in this run; these alerts stay pending for the next run",
        ),
        alerts=n,
        target=target,
    )
    return True


def _webhook_lead(
    cfg: DeliveryConfig,
    journal: Journal,
    feeds: FeedSet,
    feed: LeadFeed,
    rows: pl.DataFrame,
    broken: dict[str, str],
    sleep: Callable[[float], None],
) -> None:
    assert cfg.webhook_url
    todo = pending(journal, "webhook", feed.lead_id, rows)
    target = target_host(cfg.webhook_url)
    if not todo.height or _skip_broken(
        journal, "webhook", feed.lead_id, feed.lead_id, todo.height, target, broken
    ):
        return
    pii.check_frame(todo, f"webhook delivery to lead {feed.lead_id}")
    body = webhook_body(feed, todo, feeds.run_id, feeds.language)
    key = idempotency_key("alerts", "webhook", feeds.run_id, feed.lead_id, *_event_ids(todo))
    outcome = journal.deliver(
        "webhook",
        feed.lead_id,
        feed.lead_id,
        key,
        todo.height,
        target,
        lambda rec: post_webhook(cfg, body, key=key, event="alerts", record=rec, sleep=sleep),
    )
    if outcome == "delivered":
        journal.mark("webhook", feed.lead_id, todo, key)
    elif outcome == "unreachable":
        broken["webhook"] = feed.lead_id


def _email_lead(
    cfg: DeliveryConfig,
    journal: Journal,
    feeds: FeedSet,
    feed: LeadFeed,
    rows: pl.DataFrame,
    people: dict[str, Recipient],
    broken: dict[str, str],
    sleep: Callable[[float], None],
) -> None:
    target = f"{cfg.smtp_host}:{cfg.smtp_port}"
    lead_rid = OPS if feed.lead_id == UNASSIGNED_LEAD else feed.lead_id
    # The lead gets the whole team's digest; each manager (with an address) their own clients.
    plan = [(lead_rid, rows, True)]
    for m in sorted({m for m in rows.get_column("account_manager_id").to_list() if m}):
        if m != lead_rid and m in people:
            plan.append((m, rows.filter(pl.col("account_manager_id") == m), False))
    for rid, mine, is_lead in plan:
        todo = pending(journal, "email", rid, mine)
        if not todo.height or _skip_broken(
            journal, "email", feed.lead_id, rid, todo.height, target, broken
        ):
            continue
        key = idempotency_key("alerts", "email", feeds.run_id, feed.lead_id, rid, *_event_ids(todo))
        who = people.get(rid)
        if who is None:
            journal.add(
                Attempt(
                    "email",
                    feed.lead_id,
                    rid,
                    key,
                    0,
                    "skipped",
                    None,
                    f"no e-mail address for {rid} in the routing file",
                ),
                alerts=todo.height,
                target=target,
            )
            continue
        pii.check_frame(todo, f"e-mail to {rid}")
        lang = who.language or feeds.language
        ongoing = mine.height - todo.height
        counts = {e: todo.filter(pl.col("event") == e).height for e in ("new", "resolved")}
        who_text = f"team {feed.lead_id}" if is_lead else f"manager {rid}"
        subject = _SUBJECT[lang].format(who=who_text, ongoing=ongoing, **counts)
        attachment = None
        if is_lead:
            attachment = (feed.xlsx.read_bytes(), f"alerts_{feeds.run_id}_{feed.lead_id}.xlsx")
        msg = build_email(cfg, who, subject, digest_text(todo, lang, ongoing), key, attachment)
        outcome = journal.deliver(
            "email",
            feed.lead_id,
            rid,
            key,
            todo.height,
            target,
            lambda rec, m=msg: send_email(cfg, m, record=rec, sleep=sleep),
        )
        if outcome == "delivered":
            journal.mark("email", rid, todo, key)
        elif outcome == "unreachable":
            broken["email"] = feed.lead_id
