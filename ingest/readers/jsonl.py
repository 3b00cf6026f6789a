"""JSON Lines and JSON documents into string columns plus their JSON types.

Each record is kept as one JSON text with its line number (for a document, the 1-based index
of the record in its array). DuckDB's JSON functions then extract every expected key as text
*and* its JSON type (``json_type``), vectorised: the validator can tell an integer from a
string holding digits, a missing key from an explicit ``null``, without a Python loop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import polars as pl

from ingest.readers import BAD_SCHEMA, FileRejected, empty_bad
from ingest.scratch import registered


def document_records(text: str, array_key: str) -> tuple[pl.DataFrame, dict[str, object]]:
    """The records of ``{"<array_key>": [ ... ], ...}`` as numbered JSON texts, plus the
    document's other top-level scalars (e.g. ``exported_at``)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileRejected(
            "invalid_json", f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get(array_key), list):
        raise FileRejected(
            "invalid_json", f'expected an object with an array "{array_key}" at the top level'
        )
    records = doc[array_key]
    meta = {k: v for k, v in doc.items() if k != array_key and not isinstance(v, dict | list)}
    frame = pl.DataFrame(
        {
            "_source_line": pl.Series(range(1, len(records) + 1), dtype=pl.Int64),
            "_text": [json.dumps(r, ensure_ascii=False) for r in records],
        },
        schema={"_source_line": pl.Int64, "_text": pl.String},
    )
    return frame, meta


@dataclass
class JsonBatch:
    """String values and JSON types of the records of several files (column ``_source_file``),
    plus per file: rows read, unexpected keys, and the files rejected whole."""

    frame: pl.DataFrame
    bad: pl.DataFrame  # BAD_SCHEMA + _source_file
    rows_read: dict[str, int]
    extra_columns: dict[str, list[str]]
    rejected: dict[str, FileRejected] = field(default_factory=dict)


def read_json_records(
    lines: pl.DataFrame,
    *,
    expected: list[str],
    required: list[str],
    list_fields: list[str],
    extra_sql: dict[str, str],
    raw_line_hash,
) -> JsonBatch:
    """Extract ``expected`` keys from numbered JSON texts (``_source_file``, ``_source_line``,
    ``_text``) of one or more files, in one vectorised DuckDB scan for the whole batch.

    Lines that are not a JSON object are ``invalid_json`` rows. A required key absent from
    every record of a file rejects that file (``missing_column``); keys nobody expects are
    reported per file. ``extra_sql`` adds derived columns (SQL over ``_text``).
    """
    lines = lines.filter(pl.col("_text").str.strip_chars() != "")
    rows_read = dict(lines.group_by("_source_file").len().iter_rows())
    # One scan, each JSON function once per record: whether the line is an object (``try``:
    # one parse, where json_valid plus json_type took two and cost 4x), the scalar text and
    # JSON type of every expected key at once (list fields also their JSON value ``_v``),
    # and the record's number of keys. Only a record with more keys than expected ones
    # present (an unexpected or repeated key, rare) has its key names read, in a second
    # query over those records alone. Bad lines keep their text for the quarantine's hash.
    paths = ", ".join("'$.\"" + k.replace("'", "''") + "\"'" for k in expected)
    cols = ["_source_file", "_source_line", "_ok",
            "CASE WHEN NOT _ok THEN _text END AS _bad_text",
            "CASE WHEN _nkeys > len(list_filter(_t, lambda x: x IS NOT NULL)) THEN _text END"
            " AS _more_keys"]
    for i, key in enumerate(expected, start=1):
        if key in list_fields:
            v = f"_v[{i}]"
            value = f"CASE WHEN _t[{i}] = 'ARRAY' THEN json_extract_string({v}, '$[*]') END"
        else:
            value = f"CASE WHEN _t[{i}] NOT IN ('OBJECT', 'ARRAY') THEN _s[{i}] END"
        cols.append(f'{value} AS "{key}"')
        cols.append(f'_t[{i}] AS "{key}__t"')
    cols += [f'CASE WHEN _ok THEN {sql} END AS "{col}"' for col, sql in extra_sql.items()]
    values = [f"CASE WHEN _ok THEN json_extract_string(_text, [{paths}]) END AS _s",
              f"CASE WHEN _ok THEN json_type(_text, [{paths}]) END AS _t",
              "CASE WHEN _ok THEN len(json_keys(_text)) END AS _nkeys"]
    if list_fields:
        values.append(f"CASE WHEN _ok THEN json_extract(_text, [{paths}]) END AS _v")
    with registered(lines.to_arrow()) as (con, name):
        scanned = pl.from_arrow(
            con.sql(
                f"SELECT {', '.join(cols)} FROM (SELECT *, {', '.join(values)} FROM "
                f"(SELECT *, coalesce(try(json_type(_text)) = 'OBJECT', false) AS _ok "
                f"FROM {name}))"
            ).to_arrow_table()
        )
    assert isinstance(scanned, pl.DataFrame)
    bad_lines = scanned.filter(~pl.col("_ok")).select(
        "_source_file", "_source_line", pl.col("_bad_text").alias("_text"))
    frame = scanned.filter(pl.col("_ok"))
    more = frame.filter(pl.col("_more_keys").is_not_null()).select(
        "_source_file", pl.col("_more_keys").alias("_text"))
    frame = frame.drop("_ok", "_bad_text", "_more_keys")
    present: dict[str, set[str]] = {
        file: {k for k, seen in zip(expected, flags, strict=True) if seen}
        for file, *flags in frame.group_by("_source_file").agg(
            pl.col(f"{k}__t").is_not_null().any() for k in expected).iter_rows()
    }
    if more.height:
        with registered(more.to_arrow()) as (con, name):
            keys = con.sql(
                f"SELECT DISTINCT _source_file, unnest(json_keys(_text)) AS k FROM {name}"
            ).fetchall()
        for file, k in keys:
            present[file].add(k)
    extra = {f: sorted(ks - set(expected)) for f, ks in present.items()}
    rejected: dict[str, FileRejected] = {}
    for file, ks in present.items():
        absent = [k for k in required if k not in ks]
        if absent:
            rejected[file] = FileRejected(
                "missing_column",
                f"required key(s) {', '.join(repr(k) for k in absent)} absent from every record",
                field=absent[0],
            )
    if rejected:
        frame = frame.filter(~pl.col("_source_file").is_in(list(rejected)))
        bad_lines = bad_lines.filter(~pl.col("_source_file").is_in(list(rejected)))
    bad = empty_bad().with_columns(pl.lit(None, dtype=pl.String).alias("_source_file"))
    if bad_lines.height:
        bad = pl.DataFrame(
            {
                "_source_line": bad_lines["_source_line"],
                "reason": ["invalid_json"] * bad_lines.height,
                "field": [None] * bad_lines.height,
                "value": ["not a JSON object"] * bad_lines.height,
                "record": [
                    json.dumps({"raw_line_hash": h}) for h in raw_line_hash(bad_lines["_text"])
                ],
                "_source_file": bad_lines["_source_file"],
            },
            schema={**BAD_SCHEMA, "_source_file": pl.String},
        )
    return JsonBatch(frame=frame, bad=bad, rows_read=rows_read, extra_columns=extra,
                     rejected=rejected)
