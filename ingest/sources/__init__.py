"""The twelve sources: where their files are, what their fields are, how rows are keyed.

One :class:`SourceSpec` per source, built in :mod:`ingest.sources.tracker`,
:mod:`ingest.sources.billing` and :mod:`ingest.sources.crm`. The pipeline is generic over
these specs; everything source-specific is data here (plus an optional ``post`` hook for
nested fields).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from ingest.landing import FilePattern
from ingest.validate import Field, output_schema

CHANNELS = (
    "context", "social", "teaser", "push", "email", "seo", "cashback", "inapp", "doorway", "other",
)
CURRENCIES = ("RUB", "USD", "EUR", "KZT")


@dataclass(frozen=True)
class FxRule:
    """Amounts that need a rate on or before their reporting day (reading 2)."""

    currency: str  # output column holding the currency
    day: Callable[[str], pl.Expr]  # timezone name -> expression giving the reporting day


@dataclass(frozen=True)
class SourceSpec:
    name: str
    pattern: FilePattern
    fmt: str  # csv | csv.gz | billing | jsonl | jsonl.gz | json
    fields: list[Field]
    target: str = "table"  # table (raw.<name>) | parquet (<raw>/<name>/day=…/part-0.parquet)
    snapshot: bool = False
    key: tuple[str, ...] = ()
    dedup: str = "file"  # file | global | neighbours | exact_file
    refs: tuple[tuple[str, str], ...] = ()  # (output column, id kind) checked for unknown_id
    fx: FxRule | None = None
    depends_on: tuple[str, ...] = ()
    array_key: str | None = None  # json documents
    extra_sql: dict[str, str] = field(default_factory=dict)  # json: derived columns
    consumed_keys: tuple[str, ...] = ()  # json keys read by extra_sql (expected, not extra)
    extra_schema: dict[str, pl.DataType] = field(default_factory=dict)  # columns `post` adds
    post: Callable[[pl.DataFrame, bytes], pl.DataFrame] | None = None  # (clean rows, key) -> rows
    drop: tuple[str, ...] = ()  # typed columns used by `post` but not loaded

    @property
    def period_column(self) -> str | None:
        if self.target == "parquet":
            return None  # file_day is the hive partition, not stored in the file
        if self.snapshot:
            return "snapshot_date"
        if self.pattern.cadence == "month":
            return "file_month"
        return None

    @property
    def table(self) -> str:
        return f"raw.{self.name}"

    def schema(self) -> dict[str, pl.DataType]:
        """Columns of the raw table / parquet files, in order (lineage last)."""
        out: dict[str, pl.DataType] = {}
        if self.period_column:
            out[self.period_column] = pl.Date()
        for name, dtype in output_schema(self.fields).items():
            if name not in self.drop:
                out[name] = dtype
        out.update(self.extra_schema)
        out["_source_file"] = pl.String()
        out["_source_line"] = pl.Int64()
        return out


def _registry() -> dict[str, SourceSpec]:
    from ingest.sources import billing, crm, tracker

    specs = [*tracker.specs(), *billing.specs(), *crm.specs()]
    return {s.name: s for s in specs}


SOURCES: dict[str, SourceSpec] = _registry()

# Snapshots first (they define the ids), then fx, then the facts that reference both.
ORDER = [
    "offers", "publishers", "companies", "managers", "deals", "programs", "fx_rates",
    "clicks", "conversions", "invoices", "payments", "activities",
]
