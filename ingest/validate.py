"""Typing and validating string columns, vectorised, with one named reason per bad row.

A :class:`Field` says what a contract field must look like. :func:`validate` turns the string
columns a reader produced into typed output columns and finds, for every row, the *first*
failing check (fields in contract order; within a field: missing, type, parse, enum, negative,
future). Rows that fail carry ``reason``/``field``/``value``; the rest are clean. All of it is
Polars expressions over whole columns: no Python loop over rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

INT_TYPES = ("BIGINT", "UBIGINT")
NUM_TYPES = ("BIGINT", "UBIGINT", "DOUBLE")
TS_ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # the contract's ISO timestamps, always UTC
_RU_NUM_RE = r"^-?[0-9]+(,[0-9]+)?$"
_MAX_UNIX = 4_102_444_800  # 2100-01-01: a larger "Unix seconds" value is not a timestamp


@dataclass(frozen=True)
class Field:
    """One contract field. ``kind`` is one of: str, int, number, money (number ≥ 0),
    money_ru (decimal comma, ≥ 0), rate_ru (decimal comma, > 0), ts_iso, ts_unix, date_iso,
    date_ru, enum, bool01, bool, list (JSON array of strings), pipe_list, pii."""

    name: str  # output column (pii: the ``*_hash`` column)
    src: str  # header name or JSON key
    kind: str
    nullable: bool = False
    values: tuple[str, ...] = ()  # allowed values (enum; list elements)
    pattern: str | None = None  # extra full-match regex for str fields (invalid_format)
    future: bool = False  # a value after the end of the file's period is future_timestamp
    small: bool = False  # int stored as INTEGER (32-bit) rather than BIGINT


def _dtype(f: Field) -> pl.DataType:
    if f.kind == "int" and f.small:
        return pl.Int32()
    return {
        "str": pl.String(),
        "int": pl.Int64(),
        "number": pl.Float64(),
        "money": pl.Float64(),
        "money_ru": pl.Float64(),
        "rate_ru": pl.Float64(),
        "ts_iso": pl.Datetime("us"),
        "ts_unix": pl.Datetime("us"),
        "date_iso": pl.Date(),
        "date_ru": pl.Date(),
        "enum": pl.String(),
        "bool01": pl.Boolean(),
        "bool": pl.Boolean(),
        "list": pl.List(pl.String),
        "pipe_list": pl.List(pl.String),
        "pii": pl.String(),
    }[f.kind]


def output_schema(fields: list[Field]) -> dict[str, pl.DataType]:
    return {f.name: _dtype(f) for f in fields}


def _checks(
    f: Field, json_types: bool, period_end: datetime | str | None
) -> tuple[pl.Expr, list[tuple[pl.Expr, str]]]:
    """(typed expression, [(failure condition, reason), ...]) for one field."""
    raw = pl.col(f.src)
    t = pl.col(f"{f.src}__t") if json_types else None
    checks: list[tuple[pl.Expr, str]] = []
    # values are taken exactly as delivered (no trimming): " 12" is not the integer 12
    empty = raw.is_null() if f.kind == "list" else (raw.is_null() | (raw == ""))
    if not f.nullable:
        checks.append((empty, "missing_value"))
    present = ~empty
    s = raw

    if json_types and t is not None:
        wrong = None
        if f.kind in ("int", "ts_unix"):
            wrong = ~t.is_in(INT_TYPES)
            reason = "unparsable_number" if f.kind == "int" else "unparsable_date"
        elif f.kind in ("number", "money"):
            wrong = ~t.is_in(NUM_TYPES)
            reason = "unparsable_number"
        elif f.kind == "bool":
            wrong = t != "BOOLEAN"
            reason = "unknown_enum"
        elif f.kind in ("ts_iso", "date_iso", "enum"):
            wrong = t != "VARCHAR"
            reason = "unparsable_date" if f.kind != "enum" else "unknown_enum"
        if wrong is not None:
            checks.append((present & wrong, reason))

    if f.kind == "int" or f.kind == "ts_unix":
        num = s.cast(pl.Int64, strict=False)
        bad = present & num.is_null()
        if f.kind == "int":
            checks.append((bad, "unparsable_number"))
            typed = num
        else:
            checks.append((bad | (present & ((num < 0) | (num > _MAX_UNIX))), "unparsable_date"))
            typed = pl.from_epoch(num.clip(0, _MAX_UNIX), time_unit="s").cast(pl.Datetime("us"))
    elif f.kind in ("number", "money"):
        num = s.cast(pl.Float64, strict=False)
        checks.append((present & (num.is_null() | ~num.is_finite()), "unparsable_number"))
        if f.kind == "money":
            checks.append((present & (num < 0), "negative_amount"))
        typed = num
    elif f.kind in ("money_ru", "rate_ru"):
        compact = s.str.replace_all("[ \u00a0\u202f]", "")
        num = pl.when(compact.str.contains(_RU_NUM_RE)).then(
            compact.str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
        )
        checks.append((present & num.is_null(), "unparsable_number"))
        checks.append((present & (num < 0), "negative_amount"))
        if f.kind == "rate_ru":
            checks.append((present & (num == 0), "unparsable_number"))
        typed = num
    elif f.kind == "ts_iso":
        ts = s.str.to_datetime(TS_ISO_FORMAT, strict=False, time_unit="us")
        checks.append((present & ts.is_null(), "unparsable_date"))
        typed = ts
    elif f.kind in ("date_iso", "date_ru"):
        fmt, rx = (
            ("%Y-%m-%d", r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
            if f.kind == "date_iso"
            else ("%d.%m.%Y", r"^[0-9]{2}\.[0-9]{2}\.[0-9]{4}$")
        )
        d = pl.when(s.str.contains(rx)).then(s.str.to_date(fmt, strict=False))
        checks.append((present & d.is_null(), "unparsable_date"))
        typed = d
    elif f.kind == "enum":
        checks.append((present & ~s.is_in(list(f.values)), "unknown_enum"))
        typed = s
    elif f.kind == "bool01":
        checks.append((present & ~s.is_in(["0", "1"]), "unknown_enum"))
        typed = s == "1"
    elif f.kind == "bool":
        checks.append((present & ~s.is_in(["true", "false"]), "unknown_enum"))
        typed = s == "true"
    elif f.kind == "list":
        if f.values:
            checks.append(
                (present & ~raw.list.eval(pl.element().is_in(list(f.values))).list.all(),
                 "unknown_enum")
            )
        typed = raw
    elif f.kind == "pipe_list":
        parts = pl.when(present).then(s.str.split("|"))
        parts = pl.when(present).then(parts).otherwise(pl.lit([], dtype=pl.List(pl.String)))
        if f.values:
            checks.append(
                (present & ~parts.list.eval(pl.element().is_in(list(f.values))).list.all(),
                 "unknown_enum")
            )
        typed = parts
    elif f.kind == "pii":
        typed = raw  # hashed after validation, with the whole column at once
    else:  # str
        if f.pattern:
            checks.append((present & ~raw.str.contains(f"^(?:{f.pattern})$"), "invalid_format"))
        typed = pl.when(present).then(raw)

    if f.future and period_end is not None and f.kind in ("ts_iso", "ts_unix", "date_ru"):
        if isinstance(period_end, str):  # a column: each row's own file period
            limit = pl.col(period_end)
            limit = limit if f.kind != "date_ru" else limit.dt.date()
        else:
            limit = pl.lit(period_end) if f.kind != "date_ru" else pl.lit(period_end.date())
        cmp = typed >= limit
        checks.append((present & cmp.fill_null(False), "future_timestamp"))
    if f.kind not in ("list", "pipe_list", "bool01", "bool"):
        typed = pl.when(present).then(typed)
    return typed.cast(_dtype(f)).alias(f.name), checks


def validate(
    frame: pl.DataFrame,
    fields: list[Field],
    *,
    json_types: bool,
    period_end: datetime | str | None,
    carry: tuple[str, ...] = (),
) -> pl.DataFrame:
    """``_source_line``, the typed output columns, and ``_reason``, ``_field``, ``_value``
    (null for clean rows). Row order is not kept: callers sort by ``_source_line`` if needed.

    ``period_end`` is the exclusive end (UTC) of the day or month the file covers, or the name
    of a column holding it per row (a batch of files); a timestamp at or after it is in the
    future for that file (reading 7). ``carry`` columns pass through unchanged.

    Two passes keep it fast: all rows get typed columns and one "any check failed" flag in
    one lazy query (a timestamp parsed for its check and for its typed value is parsed once:
    common subexpressions are shared); only the failing rows, normally few, get the first
    failing check's reason, field and raw value.
    """
    typed_exprs = []
    failures: list[tuple[pl.Expr, str, str]] = []
    for f in fields:
        typed, checks = _checks(f, json_types, period_end)
        typed_exprs.append(typed)
        failures += [(cond, reason, f.src) for cond, reason in checks]
    any_fail = pl.any_horizontal([cond.fill_null(False) for cond, _, _ in failures])
    typed_all = (
        frame.lazy()
        .select(pl.col("_source_line"), *[pl.col(c) for c in carry], *typed_exprs,
                any_fail.alias("_bad"))
        .collect()
    )
    bad_mask = typed_all["_bad"]
    n_bad = int(bad_mask.sum())
    good = typed_all.filter(~pl.col("_bad")).drop("_bad").with_columns(
        pl.lit(None, dtype=pl.String).alias("_reason"),
        pl.lit(None, dtype=pl.String).alias("_field"),
        pl.lit(None, dtype=pl.String).alias("_value"),
    )
    if n_bad == 0:
        return good
    raw_bad = frame.filter(bad_mask)
    reason = field = value = pl.lit(None, dtype=pl.String)
    for cond, why, src in reversed(failures):
        is_list = raw_bad.schema[src] == pl.List(pl.String)
        raw_value = pl.col(src).list.join("|") if is_list else pl.col(src).cast(pl.String)
        hit = cond.fill_null(False)
        reason = pl.when(hit).then(pl.lit(why)).otherwise(reason)
        field = pl.when(hit).then(pl.lit(src)).otherwise(field)
        value = pl.when(hit).then(raw_value).otherwise(value)
    details = raw_bad.select(
        reason.alias("_reason"), field.alias("_field"), value.alias("_value")
    )
    bad = typed_all.filter(pl.col("_bad")).drop("_bad").hstack(details)
    return pl.concat([good, bad])
