"""int_clicks_daily counts each (reporting day, click_id) once, its first delivery (earliest file,
then line), whether or not any click arrived late, and ranks only the partitions whose Parquet
footers show a late click. The expected counts are computed here in Python, row by row."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from test_dbt_support import dbt, fresh_dir, make_world, query_rows, write_raw_layer

MOSCOW = timedelta(hours=3)


def _expected(clicks: list[dict]) -> Counter:
    """(day, offer, publisher, source) -> clicks, keeping the first delivery of each
    (reporting day, click_id)."""
    first: dict[tuple, dict] = {}
    for c in sorted(clicks, key=lambda c: (c["file_day"], c["_source_line"])):
        first.setdefault(((c["ts"] + MOSCOW).date(), c["click_id"]), c)
    return Counter(
        (day, c["offer_id"], c["publisher_id"], c["source"]) for (day, _), c in first.items()
    )


def _built(data_dir: Path) -> tuple[Counter, str]:
    dbt(["run", "--select", "+int_clicks_daily"], data_dir)
    rows = query_rows(
        data_dir / "warehouse.duckdb",
        "select day, offer_id, publisher_id, traffic_source, clicks "
        "from intermediate.int_clicks_daily",
    )
    compiled = next((data_dir / "dbt_target").rglob("int_clicks_daily.sql")).read_text()
    return Counter({tuple(r[:4]): r[4] for r in rows}), compiled


def _late_copy(click: dict, days_later: int, line: int) -> dict:
    return {**click, "file_day": click["file_day"] + timedelta(days=days_later),
            "_source_line": line}


@pytest.mark.parametrize(
    "case", ["all_on_time", "next_day_repeats", "late_deliveries", "late_without_statistics"]
)
def test_each_click_counts_once_on_its_first_delivery(tmp_path: Path, case: str):
    world = make_world(days=14, seed=21)
    on_time = [c for c in world.clicks if c["file_day"] == c["ts"].date()]
    if case == "all_on_time":
        world.clicks = on_time
    elif case.startswith("late_"):
        # what ingestion lets through: repeats two or more days later, a click sent twice
        # late, and a late click never delivered on time
        world.clicks = on_time[:]
        day3 = [c for c in on_time if c["file_day"] == world.start + timedelta(days=3)]
        world.clicks += [  # never two copies in files of adjacent days
            _late_copy(day3[0], 2, 900_001),
            _late_copy(day3[1], 3, 900_002),
            _late_copy(day3[1], 5, 900_003),
            _late_copy(day3[1], 7, 900_004),
        ]
        lost = day3[2]
        world.clicks.remove(lost)
        world.clicks += [_late_copy(lost, 4, 900_005), _late_copy(lost, 7, 900_006)]
    data_dir = fresh_dir(tmp_path / case)
    write_raw_layer(world, data_dir)
    if case == "late_without_statistics":
        # a file with a late click and no footer statistics (another writer): it must be
        # ranked, and with no earliest click day known, looked up against every on-time click
        part = (data_dir / "raw" / "clicks" / f"day={world.start + timedelta(days=5)}"
                / "part-0.parquet")
        pl.read_parquet(part).write_parquet(part, statistics=False)

    counts, compiled = _built(data_dir)

    assert counts == _expected(world.clicks)
    assert sum(counts.values()) < len(world.clicks) or case == "all_on_time"
    # only partitions with a late click are ranked; with none, nothing is
    assert ("row_number()" in compiled) == (case != "all_on_time"), compiled
    bounded = "on_time.file_day >=" in compiled
    assert bounded == (case in ("next_day_repeats", "late_deliveries")), compiled

