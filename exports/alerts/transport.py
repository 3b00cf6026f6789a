"""Sending one message: a signed webhook POST or an SMTP e-mail, with retries and backoff.

Each function reports every attempt through ``record(attempt, outcome, code, detail)`` and
returns the final outcome: ``delivered``, ``rejected`` (the receiver said no; retrying would not
help) or ``unreachable`` (transient failures until the attempts ran out). Only the standard
library is used: the protocols are simple and a dependency would add nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage

from ingest.settings import ConfigError, Settings

SIGNATURE_HEADER = "X-CPA-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-CPA-Event"
_RETRY_HTTP = {408, 425, 429, 500, 502, 503, 504}

Record = Callable[[int, str, "int | None", str], None]


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
        """Read CPA_WEBHOOK_* and CPA_SMTP_* (secrets live only in the environment)."""
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
        raw_port = env.get("CPA_SMTP_PORT") or (465 if tls == "ssl" else 587 if user else 25)
        try:
            port = int(raw_port)
        except ValueError as exc:
            raise ConfigError(f"CPA_SMTP_PORT must be a number, got {raw_port!r}") from exc
        r = settings.routing
        return cls(
            webhook_url=url,
            webhook_secret=secret,
            smtp_host=host,
            smtp_port=port,
            smtp_user=user,
            smtp_password=env.get("CPA_SMTP_PASSWORD") or None,
            smtp_from=sender,
            smtp_tls=tls,
            max_attempts=r.webhook_max_attempts,
            backoff_seconds=r.webhook_backoff_seconds,
            timeout_seconds=r.delivery_timeout_seconds,
        )


def sign(body: bytes, secret: str) -> str:
    """The signature header value: ``sha256=`` + hex HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, secret: str) -> bool:
    """For receivers (and tests): constant-time check of :func:`sign`."""
    return header is not None and hmac.compare_digest(sign(body, secret), header)


def post_webhook(
    cfg: DeliveryConfig,
    body: bytes,
    *,
    key: str,
    event: str,
    record: Record,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """POST ``body`` with signature and idempotency headers; retry transient failures
    (connection errors, timeouts, 408/425/429/5xx) with exponential backoff."""
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
            return "delivered"
        except urllib.error.HTTPError as exc:
            code = exc.code
            detail = f"HTTP {exc.code} {exc.reason}"
            retry_after = exc.headers.get("Retry-After") if exc.headers else None
            transient = exc.code in _RETRY_HTTP
        except (urllib.error.URLError, OSError) as exc:
            detail = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            transient = True
        if not transient:
            record(attempt, "failed", code, detail + " (not retried: the receiver rejected it)")
            return "rejected"
        if attempt == cfg.max_attempts:
            record(attempt, "failed", code, detail + f" (gave up after {attempt} attempts)")
            return "unreachable"
        record(attempt, "retry", code, detail)
        wait = delay
        if retry_after and retry_after.isdigit():
            wait = max(wait, min(float(retry_after), 60.0))
        sleep(wait)
        delay *= 2
    return "unreachable"


def send_email(
    cfg: DeliveryConfig,
    msg: EmailMessage,
    *,
    record: Record,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Send one message over SMTP; retry connection problems and 4xx replies with backoff."""
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
                return "rejected"
            record(attempt, "delivered", 250, "")
            return "delivered"
        except smtplib.SMTPResponseException as exc:
            code = exc.smtp_code
            detail = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
            transient = 400 <= exc.smtp_code < 500
        except smtplib.SMTPRecipientsRefused as exc:
            detail, transient = f"recipients refused: {len(exc.recipients)}", False
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            detail, transient = f"{type(exc).__name__}: {exc}", True
        except smtplib.SMTPException as exc:
            detail, transient = f"{type(exc).__name__}: {exc}", False
        if not transient:
            record(attempt, "failed", code, detail + " (not retried: the server rejected it)")
            return "rejected"
        if attempt == cfg.max_attempts:
            record(attempt, "failed", code, detail + f" (gave up after {attempt} attempts)")
            return "unreachable"
        record(attempt, "retry", code, detail)
        sleep(delay)
        delay *= 2
    return "unreachable"
