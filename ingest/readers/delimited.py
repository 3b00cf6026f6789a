"""Delimited text (RFC 4180 quoting) into string columns found by header name.

Fast path (every well-formed file): Polars parses the whole file multi-threaded, all columns
as strings, and the same bytes are split into physical lines. A line is well formed when its
separator count equals ``fields - 1`` plus the separators inside its parsed values; any other
line (too few or too many fields, a trailing separator) is ``bad_field_count`` with its exact
line number, found without a Python loop and without re-parsing.

Exact path (only when the fast path cannot align records with lines: an unbalanced quote, a
quoted line break, a NUL byte): quoted sections are stripped per line with a regex, lines are
judged one by one (still vectorised) and only the well-formed ones are parsed.
"""

from __future__ import annotations

import csv
import json

import polars as pl

from ingest.readers import BAD_SCHEMA, FileRejected, ReadResult, empty_bad

_QUOTED = r'"[^"]*"'  # "a""b" strips as "a" + "b": enough for counting separators


def parse_header(line: str, sep: str) -> list[str]:
    """Header names, trimmed (reading 10: ``a, b`` and ``a,b`` name the same columns).

    A header the csv module cannot split (a bare CR or NUL inside it, e.g. a UTF-16 file read
    as a single-byte code page) rejects the file instead of crashing the run.
    """
    try:
        return [name.strip() for name in next(csv.reader([line], delimiter=sep))]
    except csv.Error as exc:
        raise FileRejected(
            "unreadable_file", f"the header line cannot be split into fields ({exc}); "
            "is the file saved in another encoding (UTF-16?)"
        ) from exc


def _lines(data: bytes) -> pl.DataFrame | None:
    """Physical lines (``_source_line`` 1-based, ``_text`` without CR) via Polars' reader."""
    if b"\x00" in data:
        return None
    frame = pl.read_csv(
        data,
        has_header=False,
        separator="\x00",
        quote_char=None,
        new_columns=["_text"],
        schema={"_text": pl.String},
        empty_string_is_null=False,
        raise_if_empty=False,
    )
    return frame.with_columns(pl.col("_text").str.strip_suffix("\r")).with_row_index(
        "_source_line", offset=1
    ).with_columns(pl.col("_source_line").cast(pl.Int64))


def _parse(data: bytes, names: list[str], sep: str, *, strict: bool = False) -> pl.DataFrame:
    """All columns as strings; ``strict`` raises on a line with too many fields."""
    return pl.read_csv(
        data,
        has_header=True,
        new_columns=names,
        infer_schema=False,
        separator=sep,
        quote_char='"',
        truncate_ragged_lines=not strict,
        empty_string_is_null=False,
        raise_if_empty=False,
    )


def _field_count(text: str, sep: str) -> int:
    """Fields on one damaged line, for the quarantine message; a stray carriage return makes
    the csv module give up, and then the separators are simply counted."""
    try:
        return len(next(csv.reader([text], delimiter=sep), []))
    except csv.Error:
        return text.count(sep) + 1


def _bad_frame(bad_lines: pl.DataFrame, n_fields: int, sep: str, raw_line_hash) -> pl.DataFrame:
    """Quarantine rows for ragged lines; the record keeps only a keyed hash of the line (it
    may hold personal data in unknown positions)."""
    if bad_lines.height == 0:
        return empty_bad()
    texts = bad_lines["_text"].to_list()
    counts = [_field_count(t, sep) for t in texts]
    return pl.DataFrame(
        {
            "_source_line": bad_lines["_source_line"],
            "reason": ["bad_field_count"] * len(texts),
            "field": [None] * len(texts),
            "value": [f"{n} fields, header has {n_fields}" for n in counts],
            "record": [json.dumps({"raw_line_hash": h}) for h in raw_line_hash(bad_lines["_text"])],
        },
        schema=BAD_SCHEMA,
    )


def _fast(
    data: bytes, header_line: str, positional: list[str], sep: str
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Parse everything at once; judge lines one by one only if a file-wide check fails.

    The strict parse raises on any line with too many fields; a line with too few fields (or
    a blank line) leaves the last value empty; a quoted line break makes fewer records than
    lines. If none of that happened, every line is one well-formed record and line numbers
    follow from record numbers, at the cost of one newline count.
    """
    try:
        frame = _parse(data, positional, sep, strict=True)
    except pl.exceptions.ComputeError:  # long row, bad quoting, or invalid UTF-8
        frame = None
    if frame is not None:
        n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1) - 1
        last_empty = frame.height > 0 and bool((frame[positional[-1]] == "").any())
        if frame.height == n_lines and not last_empty:
            frame = frame.with_columns(
                pl.int_range(2, frame.height + 2, dtype=pl.Int64).alias("_source_line")
            )
            no_bad = pl.DataFrame(schema={"_source_line": pl.Int64, "_text": pl.String})
            return frame, no_bad, frame.height
    return _by_line(data, positional, sep)


def _by_line(
    data: bytes, positional: list[str], sep: str
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """A line is well formed when its separator count equals ``fields - 1`` plus the
    separators inside its parsed values: too few or too many fields, or a trailing
    separator, make it ``bad_field_count`` with its exact line number."""
    n_fields = len(positional)
    try:
        frame = _parse(data, positional, sep)
    except pl.exceptions.ComputeError:
        from ingest.readers.text import decode_utf8

        decode_utf8(data)  # an encoding problem rejects the file with its byte offset
        return _exact(data, positional, sep)
    lines = _lines(data)
    body = lines.slice(1) if lines is not None else None
    if body is None or frame.height != body.height:
        return _exact(data, positional, sep)
    line_seps = body["_text"].str.count_matches(sep, literal=True)
    inner = pl.sum_horizontal([pl.col(c).str.count_matches(sep, literal=True) for c in positional])
    value_seps_row = frame.select(inner.alias("n"))["n"]
    blank = body["_text"] == ""
    ok = (line_seps == value_seps_row + (n_fields - 1)) | blank
    frame = frame.with_columns(body["_source_line"])
    good = frame.filter(ok & ~blank)
    bad_lines = body.filter(~ok)
    return good, bad_lines, int((~blank).sum())


def read_delimited(
    data: bytes,
    *,
    sep: str,
    expected: list[str],
    required: list[str],
    raw_line_hash,
) -> ReadResult:
    """Read UTF-8 ``data`` (header first) into the ``expected`` columns.

    ``required`` columns missing from the header reject the file (``missing_column``);
    optional ones missing are null; unknown columns are reported as ``extra_columns``.
    Blank lines are not rows. ``raw_line_hash`` hashes bad lines for the quarantine record.
    """
    first_nl = data.find(b"\n")
    try:
        header_line = (data if first_nl < 0 else data[:first_nl]).decode("utf-8").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise FileRejected(
            "encoding_error", f"the header line is not valid UTF-8 at byte {exc.start}"
        ) from exc
    if header_line.strip() == "":
        raise FileRejected("unreadable_file", "the file is empty: no header line")
    header = parse_header(header_line, sep)
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
    n_fields = len(header)
    good, bad_lines, rows_read = _fast(data, header_line, positional, sep)
    for name in expected:
        if name not in good.columns:
            good = good.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    good = good.select("_source_line", *expected)
    bad = _bad_frame(bad_lines, n_fields, sep, raw_line_hash)
    return ReadResult(frame=good, bad=bad, rows_read=rows_read, extra_columns=extra)


def _exact(data: bytes, positional: list[str], sep: str) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Line-by-line judgement for files whose records do not align with their lines."""
    from ingest.readers.text import split_lines

    lines = split_lines(data.decode("utf-8"))
    body = lines.slice(1).filter(pl.col("_text") != "")
    stripped = pl.col("_text").str.replace_all(_QUOTED, "")
    checked = body.with_columns(
        (stripped.str.count_matches(sep, literal=True) + 1).alias("_n"),
        stripped.str.contains('"', literal=True).alias("_unbalanced"),
    )
    bad_mask = (pl.col("_n") != len(positional)) | pl.col("_unbalanced")
    bad_lines = checked.filter(bad_mask).select("_source_line", "_text")
    good_lines = checked.filter(~bad_mask).select("_source_line", "_text")
    if good_lines.height == 0:
        schema = {c: pl.String for c in positional}
        return (
            pl.DataFrame(schema={**schema, "_source_line": pl.Int64}),
            bad_lines,
            body.height,
        )
    payload = (
        lines["_text"][0] + "\n" + good_lines["_text"].str.join("\n").item() + "\n"
    ).encode("utf-8")
    frame = _parse(payload, positional, sep)
    if frame.height != good_lines.height:
        raise FileRejected(
            "unreadable_file",
            f"CSV parser found {frame.height} records in {good_lines.height} well-formed lines",
        )
    return frame.with_columns(good_lines["_source_line"]), bad_lines, body.height
