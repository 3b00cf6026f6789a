"""The ML jobs against a real DuckDB warehouse file: marts in, ml schema tables + model out."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import polars as pl
import pytest

from ingest.settings import Settings
from ingest.warehouse import connect
from ml import pipeline
from ml.artifacts import load_metadata, load_model
from ml.frames import INPUTS, InputError
from ml.io import load_inputs, read_table
from ml.synthetic import category_world, churn_world

CHURN_COLUMNS = ["score_date", "advertiser_id", "churn_probability", "risk_group", "reason_1",
                 "reason_2", "reason_3", "model_version"]
FORECAST_COLUMNS = ["category", "metric", "week_start", "forecast", "lo80", "hi80", "lo95",
                    "hi95", "model_version"]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    base = Settings().with_paths(data=tmp_path_factory.mktemp("ml_wh"))
    settings = replace(base, ml=replace(base.ml, backtest_folds=2, forecast_backtest_origins=4))
    world = churn_world(n_advertisers=100, days=300, seed=2)
    cat_daily, _ = category_world(("travel", "finance"), weeks=100, start=date(2023, 1, 2))
    con = connect(settings)
    con.execute("create schema marts")
    tables = {**world.frames, "category_daily": cat_daily}
    for name, frame in tables.items():
        mart = INPUTS[name][0]
        con.register("_f", frame.to_arrow())
        con.execute(f"create table {mart} as select * from _f")
        con.unregister("_f")
    con.close()
    return settings


def test_churn_job_writes_scores_backtest_and_model(warehouse):
    con = connect(warehouse)
    try:
        run = pipeline.run_churn(warehouse, con)
        scores = read_table(con, "churn_scores")
        assert scores.columns == CHURN_COLUMNS
        assert scores.height == run.scores.height > 30
        assert scores["score_date"].unique().to_list() == [run.score_day]
        bt = read_table(con, "backtest_churn")
        assert {"overall", "active", "stopped"} <= set(bt["scope"].to_list())
        assert {"model", "rule_3d", "recency"} <= set(bt["method"].to_list())
        # idempotent: a second run replaces the same day's scores, same model version
        again = pipeline.run_churn(warehouse, con)
        assert read_table(con, "churn_scores").height == scores.height
        assert again.model.version == run.model.version
    finally:
        con.close()
    model = load_model(warehouse.paths.models)
    assert model.version == run.model.version
    meta = load_metadata(warehouse.paths.models, model.version)
    assert meta["features"] == model.features and meta["seed"] == warehouse.ml.seed
    assert "overall/model/roc_auc" in meta["metrics"]


def test_forecast_job_writes_forecasts_profiles_and_backtest(warehouse):
    con = connect(warehouse)
    try:
        pipeline.run_forecast(warehouse, con)
        fc = read_table(con, "category_forecasts")
        assert fc.columns == FORECAST_COLUMNS
        assert fc.height == 3 * 3 * warehouse.ml.forecast_horizon_weeks
        prof = read_table(con, "seasonal_profiles")
        assert set(prof["profile"].unique().to_list()) == {"week_of_year", "day_of_week"}
        bt = read_table(con, "backtest_forecast")
        assert {"mase_model", "mase_snaive", "coverage80", "coverage95"} <= set(bt.columns)
        pipeline.run_forecast(warehouse, con)
        assert read_table(con, "category_forecasts").height == fc.height
    finally:
        con.close()


def test_missing_mart_names_the_mart(tmp_path):
    settings = Settings().with_paths(data=tmp_path)
    con = connect(settings)
    try:
        con.execute("create schema marts")
        con.execute("create table marts.fct_advertiser_daily (day date, advertiser_id bigint)")
        with pytest.raises(InputError, match=r"fct_advertiser_daily lacks column"):
            load_inputs(con, ("advertiser_daily",))
        with pytest.raises(InputError, match=r"marts.dim_advertisers is missing"):
            load_inputs(con, ("advertisers",))
        assert load_inputs(con, ("payments",)) == {"payments": None}
        # without marts.fct_payments the dated payments come from the dbt intermediate layer
        con.execute("create schema intermediate")
        con.execute("create table intermediate.int_payments as select 7::bigint as advertiser_id,"
                    " 'INV-1' as applied_invoice_number, date '2025-01-05' as payment_date,"
                    " 10.0 as amount_in_invoice_currency")
        pay = load_inputs(con, ("payments",))["payments"]
        assert pay.columns == ["advertiser_id", "invoice_number", "payment_date", "amount"]
        assert pay.height == 1
    finally:
        con.close()


def test_no_eligible_advertiser_still_leaves_a_queryable_table(tmp_path):
    from ml.churn import SCORE_SCHEMA
    from ml.io import write_scores

    con = connect(Settings().with_paths(data=tmp_path))
    try:
        write_scores(con, pl.DataFrame(schema=SCORE_SCHEMA))
        assert read_table(con, "churn_scores").columns == CHURN_COLUMNS
    finally:
        con.close()


def test_scores_frame_is_polars(warehouse):
    con = connect(warehouse, read_only=True)
    try:
        assert isinstance(read_table(con, "churn_scores"), pl.DataFrame)
    finally:
        con.close()
