"""Data-quality checks (Great Expectations) on what ingestion loaded into the raw layer.

`run_source_checks(settings, source, days=..., con=...)` is the one entry point; the Dagster
asset checks call it. Importing this package does not import great_expectations (slow): the
import happens on the first validation.
"""

from ingest.quality.contracts import CONTRACTS, Check, SourceContract
from ingest.quality.runner import CheckOutcome, QualityResult, run_source_checks

__all__ = ["CONTRACTS", "Check", "CheckOutcome", "QualityResult", "SourceContract",
           "run_source_checks"]
