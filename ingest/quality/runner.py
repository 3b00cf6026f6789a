"""Running one source's data-quality suite on what ingestion loaded, without Dagster.

`run_source_checks` is the domain function behind the Dagster asset checks: it reads a bounded
sample of the loaded rows, validates it with the source's GX suite, adds the manifest-level
quarantine-share check, and returns a plain result the orchestrator turns into an
``AssetCheckResult`` (``passed``, ``severity``, metadata).

Verdict: any failed ``critical`` check, or a quarantine share above
``[ingest] max_quarantine_share``, means the raw-layer contract is broken → ``ERROR``
(blocks downstream). Failed ``warning`` checks are data-quality findings → ``WARN``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal

import duckdb

from ingest.quality.contracts import LINEAGE, SourceContract, contract, showable
from ingest.quality.loading import LoadedSample, read_sample
from ingest.quality.manifest import QuarantineStats, quarantine_stats
from ingest.settings import Settings

EXAMPLES = 5
REDACTED = "<redacted>"

_gx_lock = threading.Lock()


@dataclass(frozen=True)
class CheckOutcome:
    """One expectation's verdict, with a few offending rows (lineage + showable values)."""

    name: str
    expectation: str
    severity: Literal["critical", "warning"]
    success: bool
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    observed: Any = None
    examples: tuple[dict[str, Any], ...] = ()
    description: str = ""
    error: str | None = None


@dataclass(frozen=True)
class QualityResult:
    """The verdict on one source (and, for tracker facts, the given days)."""

    source: str
    passed: bool
    severity: Literal["ERROR", "WARN"]
    row_count: int
    rows_in_scope: int
    sampled: bool
    days: tuple[date, ...]
    outcomes: tuple[CheckOutcome, ...]
    quarantine: QuarantineStats | None
    notes: tuple[str, ...]
    elapsed_s: float
    markdown: str = ""

    @property
    def failed(self) -> tuple[CheckOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.success)

    def outcome(self, name: str) -> CheckOutcome:
        """The outcome of the check called ``name`` (e.g. ``format(click_id)``)."""
        for o in self.outcomes:
            if o.name == name:
                return o
        raise KeyError(f"{self.source} has no check {name!r}; checks: "
                       + ", ".join(o.name for o in self.outcomes))

    def metadata(self) -> dict[str, Any]:
        """Plain values for Dagster check metadata (the lead wraps them in MetadataValue)."""
        meta: dict[str, Any] = {
            "row_count": self.row_count,
            "rows_in_scope": self.rows_in_scope,
            "sampled": self.sampled,
            "checks_run": len(self.outcomes),
            "failed_critical": sum(1 for o in self.failed if o.severity == "critical"),
            "failed_warning": sum(1 for o in self.failed if o.severity == "warning"),
            "failed_checks": ", ".join(o.name for o in self.failed),
            "elapsed_s": round(self.elapsed_s, 3),
            "summary": self.markdown,
        }
        if self.quarantine is not None:
            meta["quarantine_share"] = round(self.quarantine.share, 6)
            meta["max_quarantine_share"] = self.quarantine.threshold
            meta["rows_quarantined"] = self.quarantine.rows_quarantined
        for o in self.outcomes:
            if o.name == "offer_advertiser_matches":  # sources.md reading 12: the count
                meta["offer_advertiser_mismatches"] = o.unexpected_count or 0
        return meta


def _plain(value: Any) -> Any:
    """JSON-friendly scalar: numpy/pandas values to Python, NaN/NaT/NA to None."""
    import numpy as np
    import pandas as pd

    if isinstance(value, (list, tuple, dict, np.ndarray)):
        return str(list(value)) if isinstance(value, np.ndarray) else value
    if pd.isna(value):
        return None
    if isinstance(value, (np.datetime64, pd.Timestamp)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _examples(result: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """A few offending rows, showing only lineage and columns safe to show (no free text)."""
    rows = result.get("partial_unexpected_index_list") or []
    out = []
    for row in rows[:EXAMPLES]:
        if not isinstance(row, dict):
            continue
        out.append({k: (_plain(v) if showable(k) else REDACTED) for k, v in row.items()})
    return tuple(out)


def _outcome(spec: SourceContract, res: Any) -> CheckOutcome:
    config = res.expectation_config
    name = (config.meta or {}).get("check", config.type)
    check = next((c for c in spec.checks if c.name == name), None)
    result = res.result or {}
    exc = res.exception_info or {}
    error = exc.get("exception_message") if exc.get("raised_exception") else None
    observed = result.get("observed_value")
    if name == "columns_present" and not res.success:
        observed = {"missing": result.get("details", {}).get("mismatched", {}).get("missing")}
    return CheckOutcome(
        name=name,
        expectation=config.type,
        severity="warning" if str(config.severity.value) == "warning" else "critical",
        success=bool(res.success),
        unexpected_count=result.get("unexpected_count"),
        unexpected_percent=_plain(result.get("unexpected_percent")),
        observed=_plain(observed) if not isinstance(observed, (list, dict)) else observed,
        examples=_examples(result),
        description=check.description if check else "",
        error=error,
    )


def _validate(spec: SourceContract, sample: LoadedSample) -> list[CheckOutcome]:
    """Validate in two passes: every check with ``BOOLEAN_ONLY`` (about 3x cheaper in GX),
    then only the failed ones again with counts and offending rows. Passing is the common
    case, so a clean source costs one cheap pass."""
    from ingest.quality.suites import batch_definition, build_suite

    frame = sample.frame
    with _gx_lock:
        batch = batch_definition().get_batch(batch_parameters={"dataframe": frame})
        quick = batch.validate(build_suite(spec.source, drop=sample.dropped_checks),
                               result_format="BOOLEAN_ONLY")
        failed = frozenset((r.expectation_config.meta or {}).get("check", "")
                           for r in quick.results if not r.success)
        detailed = []
        if failed:
            index_columns = [c for c in LINEAGE if c in frame.columns]
            result_format: dict[str, Any] = {"result_format": "SUMMARY",
                                             "partial_unexpected_count": EXAMPLES}
            if index_columns:
                result_format["unexpected_index_column_names"] = index_columns
            suite = build_suite(spec.source, drop=sample.dropped_checks, only=failed)
            detailed = batch.validate(suite, result_format=result_format).results
    by_name = {o.name: o for o in (_outcome(spec, r) for r in detailed)}
    outcomes = [by_name.get(o.name, o) for o in (_outcome(spec, r) for r in quick.results)]
    order = {c.name: i for i, c in enumerate(spec.checks)}
    return sorted(outcomes, key=lambda o: order.get(o.name, len(order)))


def _quarantine_outcome(stats: QuarantineStats) -> CheckOutcome:
    reasons = ", ".join(f"{k} {v}" for k, v in stats.reasons.items())
    return CheckOutcome(
        name="quarantine_share",
        expectation="manifest",
        severity="critical",
        success=not stats.exceeded,
        unexpected_count=stats.rows_quarantined,
        unexpected_percent=round(100 * stats.share, 4),
        observed={"rows_read": stats.rows_read, "rows_quarantined": stats.rows_quarantined,
                  "share": round(stats.share, 6), "threshold": stats.threshold,
                  "reasons": stats.reasons},
        description=(f"quarantined share of {stats.scope} ≤ [ingest] max_quarantine_share "
                     f"{stats.threshold:g}" + (f" (reasons: {reasons})" if reasons else "")),
    )


def _rejected_outcome(stats: QuarantineStats) -> CheckOutcome:
    return CheckOutcome(
        name="no_rejected_files",
        expectation="manifest",
        severity="warning",
        success=not stats.rejected_files,
        unexpected_count=len(stats.rejected_files),
        examples=tuple({"file": f, "reason": r} for f, r in stats.rejected_files[:EXAMPLES]),
        description="every delivered file was readable (rejected files are quarantined "
                    "whole; a clean re-delivery loads them)",
    )


def _markdown(result: QualityResult) -> str:
    verdict = ("passed" if result.passed
               else "contract broken (blocks downstream)" if result.severity == "ERROR"
               else "data-quality findings (not blocking)")
    days = f" {', '.join(d.isoformat() for d in result.days)}" if result.days else ""
    sample = (f"{result.row_count:,} of {result.rows_in_scope:,} rows (key-hash sample)"
              if result.sampled else f"{result.row_count:,} rows")
    lines = [f"**{result.source}{days}: {verdict}** — {sample}, "
             f"{len(result.outcomes) - len(result.failed)}/{len(result.outcomes)} checks passed, "
             f"{result.elapsed_s:.2f} s", ""]
    if result.failed:
        lines += ["| check | severity | unexpected | % | examples |", "|---|---|---|---|---|"]
        for o in result.failed:
            pct = "" if o.unexpected_percent is None else f"{o.unexpected_percent:.3g}"
            detail = o.error or "; ".join(
                ", ".join(f"{k}={v}" for k, v in ex.items()) for ex in o.examples[:3]
            ) or ("" if o.observed is None else f"observed {o.observed}")
            detail = detail.replace("|", "\\|").replace("\n", " ")[:400]
            lines.append(f"| {o.name} | {o.severity} | {o.unexpected_count or ''} | {pct} | "
                         f"{detail} |")
        lines.append("")
    if result.quarantine is not None:
        q = result.quarantine
        lines.append(f"Quarantine ({q.scope}): {q.rows_quarantined:,} of {q.rows_read:,} rows "
                     f"= {q.share:.2%} (limit {q.threshold:.2%}); rejected files: "
                     f"{len(q.rejected_files)}.")
    lines += [f"- {n}" for n in result.notes]
    return "\n".join(lines)


def run_source_checks(
    settings: Settings,
    source: str,
    *,
    days: list[date] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    max_rows: int | None = None,
) -> QualityResult:
    """Validate what ingestion loaded for ``source`` (for clicks/conversions: the ``days``'
    partitions when given; ``days`` is ignored for the other sources, which are checked whole)
    against its contract and the manifest's quarantine share (of those days' files, or of the
    source's latest run with new content).

    ``con`` is an open warehouse connection (reused, not closed); without one the warehouse
    is opened read-only (or, if it does not exist yet, an in-memory database is used so that
    the Parquet partitions can still be checked). ``max_rows`` caps the rows read (default
    ``[quality] sample_rows``; 0 = no cap).
    """
    started = time.perf_counter()
    spec = contract(source)
    if spec.storage != "parquet":
        days = None  # only the tracker facts are day-partitioned; a table is checked whole
    own = con is None
    if con is None:
        if settings.paths.warehouse_file.exists():
            from ingest.warehouse import connect

            con = connect(settings, read_only=True)
        else:
            con = duckdb.connect(config={"threads": settings.duckdb.threads})
    try:
        cap = settings.quality.sample_rows if max_rows is None else max_rows
        sample = read_sample(con, settings, spec, days, cap)
        stats = quarantine_stats(con, source, days, settings.ingest.max_quarantine_share)
    finally:
        if own:
            con.close()

    notes = list(sample.notes)
    outcomes: list[CheckOutcome] = []
    if sample.frame is not None:
        outcomes = _validate(spec, sample)
    else:
        outcomes.append(CheckOutcome(
            name="not_empty", expectation="ExpectTableRowCountToBeBetween", severity="warning",
            success=False, unexpected_count=0, description="something was loaded",
            error=notes[0] if notes else None))
    if sample.missing_days:
        notes.append("no partition for " + ", ".join(d.isoformat() for d in sample.missing_days))
    if stats is not None:
        outcomes += [_quarantine_outcome(stats), _rejected_outcome(stats)]
    else:
        notes.append(f"meta.file_manifest has no delivery of {source} in scope: "
                     "quarantine share not checked")

    broken = any(not o.success and o.severity == "critical" for o in outcomes)
    result = QualityResult(
        source=source,
        passed=all(o.success for o in outcomes),
        severity="ERROR" if broken else "WARN",
        row_count=0 if sample.frame is None else len(sample.frame),
        rows_in_scope=sample.rows_in_scope,
        sampled=sample.sampled,
        days=tuple(sorted(set(days or []))),
        outcomes=tuple(outcomes),
        quarantine=stats,
        notes=tuple(notes),
        elapsed_s=time.perf_counter() - started,
    )
    return replace(result, markdown=_markdown(result))
