"""Ingesting landing files into the raw layer, per source, idempotently and crash-safely.

For every file of a source (oldest period first): skip it if this exact content was already
ingested (``identical_redelivery``); otherwise read → validate → hash personal data →
deduplicate by natural key (within the file, then across files) → check ids and FX rates →
replace what the file contributed, and record the delivery in ``meta.file_manifest`` and its
rejected rows in ``meta.quarantine`` in the same transaction. Afterwards rows quarantined for
``unknown_id`` / ``no_fx_rate`` are retried and released if their id or rate is now known.

Every data row read is loaded, deduplicated or quarantined: ``rows_read = rows_loaded +
rows_deduplicated + rows_quarantined`` per delivery, asserted before anything is written.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import ClassVar

import duckdb
import polars as pl

from ingest.landing import LandingFile, discover, stray_files
from ingest.manifest import (
    RETRYABLE,
    ensure_schema,
    json_structure,
    last_delivery,
)
from ingest.pii import hash_series
from ingest.raw_export import export_table
from ingest.readers import BAD_SCHEMA, FileRejected, ReadResult
from ingest.readers.delimited import read_delimited
from ingest.readers.jsonl import document_records, read_json_records
from ingest.readers.text import content_size, decode_billing, decode_utf8, gunzip, split_lines
from ingest.settings import Settings, hash_key
from ingest.sources import ORDER, SOURCES, SourceSpec
from ingest.store import (
    append_table_rows,
    partition_path,
    read_partition,
    write_partition,
)
from ingest.validate import validate
from ingest.warehouse import connect

__all__ = [
    "SOURCES",
    "FileReport",
    "SourceReport",
    "ingest_all",
    "ingest_source",
    "landing_files",
]


@dataclass
class FileReport:
    """What happened to one delivery of one file."""

    source: str
    file_path: str
    outcome: str  # loaded | corrected | identical_redelivery | rejected
    reason: str | None = None
    detail: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_deduplicated: int = 0
    rows_quarantined: int = 0
    extra_columns: list[str] = field(default_factory=list)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step (profiling)


class _Laps:
    """Seconds spent per step of one file, reported in FileReport.timings."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self._t = time.perf_counter()

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        self.times[step] = self.times.get(step, 0.0) + now - self._t
        self._t = now


@dataclass
class SourceReport:
    source: str
    files: list[FileReport] = field(default_factory=list)
    released: int = 0  # previously quarantined rows loaded in this run (id / rate now known)
    stray_files: list[str] = field(default_factory=list)
    exported: bool = False  # raw.<t> (re)written as <raw>/<t>/part-0.parquet in this run
    seconds: float = 0.0

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_deduplicated(self) -> int:
        return sum(f.rows_deduplicated for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def extra_columns(self) -> list[str]:
        return sorted({c for f in self.files for c in f.extra_columns})

    @property
    def rejected_files(self) -> list[str]:
        return [f.file_path for f in self.files if f.outcome == "rejected"]

    @property
    def quarantine_share(self) -> float:
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0


def landing_files(settings: Settings, source: str) -> list[LandingFile]:
    """The files of one source in the landing folder (for sensors and for ingestion)."""
    spec = SOURCES[source]
    return discover(settings.paths.landing, source, spec.pattern)


# --------------------------------------------------------------------------- reading


@dataclass
class _Delivery:
    """A file about to be ingested: its bytes, their hash, and whether it replaces an earlier
    accepted delivery of the same name."""

    lf: LandingFile
    data: bytes
    content_hash: str
    replacing: bool


@dataclass
class _BatchRead:
    frame: pl.DataFrame  # _source_file, _source_line, one String column per field (+ __t)
    bad: pl.DataFrame  # BAD_SCHEMA + _source_file
    rows_read: dict[str, int]
    extra_columns: dict[str, list[str]]
    meta: dict[str, dict[str, object]]
    rejected: dict[str, FileRejected]
    seconds: float = 0.0  # spent decoding (on the read-ahead thread: overlapped)


@dataclass
class _Decoded:
    """One file of a batch after the per-file work: CSV rows, or numbered JSON texts, or the
    reason the whole file is unusable."""

    csv: ReadResult | None = None
    lines: pl.DataFrame | None = None
    meta: dict[str, object] | None = None
    rejected: FileRejected | None = None


def _decode_one(spec: SourceSpec, d: _Delivery, hasher) -> _Decoded:
    """Decompress, decode and split (or CSV-parse) one file. Runs in a worker thread: the
    heavy calls (zlib inflate, Polars' CSV reader, Arrow's line split) release the GIL, so
    the files of a batch are decoded on the configured cores at once."""
    expected = [f.src for f in spec.fields]
    try:
        data = gunzip(d.data) if spec.fmt.endswith(".gz") else d.data
        if not data:
            raise FileRejected("unreadable_file", "the file is empty (0 bytes of content)")
        if spec.fmt in ("csv", "csv.gz", "billing"):
            if spec.fmt == "billing":
                text, _encoding = decode_billing(data)
                payload, sep = text.encode("utf-8"), ";"
            else:  # UTF-8 is validated by the CSV parser (a bad byte rejects the file)
                payload = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
                sep = ","
            return _Decoded(csv=read_delimited(
                payload, sep=sep, expected=expected, required=expected, raw_line_hash=hasher
            ))
        text = decode_utf8(data)
        if spec.fmt == "json":
            assert spec.array_key
            lines, meta = document_records(text, spec.array_key)
            return _Decoded(lines=lines, meta=meta)
        return _Decoded(lines=split_lines(text))
    except FileRejected as rej:
        return _Decoded(rejected=rej)


def _decode_all(
    spec: SourceSpec, batch: list[_Delivery], hasher, workers: int
) -> list[_Decoded]:
    """Per-file results in batch order (so the output does not depend on thread timing)."""
    if workers <= 1 or len(batch) <= 1:
        return [_decode_one(spec, d, hasher) for d in batch]
    with ThreadPoolExecutor(max_workers=min(workers, len(batch))) as pool:
        return list(pool.map(lambda d: _decode_one(spec, d, hasher), batch))


def _read_batch(
    spec: SourceSpec, batch: list[_Delivery], key: bytes, workers: int = 1
) -> _BatchRead:
    """Decode and split the files of a batch by their format (``workers`` files at a time).
    A file unusable as a whole is in ``rejected`` with its reason; the others' rows are in
    one frame."""

    def hasher(s: pl.Series) -> pl.Series:
        return hash_series(s, key)

    expected = [f.src for f in spec.fields]
    frames, bads, lines_parts = [], [], []
    rows_read: dict[str, int] = {}
    extra: dict[str, list[str]] = {}
    meta: dict[str, dict[str, object]] = {}
    rejected: dict[str, FileRejected] = {}
    for d, got in zip(batch, _decode_all(spec, batch, hasher, workers), strict=True):
        path = d.lf.rel_path
        if got.rejected is not None:
            rejected[path] = got.rejected
        elif got.csv is not None:
            one = got.csv
            src = pl.lit(path).alias("_source_file")
            frames.append(one.frame.with_columns(src))
            bads.append(one.bad.with_columns(src))
            rows_read[path] = one.rows_read
            extra[path] = one.extra_columns
        else:
            assert got.lines is not None
            if got.meta is not None:
                meta[path] = got.meta
            lines_parts.append(got.lines.with_columns(pl.lit(path).alias("_source_file")))
    if lines_parts:
        got = read_json_records(
            pl.concat(lines_parts),
            expected=expected,
            required=expected,
            list_fields=[f.src for f in spec.fields if f.kind == "list"],
            extra_sql=spec.extra_sql,
            raw_line_hash=hasher,
        )
        frames.append(got.frame)
        bads.append(got.bad)
        rejected.update(got.rejected)
        for d in batch:
            path = d.lf.rel_path
            if path in rejected or spec.fmt.startswith("csv") or spec.fmt == "billing":
                continue
            rows_read[path] = got.rows_read.get(path, 0)
            seen = got.extra_columns.get(path, [])
            extra[path] = [c for c in seen if c not in spec.consumed_keys]
    frame = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
    bad = pl.concat(bads, how="diagonal_relaxed") if bads else pl.DataFrame()
    for d in batch:  # files that produced nothing at all (e.g. an empty JSONL)
        if d.lf.rel_path not in rejected:
            rows_read.setdefault(d.lf.rel_path, 0)
            extra.setdefault(d.lf.rel_path, [])
    if spec.snapshot:
        for path, n in rows_read.items():
            if n == 0 and path not in rejected:
                rejected[path] = FileRejected(
                    "empty_snapshot",
                    "a snapshot with no records cannot be the newest truth; the previous one stays",
                )
    if rejected and frame.height:
        frame = frame.filter(~pl.col("_source_file").is_in(list(rejected)))
    if rejected and bad.height:
        bad = bad.filter(~pl.col("_source_file").is_in(list(rejected)))
    for path in rejected:
        rows_read.pop(path, None)
        extra.pop(path, None)
    return _BatchRead(frame, bad, rows_read, extra, meta, rejected)


def workers(settings: Settings) -> int:
    """Threads for per-file work (decoding, partition writes): the warehouse's thread budget
    (``[duckdb] threads``), never more than the machine's cores."""
    return max(1, min(settings.duckdb.threads, os.cpu_count() or 1))


def _period_end(lf: LandingFile) -> datetime | None:
    if lf.day is not None:
        return datetime.combine(lf.day + timedelta(days=1), datetime.min.time())
    if lf.month is not None:
        m = lf.month
        nxt = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
        return datetime.combine(nxt, datetime.min.time())
    return None


# --------------------------------------------------------------------------- checks


class _Lookups:
    """Known ids and first FX days, read once per source run (snapshots and rates do not
    change while one source's files are ingested)."""

    _SQL: ClassVar[dict[str, str]] = {
        "offer": "SELECT DISTINCT offer_id FROM raw.offers",
        "publisher": "SELECT DISTINCT publisher_id FROM raw.publishers",
        "company": "SELECT DISTINCT company_id FROM raw.companies",
        "manager": "SELECT DISTINCT manager_id FROM raw.managers",
        "advertiser": "SELECT advertiser_id FROM raw.offers UNION "
        "SELECT advertiser_id FROM raw.companies WHERE advertiser_id IS NOT NULL",
    }

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._ids: dict[str, pl.Series] = {}
        self._fx: pl.DataFrame | None = None

    def ids(self, kind: str) -> pl.Series:
        if kind not in self._ids:
            rows = self.con.execute(self._SQL[kind]).fetchall()
            self._ids[kind] = pl.Series("id", [r[0] for r in rows], dtype=pl.Int64)
        return self._ids[kind]

    def fx_first_days(self) -> pl.DataFrame:
        if self._fx is None:
            rows = self.con.execute(
                "SELECT currency, min(rate_date) FROM raw.fx_rates GROUP BY currency"
            ).fetchall()
            self._fx = pl.DataFrame(
                {"_fx_cur": [r[0] for r in rows], "_fx_first": [r[1] for r in rows]},
                schema={"_fx_cur": pl.String, "_fx_first": pl.Date},
            )
        return self._fx


def _retryable_failures(
    lookups: _Lookups, spec: SourceSpec, rows: pl.DataFrame, tz: str
) -> pl.DataFrame:
    """``rows`` with ``_reason``/``_field``/``_value`` set for unknown ids and missing rates."""
    reason = pl.lit(None, dtype=pl.String)
    fld = pl.lit(None, dtype=pl.String)
    value = pl.lit(None, dtype=pl.String)
    conds: list[tuple[pl.Expr, str, str, pl.Expr]] = []
    src_of = {f.name: f.src for f in spec.fields}
    for column, kind in spec.refs:
        known = lookups.ids(kind)
        cond = pl.col(column).is_not_null() & ~pl.col(column).is_in(known.implode())
        conds.append((cond, "unknown_id", src_of[column], pl.col(column).cast(pl.String)))
    if spec.fx is not None:
        first = lookups.fx_first_days()
        rows = rows.join(
            first, left_on=spec.fx.currency, right_on="_fx_cur", how="left", maintain_order="left"
        )
        day = spec.fx.day(tz)
        cond = (pl.col(spec.fx.currency) != "RUB") & (
            pl.col("_fx_first").is_null() | (day < pl.col("_fx_first"))
        )
        conds.append((cond.fill_null(False), "no_fx_rate", src_of[spec.fx.currency],
                      pl.col(spec.fx.currency)))
    for cond, why, src, val in reversed(conds):
        reason = pl.when(cond).then(pl.lit(why)).otherwise(reason)
        fld = pl.when(cond).then(pl.lit(src)).otherwise(fld)
        value = pl.when(cond).then(val).otherwise(value)
    out = rows.with_columns(reason.alias("_reason"), fld.alias("_field"), value.alias("_value"))
    return out.drop([c for c in ("_fx_first",) if c in out.columns])


def _json_records(frame: pl.DataFrame) -> pl.Series:
    """Each row as a JSON object (dates and timestamps as ISO text) for ``meta.quarantine``."""
    if frame.height == 0:
        return pl.Series("record", [], dtype=pl.String)
    exprs = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Datetime("us"):
            exprs.append(pl.col(name).dt.to_string("%Y-%m-%d %H:%M:%S%.6f"))
        elif dtype == pl.Date():
            exprs.append(pl.col(name).dt.to_string("%Y-%m-%d"))
        else:
            exprs.append(pl.col(name))
    return frame.select(pl.struct(exprs).struct.json_encode().alias("record"))["record"]


# --------------------------------------------------------------------------- dedup


def _held_keys(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    replaced_files: list[str],
    days: list[date] | None = None,
) -> pl.DataFrame:
    """Natural keys (with ``_source_file`` and, from the manifest, ``_file_day``) of the rows
    held for a reason a later run may lift (unknown id, missing rate), in files other than
    ``replaced_files`` (the batch's accepted deliveries, whose old rows they replace); with
    ``days``, only in the daily files of those days (filtered before any record is parsed:
    the held backlog can only grow).

    A held row was kept by deduplication, it only waits to be loaded: a later repeat of it is
    a repeat, as it would be within one batch (deduplication runs before the id check), and
    its release can then never load a second copy of a key kept since.
    """
    schema = spec.schema()
    structure = json_structure({k: schema[k] for k in spec.key})
    day_filter = ""
    params: dict[str, object] = {"s": spec.name}
    if days is not None:
        day_filter = "AND f.covers_day IN (SELECT unnest($days::DATE[]))"
        params["days"] = days
    con.register("_replaced_files", pl.DataFrame({"f": replaced_files}, schema={"f": pl.String})
                 .to_arrow())
    try:
        held = pl.from_arrow(
            con.sql(
                f"""SELECT q.file_path AS _source_file, f.covers_day AS _file_day,
                    unnest(from_json(q.record, '{structure}'))
                FROM meta.quarantine AS q
                LEFT JOIN (SELECT DISTINCT file_path, covers_day FROM meta.file_manifest
                           WHERE source = $s) AS f ON f.file_path = q.file_path
                WHERE q.source = $s AND q.released_at IS NULL AND q.superseded_at IS NULL
                  AND q.reason IN {RETRYABLE!r} {day_filter}
                  AND q.file_path NOT IN (SELECT f FROM _replaced_files)""",
                params=params,
            ).to_arrow_table()
        )
    finally:
        con.unregister("_replaced_files")
    assert isinstance(held, pl.DataFrame)
    return held.cast({k: schema[k] for k in spec.key})


def _drop_repeats(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    spec: SourceSpec,
    batch_days: dict[str, date | None],
    rows: pl.DataFrame,
    keys_unique: bool = False,
) -> pl.DataFrame:
    """``rows`` (clean, unique within their file, in processing order) without the natural keys
    already kept from another file (reading 4): the first file processed wins. Kept means
    loaded, or held for a later release (:func:`_held_keys`).

    ``batch_days``: the batch's accepted deliveries (in processing order) and their days. For
    first deliveries, the result is the same as processing the files one at a time, whatever
    the batches (a corrected re-delivery may differ: within its batch, its old rows no longer
    count).

    ``global`` (tables, conversion events): earlier files of the batch, then the stored rows
    of files outside the batch, probed in DuckDB with the batch's keys (a semi join against the
    raw table or the ``meta.<source>_keys`` index), so the cost follows the batch, not the
    history. ``neighbours`` (clicks): the same, limited to files of the day before and after.
    """
    keys = list(spec.key)
    if rows.height == 0 or spec.dedup not in ("global", "neighbours"):
        return rows
    replaced = list(batch_days)  # accepted deliveries; a rejected one replaces nothing
    if spec.dedup == "global":
        rows = rows.unique(subset=keys, keep="first", maintain_order=True)
        target = spec.table if spec.target == "table" else keys_table(spec)
        cond = " AND ".join(f'k."{c}" = t."{c}"' for c in keys)
        con.register("_cand_keys", rows.select(keys).to_arrow())
        con.register("_batch_files", pl.DataFrame({"f": replaced}, schema={"f": pl.String})
                     .to_arrow())
        try:
            found = pl.from_arrow(
                con.sql(
                    f"SELECT k.* FROM _cand_keys k WHERE EXISTS (SELECT 1 FROM {target} t "
                    f"WHERE {cond} AND t._source_file NOT IN (SELECT f FROM _batch_files))"
                ).to_arrow_table()
            )
        finally:
            con.unregister("_cand_keys")
            con.unregister("_batch_files")
        assert isinstance(found, pl.DataFrame)
        held = _held_keys(con, spec, replaced).select(keys)
        found = pl.concat([found.cast(dict(rows.select(keys).schema)), held])
        if found.height:
            rows = rows.join(found, on=keys, how="anti", maintain_order="left")
        return rows
    # neighbours: a click repeated in the file of the day before or after
    (k,) = keys
    days = pl.DataFrame(
        {"_source_file": list(batch_days), "_fday": list(batch_days.values()),
         "_ord": list(range(len(batch_days)))},
        schema={"_source_file": pl.String, "_fday": pl.Date, "_ord": pl.Int64},
    )
    one_day = pl.duration(days=1)
    # 1. kept in a neighbouring file outside the batch (loaded earlier, or held)
    in_batch = {d for d in batch_days.values() if d is not None}
    neighbours = sorted({d + timedelta(days=s) for d in in_batch for s in (-1, 1)} - in_batch)
    held = _held_keys(con, spec, replaced, neighbours)
    stored = [held.select(k, pl.col("_file_day").alias("_nday"))]
    for day in neighbours:
        part = read_partition(partition_path(settings.paths.raw, spec.name, day), [k])
        if part is not None and part.height:
            stored.append(part.with_columns(pl.lit(day).alias("_nday")))
    near = pl.concat(stored).join(rows.select(k, "_source_file"), on=k).join(
        days, on="_source_file"
    )
    drop = near.filter((pl.col("_fday") - pl.col("_nday")).abs() == one_day).select(
        k, "_source_file").unique()
    if drop.height:
        rows = rows.join(drop, on=[k, "_source_file"], how="anti", maintain_order="left")
    # 2. kept in a neighbouring file of the batch processed before; keys_unique: the caller
    #    already knows no key repeats in the batch (one pass over a million ids less)
    if len(batch_days) > 1 and not keys_unique and rows[k].n_unique() != rows.height:
        repeated = rows.filter(pl.col(k).is_duplicated()).select(k, "_source_file").join(
            days, on="_source_file"
        )
        later = _later_neighbour_repeats(repeated.sort("_ord"), k)
        if later.height:
            rows = rows.join(later, on=[k, "_source_file"], how="anti", maintain_order="left")
    return rows


def _later_neighbour_repeats(repeated: pl.DataFrame, key: str) -> pl.DataFrame:
    """(key, ``_source_file``) of the repeats one file at a time would drop: a row whose key
    a *kept* row of the day before or after has, in processing order (``_ord``).

    Sequential, because "neighbour of" does not chain: of the same click on days 1, 2 and 3,
    day 2 repeats day 1 and is dropped, so day 3 repeats nothing kept and stays (as it would
    if day 3 arrived in a later batch). Only repeated keys come here: a few rows.
    """
    kept: dict[str, list[date]] = {}
    dropped = []
    for value, file, fday in repeated.select(key, "_source_file", "_fday").iter_rows():
        if fday is None:  # a file without a day has no neighbours
            continue
        days = kept.setdefault(value, [])
        if any(abs((fday - d).days) == 1 for d in days):
            dropped.append((value, file))
        else:
            days.append(fday)
    return pl.DataFrame(dropped, schema={key: pl.String, "_source_file": pl.String},
                        orient="row")


def keys_table(spec: SourceSpec) -> str:
    """The key index of a Parquet dataset deduplicated across all files."""
    return f"meta.{spec.name}_keys"


# --------------------------------------------------------------------------- one file


_Q_SCHEMA = {**BAD_SCHEMA, "_source_file": pl.String}


def _process(
    con: duckdb.DuckDBPyConnection,
    lookups: _Lookups,
    settings: Settings,
    spec: SourceSpec,
    batch: list[_Delivery],
    key: bytes,
    read: _BatchRead,
) -> tuple[dict[str, FileReport], dict[str, FileRejected], pl.DataFrame, pl.DataFrame]:
    """Process a batch of deliveries as one frame: (reports of accepted files, rejected
    files, rows to load, quarantine rows with ``_source_file``). ``read``: the batch as
    :func:`_prepare` decoded it, ahead of time."""
    lap = _Laps()
    lap.times["decode"] = read.seconds  # on the read-ahead thread, overlapped
    accepted = [d for d in batch if d.lf.rel_path not in read.rejected]
    files = pl.DataFrame(
        {
            "_source_file": [d.lf.rel_path for d in accepted],
            "_period_end": [_period_end(d.lf) for d in accepted],
            "_day": [d.lf.day for d in accepted],
            "_month": [d.lf.month for d in accepted],
            "_exported_at": [_exported_at(read.meta.get(d.lf.rel_path, {})) for d in accepted],
        },
        schema={"_source_file": pl.String, "_period_end": pl.Datetime("us"), "_day": pl.Date,
                "_month": pl.Date, "_exported_at": pl.Datetime("us")},
    )
    raw = read.frame
    if raw.height == 0:
        raw = pl.DataFrame(schema={
            "_source_file": pl.String, "_source_line": pl.Int64,
            **{f.src: pl.List(pl.String) if f.kind == "list" else pl.String
               for f in spec.fields},
            **{name: pl.String for name in spec.extra_sql},
        })
        if spec.fmt.startswith("json"):
            raw = raw.with_columns([pl.lit(None, dtype=pl.String).alias(f"{f.src}__t")
                                    for f in spec.fields])
    raw = raw.join(files.select("_source_file", "_period_end"), on="_source_file", how="left",
                   maintain_order="left")
    # personal data: hashed before anything else sees it (valid rows load the hash, bad rows
    # quarantine it); one vectorised pass per column for the whole batch
    for f in spec.fields:
        if f.kind == "pii":
            raw = raw.with_columns(hash_series(raw[f.src], key).alias(f.src))
    lap("hash")
    checked = validate(
        raw, spec.fields, json_types=spec.fmt.startswith("json"), period_end="_period_end",
        carry=("_source_file",),
    )
    lap("validate")
    ident = ["_source_file", "_source_line"]
    if spec.extra_sql:
        checked = checked.join(raw.select(*ident, *spec.extra_sql), on=ident, how="left")
    bad_mask = checked["_reason"].is_not_null()
    invalid = checked.filter(bad_mask)
    valid = checked.filter(~bad_mask)
    invalid_records = pl.Series("record", [], dtype=pl.String)
    if invalid.height:
        invalid_raw = invalid.select(ident).join(raw, on=ident, how="left", maintain_order="left")
        invalid_records = _json_records(
            invalid_raw.select(
                [pl.col(f.src).alias(f.name if f.kind == "pii" else f.src) for f in spec.fields]
            )
        )

    # period columns (snapshot_date / file_month / exported_at) per file
    periods = files.select(
        "_source_file",
        pl.col("_day").alias("snapshot_date"),
        pl.col("_month").alias("file_month"),
        pl.col("_exported_at").alias("exported_at"),
    )
    wanted = [c for c in ("snapshot_date", "file_month", "exported_at") if c in spec.schema()]
    valid = valid.join(periods.select("_source_file", *wanted), on="_source_file", how="left",
                       maintain_order="left")
    if spec.post is not None:
        valid = spec.post(valid, key)
    lap("lineage")

    # deduplicate: within each file (first line wins), then across files (first file wins)
    schema = spec.schema()
    dedup_keys = list(spec.key) if spec.dedup != "exact_file" else [
        n for n in schema if n != "_source_line"
    ]
    before = valid.group_by("_source_file").len()
    if dedup_keys and valid.height:
        subset = dedup_keys if "_source_file" in dedup_keys else ["_source_file", *dedup_keys]
        distinct = (
            valid[subset[-1]].n_unique()
            if len(subset) == 2 and spec.dedup != "exact_file"
            else valid.select(pl.struct(subset).n_unique()).item()
        )
        # a key unique over the whole batch has no repeat inside any file: skip the unique()
        batch_unique = len(subset) == 2 and spec.dedup != "exact_file" and (
            distinct == valid.height)  # i.e. subset[-1] never repeats in the batch
        if distinct != valid.height:
            valid = valid.unique(subset=subset, keep="first", maintain_order=True)
        lap("dedup_file")
        valid = _drop_repeats(
            con, settings, spec, {d.lf.rel_path: d.lf.day for d in accepted}, valid,
            keys_unique=batch_unique,
        )
        lap("dedup_cross_file")
    after = valid.group_by("_source_file").len()

    # ids and FX rates last: these rows are complete and can be released later
    retry = _retryable_failures(lookups, spec, valid, settings.network.timezone)
    held_mask = retry["_reason"].is_not_null()
    held = retry.filter(held_mask)
    load = retry.filter(~held_mask).select(list(schema))
    lap("ids_fx")

    parts = []
    if read.bad.height:
        parts.append(read.bad.select(list(_Q_SCHEMA)))
    detail = ["_source_line", pl.col("_reason").alias("reason"), pl.col("_field").alias("field"),
              pl.col("_value").alias("value")]
    if invalid.height:
        parts.append(invalid.select(*detail, "_source_file")
                     .with_columns(invalid_records.alias("record")).select(list(_Q_SCHEMA)))
    if held.height:
        parts.append(held.select(*detail, "_source_file")
                     .with_columns(_json_records(held.select(list(schema))).alias("record"))
                     .select(list(_Q_SCHEMA)))
    quarantined = pl.concat(parts) if parts else pl.DataFrame(schema=_Q_SCHEMA)
    lap("quarantine_records")

    def counts(frame: pl.DataFrame) -> dict[str, int]:
        return dict(frame.iter_rows()) if frame.height else {}

    n_before, n_after = counts(before), counts(after)
    n_load = counts(load.group_by("_source_file").len())
    n_q = counts(quarantined.group_by("_source_file").len())
    reasons: dict[str, dict[str, int]] = {}
    for path, why, n in quarantined.group_by("_source_file", "reason").len().iter_rows():
        reasons.setdefault(path, {})[why] = n
    reports = {}
    for d in accepted:
        path = d.lf.rel_path
        report = FileReport(
            source=spec.name,
            file_path=path,
            outcome="corrected" if d.replacing else "loaded",
            rows_read=read.rows_read.get(path, 0),
            rows_loaded=n_load.get(path, 0),
            rows_deduplicated=n_before.get(path, 0) - n_after.get(path, 0),
            rows_quarantined=n_q.get(path, 0),
            extra_columns=read.extra_columns.get(path, []),
            quarantine_reasons=reasons.get(path, {}),
            timings=dict(lap.times, batch_files=len(batch)),
        )
        total = report.rows_loaded + report.rows_deduplicated + report.rows_quarantined
        if total != report.rows_read:  # the accounting invariant; never write if it breaks
            raise RuntimeError(
                f"{path}: rows read {report.rows_read} != loaded {report.rows_loaded} + "
                f"deduplicated {report.rows_deduplicated} + quarantined "
                f"{report.rows_quarantined}"
            )
        reports[path] = report
    return reports, read.rejected, load, quarantined


def _exported_at(meta: dict[str, object]) -> datetime | None:
    value = meta.get("exported_at")
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


_MANIFEST_SCHEMA = {
    "source": pl.String, "file_path": pl.String, "file_name": pl.String,
    "content_hash": pl.String, "size_bytes": pl.Int64, "delivered_at": pl.Datetime("us"),
    "outcome": pl.String, "reason": pl.String, "detail": pl.String, "rows_read": pl.Int64,
    "rows_loaded": pl.Int64, "rows_deduplicated": pl.Int64, "rows_quarantined": pl.Int64,
    "extra_columns": pl.List(pl.String), "covers_day": pl.Date, "covers_month": pl.Date,
    "seconds": pl.Float64,
}


def _record_deliveries(
    con: duckdb.DuckDBPyConnection,
    items: list[tuple[LandingFile, str, FileReport]],
    run_id: str,
    now: datetime,
) -> None:
    """Append manifest rows (call inside the transaction that wrote the files' rows)."""
    if not items:
        return
    rows = pl.DataFrame(
        [
            {
                "source": r.source, "file_path": lf.rel_path, "file_name": lf.name,
                "content_hash": digest, "size_bytes": lf.size,
                "delivered_at": datetime.fromtimestamp(lf.mtime, UTC).replace(tzinfo=None),
                "outcome": r.outcome, "reason": r.reason, "detail": r.detail,
                "rows_read": r.rows_read, "rows_loaded": r.rows_loaded,
                "rows_deduplicated": r.rows_deduplicated, "rows_quarantined": r.rows_quarantined,
                "extra_columns": r.extra_columns, "covers_day": lf.day, "covers_month": lf.month,
                "seconds": r.seconds,
            }
            for lf, digest, r in items
        ],
        schema=_MANIFEST_SCHEMA,
    )
    con.register("_manifest_rows", rows.to_arrow())
    try:
        con.execute(
            "INSERT INTO meta.file_manifest BY NAME SELECT *, $now AS ingested_at, "
            "$run AS run_id FROM _manifest_rows",
            {"now": now, "run": run_id},
        )
    finally:
        con.unregister("_manifest_rows")


def _insert_quarantine(
    con: duckdb.DuckDBPyConnection, rows: pl.DataFrame, run_id: str, now: datetime
) -> None:
    """Rows with source, file_path, content_hash, line, field, value, reason, detail, record."""
    if rows.height == 0:
        return
    con.register("_q_rows", rows.to_arrow())
    try:
        con.execute(
            """INSERT INTO meta.quarantine (source, file_path, content_hash, line, field, value,
            reason, detail, record, quarantined_at, run_id)
            SELECT source, file_path, content_hash, line, field, value, reason, detail,
                CAST(record AS JSON), $now, $run FROM _q_rows""",
            {"now": now, "run": run_id},
        )
    finally:
        con.unregister("_q_rows")


def _delivery_state(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, tuple[str, bool]]:
    """Per file path of a source: (hash of its newest non-identical delivery, whether any
    delivery was accepted) — one query per source run, not one per file."""
    rows = con.execute(
        """SELECT file_path,
            arg_max(content_hash, manifest_id) FILTER (outcome <> 'identical_redelivery'),
            bool_or(outcome IN ('loaded', 'corrected'))
        FROM meta.file_manifest WHERE source = ? GROUP BY file_path""",
        [source],
    ).fetchall()
    return {path: (digest, bool(accepted)) for path, digest, accepted in rows}


def _ingest_batch(
    con: duckdb.DuckDBPyConnection,
    lookups: _Lookups,
    settings: Settings,
    spec: SourceSpec,
    batch: list[_Delivery],
    identical: list[tuple[LandingFile, str]],
    key: bytes,
    run_id: str,
    read: _BatchRead | None,
) -> list[FileReport]:
    """Process a batch and commit it: rows, key index, quarantine and manifest rows of all its
    files in ONE transaction (Parquet partitions are renamed into place just before)."""
    started = time.perf_counter()
    now = datetime.now(UTC).replace(tzinfo=None)
    reports: dict[str, FileReport] = {}
    rejected: dict[str, FileRejected] = {}
    load = pl.DataFrame(schema=spec.schema())
    quarantined = pl.DataFrame(schema=_Q_SCHEMA)
    if batch:
        assert read is not None  # _prepare decodes every non-empty batch
        reports, rejected, load, quarantined = _process(
            con, lookups, settings, spec, batch, key, read
        )
    by_path = {d.lf.rel_path: d for d in batch}
    written = time.perf_counter()
    if spec.target == "parquet":
        per_file = load.partition_by("_source_file", as_dict=True, maintain_order=False)
        empty = load.clear()
        parts = []
        for path in reports:
            lf = by_path[path].lf
            assert lf.day is not None
            parts.append((partition_path(settings.paths.raw, spec.name, lf.day),
                          per_file.get((path,), empty)))
        # one after the other: writing several at once gained nothing measurable on a busy
        # 2-core host, and a fixed write order keeps crash points reproducible
        for path, rows in parts:
            write_partition(path, rows)
    hashes = {d.lf.rel_path: d.content_hash for d in batch}
    qrows = quarantined.select(
        pl.lit(spec.name).alias("source"),
        pl.col("_source_file").alias("file_path"),
        pl.col("_source_file").replace_strict(hashes, default=None).alias("content_hash"),
        pl.col("_source_line").alias("line"),
        "field", "value", "reason",
        pl.lit(None, dtype=pl.String).alias("detail"),
        "record",
    )
    items: list[tuple[LandingFile, str, FileReport]] = []
    whole = []
    for path, rej in rejected.items():
        report = FileReport(spec.name, path, "rejected", rej.reason, rej.detail)
        report.quarantine_reasons = {rej.reason: 1}
        reports[path] = report
        whole.append({"source": spec.name, "file_path": path, "content_hash": hashes[path],
                      "line": None, "field": rej.field, "value": None, "reason": rej.reason,
                      "detail": rej.detail, "record": None})
    if whole:
        qrows = pl.concat([qrows, pl.DataFrame(whole, schema=qrows.schema)])
    elapsed = time.perf_counter() - started
    for d in batch:
        report = reports[d.lf.rel_path]
        report.seconds = elapsed / len(batch)  # amortised over the batch
        items.append((d.lf, d.content_hash, report))
    for lf, digest in identical:
        report = FileReport(spec.name, lf.rel_path, "identical_redelivery")
        items.append((lf, digest, report))
    accepted = [p for p in reports if p not in rejected]
    con.execute("BEGIN TRANSACTION")
    try:
        if accepted:
            con.register("_accepted", pl.DataFrame({"f": accepted}).to_arrow())
            if spec.target == "table":
                con.execute(f"DELETE FROM {spec.table} WHERE _source_file IN "
                            "(SELECT f FROM _accepted)")
                append_table_rows(con, spec.table, load)
            elif spec.dedup == "global":
                con.execute(f"DELETE FROM {keys_table(spec)} WHERE _source_file IN "
                            "(SELECT f FROM _accepted)")
                append_table_rows(con, keys_table(spec), load.select(*spec.key, "_source_file"))
            con.execute(
                "UPDATE meta.quarantine SET superseded_at = ? "
                "WHERE file_path IN (SELECT f FROM _accepted) AND superseded_at IS NULL",
                [now],
            )
            con.unregister("_accepted")
        _insert_quarantine(con, qrows, run_id, now)
        _record_deliveries(con, items, run_id, now)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    for report in reports.values():
        report.timings["write"] = time.perf_counter() - written
    out = [reports[d.lf.rel_path] for d in batch]
    return out + [r for _, _, r in items[len(batch):]]


# a batch is cut at `[ingest] batch_mb` of decompressed content or this many files: small files
# (a day of CRM activities) share one pass, large ones (a day of clicks at 100M) go alone
BATCH_FILES = 400


def _plan_batches(files: list[LandingFile], budget_bytes: int) -> list[list[LandingFile]]:
    """The files, in order, cut into batches of at most ``budget_bytes`` of decompressed
    content (a single larger file is a batch of its own).

    By content, not by size on disk: decoding, validation and the read-ahead hold the text and
    its columns, so memory follows the content (a gzip JSON file expands about 4.5x, a click
    CSV 4x). Measured at the 100M daily volume (benchmarks/notes.md), peak RSS and wall time:

    | budget | 60 days of conversions | 20 days of clicks |
    |---|---|---|
    | 64 MiB on disk (before) | 2,353 MiB, 10.2 s | 1,753 MiB, 6.6 s |
    | 128 MiB of content | 1,953 MiB, 10.5 s | 1,216 MiB, 6.4 s |
    | 64 MiB of content (default) | 1,209 MiB, 10.7 s | 927 MiB, 6.1-6.9 s |
    """
    groups: list[list[LandingFile]] = []
    size = 0
    for lf in files:
        n = content_size(lf.path)
        if groups and size + n <= budget_bytes and len(groups[-1]) < BATCH_FILES:
            groups[-1].append(lf)
            size += n
        else:
            groups.append([lf])
            size = n
    return groups


def _prepare(
    spec: SourceSpec,
    files: list[LandingFile],
    state: dict[str, tuple[str, bool]],
    key: bytes,
    n_workers: int,
) -> tuple[list[_Delivery], list[tuple[LandingFile, str]], _BatchRead | None]:
    """Read a batch's files, tell identical re-deliveries (same name and content hash as the
    accepted one, reading 9) from new content, and decode the new ones. Side-effect free, so
    it runs ahead of the batch before it."""
    batch: list[_Delivery] = []
    identical: list[tuple[LandingFile, str]] = []
    for lf in files:
        data = lf.path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        previous = state.get(lf.rel_path)
        if previous is not None and previous[0] == digest:
            identical.append((lf, digest))
        else:
            batch.append(_Delivery(lf, data, digest, previous is not None and previous[1]))
    if not batch:
        return batch, identical, None
    started = time.perf_counter()
    read = _read_batch(spec, batch, key, n_workers)
    read.seconds = time.perf_counter() - started
    return batch, identical, read


# --------------------------------------------------------------------------- release


def release_quarantined(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    spec: SourceSpec,
    run_id: str,
    lookups: _Lookups | None = None,
) -> int:
    """Load rows held for ``unknown_id`` / ``no_fx_rate`` whose id or rate is now known.

    Idempotent: a Parquet partition is rebuilt from its rows *minus* the released lines *plus*
    the released rows before the quarantine rows are marked, so a crash in between and a rerun
    never duplicate a row.
    """
    lookups = lookups or _Lookups(con)
    schema = spec.schema()
    structure = json_structure(schema)
    cand = pl.from_arrow(
        con.sql(
            f"""SELECT quarantine_id AS _qid, file_path AS _qfile,
                unnest(from_json(record, '{structure}'))
            FROM meta.quarantine
            WHERE source = $s AND released_at IS NULL AND superseded_at IS NULL
              AND reason IN {RETRYABLE!r}""",
            params={"s": spec.name},
        ).to_arrow_table()
    )
    assert isinstance(cand, pl.DataFrame)
    if cand.height == 0:
        return 0
    cand = cand.with_columns([pl.col(n).cast(t) for n, t in schema.items()])
    checked = _retryable_failures(lookups, spec, cand, settings.network.timezone)
    ok = checked.filter(pl.col("_reason").is_null())
    if ok.height == 0:
        return 0
    now = datetime.now(UTC).replace(tzinfo=None)
    if spec.target == "parquet":
        for (file_path,), group in ok.group_by("_qfile"):
            day = date.fromisoformat(str(file_path).rsplit("_", 1)[1][:10])
            path = partition_path(settings.paths.raw, spec.name, day)
            current = read_partition(path)
            rows = group.select(list(schema))
            if current is not None:
                current = current.join(rows.select("_source_line"), on="_source_line", how="anti")
                rows = pl.concat([current.select(list(schema)), rows])
            write_partition(path, rows)
    con.execute("BEGIN TRANSACTION")
    try:
        if spec.target == "table":
            for (file_path,), group in ok.group_by("_qfile"):
                lines = group["_source_line"].to_list()
                con.execute(
                    f"DELETE FROM {spec.table} WHERE _source_file = ? AND _source_line IN "
                    f"(SELECT unnest(?::BIGINT[]))",
                    [file_path, lines],
                )
            append_table_rows(con, spec.table, ok.select(list(schema)))
        elif spec.dedup == "global":  # same transaction as released_at: never twice
            append_table_rows(con, keys_table(spec), ok.select(*spec.key, "_source_file"))
        con.register("_released", ok.select("_qid").to_arrow())
        con.execute(
            "UPDATE meta.quarantine SET released_at = ?, released_run_id = ? "
            "WHERE quarantine_id IN (SELECT _qid FROM _released)",
            [now, run_id],
        )
        con.unregister("_released")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return ok.height


# --------------------------------------------------------------------------- entry points


def _record_strays(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    run_id: str,
    folders: list[str] | None,
) -> list[str]:
    """Record files whose names match no pattern (once per name and content)."""
    patterns = {name: s.pattern for name, s in SOURCES.items()}
    out = []
    for owner, path in stray_files(settings.paths.landing, patterns, folders):
        rel = path.relative_to(settings.paths.landing).as_posix()
        out.append(rel)
        st = path.stat()
        lf = LandingFile(owner, path, rel, None, None, st.st_size, st.st_mtime)
        digest = lf.sha256
        previous = last_delivery(con, rel)
        if previous is not None and previous[0] == digest:
            continue
        now = datetime.now(UTC).replace(tzinfo=None)
        detail = (
            f"file name {path.name!r} matches no source pattern in docs/sources.md; "
            "rename it or remove it from the landing folder"
        )
        report = FileReport(owner, rel, "rejected", "stray_file", detail)
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                "INSERT INTO meta.quarantine (source, file_path, content_hash, reason, detail, "
                "quarantined_at, run_id) VALUES (?, ?, ?, 'stray_file', ?, ?, ?)",
                [owner, rel, digest, detail, now, run_id],
            )
            _record_deliveries(con, [(lf, digest, report)], run_id, now)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return out


def _ingest(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    source: str,
    days: list[date] | None,
    run_id: str,
    key: bytes,
) -> SourceReport:
    started = time.perf_counter()
    spec = SOURCES[source]
    report = SourceReport(source)
    files = landing_files(settings, source)
    if days is not None and spec.pattern.cadence == "day" and spec.target == "parquet":
        wanted = set(days)
        files = [f for f in files if f.day in wanted]
    lookups = _Lookups(con)
    state = _delivery_state(con, source)
    groups = _plan_batches(files, settings.ingest.batch_mb << 20)
    # Read ahead: while a batch is validated, deduplicated, written and committed here, the
    # next one is read from disk and decoded on a worker thread (reading has no side effect,
    # so commits, their order and crash points are exactly as without it). One batch ahead
    # at most: memory holds two decoded batches, never the landing folder.
    n_workers = workers(settings)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead") as ahead:
        current = None
        for group in [*groups, None]:
            upcoming = group and ahead.submit(_prepare, spec, group, state, key, n_workers)
            if current is not None:
                batch, identical, read = current.result()
                report.files.extend(_ingest_batch(
                    con, lookups, settings, spec, batch, identical, key, run_id, read))
            current = upcoming
    order = {lf.rel_path: i for i, lf in enumerate(files)}
    report.files.sort(key=lambda f: order.get(f.file_path, len(order)))
    report.released = release_quarantined(con, settings, spec, run_id, lookups)
    if spec.target == "table":  # after every commit of the source: the file follows the table
        report.exported = export_table(con, settings.paths.raw, spec.table)
    report.stray_files = _record_strays(con, settings, run_id, [spec.pattern.folder])
    report.seconds = time.perf_counter() - started
    return report


def _new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def ingest_source(
    settings: Settings,
    source: str,
    *,
    days: list[date] | None = None,
    run_id: str | None = None,
) -> SourceReport:
    """Ingest every new or changed file of ``source`` (for clicks / conversions only the
    given UTC ``days`` when given), then release held rows whose id or rate is now known."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; known: {', '.join(ORDER)}")
    key = hash_key()
    con = connect(settings)
    try:
        ensure_schema(con)
        return _ingest(con, settings, source, days, run_id or _new_run_id(), key)
    finally:
        con.close()


def ingest_all(settings: Settings, *, run_id: str | None = None) -> list[SourceReport]:
    """All sources in dependency order (snapshots, then fx, then facts), plus stray files."""
    key = hash_key()
    run_id = run_id or _new_run_id()
    con = connect(settings)
    try:
        ensure_schema(con)
        reports = [_ingest(con, settings, s, None, run_id, key) for s in ORDER]
        _record_strays(con, settings, run_id, None)
        return reports
    finally:
        con.close()
