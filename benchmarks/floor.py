"""The engine's floor: DuckDB alone, one hand-written query, the same raw landing files; and
the landing floor: the same tracker files only read and written as Parquet, nothing else.

It reads every clicks csv.gz and conversions jsonl.gz and computes the heart of
``marts.fct_offer_daily`` (offer × Moscow reporting day: clicks, clean clicks deduplicated on
click_id without bot clicks, current-state conversions by status, approved revenue and payout,
hold). No validation, no quarantine, no PII hashing, no fx, no history: the pipeline's cost
divided by this is what all the rest of the platform costs on top of the engine.
"""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import polars as pl

from ingest.readers.text import gunzip
from ingest.settings import Settings
from ingest.sources import SOURCES
from ingest.validate import TS_ISO_FORMAT

CLICK_TYPES = {
    "click_id": "VARCHAR",
    "ts": "TIMESTAMPTZ",
    "offer_id": "BIGINT",
    "publisher_id": "BIGINT",
    "source": "VARCHAR",
    "sub_id": "VARCHAR",
    "country": "VARCHAR",
    "device": "VARCHAR",
    "os": "VARCHAR",
    "ip": "VARCHAR",
    "user_agent": "VARCHAR",
    "is_unique": "INTEGER",
    "is_bot": "INTEGER",
}


def floor_query(clicks_glob: str, conversions_glob: str, timezone: str) -> str:
    types = ", ".join(f"'{k}': '{v}'" for k, v in CLICK_TYPES.items())
    return f"""
    create table offer_daily as
    with clicks as (
        select offer_id, (ts at time zone '{timezone}')::date as day,
               count(*) as clicks,
               count(distinct click_id) filter (where is_bot = 0) as clean_clicks
        from read_csv('{clicks_glob}', header = true, columns = {{{types}}})
        group by all
    ),
    events as (
        select conversion_id, offer_id, status, revenue, payout,
               created_at::timestamptz as created_at, updated_at::timestamptz as updated_at
        from read_json('{conversions_glob}', format = 'newline_delimited',
                       columns = {{conversion_id: 'VARCHAR', offer_id: 'BIGINT', status: 'VARCHAR',
                                   revenue: 'DOUBLE', payout: 'DOUBLE', created_at: 'VARCHAR',
                                   updated_at: 'VARCHAR'}})
    ),
    current_state as (
        select * from events
        qualify row_number() over (partition by conversion_id order by updated_at desc) = 1
    ),
    conv as (
        select offer_id, (created_at at time zone '{timezone}')::date as day,
               count(*) filter (where status <> 'trash') as conversions,
               count(*) filter (where status = 'approved') as approved,
               count(*) filter (where status = 'pending') as pending,
               count(*) filter (where status = 'rejected') as rejected,
               count(*) filter (where status = 'trash') as trash,
               coalesce(sum(revenue) filter (where status = 'approved'), 0) as revenue,
               coalesce(sum(revenue) filter (where status = 'pending'), 0) as hold_revenue,
               coalesce(sum(payout) filter (where status = 'approved'), 0) as payout
        from current_state group by all
    )
    select coalesce(c.offer_id, v.offer_id) as offer_id, coalesce(c.day, v.day) as day,
           coalesce(c.clicks, 0) as clicks, coalesce(c.clean_clicks, 0) as clean_clicks,
           coalesce(v.conversions, 0) as conversions, coalesce(v.approved, 0) as approved,
           coalesce(v.pending, 0) as pending, coalesce(v.rejected, 0) as rejected,
           coalesce(v.trash, 0) as trash, coalesce(v.revenue, 0) as revenue,
           coalesce(v.hold_revenue, 0) as hold_revenue, coalesce(v.payout, 0) as payout,
           coalesce(v.revenue, 0) - coalesce(v.payout, 0) as margin
    from clicks c full join conv v on c.offer_id = v.offer_id and c.day = v.day
    """


def run_floor(settings: Settings) -> dict[str, object]:
    """Run the floor query in an in-memory DuckDB with the warehouse's limits; report rows."""
    tracker = settings.paths.landing / "tracker"
    settings.paths.tmp.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        config={
            "memory_limit": settings.duckdb.memory_limit,
            "threads": settings.duckdb.threads,
            "temp_directory": str(settings.paths.tmp / "floor"),
            "preserve_insertion_order": False,
        }
    )
    started = time.perf_counter()
    con.execute(
        floor_query(
            str(tracker / "clicks" / "clicks_*.csv.gz"),
            str(tracker / "conversions" / "conversions_*.jsonl.gz"),
            settings.network.timezone,
        )
    )
    seconds = time.perf_counter() - started
    rows, clicks = con.execute("select count(*), sum(clicks) from offer_daily").fetchall()[0]
    con.close()
    return {"mart_rows": rows, "clicks": int(clicks or 0), "query_seconds": round(seconds, 2)}


# How a bare landing types the contract's fields: numbers and flags parsed while reading,
# timestamps right after, everything else kept as text.
_LANDING_TYPES = {"int": pl.Int64, "money": pl.Float64, "bool01": pl.Int8}


def _landing_schema(source: str) -> tuple[dict[str, pl.DataType], list[str]]:
    """(columns with their types, timestamp columns) of a tracker source, from its contract
    in :mod:`ingest.sources`, so the landing floor reads exactly the columns ingestion reads."""
    fields = SOURCES[source].fields
    return ({f.src: _LANDING_TYPES.get(f.kind, pl.String) for f in fields},
            [f.src for f in fields if f.kind == "ts_iso"])


def _land_file(path: Path, out: Path) -> int:
    """One tracker file as one typed Parquet file (the ingestion's compression); its rows."""
    data = gunzip(path.read_bytes())
    if path.name.startswith("clicks_"):
        schema, timestamps = _landing_schema("clicks")
        frame = pl.read_csv(data, schema=schema)
    else:
        schema, timestamps = _landing_schema("conversions")
        frame = pl.read_ndjson(io.BytesIO(data), schema=schema)
    frame = frame.with_columns(pl.col(timestamps).str.to_datetime(TS_ISO_FORMAT, time_unit="us"))
    frame.write_parquet(out, compression="zstd", compression_level=1, statistics=True)
    return frame.height


def run_landing(settings: Settings) -> dict[str, object]:
    """The landing floor: every clicks csv.gz and conversions jsonl.gz read, typed and written
    as Parquet with Polars, ``[duckdb] threads`` files at a time, and nothing else: no
    validation, quarantine, hashing, deduplication or lineage. What keeping the raw rows costs
    before any of the platform's checks; the ingestion's cost divided by this is what the
    checks add."""
    tracker = settings.paths.landing / "tracker"
    out = settings.paths.raw / "landing_floor"
    out.mkdir(parents=True, exist_ok=True)
    files = sorted((tracker / "clicks").glob("clicks_*.csv.gz")) + sorted(
        (tracker / "conversions").glob("conversions_*.jsonl.gz"))
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, settings.duckdb.threads)) as pool:
        rows = list(pool.map(lambda f: _land_file(f, out / f"{f.name}.parquet"), files))
    seconds = time.perf_counter() - started
    clicks = sum(n for f, n in zip(files, rows, strict=True) if f.name.startswith("clicks_"))
    return {"files": len(files), "clicks": clicks, "conversion_events": sum(rows) - clicks,
            "seconds": round(seconds, 2)}
