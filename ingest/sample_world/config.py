"""What world to generate: the knobs (scale, history length, seed, defects) in one frozen object.

Presets exist so that tests, the demo and benchmarks ask for a world by name instead of by a
set of magic numbers. A preset fixes clicks per day, advertisers and publishers; the history
always starts on a fixed date (never "today") so that the same seed gives the same bytes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from typing import Any

DEFAULT_START = date(2024, 10, 1)
DEFAULT_DAYS = 730

#: name -> (clicks per day, advertisers, publishers). `1m`/`10m`/`100m` are total clicks over
#: the default 730 days (benchmarks); `tiny` is for tests, `demo` for `make demo`.
SCALES: dict[str, tuple[int, int, int]] = {
    "tiny": (300, 25, 60),
    "small": (1_500, 50, 150),
    "1m": (1_370, 50, 150),
    "demo": (3_800, 80, 300),
    "10m": (13_700, 200, 800),
    "100m": (137_000, 600, 3_000),
}


@dataclass(frozen=True)
class WorldConfig:
    """Parameters of one generated world. Same config (and seed) -> byte-identical output."""

    start: date = DEFAULT_START
    days: int = DEFAULT_DAYS
    clicks_per_day: int = 300
    advertisers: int = 25
    publishers: int = 60
    seed: int = 42
    defects: bool = False
    scale: str = "tiny"
    #: multiplies prices and order values; None = automatic, so that small test worlds (few
    #: clicks per advertiser) still have advertisers in every revenue tier
    value_scale: float | None = None

    @classmethod
    def from_scale(cls, scale: str = "tiny", **overrides: Any) -> WorldConfig:
        """A preset world, with any field overridden (None values are ignored)."""
        if scale not in SCALES:
            raise ValueError(
                f"unknown scale {scale!r}: choose one of {', '.join(SCALES)} "
                "(or pass --clicks-per-day)"
            )
        cpd, adv, pubs = SCALES[scale]
        base = cls(clicks_per_day=cpd, advertisers=adv, publishers=pubs, scale=scale)
        clean = {k: v for k, v in overrides.items() if v is not None}
        return replace(base, **clean)

    def __post_init__(self) -> None:
        if self.days < 120:
            raise ValueError(f"days={self.days}: a world needs at least 120 days of history")
        if self.advertisers < 12:
            raise ValueError(f"advertisers={self.advertisers}: need at least 12 (one per fate)")
        if self.publishers < 10:
            raise ValueError(f"publishers={self.publishers}: need at least 10")
        if self.clicks_per_day < 50:
            raise ValueError(f"clicks_per_day={self.clicks_per_day}: need at least 50")

    @property
    def money_scale(self) -> float:
        if self.value_scale is not None:
            return float(self.value_scale)
        per_adv = self.clicks_per_day / self.advertisers
        return round(min(10.0, max(1.0, 120.0 / per_adv)), 2)

    @property
    def end(self) -> date:
        """The last UTC day covered by the exports (inclusive)."""
        return self.start + timedelta(days=self.days - 1)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["start"] = self.start.isoformat()
        d["end"] = self.end.isoformat()
        d["money_scale"] = self.money_scale
        return d


@dataclass
class WorldSummary:
    """What `generate` wrote: counts and where. Also saved as `truth/summary.json`."""

    out_dir: str
    config: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)
    files: int = 0
    defects: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        c = self.counts
        return (
            f"sample world {self.config.get('start')}..{self.config.get('end')}: "
            f"{c.get('clicks', 0):,} clicks, {c.get('conversions', 0):,} conversions, "
            f"{self.files:,} files, {self.defects} defects recorded"
        )
