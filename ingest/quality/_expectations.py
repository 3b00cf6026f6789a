"""A custom GX expectation the core set lacks (imported lazily: it imports great_expectations).

GX can require columns (``ExpectTableColumnsToMatchSet``) but has no way to forbid them; the
raw layer must never contain a raw personal-data column (ip, email, ...), so we add one.
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.expectations.expectation import BatchExpectation


class ExpectTableColumnsToNotInclude(BatchExpectation):
    """No column of the table is named in ``column_set`` (e.g. unhashed personal data)."""

    column_set: list[str]

    metric_dependencies: ClassVar[tuple[str, ...]] = ("table.columns",)
    success_keys: ClassVar[tuple[str, ...]] = ("column_set",)
    domain_keys: ClassVar[tuple[str, ...]] = ("batch_id",)

    def _validate(
        self,
        metrics: dict[str, Any],
        runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> dict[str, Any]:
        present = sorted(set(metrics["table.columns"]) & set(self.column_set))
        return {"success": not present, "result": {"observed_value": present}}
