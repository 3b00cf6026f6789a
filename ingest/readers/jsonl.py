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
    ``_text``) of one or more files, in three vectorised DuckDB queries for the whole batch.

    Lines that are not a JSON object are ``invalid_json`` rows. A required key absent from
    every record of a file rejects that file (``missing_column``); keys nobody expects are
    reported per file. ``extra_sql`` adds derived columns (SQL over ``_text``).
    """
    lines = lines.filter(pl.col("_text").str.strip_chars() != "")
    rows_read = dict(lines.group_by("_source_file").len().iter_rows())
    with registered(lines.to_arrow()) as (con, name):
        checked = pl.from_arrow(
            con.sql(
                "SELECT _source_file, _source_line, _text, json_valid(_text) AND "
                "json_type(CASE WHEN json_valid(_text) THEN _text END) = 'OBJECT' AS _ok "
                f"FROM {name}"
            ).to_arrow_table()
        )
    assert isinstance(checked, pl.DataFrame)
    good = checked.filter(pl.col("_ok")).select("_source_file", "_source_line", "_text")
    bad_lines = checked.filter(~pl.col("_ok"))
    # all paths at once per JSON function (one parse of the record each): the scalar text
    # and the JSON type of every key; list fields also extract their JSON value (``_v``)
    # and take its elements. Parsing each extracted value again per key cost 3x more.
    paths = ", ".join("'$.\"" + k.replace("'", "''") + "\"'" for k in expected)
    cols = ["_source_file", "_source_line"]
    for i, key in enumerate(expected, start=1):
        if key in list_fields:
            v = f"_v[{i}]"
            value = f"CASE WHEN _t[{i}] = 'ARRAY' THEN json_extract_string({v}, '$[*]') END"
        else:
            value = f"CASE WHEN _t[{i}] NOT IN ('OBJECT', 'ARRAY') THEN _s[{i}] END"
        cols.append(f'{value} AS "{key}"')
        cols.append(f'_t[{i}] AS "{key}__t"')
    cols += [f'{sql} AS "{col}"' for col, sql in extra_sql.items()]
    values = f"json_extract_string(_text, [{paths}]) AS _s, json_type(_text, [{paths}]) AS _t"
    if list_fields:
        values += f", json_extract(_text, [{paths}]) AS _v"
    with registered(good.to_arrow()) as (con, name):
        frame = pl.from_arrow(
            con.sql(
                f"SELECT {', '.join(cols)} FROM (SELECT *, {values} FROM {name})"
            ).to_arrow_table()
        )
        keys = con.sql(
            f"SELECT DISTINCT _source_file, unnest(json_keys(_text)) AS k FROM {name}"
        ).fetchall()
    assert isinstance(frame, pl.DataFrame)
    present: dict[str, set[str]] = {}
    for file, k in keys:
        present.setdefault(file, set()).add(k)
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
