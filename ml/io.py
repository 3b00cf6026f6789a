"""Thin I/O: read the marts the ML code needs from DuckDB, write the `ml` schema tables.

Writes are idempotent: a re-run replaces what the same run wrote (scores of the same
score_date; the latest forecasts, profiles and backtests) inside one transaction, so a crash
leaves either the old or the new rows, never half of them.

Tables of schema `ml` (interfaces.md section 4):
- churn_scores: score_date, advertiser_id, churn_probability, risk_group ('active'|'stopped'),
  reason_1, reason_2, reason_3, model_version — one row per eligible advertiser and score
  date; a re-run replaces that date, earlier dates stay (history).
- backtest_churn: scope ('overall'|'active'|'stopped'), method ('model'|'rule_3d'|'recency'|
  'always_not_frozen'|'oracle'|'base_rate'), metric, value, n, positives, model_version,
  first_origin, last_snapshot, threshold, k.
- category_forecasts: category ('_network' = whole network), metric ('clean_clicks'|
  'approved'|'revenue'), week_start, forecast, lo80, hi80, lo95, hi95, model_version.
- seasonal_profiles: category, metric, profile ('week_of_year'|'day_of_week'), period
  (ISO week 1-53 | ISO weekday 1-7), index (multiplicative, ~1 on average), source, model_version.
- backtest_forecast: metric, category ('_all' = categories pooled), n_origins, n, mase_model,
  mase_snaive, mae_ratio (model MAE / seasonal-naive MAE), coverage80, coverage95,
  model_version.
"""

from __future__ import annotations

import duckdb
import polars as pl

from ml.frames import FALLBACK_RELATIONS, FALLBACKS, INPUTS, check_frame

SCHEMA = "ml"


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".", 1)
    rows = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchall()
    return bool(rows[0][0])


def _read(con: duckdb.DuckDBPyConnection, sql: str) -> pl.DataFrame:
    """A query result as Polars (DuckDB 2.0: relations have .pl(), the connection has not)."""
    return con.sql(sql).pl()


def load_inputs(con: duckdb.DuckDBPyConnection, names: tuple[str, ...] | None = None
                ) -> dict[str, pl.DataFrame | None]:
    """The input marts (all, or `names`) as Polars frames (None for a missing optional one).

    Raises ml.frames.InputError naming the mart when a required mart or column is missing.
    """
    frames: dict[str, pl.DataFrame | None] = {}
    for name, (mart, _columns, _optional) in INPUTS.items():
        if names is not None and name not in names:
            continue
        if table_exists(con, mart):
            frames[name] = _read(con, f"select * from {mart}")
        elif name in FALLBACKS and table_exists(con, FALLBACK_RELATIONS[name]):
            frames[name] = _read(con, FALLBACKS[name])
        else:
            frames[name] = None
        check_frame(name, frames[name])
    return frames


def _write(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame,
           delete_where: str | None = None, params: list | None = None) -> None:
    """Create the table from the frame, or delete (all / matching) rows and insert, atomically."""
    qualified = f"{SCHEMA}.{table}"
    con.execute(f"create schema if not exists {SCHEMA}")
    arrow = frame.to_arrow()
    con.register("_ml_frame", arrow)
    try:
        con.execute("begin transaction")
        try:
            if not table_exists(con, qualified) or delete_where is None:
                con.execute(f"create or replace table {qualified} as select * from _ml_frame")
            else:
                con.execute(f"delete from {qualified} where {delete_where}", params or [])
                con.execute(f"insert into {qualified} by name select * from _ml_frame")
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
    finally:
        con.unregister("_ml_frame")


def write_scores(con: duckdb.DuckDBPyConnection, scores: pl.DataFrame) -> None:
    """ml.churn_scores: replace the rows of the score dates in `scores`, keep older dates."""
    days = scores["score_date"].unique().to_list()
    if not days:  # nobody eligible: make sure the table exists (readers query it), add nothing
        _write(con, "churn_scores", scores, "false")
        return
    placeholders = ", ".join("?" for _ in days)
    _write(con, "churn_scores", scores, f"score_date in ({placeholders})", days)


def write_table(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Replace a whole ml table (forecasts, profiles, backtests: the latest run is the truth)."""
    _write(con, table, frame)


def read_table(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    return _read(con, f"select * from {SCHEMA}.{table}")
