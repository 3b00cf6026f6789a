"""Keyed hashing of personal data (IPs, user agents, names, e-mails, phones).

Personal data is replaced at ingestion by ``hex(HMAC-SHA256(key, utf8(value)))`` with the secret
key from ``CPA_HASH_KEY`` (see :func:`ingest.settings.hash_key`). A keyed hash keeps joins and
distinct counts possible (same value, same hash) while a reader without the key cannot brute
force the small space of phones or IPv4 addresses back to the person.

The HMAC is computed inside DuckDB (``sha256`` is vectorised C++) over the *unique* values of a
column only, then joined back: a day of clicks repeats user agents heavily, and Python-level
``hmac.new`` per row would cost microseconds times millions of rows. :func:`hmac_hex` is the
plain-Python reference the tests compare against.
"""

from __future__ import annotations

import hashlib
import hmac

import duckdb
import polars as pl

_BLOCK = 64  # SHA-256 block size in bytes (RFC 2104)


def hmac_hex(value: str, key: bytes) -> str:
    """The reference HMAC-SHA256 of one value (used for small inputs and by tests)."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def _pads(key: bytes) -> tuple[bytes, bytes]:
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def hash_series(values: pl.Series, key: bytes) -> pl.Series:
    """HMAC-SHA256 hex of every value of a string Series; null and empty stay null.

    Unique values are hashed once in DuckDB and mapped back, so cost follows the number of
    distinct values, not rows.
    """
    name = values.name
    values = values.cast(pl.String)
    uniq = pl.DataFrame({"v": values.drop_nulls().unique()}).filter(pl.col("v") != "")
    if uniq.height == 0:
        return pl.Series(name, [None] * len(values), dtype=pl.String)
    ipad, opad = _pads(key)
    con = duckdb.connect(config={"threads": 2})
    con.execute("SET enable_progress_bar = false")
    try:
        con.register("uniq", uniq.to_arrow())
        hashed = pl.from_arrow(
            con.sql(
                "SELECT v, sha256($o || unhex(sha256($i || encode(v)))) AS h FROM uniq",
                params={"i": ipad, "o": opad},
            ).to_arrow_table()
        )
    finally:
        con.close()
    assert isinstance(hashed, pl.DataFrame)
    if hashed.height < 50_000:  # few distinct values (user agents): a dict replace is cheapest
        mapping = dict(zip(hashed["v"].to_list(), hashed["h"].to_list(), strict=True))
        return values.replace_strict(mapping, default=None, return_dtype=pl.String).alias(name)
    joined = pl.DataFrame({"v": values}).join(hashed, on="v", how="left", maintain_order="left")
    return joined["h"].alias(name)


def hash_list_series(values: pl.Series, key: bytes) -> pl.Series:
    """Hash every element of a list-of-strings Series (e.g. a company's contact e-mails)."""
    flat = values.explode().drop_nulls().unique()
    if flat.len() == 0:
        return values.cast(pl.List(pl.String))
    hashed = hash_series(flat, key)
    mapping = dict(zip(flat.to_list(), hashed.to_list(), strict=True))
    return values.list.eval(
        pl.element().replace_strict(mapping, default=None, return_dtype=pl.String).drop_nulls()
    ).alias(values.name)
