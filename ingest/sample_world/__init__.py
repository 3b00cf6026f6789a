"""A deterministic, seeded CPA network: landing files per docs/sources.md plus the truth.

    from ingest.sample_world import generate, WorldConfig
    summary = generate(WorldConfig.from_scale("tiny", defects=True), Path("out"))

writes `out/landing/` (what the pipeline reads) and `out/truth/` (what tests compare with).
"""

from .config import SCALES, WorldConfig, WorldSummary
from .generate import generate, replay_redeliveries

__all__ = ["SCALES", "WorldConfig", "WorldSummary", "generate", "replay_redeliveries"]
