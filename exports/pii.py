"""The last line of defence against personal data leaving the warehouse unhashed.

Ingestion hashes personal fields (docs/raw_layer.md); this module re-checks every table and
frame before it is published or sent, by column name *and* by content, because a model that
joins the wrong raw column would otherwise leak it silently. Only ``*_hash`` columns may hold
personal fields. A failed check is an error, never a warning: nothing is published.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import duckdb
import polars as pl

# Column names that denote a personal field when they hold text (counts such as `emails`, the
# number of e-mails logged, are numeric and pass). `company_name` is a legal entity: allowed.
_PII_NAME = re.compile(
    r"(^|_)(e_?mail|email_address|phone|phone_number|tel|telephone|mobile|msisdn|ip|ipv4|ipv6|"
    r"ip_address|user_?agent|ua|contacts?|fio|full_?name|first_?name|last_?name|middle_?name|"
    r"surname|passport|birth_?date|date_of_birth|address)($|_)"
    r"|^name$|^(manager|contact|person|user|publisher|lead|owner|recipient)_name$"
)

# Content patterns (RE2 syntax, used by DuckDB and Python alike).
CONTENT_PATTERNS: dict[str, str] = {
    "e-mail address": r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}",
    "IPv4 address": r"^\s*\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\s*$",
    "IPv6 address": r"^\s*[0-9A-Fa-f]{1,4}(:[0-9A-Fa-f]{0,4}){2,7}\s*$",
    "user agent": r"Mozilla/\d|AppleWebKit/|Gecko/\d|Android \d|iPhone OS",
    "phone number": r"^\s*(\+\d|8[\s(\-])[\d\s()\-]{9,16}\s*$",
}

_TEXT_TYPES = ("VARCHAR", "BLOB", "JSON")


class PiiError(RuntimeError):
    """Personal data was about to leave the warehouse; the message names table and column."""


def column_looks_personal(name: str) -> bool:
    """True when a column name denotes a raw personal field (``*_hash`` columns never do)."""
    lowered = name.lower()
    if lowered.endswith("_hash"):
        return False
    return bool(_PII_NAME.search(lowered))


def check_columns(where: str, columns: Iterable[tuple[str, str]]) -> None:
    """Refuse text columns whose names denote personal fields. ``columns``: (name, type) pairs."""
    bad = [
        name
        for name, dtype in columns
        if column_looks_personal(name) and any(t in dtype.upper() for t in _TEXT_TYPES)
    ]
    if bad:
        raise PiiError(
            f"{where}: column(s) {', '.join(bad)} look like raw personal data. Only *_hash "
            "columns may hold personal fields: hash them in the model (ingest.settings.hash_key) "
            "or drop them before publishing."
        )


def check_table_content(con: duckdb.DuckDBPyConnection, qualified: str, where: str) -> None:
    """Refuse a table any of whose text values looks like an e-mail, IP, user agent or phone.

    One scan of the table tests every text column against every pattern.
    """
    cols = con.execute(f"DESCRIBE SELECT * FROM {qualified}").fetchall()
    text_cols = [
        c[0]
        for c in cols
        if not c[0].lower().endswith("_hash") and str(c[1]).upper() in ("VARCHAR", "JSON")
    ]
    checks = [(col, label) for col in text_cols for label in CONTENT_PATTERNS]
    if not checks:
        return
    select = ", ".join(
        f'coalesce(bool_or(regexp_matches("{col}", ${i + 1})), false)'
        for i, (col, label) in enumerate(checks)
    )
    hits = con.execute(
        f"SELECT {select} FROM {qualified}", [CONTENT_PATTERNS[label] for _, label in checks]
    ).fetchall()[0]
    for (col, label), hit in zip(checks, hits, strict=True):
        if hit:
            raise PiiError(
                f"{where}: column {col} holds a value that looks like a raw {label}. Personal "
                "data must be hashed at ingestion; fix the model that fills this column."
            )


def check_frame(frame: pl.DataFrame, where: str) -> None:
    """The same two checks for a Polars frame about to be written to a feed or sent."""
    check_columns(
        where, [(n, "VARCHAR" if t == pl.String else str(t)) for n, t in frame.schema.items()]
    )
    for name, dtype in frame.schema.items():
        if dtype != pl.String or name.lower().endswith("_hash"):
            continue
        values = frame.get_column(name).drop_nulls()
        for label, pattern in CONTENT_PATTERNS.items():
            if values.str.contains(pattern).any():
                raise PiiError(
                    f"{where}: column {name} holds a value that looks like a raw {label}; "
                    "refusing to write it."
                )
