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
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import ClassVar

import duckdb
import polars as pl

from ingest.landing import LandingFile, discover, stray_files
from ingest.manifest import (
    RETRYABLE,
    ensure_schema,
    has_accepted_delivery,
    json_structure,
    last_delivery,
)
from ingest.pii import hash_series
from ingest.readers import BAD_SCHEMA, FileRejected, ReadResult
from ingest.readers.delimited import read_delimited
from ingest.readers.jsonl import document_records, read_json_records
from ingest.readers.text import decode_billing, decode_utf8, gunzip, split_lines
from ingest.settings import Settings, hash_key
from ingest.sources import ORDER, SOURCES, SourceSpec
from ingest.store import (
    append_table_rows,
    partition_path,
    read_partition,
    replace_table_rows,
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


def _read(spec: SourceSpec, data: bytes, key: bytes) -> ReadResult:
    """Decode and split one file by its format; FileRejected if it is unusable as a whole."""

    def hasher(s: pl.Series) -> pl.Series:
        return hash_series(s, key)

    if spec.fmt.endswith(".gz"):
        data = gunzip(data)
    if not data:
        raise FileRejected("unreadable_file", "the file is empty (0 bytes of content)")
    expected = [f.src for f in spec.fields]
    if spec.fmt in ("csv", "csv.gz", "billing"):
        if spec.fmt == "billing":
            text, _encoding = decode_billing(data)
            payload, sep = text.encode("utf-8"), ";"
        else:
            # UTF-8 is validated by the CSV parser; a bad byte rejects the file with its offset
            payload = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
            sep = ","
        return read_delimited(
            payload, sep=sep, expected=expected, required=expected, raw_line_hash=hasher
        )
    text = decode_utf8(data)
    meta: dict[str, object] = {}
    if spec.fmt == "json":
        assert spec.array_key
        lines, meta = document_records(text, spec.array_key)
    else:
        lines = split_lines(text)
    result = read_json_records(
        lines,
        expected=expected,
        required=expected,
        list_fields=[f.src for f in spec.fields if f.kind == "list"],
        extra_sql=spec.extra_sql,
        raw_line_hash=hasher,
    )
    result.extra_columns = [c for c in result.extra_columns if c not in spec.consumed_keys]
    result.meta = meta
    return result


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


def _repeated_keys(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    spec: SourceSpec,
    lf: LandingFile,
    rows: pl.DataFrame,
) -> pl.DataFrame | None:
    """The natural keys of ``rows`` already loaded from *other* files (reading 4).

    Tables and conversion events (``global``) are probed in DuckDB with the file's keys (a
    semi join against the raw table or the ``meta.<source>_keys`` index), so the cost follows
    the file, not the history. Clicks (``neighbours``) read the ``click_id`` column of the
    partitions of the days before and after.
    """
    keys = list(spec.key)
    if rows.height == 0:
        return None
    if spec.dedup == "global":
        target = spec.table if spec.target == "table" else keys_table(spec)
        cond = " AND ".join(f'k."{c}" = t."{c}"' for c in keys)
        with_keys = rows.select(keys).unique()
        con.register("_cand_keys", with_keys.to_arrow())
        try:
            found = pl.from_arrow(
                con.sql(
                    f"SELECT k.* FROM _cand_keys k WHERE EXISTS (SELECT 1 FROM {target} t "
                    f"WHERE {cond} AND t._source_file <> $f)",
                    params={"f": lf.rel_path},
                ).to_arrow_table()
            )
        finally:
            con.unregister("_cand_keys")
        assert isinstance(found, pl.DataFrame)
        return found.cast(dict(rows.select(keys).schema))
    if spec.dedup == "neighbours":
        assert lf.day is not None
        days = [lf.day - timedelta(days=1), lf.day + timedelta(days=1)]
        frames = [read_partition(partition_path(settings.paths.raw, spec.name, d), keys)
                  for d in days]
        frames = [f for f in frames if f is not None and f.height]
        return pl.concat(frames).unique() if frames else None
    return None


def keys_table(spec: SourceSpec) -> str:
    """The key index of a Parquet dataset deduplicated across all files."""
    return f"meta.{spec.name}_keys"


# --------------------------------------------------------------------------- one file


def _quarantine_frame(
    spec: SourceSpec, lf: LandingFile, content_hash: str, rows: pl.DataFrame
) -> pl.DataFrame:
    """Rows with columns line, field, value, reason, record → meta.quarantine layout."""
    return rows.select(
        pl.lit(spec.name).alias("source"),
        pl.lit(lf.rel_path).alias("file_path"),
        pl.lit(content_hash).alias("content_hash"),
        pl.col("_source_line").alias("line"),
        pl.col("field"),
        pl.col("value"),
        pl.col("reason"),
        pl.col("record"),
    )


def _process(
    con: duckdb.DuckDBPyConnection,
    lookups: _Lookups,
    settings: Settings,
    spec: SourceSpec,
    lf: LandingFile,
    data: bytes,
    key: bytes,
) -> tuple[FileReport, pl.DataFrame, pl.DataFrame]:
    """(report, rows to load, quarantine rows) for one delivery; FileRejected if unusable."""
    lap = _Laps()
    read = _read(spec, data, key)
    lap("read")
    if spec.snapshot and read.rows_read == 0:
        raise FileRejected(
            "empty_snapshot",
            "a snapshot with no records cannot be the newest truth; the previous one stays",
        )
    raw = read.frame
    # personal data: hashed before anything else sees it (valid rows load the hash, bad rows
    # quarantine it); one vectorised pass per column
    for f in spec.fields:
        if f.kind == "pii":
            raw = raw.with_columns(hash_series(raw[f.src], key).alias(f.src))
    lap("hash")
    checked = validate(
        raw, spec.fields, json_types=spec.fmt.startswith("json"), period_end=_period_end(lf)
    )
    lap("validate")
    if spec.extra_sql:
        checked = checked.join(
            raw.select("_source_line", *spec.extra_sql), on="_source_line", how="left"
        )

    bad_mask = checked["_reason"].is_not_null()
    invalid = checked.filter(bad_mask).sort("_source_line")
    valid = checked.filter(~bad_mask)
    invalid_records = pl.Series("record", [], dtype=pl.String)
    if invalid.height:
        invalid_raw = invalid.select("_source_line").join(raw, on="_source_line", how="left")
        invalid_records = _json_records(
            invalid_raw.select(
                [pl.col(f.src).alias(f.name if f.kind == "pii" else f.src) for f in spec.fields]
            )
        )

    # period + lineage columns
    lineage = [pl.lit(lf.rel_path).alias("_source_file")]
    if spec.period_column == "snapshot_date":
        lineage.append(pl.lit(lf.day).alias("snapshot_date"))
    elif spec.period_column == "file_month":
        lineage.append(pl.lit(lf.month).alias("file_month"))
    if "exported_at" in spec.extra_schema:
        exported = read.meta.get("exported_at")
        parsed = None
        if isinstance(exported, str):
            try:
                parsed = datetime.fromisoformat(exported.replace("Z", "+00:00"))
                parsed = parsed.astimezone(UTC).replace(tzinfo=None)
            except ValueError:
                parsed = None
        lineage.append(pl.lit(parsed, dtype=pl.Datetime("us")).alias("exported_at"))
    valid = valid.with_columns(lineage)
    if spec.post is not None:
        valid = spec.post(valid, key)
    lap("lineage")

    # deduplicate: within the file (first line wins), then against other files' keys
    dedup_keys = list(spec.key) if spec.dedup != "exact_file" else [
        n for n in spec.schema() if n not in ("_source_file", "_source_line")
    ]
    n_valid = valid.height
    if dedup_keys and n_valid:
        # valid rows are in line order (validate keeps clean rows in order): first line wins
        distinct = (
            valid[dedup_keys[0]].n_unique()
            if len(dedup_keys) == 1
            else valid.select(pl.struct(dedup_keys).n_unique()).item()
        )
        if distinct != n_valid:
            valid = valid.unique(subset=dedup_keys, keep="first", maintain_order=True)
        lap("dedup_file")
        existing = _repeated_keys(con, settings, spec, lf, valid)
        if existing is not None and existing.height:
            valid = valid.join(existing, on=list(spec.key), how="anti", nulls_equal=False)
        lap("dedup_cross_file")
    n_dedup = n_valid - valid.height

    # ids and FX rates last: these rows are complete and can be released later
    retry = _retryable_failures(lookups, spec, valid, settings.network.timezone)
    held_mask = retry["_reason"].is_not_null()
    held = retry.filter(held_mask)
    schema = spec.schema()
    load = retry.filter(~held_mask).select(list(schema))
    lap("ids_fx")

    quarantine_parts = []
    if read.bad.height:
        quarantine_parts.append(read.bad)
    if invalid.height:
        quarantine_parts.append(
            invalid.select(
                "_source_line",
                pl.col("_reason").alias("reason"),
                pl.col("_field").alias("field"),
                pl.col("_value").alias("value"),
            ).with_columns(invalid_records.alias("record"))
        )
    if held.height:
        quarantine_parts.append(
            held.select(
                "_source_line",
                pl.col("_reason").alias("reason"),
                pl.col("_field").alias("field"),
                pl.col("_value").alias("value"),
            ).with_columns(_json_records(held.select(list(schema))).alias("record"))
        )
    quarantined = (
        pl.concat([q.select(list(BAD_SCHEMA)) for q in quarantine_parts])
        if quarantine_parts
        else pl.DataFrame(schema=BAD_SCHEMA)
    )
    report = FileReport(
        source=spec.name,
        file_path=lf.rel_path,
        outcome="loaded",
        rows_read=read.rows_read,
        rows_loaded=load.height,
        rows_deduplicated=n_dedup,
        rows_quarantined=quarantined.height,
        extra_columns=read.extra_columns,
        quarantine_reasons=dict(quarantined.group_by("reason").len().iter_rows()),
    )
    lap("quarantine_records")
    report.timings = lap.times
    total = report.rows_loaded + report.rows_deduplicated + report.rows_quarantined
    if total != report.rows_read:  # the accounting invariant; never write a file that breaks it
        raise RuntimeError(
            f"{lf.rel_path}: rows read {report.rows_read} != loaded {report.rows_loaded} + "
            f"deduplicated {report.rows_deduplicated} + quarantined {report.rows_quarantined}"
        )
    return report, load, quarantined


def _record_delivery(
    con: duckdb.DuckDBPyConnection,
    lf: LandingFile,
    content_hash: str,
    report: FileReport,
    run_id: str,
    now: datetime,
) -> None:
    con.execute(
        """INSERT INTO meta.file_manifest (source, file_path, file_name, content_hash,
        size_bytes, delivered_at, ingested_at, run_id, outcome, reason, detail, rows_read,
        rows_loaded, rows_deduplicated, rows_quarantined, extra_columns, covers_day,
        covers_month, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            report.source, lf.rel_path, lf.name, content_hash, lf.size,
            datetime.fromtimestamp(lf.mtime, UTC).replace(tzinfo=None), now, run_id,
            report.outcome, report.reason, report.detail, report.rows_read, report.rows_loaded,
            report.rows_deduplicated, report.rows_quarantined, report.extra_columns,
            lf.day, lf.month, report.seconds,
        ],
    )


def _insert_quarantine(
    con: duckdb.DuckDBPyConnection, rows: pl.DataFrame, run_id: str, now: datetime
) -> None:
    if rows.height == 0:
        return
    con.register("_q_rows", rows.to_arrow())
    try:
        con.execute(
            """INSERT INTO meta.quarantine (source, file_path, content_hash, line, field, value,
            reason, detail, record, quarantined_at, run_id)
            SELECT source, file_path, content_hash, line, field, value, reason, NULL,
                CAST(record AS JSON), $now, $run FROM _q_rows""",
            {"now": now, "run": run_id},
        )
    finally:
        con.unregister("_q_rows")


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    spec: SourceSpec,
    lf: LandingFile,
    key: bytes,
    run_id: str,
    lookups: _Lookups | None = None,
) -> FileReport:
    """Ingest one delivery of one file (see the module docstring); returns what happened."""
    started = time.perf_counter()
    lookups = lookups or _Lookups(con)
    data = lf.path.read_bytes()

    content_hash = hashlib.sha256(data).hexdigest()
    now = datetime.now(UTC).replace(tzinfo=None)
    previous = last_delivery(con, lf.rel_path)
    if previous is not None and previous[0] == content_hash:
        report = FileReport(spec.name, lf.rel_path, "identical_redelivery")
        report.seconds = time.perf_counter() - started
        _record_delivery(con, lf, content_hash, report, run_id, now)
        return report
    replacing = has_accepted_delivery(con, lf.rel_path)
    try:
        report, load, quarantined = _process(con, lookups, settings, spec, lf, data, key)
    except FileRejected as rej:
        # a rejected delivery keeps what an earlier good delivery of the name loaded
        report = FileReport(spec.name, lf.rel_path, "rejected", rej.reason, rej.detail)
        report.quarantine_reasons = {rej.reason: 1}
        report.seconds = time.perf_counter() - started
        qrow = pl.DataFrame(
            {
                "source": [spec.name], "file_path": [lf.rel_path], "content_hash": [content_hash],
                "line": [None], "field": [rej.field], "value": [None], "reason": [rej.reason],
                "record": [json.dumps({"detail": rej.detail})],
            },
            schema={"source": pl.String, "file_path": pl.String, "content_hash": pl.String,
                    "line": pl.Int64, "field": pl.String, "value": pl.String,
                    "reason": pl.String, "record": pl.String},
        )
        con.execute("BEGIN TRANSACTION")
        try:
            _insert_quarantine(con, qrow, run_id, now)
            _record_delivery(con, lf, content_hash, report, run_id, now)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return report
    if replacing:
        report.outcome = "corrected"
    qrows = _quarantine_frame(spec, lf, content_hash, quarantined)
    written = time.perf_counter()
    if spec.target == "parquet":
        assert lf.day is not None
        write_partition(partition_path(settings.paths.raw, spec.name, lf.day), load)
    report.seconds = time.perf_counter() - started
    con.execute("BEGIN TRANSACTION")
    try:
        if spec.target == "table":
            replace_table_rows(con, spec.table, lf.rel_path, load)
        elif spec.dedup == "global":
            con.execute(f"DELETE FROM {keys_table(spec)} WHERE _source_file = ?", [lf.rel_path])
            append_table_rows(con, keys_table(spec), load.select(*spec.key, "_source_file"))
        con.execute(
            "UPDATE meta.quarantine SET superseded_at = ? "
            "WHERE file_path = ? AND superseded_at IS NULL",
            [now, lf.rel_path],
        )
        _insert_quarantine(con, qrows, run_id, now)
        _record_delivery(con, lf, content_hash, report, run_id, now)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    report.timings["write"] = time.perf_counter() - written
    report.seconds = time.perf_counter() - started
    return report


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
            _record_delivery(con, lf, digest, report, run_id, now)
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
    for lf in files:
        report.files.append(ingest_file(con, settings, spec, lf, key, run_id, lookups))
    report.released = release_quarantined(con, settings, spec, run_id, lookups)
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
