"""Telling the operators that a pipeline run failed, on the same channels as the alerts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import duckdb

from exports.alerts.delivery import (
    Attempt,
    DeliveryReport,
    Journal,
    build_email,
    idempotency_key,
    target_host,
)
from exports.alerts.routing import OPS, Recipient, load_recipients
from exports.alerts.transport import DeliveryConfig, post_webhook, send_email
from ingest.settings import Settings


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
    """Send event ``run_failure`` to the webhook and an e-mail to the routing file's ``ops``.

    Called from a run-failure sensor: delivery problems are logged and reported, not raised
    (a second failure there would hide the first); misconfiguration (e.g. a webhook URL without
    a secret) raises ConfigError. Sent once per run id when ``con`` (the warehouse, writable)
    is given, which also receives the delivery log.
    """
    cfg = config or DeliveryConfig.from_env(settings)
    people = load_recipients(settings) if recipients is None else recipients
    journal = Journal(con, run_id, "run_failure")
    error = error.strip()[:4000]
    if cfg.webhook_url:
        payload = {
            "event": "run_failure",
            "run_id": run_id,
            "job_name": job_name,
            "failed_steps": list(failed_steps),
            "error": error,
        }
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
        key = idempotency_key("run_failure", "webhook", run_id)
        journal.deliver(
            "webhook",
            None,
            None,
            key,
            0,
            target_host(cfg.webhook_url),
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
            return journal.report
        ru = (ops.language or settings.alerts.language) == "ru"
        steps = ", ".join(failed_steps) or "-"
        if ru:
            subject = f"[CPA] Сбой запуска {job_name} ({run_id})"
            text = (
                f"Задание: {job_name}\nЗапуск: {run_id}\nШаги с ошибкой: {steps}\n\n{error}\n\n"
                "Откройте запуск в Dagster, устраните причину и перезапустите упавшие шаги.\n"
            )
        else:
            subject = f"[CPA] Pipeline run failed: {job_name} ({run_id})"
            text = (
                f"Job: {job_name}\nRun: {run_id}\nFailed steps: {steps}\n\n{error}\n\n"
                "Open the run in Dagster, fix the cause and re-execute the failed steps.\n"
            )
        msg = build_email(cfg, ops, subject, text, key)
        journal.deliver(
            "email",
            None,
            OPS,
            key,
            0,
            target,
            lambda rec: send_email(cfg, msg, record=rec, sleep=sleep),
        )
    return journal.report
