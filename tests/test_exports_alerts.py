"""Alert rules over the marts, the alert history's lifecycle, per-lead feeds and texts."""

from __future__ import annotations

import csv
import json
import os
import zipfile
from dataclasses import replace
from pathlib import Path

import duckdb
import polars as pl
import pytest
from exports_world import AS_OF, EXPECTED, TEAMS, build_warehouse, settings_for

from exports.alerts import evaluate_alerts, record_alerts, team_leads, write_feeds
from exports.alerts.texts import render
from exports.pii import PiiError
from ingest.warehouse import connect


@pytest.fixture()
def world(tmp_path: Path):
    settings = settings_for(tmp_path)
    build_warehouse(settings)
    con = connect(settings)
    yield settings, con
    con.close()


def _fired(evaluation) -> set[tuple[str, str]]:
    return set(evaluation.alerts.select("rule", "subject_id").iter_rows())


def _lead_of(advertiser_id: str) -> str:
    return next(lead for lead, advs in TEAMS.items() if advertiser_id in advs)


def test_every_rule_fires_for_its_planted_subject_only(world):
    settings, con = world
    ev = evaluate_alerts(con, settings)
    assert ev.as_of == AS_OF
    assert not ev.skipped and len(ev.evaluated) == 8
    assert _fired(ev) == EXPECTED
    for row in ev.alerts.iter_rows(named=True):
        assert row["team_lead_id"] == _lead_of(row["advertiser_id"]), row
    by_key = {r["alert_key"]: json.loads(r["metrics"]) for r in ev.alerts.iter_rows(named=True)}
    assert by_key["traffic_stop:advertiser:A1:2026-03-29"] == {
        "avg_daily_conversions_28d": 10.0, "min_avg_daily_conversions": 5,
        "days_without_conversions": 3, "last_conversion_day": "2026-03-28"}
    drop = by_key["margin_drop:offer:O3"]
    assert (drop["margin_pct_7d"], drop["margin_pct_prev_28d"], drop["drop_points"]) == (15, 30, 15)
    assert by_key["overdue_debt:advertiser:A3"]["overdue_rub"] == 80_000
    assert by_key["overdue_debt:advertiser:A3"]["invoice_numbers"] == ["INV-1"]
    assert by_key["churn_risk:advertiser:A2"]["churn_probability"] == 0.7
    assert by_key["tier_change:advertiser:A4:2026-03-29:C->B"]["tier"] == "B"
    assert by_key["launch_stalled:offer:O4:2026-03-21"]["days_since_launch"] == 10
    assert by_key["reconciliation_gap:advertiser:A2:2026-02-01..2026-02-28"]["gap"] == 50_000


def test_thresholds_come_from_configuration(world):
    settings, con = world
    stricter = replace(settings, alerts=replace(
        settings.alerts, churn_threshold=0.75, overdue_debt_rub=70_000, margin_drop_points=16,
        traffic_stop_min_daily_conversions=11, launch_stalled_days=11,
        tier_change_lookback_days=2))
    fired = _fired(evaluate_alerts(con, stricter))
    gone = {("churn_risk", "A2"), ("overdue_debt", "A6"), ("margin_drop", "O3"),
            ("traffic_stop", "A1"), ("launch_stalled", "O4"), ("tier_change", "A4")}
    assert fired == EXPECTED - gone
    looser = replace(settings, alerts=replace(settings.alerts, churn_threshold=0.25,
                                              overdue_debt_rub=30_000))
    fired = _fired(evaluate_alerts(con, looser))
    assert fired == EXPECTED | {("churn_risk", "A1"), ("overdue_debt", "A5")}


def _changes(frame: pl.DataFrame) -> dict[str, str]:
    return dict(frame.select("alert_id", "change").iter_rows())


def test_history_ongoing_resolved_and_reopened(world):
    settings, con = world
    r1 = record_alerts(con, evaluate_alerts(con, settings), run_id="r1")
    assert set(_changes(r1).values()) == {"new"} and r1.height == len(EXPECTED)

    r2 = record_alerts(con, evaluate_alerts(con, settings), run_id="r2")
    assert set(_changes(r2).values()) == {"ongoing"}  # a persisting condition is not new
    assert set(r2.get_column("alert_id")) == set(r1.get_column("alert_id"))
    assert set(r2.get_column("first_seen_run")) == {"r1"}
    assert set(r2.get_column("last_seen_run")) == {"r2"}

    stop_key = "traffic_stop:advertiser:A1:2026-03-29"
    con.execute("UPDATE marts.fct_advertiser_daily SET conversions = 4 "
                "WHERE advertiser_id = 'A1' AND day = ?", [AS_OF])
    r3 = record_alerts(con, evaluate_alerts(con, settings), run_id="r3")
    assert _changes(r3)[f"{stop_key}#1"] == "resolved"
    assert [c for a, c in _changes(r3).items() if not a.startswith(stop_key)] == ["ongoing"] * 9

    # Re-recording the same run (a retried step) gives the same result and no extra rows.
    again = record_alerts(con, evaluate_alerts(con, settings), run_id="r3")
    assert _changes(again) == _changes(r3)
    rows = con.execute("SELECT count(*) FROM alerts.alert_history").fetchall()[0][0]
    assert rows == len(EXPECTED)

    r4 = record_alerts(con, evaluate_alerts(con, settings), run_id="r4")
    assert f"{stop_key}#1" not in _changes(r4)  # resolved earlier: gone from the run's view

    con.execute("UPDATE marts.fct_advertiser_daily SET conversions = 0 "
                "WHERE advertiser_id = 'A1' AND day = ?", [AS_OF])
    r5 = record_alerts(con, evaluate_alerts(con, settings), run_id="r5")
    assert _changes(r5)[f"{stop_key}#2"] == "new"  # it came back: a new occurrence
    history = con.execute(
        "SELECT occurrence, status, first_seen_run, last_seen_run, resolved_run "
        "FROM alerts.alert_history WHERE alert_key = ? ORDER BY occurrence", [stop_key]
    ).fetchall()
    assert history == [(1, "resolved", "r1", "r2", "r3"), (2, "open", "r5", "r5", None)]
    ids = con.execute("SELECT alert_id FROM alerts.alert_history").fetchall()
    assert len(ids) == len(set(ids))


def test_a_retried_run_undoes_its_own_resolution(world):
    settings, con = world
    record_alerts(con, evaluate_alerts(con, settings), run_id="r1")
    con.execute("UPDATE marts.fct_reconciliation SET is_discrepancy = false")
    first = record_alerts(con, evaluate_alerts(con, settings), run_id="r2")
    key = "reconciliation_gap:advertiser:A2:2026-02-01..2026-02-28#1"
    assert _changes(first)[key] == "resolved"
    con.execute("UPDATE marts.fct_reconciliation SET is_discrepancy = (advertiser_id = 'A2')")
    retried = record_alerts(con, evaluate_alerts(con, settings), run_id="r2")
    assert _changes(retried)[key] == "ongoing"
    status = con.execute("SELECT status, resolved_run FROM alerts.alert_history "
                         "WHERE alert_id = ?", [key]).fetchall()
    assert status == [("open", None)]


def test_a_rule_without_input_resolves_nothing(world):
    settings, con = world
    record_alerts(con, evaluate_alerts(con, settings), run_id="r1")
    con.execute("DROP TABLE ml.churn_scores")
    ev = evaluate_alerts(con, settings)
    assert "churn_risk" in ev.skipped and "ml.churn_scores" in ev.skipped["churn_risk"]
    run = record_alerts(con, ev, run_id="r2")
    assert _changes(run)["churn_risk:advertiser:A2#1"] == "ongoing"
    assert "resolved" not in _changes(run).values()


def test_missing_marts_is_a_clear_error(tmp_path):
    settings = settings_for(tmp_path)
    settings.paths.warehouse_file.parent.mkdir(parents=True)
    with (
        duckdb.connect(str(settings.paths.warehouse_file)) as con,
        pytest.raises(RuntimeError, match="dbt build"),
    ):
        evaluate_alerts(con, settings)


def _xlsx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))


def test_feeds_hold_only_the_leads_own_clients(world):
    settings, con = world
    run = record_alerts(con, evaluate_alerts(con, settings), run_id="run-7")
    feeds = write_feeds(settings, run, run_id="run-7", leads=[*team_leads(con), "L9"])
    root = settings.paths.feeds
    assert os.readlink(root / "latest") == "run-7"
    assert (root / "LATEST").read_text().strip() == "run-7"
    assert set(feeds.leads) == {"L1", "L2", "L9", "_unassigned"}
    assert feeds.leads["L9"].rows.height == 0 and feeds.leads["L9"].jsonl.exists()
    all_ids = set(run.get_column("alert_id"))
    for lead, feed in feeds.leads.items():
        items = [json.loads(line) for line in feed.jsonl.read_text(encoding="utf-8").splitlines()]
        with feed.csv.open(encoding="utf-8-sig", newline="") as fh:
            csv_rows = list(csv.DictReader(fh))
        mine = {i["alert_id"] for i in items}
        assert mine == {r["alert_id"] for r in csv_rows}
        assert {i["advertiser_id"] for i in items} <= TEAMS.get(lead, set())
        assert {i["team_lead_id"] for i in items} <= {lead}
        assert all(i["message"] and i["next_step"] and isinstance(i["metrics"], dict)
                   for i in items)
        xlsx = _xlsx_text(feed.xlsx)
        for alert_id in all_ids:
            subject = alert_id.split(":")[2]
            title_found = any(i["subject_id"] == subject for i in items)
            assert (f"{alert_id.split(':')[1]} {subject}" in xlsx) == title_found, (lead, alert_id)
    counted = sum(f.rows.height for f in feeds.leads.values())
    assert counted == len(EXPECTED)

    # Writing the same run again replaces its folder whole (no leftovers, same content).
    again = write_feeds(settings, run, run_id="run-7")
    assert sorted(p.name for p in again.directory.iterdir()) == ["L1", "L2", "_unassigned",
                                                                 "run.json"]
    assert not [p for p in root.iterdir() if p.name.startswith(".")]


def test_texts_in_both_languages_carry_the_numbers(world):
    settings, con = world
    run = record_alerts(con, evaluate_alerts(con, settings), run_id="r1")
    rows = {r["alert_id"]: r for r in run.iter_rows(named=True)}
    debt = rows["overdue_debt:advertiser:A3#1"]
    en, ru = render(debt, "en"), render(debt, "ru")
    assert "80,000" in en["message"] and "INV-1" in en["message"] and "45" in en["message"]
    assert "80\u00a0000" in ru["message"] and "Просроч" in ru["title"]
    for row in rows.values():
        for lang in ("en", "ru"):
            text = render(row, lang)
            assert all(text.values()), (row["alert_id"], lang)
        assert render(row, "en")["next_step"] != render(row, "ru")["next_step"]
    ru_run = replace(settings, alerts=replace(settings.alerts, language="ru"))
    feeds = write_feeds(ru_run, run, run_id="r1")
    first = json.loads(feeds.leads["L2"].jsonl.read_text(encoding="utf-8").splitlines()[0])
    assert any("\u0400" <= ch <= "\u04ff" for ch in first["message"] + first["next_step"])


def test_feeds_refuse_personal_data(world):
    settings, con = world
    con.execute("UPDATE marts.dim_advertisers SET company_name = 'ИП Иванов, ivanov@mail.ru' "
                "WHERE advertiser_id = 'A3'")
    run = record_alerts(con, evaluate_alerts(con, settings), run_id="r1")
    with pytest.raises(PiiError, match="company_name"):
        write_feeds(settings, run, run_id="r1")
    assert not (settings.paths.feeds / "r1").exists()


def test_evaluating_some_rules_with_no_alerts_resolves_only_those(world):
    settings, con = world
    record_alerts(con, evaluate_alerts(con, settings), run_id="r1")
    con.execute("UPDATE ml.churn_scores SET churn_probability = 0.01")
    ev = evaluate_alerts(con, settings, rules=["churn_risk"])
    assert ev.alerts.height == 0 and ev.evaluated == ("churn_risk",)
    run = record_alerts(con, ev, run_id="r2")
    changes = _changes(run)
    assert changes.pop("churn_risk:advertiser:A2#1") == "resolved"
    assert set(changes.values()) == {"ongoing"} and len(changes) == len(EXPECTED) - 1
    with pytest.raises(ValueError, match="unknown alert rule"):
        evaluate_alerts(con, settings, rules=["churn"])


def test_command_line_runs_the_alert_cycle_and_publishes(tmp_path, monkeypatch, capsys):
    from exports.cli import main

    settings = settings_for(tmp_path)
    build_warehouse(settings)
    monkeypatch.setenv("CPA_DATA_DIR", str(settings.paths.data))
    monkeypatch.setenv("CPA_WAREHOUSE", str(settings.paths.warehouse_file))
    for name in ("CPA_WEBHOOK_URL", "CPA_SMTP_HOST", "CPA_ALERT_RECIPIENTS"):
        monkeypatch.delenv(name, raising=False)
    assert main(["alerts", "--run-id", "cli-1"]) == 0
    out = capsys.readouterr().out
    assert f"alerts as of {AS_OF}: {len(EXPECTED)} firing" in out
    assert (settings.paths.feeds / "cli-1" / "L1" / "alerts.xlsx").exists()
    assert main(["publish", "--run-id", "cli-1"]) == 0
    with duckdb.connect(str(settings.paths.publish / "bi.duckdb"), read_only=True) as snap:
        assert snap.execute("SELECT count(*) FROM alerts.alert_history").fetchall() == [(10,)]
