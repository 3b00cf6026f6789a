"""Alert delivery against real servers on loopback: an HTTP receiver that verifies signatures
and de-duplicates by idempotency key, and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from exports_world import AS_OF, TEAMS, build_warehouse, settings_for

from exports.alerts import (
    DeliveryConfig,
    Recipient,
    deliver_feeds,
    evaluate_alerts,
    load_recipients,
    notify_run_failure,
    record_alerts,
    run_alert_cycle,
    team_leads,
    verify_signature,
    write_feeds,
)
from ingest.settings import ConfigError
from ingest.warehouse import connect

SECRET = "test-webhook-secret"
RECIPIENTS = {
    "L1": Recipient("L1", "lead1@example.test"),
    "L2": Recipient("L2", "lead2@example.test", "ru"),
    "M1": Recipient("M1", "m1@example.test"),
    "M3": Recipient("M3", "m3@example.test"),
    "ops": Recipient("ops", "ops@example.test"),
}


class Receiver:
    """What a well-behaved receiving system does: check the HMAC, keep each idempotency key
    once. ``plan`` scripts the answers to the next requests: 'ok', an HTTP status to fail
    with before processing, or 'store-then-500' (processed, but the answer is lost)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.accepted: dict[str, dict] = {}
        self.duplicates = 0
        self.plan: list = []


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        rec: Receiver = self.server.receiver  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers["Content-Length"]))
        key = self.headers.get("Idempotency-Key")
        valid = verify_signature(body, self.headers.get("X-CPA-Signature"), SECRET)
        with rec.lock:
            rec.requests.append({"key": key, "body": body, "valid": valid,
                                 "sig": self.headers.get("X-CPA-Signature"),
                                 "event": self.headers.get("X-CPA-Event")})
            step = rec.plan.pop(0) if rec.plan else "ok"
            if not valid:
                return self._reply(401)
            if isinstance(step, int):
                return self._reply(step)
            if key in rec.accepted:
                rec.duplicates += 1
            else:
                rec.accepted[key] = json.loads(body)
        self._reply(500 if step == "store-then-500" else 200)

    def _reply(self, code: int) -> None:
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.receiver = Receiver()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.receiver, f"http://127.0.0.1:{server.server_address[1]}/hooks/cpa?token=abc"
    server.shutdown()
    server.server_close()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.fail_next = 0
        self.reject_next: str | None = None

    async def handle_DATA(self, server, session, envelope):
        if self.fail_next:
            self.fail_next -= 1
            return "451 4.3.0 Try again later"
        if self.reject_next:
            reply, self.reject_next = self.reject_next, None
            return reply
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for rcpt, m in self.messages if address in rcpt]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


@pytest.fixture()
def world(tmp_path: Path):
    settings = settings_for(tmp_path)
    build_warehouse(settings)
    con = connect(settings)
    yield settings, con
    con.close()


def _config(url: str | None, port: int | None, **kw) -> DeliveryConfig:
    base = DeliveryConfig(webhook_url=url, webhook_secret=SECRET if url else None,
                          smtp_host="127.0.0.1" if port else None, smtp_port=port or 25,
                          smtp_from="alerts@cpa.test", max_attempts=4, backoff_seconds=0.01,
                          timeout_seconds=5)
    return replace(base, **kw)


def _cycle(settings, con, run_id, cfg, sleeps=None):
    run = record_alerts(con, evaluate_alerts(con, settings), run_id=run_id)
    feeds = write_feeds(settings, run, run_id=run_id, leads=team_leads(con))
    report = deliver_feeds(settings, feeds, con=con, config=cfg, recipients=RECIPIENTS,
                           sleep=(sleeps.append if sleeps is not None else lambda s: None))
    return feeds, report


def _body(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def test_each_lead_gets_only_its_team_by_webhook_and_email(world, receiver, smtp):
    settings, con = world
    rec, url = receiver
    inbox, port = smtp
    cycle = run_alert_cycle(con, settings, run_id="r1", config=_config(url, port),
                            recipients=RECIPIENTS, sleep=lambda s: None)
    feeds, report = cycle.feeds, cycle.delivery
    assert cycle.evaluation.as_of == AS_OF and set(feeds.leads) == {"L1", "L2", "_unassigned"}

    assert all(r["valid"] for r in rec.requests) and len(rec.requests) == 3
    payloads = {p["lead_id"]: p for p in rec.accepted.values()}
    assert set(payloads) == {"L1", "L2", "_unassigned"}
    for lead, p in payloads.items():
        assert {a["advertiser_id"] for a in p["alerts"]} <= TEAMS[lead]
        assert {a["alert_id"] for a in p["alerts"]} == set(feeds.leads[lead].rows["alert_id"])
        assert all(a["change"] == "new" and a["texts"]["ru"]["message"] for a in p["alerts"])
        assert p["counts"]["new"] == len(p["alerts"])

    def ids_in(msg) -> set[str]:
        body = _body(msg)
        return {a for f in feeds.leads.values() for a in f.rows["alert_id"] if a in body}

    [l1] = inbox.to("lead1@example.test")
    assert ids_in(l1) == set(feeds.leads["L1"].rows["alert_id"])
    assert [a.get_filename() for a in l1.iter_attachments()] == ["alerts_r1_L1.xlsx"]
    assert "Next step:" in _body(l1) and "10.0 a day" in _body(l1)
    [l2] = inbox.to("lead2@example.test")
    assert l2["Subject"].startswith("[CPA алерты]") and "Что сделать:" in _body(l2)
    assert ids_in(l2) == set(feeds.leads["L2"].rows["alert_id"])
    [m1] = inbox.to("m1@example.test")  # a manager sees only their own clients
    assert ids_in(m1) == {"traffic_stop:advertiser:A1:2026-03-29#1"}
    [ops] = inbox.to("ops@example.test")
    assert ids_in(ops) == {"overdue_debt:advertiser:A6#1"}
    assert len(inbox.messages) == 5  # L1, M1, L2, M3, ops; M2 has no address (the lead has all)

    log = con.execute("SELECT channel, lead_id, recipient_id, outcome, detail, target "
                      "FROM alerts.delivery_log ORDER BY ALL").fetchall()
    assert sum(r[3] == "delivered" for r in log) == 8
    assert not [r for r in log if r[3] != "delivered"]
    assert not any("token" in (r[5] or "") or "@" in (r[5] or "") for r in log)
    assert report.failed == []


def test_ongoing_alerts_do_not_realert_and_resolved_ones_are_sent(world, receiver, smtp):
    settings, con = world
    rec, url = receiver
    inbox, port = smtp
    cfg = _config(url, port)
    _cycle(settings, con, "r1", cfg)
    sent_requests, sent_mails = len(rec.requests), len(inbox.messages)

    feeds, report = _cycle(settings, con, "r2", cfg)  # nothing changed
    assert len(rec.requests) == sent_requests and len(inbox.messages) == sent_mails
    assert report.attempts == []
    assert set(feeds.leads["L1"].rows["change"]) == {"ongoing"}  # still listed in the feed

    con.execute("UPDATE marts.fct_advertiser_daily SET conversions = 9 "
                "WHERE advertiser_id = 'A1' AND day = ?", [AS_OF])
    _cycle(settings, con, "r3", cfg)
    new_requests = rec.requests[sent_requests:]
    assert len(new_requests) == 1
    payload = json.loads(new_requests[0]["body"])
    assert payload["lead_id"] == "L1"
    assert [(a["alert_id"], a["change"]) for a in payload["alerts"]] == [
        ("traffic_stop:advertiser:A1:2026-03-29#1", "resolved")]
    mails = inbox.messages[sent_mails:]
    assert sorted(r[0] for r, _ in mails) == ["lead1@example.test", "m1@example.test"]
    assert all("RESOLVED (1)" in _body(m) for _, m in mails)


def test_a_retried_webhook_is_never_a_duplicate(world, receiver):
    settings, con = world
    rec, url = receiver
    # L1 is delivered first: its first attempt is processed but the answer lost, the second
    # fails before processing, the third succeeds and is recognised as a duplicate.
    rec.plan = ["store-then-500", 503, "ok"]
    sleeps: list[float] = []
    feeds, report = _cycle(settings, con, "r1", _config(url, None), sleeps)
    assert report.failed == [] and len(report.delivered) == 3

    l1 = [r for r in rec.requests if json.loads(r["body"])["lead_id"] == "L1"]
    assert len(l1) == 3
    assert len({(r["key"], r["body"], r["sig"]) for r in l1}) == 1  # byte-identical retries
    assert rec.duplicates == 1
    assert sum(p["lead_id"] == "L1" for p in rec.accepted.values()) == 1
    assert len(rec.accepted) == 3
    assert sleeps == [0.01, 0.02]  # exponential backoff
    attempts = con.execute(
        "SELECT attempt, outcome, response_code FROM alerts.delivery_log "
        "WHERE lead_id = 'L1' ORDER BY attempt").fetchall()
    assert attempts == [(1, "retry", 500), (2, "retry", 503), (3, "delivered", 200)]

    # The step is retried (Dagster re-executes it): nothing is pending, nothing is sent.
    n = len(rec.requests)
    again = deliver_feeds(settings, feeds, con=con, config=_config(url, None), recipients={})
    assert len(rec.requests) == n and again.attempts == []
    # Even if the notification memory was lost (a crash right after sending), the delivery
    # log's idempotency keys prevent a second send.
    con.execute("DELETE FROM alerts.notifications")
    again = deliver_feeds(settings, feeds, con=con, config=_config(url, None), recipients={})
    assert len(rec.requests) == n
    assert [a.outcome for a in again.attempts] == ["skipped"] * 3
    assert con.execute("SELECT count(*) FROM alerts.notifications").fetchall() == [(10,)]


def test_a_rejected_webhook_is_not_retried(world, receiver):
    settings, con = world
    rec, url = receiver
    _, report = _cycle(settings, con, "r1", _config(url, None, webhook_secret="wrong"))
    assert len(rec.requests) == 3 and not rec.accepted
    assert [(a.attempt, a.response_code) for a in report.failed] == [(1, 401)] * 3
    assert all("not retried" in a.detail for a in report.failed)


def test_an_unreachable_webhook_backs_off_and_its_alerts_go_next_run(world, receiver):
    settings, con = world
    rec, url = receiver
    dead = f"http://127.0.0.1:{_free_port()}/hook"
    sleeps: list[float] = []
    _, report = _cycle(settings, con, "r1", _config(dead, None, max_attempts=3), sleeps)
    # The first lead exhausts its attempts; the others are not tried (no long lock holding).
    assert [(a.lead_id, a.outcome) for a in report.attempts] == [
        ("L1", "retry"), ("L1", "retry"), ("L1", "failed"), ("L2", "skipped"),
        ("_unassigned", "skipped")]
    assert sleeps == [0.01, 0.02]
    assert "gave up after 3 attempts" in report.failed[0].detail

    _, report = _cycle(settings, con, "r2", _config(url, None))  # the endpoint is back
    assert len(report.delivered) == 3 and len(rec.accepted) == 3
    sent = [a for p in rec.accepted.values() for a in p["alerts"]]
    assert len(sent) == 10
    assert {(a["change"], a["event"]) for a in sent} == {("ongoing", "new")}
    _, report = _cycle(settings, con, "r3", _config(url, None))
    assert report.attempts == [] and len(rec.requests) == 3


def test_a_rejected_email_is_logged_without_the_address_and_retried_next_run(world, smtp):
    settings, con = world
    inbox, port = smtp
    inbox.reject_next = "550 5.1.1 <lead1@example.test>: mailbox unavailable"
    _, report = _cycle(settings, con, "r1", _config(None, port))
    [failed] = report.failed
    assert (failed.recipient_id, failed.attempt, failed.response_code) == ("L1", 1, 550)
    details = con.execute("SELECT string_agg(detail, ' ') FROM alerts.delivery_log").fetchall()
    assert "<address>" in details[0][0] and "lead1@" not in details[0][0]
    assert not inbox.to("lead1@example.test") and len(inbox.messages) == 4
    _cycle(settings, con, "r2", _config(None, port))
    [late] = inbox.to("lead1@example.test")
    assert "NEW (5)" in _body(late)
    assert len(inbox.messages) == 5


def test_smtp_temporary_failure_is_retried_and_sent_once(world, smtp):
    settings, con = world
    inbox, port = smtp
    inbox.fail_next = 1
    _, report = _cycle(settings, con, "r1", _config(None, port))
    assert len(inbox.messages) == 5
    assert len({m["Message-ID"] for _, m in inbox.messages}) == 5
    assert [(a.attempt, a.response_code) for a in report.attempts if a.outcome == "retry"] == [
        (1, 451)]


def test_run_failure_is_notified_on_both_channels_once(world, receiver, smtp):
    settings, con = world
    rec, url = receiver
    inbox, port = smtp
    kwargs = dict(run_id="run-42", job_name="daily_build", error="dbt build failed: model x",
                  failed_steps=["dbt_marts"], con=con, config=_config(url, port),
                  recipients=RECIPIENTS)
    report = notify_run_failure(settings, **kwargs)
    assert [a.outcome for a in report.attempts] == ["delivered", "delivered"]
    [req] = rec.requests
    assert req["event"] == "run_failure" and req["valid"]
    assert json.loads(req["body"])["failed_steps"] == ["dbt_marts"]
    [msg] = inbox.to("ops@example.test")
    assert "daily_build" in msg["Subject"] and "dbt build failed" in _body(msg)
    again = notify_run_failure(settings, **kwargs)
    assert [a.outcome for a in again.attempts] == ["skipped", "skipped"]
    assert len(rec.requests) == 1 and len(inbox.messages) == 1


def test_endpoints_and_routing_come_from_env_and_file(tmp_path):
    settings = settings_for(tmp_path)
    with pytest.raises(ConfigError, match="CPA_WEBHOOK_SECRET"):
        DeliveryConfig.from_env(settings, {"CPA_WEBHOOK_URL": "http://x"})
    cfg = DeliveryConfig.from_env(settings, {
        "CPA_WEBHOOK_URL": "http://x", "CPA_WEBHOOK_SECRET": "s", "CPA_SMTP_HOST": "mail",
        "CPA_SMTP_USER": "u", "CPA_SMTP_PASSWORD": "p", "CPA_SMTP_FROM": "a@b.c"})
    assert (cfg.smtp_tls, cfg.smtp_port, cfg.max_attempts) == ("starttls", 587, 4)
    routing = tmp_path / "routing.csv"
    routing.write_text("manager_id,email,language\nL1,l1@x.test,ru\nops,ops@x.test,\n",
                       encoding="utf-8")
    people = load_recipients(settings, {"CPA_ALERT_RECIPIENTS": str(routing)})
    assert people["L1"] == Recipient("L1", "l1@x.test", "ru") and people["ops"].language is None
    routing.write_text("manager_id,email\nL1,not-an-address\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 2"):
        load_recipients(settings, {"CPA_ALERT_RECIPIENTS": str(routing)})
    assert load_recipients(settings, {}) == {}
