"""Readers turn one landing file's bytes into string columns plus line-level problems.

They never raise anything but :class:`FileRejected` (the whole file is unusable, with a named
reason); every other problem is a row of the ``bad`` frame with its 1-based line number.
Typing and validation of the values is not their job (see :mod:`ingest.validate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

BAD_SCHEMA = {
    "_source_line": pl.Int64,
    "reason": pl.String,
    "field": pl.String,
    "value": pl.String,
    "record": pl.String,
}


class FileRejected(Exception):
    """The whole file cannot be used; ``reason`` is a quarantine code, ``detail`` says why."""

    def __init__(self, reason: str, detail: str, field: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.field = field


@dataclass
class ReadResult:
    """String values per expected field (missing optional columns are null), line numbers,
    and the lines that could not even be split into fields."""

    frame: pl.DataFrame  # _source_line + one String column per expected source field
    bad: pl.DataFrame  # BAD_SCHEMA
    rows_read: int
    extra_columns: list[str] = field(default_factory=list)
    meta: dict[str, object] = field(default_factory=dict)


def empty_bad() -> pl.DataFrame:
    return pl.DataFrame(schema=BAD_SCHEMA)
