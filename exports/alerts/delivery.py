"""Delivering alert feeds by webhook and e-mail, with retries and a log of every attempt.

Webhook: one POST per lead per run with the lead's new and resolved alerts. The body is signed
(``X-CPA-Signature: sha256=<hex HMAC-SHA256 of the body with CPA_WEBHOOK_SECRET>``) and carries
an ``Idempotency-Key`` derived from run, lead and alert ids: every retry of a delivery, and a
re-run of the same pipeline run, sends byte-identical requests with the same key, so the
receiver can drop duplicates; this side also never re-sends a key the log shows delivered.
E-mail: a readable digest per lead (and per account manager with an address) over SMTP, with a
deterministic Message-ID for the same reason.

Only alerts that are *new* or *resolved* in a run are sent; ongoing ones stay in the feeds but
do not re-alert. Endpoints and secrets come from the environment only; the log records hosts,
never URLs (they may carry tokens) nor e-mail addresses (personal data).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
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
from ingest.settings import ConfigError, Settings

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-CPA-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-CPA-Event"

DELIVERY_LOG_DDL = """
CREATE SCHEMA IF NOT EXISTS alerts;
CREATE TABLE IF NOT EXISTS alerts.delivery_log (
    attempted_at TIMESTAMPTZ NOT NULL,
    run_id VARCHAR NOT NULL,
    event VARCHAR NOT NULL,            -- 'alerts' | 'run_failure'
    channel VARCHAR NOT NULL,          -- 'webhook' | 'email'
    lead_id VARCHAR,                   -- whose feed (NULL for run failures)
    recipient_id VARCHAR,              -- manager_id / 'ops' for e-mail, NULL for the webhook
    idempotency_key VARCHAR NOT NULL,
    attempt INTEGER NOT NULL,
    outcome VARCHAR NOT NULL,          -- 'delivered' | 'retry' | 'failed' | 'skipped'
    response_code INTEGER,             -- HTTP status or SMTP reply code
    detail VARCHAR,
    alerts INTEGER,
    target VARCHAR                     -- host[:port] only
);
"""


@dataclass(frozen=True)
class DeliveryConfig:
    """Endpoints and credentials (environment) plus retry policy ([routing] in cpa.toml)."""

    webhook_url: str | None = None
    webhook_secret: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str | None = None
    smtp_tls: str = "none"  # 'none' | 'starttls' | 'ssl'
    max_attempts: int = 4
    backoff_seconds: float = 1.0
    timeout_seconds: float = 10.0

    @classmethod
    def from_env(cls, settings: Settings, env: Mapping[str, str] | None = None) -> DeliveryConfig:
        env = os.environ if env is None else env
        url = env.get("CPA_WEBHOOK_URL") or None
        secret = env.get("CPA_WEBHOOK_SECRET") or None
        if url and not secret:
            raise ConfigError(
                "CPA_WEBHOOK_URL is set but CPA_WEBHOOK_SECRET is not: webhooks are always signed "
                "(HMAC-SHA256) so the receiver can reject forgeries. Set a shared secret in both."
            )
        host = env.get("CPA_SMTP_HOST") or None
        sender = env.get("CPA_SMTP_FROM") or None
        if host and not sender:
            raise ConfigError("CPA_SMTP_HOST is set but CPA_SMTP_FROM (the sender address) is not.")
        user = env.get("CPA_SMTP_USER") or None
        tls = env.get("CPA_SMTP_TLS") or ("starttls" if user else "none")
        if tls not in ("none", "starttls", "ssl"):
            raise ConfigError(f"CPA_SMTP_TLS must be none, starttls or ssl, got {tls!r}")
        try:
            port = int(env.get("CPA_SMTP_PORT") or (465 if tls == "ssl" else 587 if user else 25))
        except ValueError as exc:
            raise ConfigError(
                f"CPA_SMTP_PORT must be a number, got {env.get('CPA_SMTP_PORT')!r}"
            ) from exc
        r = settings.routing
        return cls(
            url,
            secret,
            host,
            port,
            user,
            env.get("CPA_SMTP_PASSWORD") or None,
            sender,
            tls,
            r.webhook_max_attempts,
            r.webhook_backoff_seconds,
            r.delivery_timeout_seconds,
        )


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

    def _final(self, outcome: str) -> list[Attempt]:
        return [a for a in self.attempts if a.outcome == outcome]

    @property
    def delivered(self) -> list[Attempt]:
        return self._final("delivered")

    @property
    def failed(self) -> list[Attempt]:
        return self._final("failed")

    @property
    def skipped(self) -> list[Attempt]:
        return self._final("skipped")


class _Log:
    """Appends attempts to ``alerts.delivery_log`` (each committed at once: a crash mid-run
    keeps the attempts made so far) and to the in-memory report."""

    def __init__(self, con: duckdb.DuckDBPyConnection | None, run_id: str, event: str) -> None:
        self.con, self.run_id, self.event = con, run_id, event
        self.report = DeliveryReport()
        if con is not None:
            con.execute(DELIVERY_LOG_DDL)

    def already_delivered(self, key: str, channel: str) -> bool:
        if self.con is None:
            return False
        n = self.con.execute(
            "SELECT count(*) FROM alerts.delivery_log WHERE idempotency_key = ? AND channel = ? "
            "AND outcome = 'delivered'",
            [key, channel],
        ).fetchall()[0][0]
        return n > 0

    def add(self, a: Attempt, *, alerts: int | None, target: str | None) -> None:
        self.report.attempts.append(a)
        level = logging.WARNING if a.outcome in ("retry", "failed") else logging.INFO
        log.log(
            level,
            "%s %s lead=%s attempt=%s: %s %s",
            self.event,
            a.channel,
            a.lead_id,
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
                    a.detail[:1000],
                    alerts,
                    target,
                ],
            )


def idempotency_key(*parts: str) -> str:
    """A key that is the same for every retry and re-run of one logical delivery."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:40]


def sign(body: bytes, secret: str) -> str:
    """The signature header value: ``sha256=`` + hex HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, secret: str) -> bool:
    """For receivers (and tests): constant-time check of :func:`sign`."""
    return header is not None and hmac.compare_digest(sign(body, secret), header)


_RETRY_HTTP = {408, 425, 429, 500, 502, 503, 504}


def post_webhook(
    cfg: DeliveryConfig,
    body: bytes,
    *,
    key: str,
    event: str,
    record: Callable[[int, str, int | None, str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """POST ``body`` with signature and idempotency headers, retrying transient failures with
    exponential backoff. ``record(attempt, outcome, code, detail)`` logs each attempt."""
    assert cfg.webhook_url and cfg.webhook_secret
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        SIGNATURE_HEADER: sign(body, cfg.webhook_secret),
        IDEMPOTENCY_HEADER: key,
        EVENT_HEADER: event,
        "User-Agent": "cpa-warehouse-alerts/1",
    }
    delay = cfg.backoff_seconds
    for attempt in range(1, cfg.max_attempts + 1):
        code: int | None = None
        retry_after = None
        try:
            req = urllib.request.Request(cfg.webhook_url, data=body, headers=headers, method="POST")
            with urllib.request.urlopen(req, timeout=cfg.timeout_seconds) as resp:
                code = resp.status
            record(attempt, "delivered", code, "")
            return True
        except urllib.error.HTTPError as exc:
            code = exc.code
            detail = f"HTTP {exc.code} {exc.reason}"
            retry_after = exc.headers.get("Retry-After") if exc.headers else None
            transient = exc.code in _RETRY_HTTP
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            detail = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            transient = True
        last = attempt == cfg.max_attempts
        if not transient or last:
            hint = "" if transient else " (not retried: the receiver rejected the request)"
            record(attempt, "failed", code, detail + hint)
            return False
        record(attempt, "retry", code, detail)
        wait = delay
        if retry_after and retry_after.isdigit():
            wait = max(wait, min(float(retry_after), 60.0))
        sleep(wait)
        delay *= 2
    return False


def send_email(
    cfg: DeliveryConfig,
    msg: EmailMessage,
    *,
    record: Callable[[int, str, int | None, str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Send one message over SMTP, retrying connection problems and 4xx replies."""
    assert cfg.smtp_host
    delay = cfg.backoff_seconds
    for attempt in range(1, cfg.max_attempts + 1):
        code: int | None = None
        try:
            if cfg.smtp_tls == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    cfg.smtp_host,
                    cfg.smtp_port,
                    timeout=cfg.timeout_seconds,
                    context=ssl.create_default_context(),
                )
            else:
                smtp = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout_seconds)
            with smtp:
                if cfg.smtp_tls == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if cfg.smtp_user:
                    smtp.login(cfg.smtp_user, cfg.smtp_password or "")
                refused = smtp.send_message(msg)
            if refused:
                record(attempt, "failed", None, f"{len(refused)} recipient(s) refused")
                return False
            record(attempt, "delivered", 250, "")
            return True
        except smtplib.SMTPResponseException as exc:
            code = exc.smtp_code
            detail = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
            transient = 400 <= exc.smtp_code < 500
        except smtplib.SMTPRecipientsRefused as exc:
            detail, transient = f"recipients refused: {len(exc.recipients)}", False
        except (
            TimeoutError,
            smtplib.SMTPServerDisconnected,
            smtplib.SMTPConnectError,
            OSError,
        ) as exc:
            detail, transient = f"{type(exc).__name__}: {exc}", True
        except smtplib.SMTPException as exc:
            detail, transient = f"{type(exc).__name__}: {exc}", False
        if not transient or attempt == cfg.max_attempts:
            record(attempt, "failed", code, detail)
            return False
        record(attempt, "retry", code, detail)
        sleep(delay)
        delay *= 2
    return False


def _target_host(url: str) -> str:
    parts = urlsplit(url)
    return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else "?"


def _alert_payload(rows: pl.DataFrame) -> list[dict[str, Any]]:
    out = []
    for r in rows.iter_rows(named=True):
        item = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
        item["metrics"] = json.loads(r["metrics"])
        item["texts"] = {lang: render(r, lang) for lang in ("en", "ru")}
        out.append(item)
    return out


def webhook_body(feed: LeadFeed, run_id: str, language: str) -> tuple[bytes, str, int]:
    """(body, idempotency key, alerts sent) for a lead's delivery. Deterministic by design."""
    send = feed.rows.filter(pl.col("change").is_in(["new", "resolved"]))
    ids = sorted(f"{a}:{c}" for a, c in send.select("alert_id", "change").iter_rows())
    key = idempotency_key("alerts", "webhook", run_id, feed.lead_id, *ids)
    payload = {
        "event": "alerts",
        "run_id": run_id,
        "lead_id": feed.lead_id,
        "language": language,
        "counts": feed.counts,
        "alerts": _alert_payload(send),
    }
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
    return body, key, send.height


_SUBJECT = {
    "en": "[CPA alerts] {who}: {new} new, {resolved} resolved, {ongoing} ongoing",
    "ru": "[CPA алерты] {who}: новых {new}, решено {resolved}, продолжаются {ongoing}",
}
_SECTION = {
    "en": {
        "new": "NEW",
        "resolved": "RESOLVED",
        "next": "Next step",
        "ongoing": "{n} ongoing alert(s) are listed in the attached digest.",
    },
    "ru": {
        "new": "НОВЫЕ",
        "resolved": "РЕШЕНЫ",
        "next": "Что сделать",
        "ongoing": "Продолжающиеся алерты ({n}) — во вложенной сводке.",
    },
}


def digest_text(rows: pl.DataFrame, lang: str, ongoing: int) -> str:
    """The readable e-mail body: new alerts with numbers and next step, then resolved ones."""
    s = _SECTION[lang]
    lines: list[str] = []
    for change in ("new", "resolved"):
        part = rows.filter(pl.col("change") == change)
        if not part.height:
            continue
        lines.append(f"== {s[change]} ({part.height}) ==")
        for r in part.iter_rows(named=True):
            t = render(r, lang)
            lines.append(f"* [{r['severity']}] {t['title']}")
            lines.append(f"  {t['message']}")
            if change == "new":
                lines.append(f"  {s['next']}: {t['next_step']}")
            lines.append(f"  ({r['alert_id']}, manager {r['account_manager_id'] or '-'})")
        lines.append("")
    if ongoing:
        lines.append(s["ongoing"].format(n=ongoing))
    return "\n".join(lines) + "\n"


def _email(
    cfg: DeliveryConfig,
    to: Recipient,
    subject: str,
    text: str,
    key: str,
    attachment: tuple[bytes, str] | None,
) -> EmailMessage:
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
    """Send each lead's new and resolved alerts: webhook (if CPA_WEBHOOK_URL) and e-mail to the
    lead and to each account manager concerned (if CPA_SMTP_HOST and the routing file name
    them). ``con`` (warehouse, writable) receives the delivery log; a delivery already logged
    as delivered is skipped. Failures are logged and reported, not raised: one unreachable
    endpoint must not hide the other leads' alerts."""
    cfg = config or DeliveryConfig.from_env(settings)
    people = load_recipients(settings) if recipients is None else recipients
    journal = _Log(con, feeds.run_id, "alerts")
    for lead_id, feed in sorted(feeds.leads.items()):
        send = feed.rows.filter(pl.col("change").is_in(["new", "resolved"]))
        if not send.height:
            continue
        pii.check_frame(send, f"delivery to lead {lead_id}")
        if cfg.webhook_url:
            body, key, n = webhook_body(feed, feeds.run_id, feeds.language)
            _deliver_once(
                journal,
                "webhook",
                lead_id,
                None,
                key,
                n,
                _target_host(cfg.webhook_url),
                lambda rec, b=body, k=key: post_webhook(
                    cfg, b, key=k, event="alerts", record=rec, sleep=sleep
                ),
            )
        if cfg.smtp_host:
            _email_lead(cfg, journal, feeds, feed, send, people, sleep)
    return journal.report


def _email_lead(
    cfg: DeliveryConfig,
    journal: _Log,
    feeds: FeedSet,
    feed: LeadFeed,
    send: pl.DataFrame,
    people: dict[str, Recipient],
    sleep: Callable[[float], None],
) -> None:
    target = f"{cfg.smtp_host}:{cfg.smtp_port}"
    # The lead gets the whole team's digest; each manager only their own clients' alerts.
    plan: list[tuple[str, pl.DataFrame, int, bool]] = [
        (
            OPS if feed.lead_id == UNASSIGNED_LEAD else feed.lead_id,
            send,
            feed.counts.get("ongoing", 0),
            True,
        )
    ]
    managers = sorted({m for m in send.get_column("account_manager_id").to_list() if m})
    for m in managers:
        if m == feed.lead_id:
            continue
        mine = send.filter(pl.col("account_manager_id") == m)
        ongoing = feed.rows.filter(
            (pl.col("account_manager_id") == m) & (pl.col("change") == "ongoing")
        ).height
        plan.append((m, mine, ongoing, False))
    for rid, rows, ongoing, is_lead in plan:
        ids = sorted(f"{a}:{c}" for a, c in rows.select("alert_id", "change").iter_rows())
        key = idempotency_key("alerts", "email", feeds.run_id, feed.lead_id, rid, *ids)
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
                alerts=rows.height,
                target=target,
            )
            continue
        lang = who.language or feeds.language
        counts = {c: rows.filter(pl.col("change") == c).height for c in ("new", "resolved")}
        subject = _SUBJECT[lang].format(
            who=f"team {feed.lead_id}" if is_lead else f"manager {rid}", ongoing=ongoing, **counts
        )
        text = digest_text(rows, lang, ongoing)
        attachment = (
            (feed.xlsx.read_bytes(), f"alerts_{feeds.run_id}_{feed.lead_id}.xlsx")
            if is_lead
            else None
        )
        msg = _email(cfg, who, subject, text, key, attachment)
        _deliver_once(
            journal,
            "email",
            feed.lead_id,
            rid,
            key,
            rows.height,
            target,
            lambda rec, m=msg: send_email(cfg, m, record=rec, sleep=sleep),
        )


def _deliver_once(
    journal: _Log,
    channel: str,
    lead_id: str | None,
    rid: str | None,
    key: str,
    n: int,
    target: str,
    send: Callable[[Callable], bool],
) -> None:
    if journal.already_delivered(key, channel):
        journal.add(
            Attempt(
                channel,
                lead_id,
                rid,
                key,
                0,
                "skipped",
                None,
                "already delivered (same idempotency key)",
            ),
            alerts=n,
            target=target,
        )
        return

    def record(attempt: int, outcome: str, code: int | None, detail: str) -> None:
        journal.add(
            Attempt(channel, lead_id, rid, key, attempt, outcome, code, detail),
            alerts=n,
            target=target,
        )

    send(record)


def notify_run_failure(
    settings: Settings,
    *,
    run_id: str,
    job_name: str,
    error: str,
    failed_steps: list[str] | tuple[str, ...] = (),
    con: duckdb.DuckDBPyConnection | None = None,
    config: DeliveryConfig | None = None,
    recipients: dict[str, Recipient] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Tell the operators a pipeline run failed: webhook event ``run_failure`` and an e-mail to
    the routing file's ``ops`` row. Delivery problems are logged, not raised (it is called from a
    failure sensor; a second failure there would hide the first); misconfiguration (e.g. a
    webhook URL without a secret) raises ConfigError. Logs to
    ``alerts.delivery_log`` when a writable ``con`` is given."""
    cfg = config or DeliveryConfig.from_env(settings)
    people = load_recipients(settings) if recipients is None else recipients
    journal = _Log(con, run_id, "run_failure")
    error = error.strip()[:4000]
    payload = {
        "event": "run_failure",
        "run_id": run_id,
        "job_name": job_name,
        "failed_steps": list(failed_steps),
        "error": error,
    }
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
    if cfg.webhook_url:
        key = idempotency_key("run_failure", "webhook", run_id)
        _deliver_once(
            journal,
            "webhook",
            None,
            None,
            key,
            0,
            _target_host(cfg.webhook_url),
            lambda rec: post_webhook(
                cfg, body, key=key, event="run_failure", record=rec, sleep=sleep
            ),
        )
    if cfg.smtp_host:
        key = idempotency_key("run_failure", "email", run_id)
        target = f"{cfg.smtp_host}:{cfg.smtp_port}"
        ops = people.get(OPS)
        if ops is None:
            journal.add(
                Attempt(
                    "email", None, OPS, key, 0, "skipped", None, "no 'ops' row in the routing file"
                ),
                alerts=0,
                target=target,
            )
        else:
            ru = (ops.language or settings.alerts.language) == "ru"
            subject = (
                f"[CPA] Сбой запуска {job_name} ({run_id})"
                if ru
                else f"[CPA] Pipeline run failed: {job_name} ({run_id})"
            )
            steps = ", ".join(failed_steps) or "-"
            text = (
                f"Задание: {job_name}\nЗапуск: {run_id}\nШаги с ошибкой: {steps}\n\n{error}\n\n"
                "Откройте запуск в Dagster, исправьте причину и перезапустите упавшие шаги.\n"
                if ru
                else f"Job: {job_name}\nRun: {run_id}\nFailed steps: {steps}\n\n{error}\n\n"
                "Open the run in Dagster, fix the cause and re-execute the failed steps.\n"
            )
            msg = _email(cfg, ops, subject, text, key, None)
            _deliver_once(
                journal,
                "email",
                None,
                OPS,
                key,
                0,
                target,
                lambda rec: send_email(cfg, msg, record=rec, sleep=sleep),
            )
    return journal.report
