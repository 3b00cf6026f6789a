"""Delimited text (RFC 4180 quoting) into string columns found by header name.

Field counting and quote balance are checked per line with vectorised regexes before parsing,
so a ragged line is reported with its exact line number instead of shifting or truncating
values silently. Lines that pass are parsed by Polars' CSV reader (all columns as strings).
A quoted field spanning lines is not part of any contract here and counts as a bad line.
"""

from __future__ import annotations

import csv
import json

import polars as pl

from ingest.readers import BAD_SCHEMA, FileRejected, ReadResult, empty_bad

_QUOTED = r'"(?:[^"]|"")*"'


def parse_header(line: str, sep: str) -> list[str]:
    """Header names, trimmed (reading 10: ``a, b`` and ``a,b`` name the same columns)."""
    return [name.strip() for name in next(csv.reader([line], delimiter=sep))]


def read_delimited(
    text: str,
    *,
    sep: str,
    expected: list[str],
    required: list[str],
    raw_line_hash,
) -> ReadResult:
    """Read ``text`` (decoded, header first) into the ``expected`` columns.

    ``required`` columns missing from the header reject the file (``missing_column``);
    optional ones missing are null; unknown columns are reported as ``extra_columns``.
    ``raw_line_hash`` hashes a bad line for the quarantine record (it may hold personal data).
    """
    from ingest.readers.text import split_lines

    lines = split_lines(text)
    if lines.height == 0 or lines["_text"][0].strip() == "":
        raise FileRejected("unreadable_file", "the file is empty: no header line")
    header = parse_header(lines["_text"][0], sep)
    missing = [c for c in required if c not in header]
    if missing:
        raise FileRejected(
            "missing_column",
            f"required column(s) {', '.join(repr(c) for c in missing)} not in the header "
            f"{header!r}",
            field=missing[0],
        )
    seen: set[str] = set()
    positional = []
    for i, name in enumerate(header):
        positional.append(name if name not in seen else f"{name}__dup{i}")
        seen.add(name)
    extra = [n for n in positional if n not in expected]

    body = lines.slice(1)
    blank = body["_text"] == ""
    body = body.filter(~blank)
    rows_read = body.height
    stripped = pl.col("_text").str.replace_all(_QUOTED, "")
    checked = body.with_columns(
        (stripped.str.count_matches(sep, literal=True) + 1).alias("_n"),
        stripped.str.contains('"', literal=True).alias("_unbalanced"),
    )
    bad_mask = (pl.col("_n") != len(header)) | pl.col("_unbalanced")
    bad_lines = checked.filter(bad_mask)
    good = checked.filter(~bad_mask).select("_source_line", "_text")

    if good.height == 0:
        schema = {"_source_line": pl.Int64, **{c: pl.String for c in positional}}
        frame = pl.DataFrame(schema=schema)
    else:
        if bad_lines.height == 0 and not bool(blank.any()) and "\r" not in text:
            payload = text.encode("utf-8")
        else:
            payload = (
                lines["_text"][0] + "\n" + good["_text"].str.join("\n").item() + "\n"
            ).encode("utf-8")
        frame = pl.read_csv(
            payload,
            has_header=True,
            new_columns=positional,
            infer_schema=False,
            separator=sep,
            quote_char='"',
            raise_if_empty=False,
        )
        if frame.height != good.height:  # cannot happen for balanced single-line records
            raise FileRejected(
                "unreadable_file",
                f"CSV parser found {frame.height} records in {good.height} well-formed lines",
            )
        frame = frame.with_columns(good["_source_line"])
    for name in expected:
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    frame = frame.select("_source_line", *expected)

    bad = empty_bad()
    if bad_lines.height:
        bad = pl.DataFrame(
            {
                "_source_line": bad_lines["_source_line"],
                "reason": ["bad_field_count"] * bad_lines.height,
                "field": [None] * bad_lines.height,
                "value": [
                    f"{n} fields, header has {len(header)}" + (" (unbalanced quote)" if u else "")
                    for n, u in zip(bad_lines["_n"], bad_lines["_unbalanced"], strict=True)
                ],
                "record": [
                    json.dumps({"raw_line_hmac": h}) for h in raw_line_hash(bad_lines["_text"])
                ],
            },
            schema=BAD_SCHEMA,
        )
    return ReadResult(frame=frame, bad=bad, rows_read=rows_read, extra_columns=extra)
