"""GX ExpectationSuites per source, built from the declarative contracts in `contracts.py`.

Suites are built once per process and cached: building is cheap but not free, and a Dagster
process checks many partitions. great_expectations is imported only inside these functions,
because importing it takes seconds and most callers of the package never validate anything.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ingest.quality.contracts import CONTRACTS, Check, contract

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite
    from great_expectations.expectations import Expectation

_lock = threading.RLock()
_cache: dict[tuple[str, frozenset[str]], ExpectationSuite] = {}
_batch_definition: Any = None


def batch_definition() -> Any:
    """The process's GX batch definition: one ephemeral context, one pandas dataframe asset
    shared by all sources (``batch_parameters={"dataframe": df}`` per validation).

    Creating it once matters less for speed (milliseconds) than for correctness: GX binds new
    suites to the "current" context, so one must exist before any suite is built.
    """
    global _batch_definition
    with _lock:
        if _batch_definition is None:
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            asset = context.data_sources.add_pandas("raw_layer").add_dataframe_asset("sample")
            _batch_definition = asset.add_batch_definition_whole_dataframe("whole_sample")
        return _batch_definition


def expectation_for(check: Check) -> Expectation:
    """The GX expectation object of one declared check; its name travels in ``meta``."""
    import great_expectations as gx

    from ingest.quality import _expectations

    cls = getattr(gx.expectations, check.expectation, None) or getattr(
        _expectations, check.expectation
    )
    return cls(
        **check.kwargs,
        severity=check.severity,
        description=check.description or None,
        meta={"check": check.name},
    )


def build_suite(
    source: str, *, drop: frozenset[str] = frozenset(), only: frozenset[str] | None = None
) -> ExpectationSuite:
    """The suite of ``source`` without the checks named in ``drop`` (cached per process).

    ``drop`` removes checks that cannot be evaluated in this warehouse (a cross-source rule
    whose other table is not loaded yet); the runner reports what it dropped. ``only`` keeps
    just the named checks (not cached): the runner re-validates failed checks with detail.
    """
    key = (source, frozenset(drop))
    with _lock:
        suite = _cache.get(key) if only is None else None
        if suite is None:
            import great_expectations as gx

            batch_definition()  # GX needs a current context to build a suite
            spec = contract(source)
            suite = gx.ExpectationSuite(name=f"raw_{source}")
            for check in spec.checks:
                if check.name not in drop and (only is None or check.name in only):
                    suite.add_expectation(expectation_for(check))
            if only is None:
                _cache[key] = suite
        return suite


def all_suites() -> dict[str, ExpectationSuite]:
    """Every source's full suite (for documentation and a smoke test)."""
    return {source: build_suite(source) for source in CONTRACTS}
