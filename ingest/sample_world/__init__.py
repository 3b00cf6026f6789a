"""A deterministic, seeded CPA network: landing files per docs/sources.md plus the truth.

    from ingest.sample_world import generate, WorldConfig, replay_redeliveries
    summary = generate(WorldConfig.from_scale("tiny", defects=True), Path("out"))

or ``python -m ingest.sample_world --out out --scale tiny --defects``. Presets (``--scale``):
``tiny`` (tests: 2 years, ~300 clicks/day, 25 advertisers), ``small``, ``demo`` (~2.8M clicks),
``1m``, ``10m``, ``100m`` (total clicks over 730 days); any field can be overridden.

``out/landing/`` is what the pipeline reads. ``out/truth/`` is never read by the pipeline:

- ``expected_files.jsonl`` — per landing file: ``rows`` written and ``expect_loaded``,
  ``expect_deduplicated``, ``expect_quarantined`` (+ ``_by_reason``), ``expect_outcome``
  (``loaded`` | ``rejected``), ``expect_reason`` (rejected files), ``extra_columns`` and
  ``expect_released_after_replay``: one run, snapshots first, then fx, then facts, files of a
  source in name order; rejected files carry ``expect_quarantined: null`` (not row-counted).
- ``defects.jsonl`` — every injected defect: ``file``, ``line`` (physical line, header = 1;
  JSON Lines from 1; null = whole file), ``row`` (data row), ``kind``, ``expect``, ``reason``.
- ``redeliveries.jsonl`` + ``redeliveries/<landing path>`` — later deliveries under the same
  name (identical, or corrected: ``expect_outcome`` is ``loaded`` when the first delivery was
  rejected), incl. the offers snapshot that releases ``unknown_id`` rows;
  ``replay_redeliveries(out)`` copies them over landing (phase 2 of an ingestion test).
- ``conversions.parquet`` (final state of every conversion, RUB at the reporting day's rate),
  ``clicks_daily.parquet`` (offer x Moscow day), ``advertisers.parquet`` (fates, freeze and
  warning days, manager and team lead), ``offers.parquet``, ``invoices.parquet``,
  ``payments.parquet``, ``seasonality.json`` (planted profiles, programmes), ``summary.json``.
  These describe the clean world AFTER the replay (a truncated clicks file is only complete
  then); defect rows are extra rows with fresh keys and never part of the truth.
"""

from .config import SCALES, WorldConfig, WorldSummary
from .generate import generate, replay_redeliveries

__all__ = ["SCALES", "WorldConfig", "WorldSummary", "generate", "replay_redeliveries"]
