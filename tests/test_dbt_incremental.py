"""The incremental facts: a new day plus a late correction, applied incrementally, give exactly
the marts a --full-refresh build gives (row for row), and an empty raw folder still builds."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
from test_dbt_support import (
    CLICK_SCHEMA,
    EVENT_SCHEMA,
    click_rows,
    dbt,
    event_rows,
    fresh_dir,
    make_world,
    query_rows,
    write_partition,
    write_raw_layer,
)


def marts_snapshot(warehouse: Path) -> dict[str, pl.DataFrame]:
    """Every mart, rows sorted, floats rounded (summation order may differ in the last bits)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [r[0] for r in con.sql(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()]
        out = {}
        for name in sorted(names):
            df = con.sql(f'select * from marts."{name}"').pl()
            df = df.with_columns(pl.col(pl.Float64).round(6))
            sortable = [c for c, t in df.schema.items() if not isinstance(t, pl.List)]
            out[name] = df.sort(sortable, nulls_last=True)
        return out
    finally:
        con.close()


STATE_JOINED_FACTS = ("intermediate.int_margin_base", "intermediate.int_offer_daily")


def assert_same_marts(incremental: dict[str, pl.DataFrame], full: dict[str, pl.DataFrame]) -> None:
    assert incremental.keys() == full.keys()
    for name in full:
        assert incremental[name].equals(full[name]), f"mart {name} differs after incremental run"


def scalar(warehouse: Path, sql: str):
    return query_rows(warehouse, sql)[0][0]


def _rewrite(rows: list[dict], root: Path, dataset: str, schema: dict, day: date) -> None:
    df = pl.DataFrame(rows, schema=schema).drop("file_day")
    write_partition(df, root, dataset, day)


def test_incremental_equals_full_refresh(tmp_path: Path):
    data_dir = fresh_dir(tmp_path / "incr")
    world = make_world(days=45, seed=11)
    last = world.start + timedelta(days=world.days - 1)
    raw = data_dir / "raw"

    # 1. no partition yet: the project still builds, facts empty
    write_raw_layer(world, data_dir, upto=world.start - timedelta(days=1))
    assert not raw.exists() or not any(raw.rglob("*.parquet"))
    dbt(["run", "--select", "+fct_offer_daily"], data_dir)
    wh = data_dir / "warehouse.duckdb"
    assert scalar(wh, "select count(*) from marts.fct_offer_daily") == 0

    # 2. every file up to the day before the last: an incremental run from an empty state
    write_raw_layer(world, data_dir, upto=last - timedelta(days=1))
    dbt(["run"], data_dir)
    before = scalar(wh, "select count(*) from marts.fct_offer_daily")
    assert before > 0

    # 3. the last day arrives, with late status changes for earlier days, and two corrected
    #    files: an earlier click file loses its bot clicks, an earlier conversion file flips a
    #    pending conversion to rejected (the same event corrected)
    for dataset, rows, schema in (
        ("clicks", click_rows(world, {last}), CLICK_SCHEMA),
        ("conversions", event_rows(world, {last}), EVENT_SCHEMA),
    ):
        _rewrite(rows, raw, dataset, schema, last)
    corrected_click_day = world.start + timedelta(days=20)
    kept = [c for c in click_rows(world, {corrected_click_day}) if not c["is_bot"]]
    _rewrite(kept, raw, "clicks", CLICK_SCHEMA, corrected_click_day)
    corrected_conv_day = world.start + timedelta(days=30)
    events = event_rows(world, {corrected_conv_day})
    flipped = next(e for e in events if e["status"] == "approved")
    flipped["status"] = "rejected"
    _rewrite(events, raw, "conversions", EVENT_SCHEMA, corrected_conv_day)

    observed_before = scalar(wh, "select count(*) from intermediate.int_raw_partitions")
    dbt(["run"], data_dir)
    # only the four changed partitions (two new, two corrected) were observed again
    assert scalar(wh, "select count(*) from intermediate.int_raw_partitions") == observed_before + 4
    # the new day is there (its evening UTC clicks fall on the next reporting day)
    assert scalar(wh, "select max(day) from marts.fct_offer_daily") == last + timedelta(days=1)
    status = scalar(
        wh, f"select status from intermediate.int_conversions "
        f"where conversion_id = '{flipped['conversion_id']}'"
    )
    assert status == "rejected"
    # the day facts joined with the offer state rebuilt only the plan's days: the days before it
    # keep the watermark of step 2 (the offer catalogue did not change)
    for fact in STATE_JOINED_FACTS:
        assert scalar(wh, f"select count(distinct _observed_at) from {fact}") == 2, fact
    incremental = marts_snapshot(wh)

    # 4. the same warehouse rebuilt from scratch
    dbt(["run", "--full-refresh"], data_dir)
    full = marts_snapshot(wh)
    assert_same_marts(incremental, full)

    # 5. a corrected first offer snapshot moves an offer to another category on past days, and
    #    the last click file is delivered again: the facts joined with the offer state are
    #    rebuilt whole (every row takes the new watermark; the plan alone would rebuild the last
    #    days only), and the marts equal a full rebuild's
    _rewrite(click_rows(world, {last}), raw, "clicks", CLICK_SCHEMA, last)
    recategorised = world.offers[0]
    con = duckdb.connect(str(wh))
    try:
        con.execute(
            "update raw.offers set category = 'travel' where offer_id = ? and snapshot_date = ?",
            [recategorised["offer_id"], world.start],
        )
    finally:
        con.close()
    dbt(["run"], data_dir)
    for fact in STATE_JOINED_FACTS:
        stale = scalar(wh, f"select count(*) from {fact} where _observed_at < (select "
                           "max(observed_at) from intermediate.int_raw_partitions)")
        assert stale == 0, fact
    assert scalar(
        wh, "select count(*) from intermediate.int_margin_base "
        f"where offer_id = {recategorised['offer_id']} and category = 'travel'") > 0
    incremental = marts_snapshot(wh)
    dbt(["run", "--full-refresh"], data_dir)
    assert_same_marts(incremental, marts_snapshot(wh))
    # and the corrected click file really changed the marts: no bots left on that file's day
    bots = scalar(
        wh, f"select coalesce(sum(bot_clicks), 0) from marts.fct_offer_daily "
        f"where day = date '{corrected_click_day}' and clicks > 0"
    )
    truth_bots = sum(
        1 for c in world.clicks
        if c["is_bot"] and c["file_day"] != corrected_click_day
        and (c["ts"] + timedelta(hours=3)).date() == corrected_click_day
    )
    assert bots == truth_bots


def test_fact_without_watermark_is_rebuilt_whole(tmp_path: Path):
    """An upgrade: int_conversions_daily was a plain table before it became incremental, so a
    warehouse built by that version has no `_observed_at` in it. The next run must rebuild it
    whole and store the watermark, not fail and not append to the old rows."""
    data_dir = fresh_dir(tmp_path / "upgrade")
    world = make_world(days=20, seed=5)
    write_raw_layer(world, data_dir)
    dbt(["run"], data_dir)
    wh = data_dir / "warehouse.duckdb"
    expected = marts_snapshot(wh)
    con = duckdb.connect(str(wh))
    try:  # what the previous version left behind: no watermark, and rows the plan would skip
        con.execute("alter table intermediate.int_conversions_daily drop column _observed_at")
        con.execute("update intermediate.int_conversions_daily set approved = approved + 1")
    finally:
        con.close()

    dbt(["run"], data_dir)

    assert scalar(
        wh, "select count(*) from intermediate.int_conversions_daily where _observed_at is null"
    ) == 0
    assert marts_snapshot(wh).keys() == expected.keys()
    for name, frame in marts_snapshot(wh).items():
        assert frame.equals(expected[name]), f"mart {name} differs after the upgrade run"


def test_partition_days_come_from_footers_and_cover_every_row(tmp_path: Path):
    """int_raw_partitions takes a partition's row count and reporting days from the Parquet
    footers (min/max statistics) instead of scanning it: the days may be more than its rows
    touch, never fewer. A partition whose timestamps span weeks (a conversion file's status
    changes) or whose file has no statistics is scanned, for exact days."""
    data_dir = fresh_dir(tmp_path / "footers")
    world = make_world(days=12, seed=3)
    write_raw_layer(world, data_dir)
    raw = data_dir / "raw"
    no_stats_day = world.start + timedelta(days=5)
    part = raw / "clicks" / f"day={no_stats_day}" / "part-0.parquet"
    pl.read_parquet(part).write_parquet(part, statistics=False)
    dbt(["run", "--select", "+int_raw_partitions"], data_dir)

    wh = data_dir / "warehouse.duckdb"
    rows = query_rows(
        wh, "select dataset, file_day, row_count, touched_days from intermediate.int_raw_partitions"
    )
    truth = {}
    for ds, ts in (("clicks", "ts"), ("conversions", "created_at")):
        for day, n, days, span in query_rows(
            wh,
            f"select day, count(*), list_sort(list_distinct(list(cast(timezone("
            f"'Europe/Moscow', {ts} at time zone 'UTC') as date)))), max({ts}) - min({ts}) "
            f"from read_parquet('{raw}/{ds}/*/*.parquet', hive_partitioning = true) group by day",
        ):
            truth[(ds, day)] = (n, days, span)

    stored = {(ds, day): (n, days) for ds, day, n, days in rows}
    assert len(stored) == len(rows) == len(truth)  # one version per partition
    from_footers = scanned = 0
    for key, (n, days, span) in truth.items():
        stored_rows, stored_days = stored[key]
        assert stored_rows == n, key
        assert set(days) <= set(stored_days), f"{key}: touched days miss some of its rows' days"
        full_range = [days[0] + timedelta(days=i) for i in range((days[-1] - days[0]).days + 1)]
        if span > timedelta(days=2) or key == ("clicks", no_stats_day):
            assert stored_days == days, f"{key}: a scanned partition has its exact days"
            scanned += 1
        else:
            assert stored_days == full_range, f"{key}: the range from the footers"
            from_footers += 1
    assert from_footers > 0 and scanned > 1
