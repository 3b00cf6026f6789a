"""The platform's configuration, read from one documented file (`cpa.toml`).

Every setting has a safe default here, so a fresh clone runs without editing anything. The
file named by ``CPA_CONFIG`` (default: ``cpa.toml`` at the repository root) overrides the
defaults, and a few environment variables override paths so that tests and deployments can
point the pipeline elsewhere without touching the file. Secrets are never read from the file:
they come from the environment only (see :func:`hash_key`).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_FILE = REPO_ROOT / "cpa.toml"
DEMO_HASH_KEY = "demo-key-not-secret"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it and says how to fix it."""


@dataclass(frozen=True)
class Paths:
    landing: Path = REPO_ROOT / "data" / "landing"
    data: Path = REPO_ROOT / "data"
    warehouse: Path | None = None

    @property
    def warehouse_file(self) -> Path:
        return self.warehouse or self.data / "warehouse.duckdb"

    @property
    def raw(self) -> Path:
        """Day-partitioned Parquet of the tracker facts (clicks, conversion events)."""
        return self.data / "raw"

    @property
    def publish(self) -> Path:
        return self.data / "publish"

    @property
    def feeds(self) -> Path:
        return self.data / "feeds"

    @property
    def models(self) -> Path:
        return self.data / "models"

    @property
    def tmp(self) -> Path:
        return self.data / "tmp"


@dataclass(frozen=True)
class Network:
    timezone: str = "Europe/Moscow"
    currency: str = "RUB"


@dataclass(frozen=True)
class DuckDBSettings:
    memory_limit: str = "60%"  # of physical RAM (DuckDB reads "60%" itself); or e.g. "8GB"
    threads: int = 2


ENGINES = ("duckdb", "spark")
"""The engines dbt can build the warehouse on (dbt_project/profiles.yml has one target each)."""


@dataclass(frozen=True)
class WarehouseSettings:
    """Which engine builds the marts (docs/engines.md). DuckDB is the embedded default; "spark"
    runs the same dbt project through dbt-spark (`dbt build --target spark`) and downstream
    readers see its Parquet marts through ingest.marts. Env CPA_ENGINE overrides."""

    engine: str = "duckdb"


@dataclass(frozen=True)
class SparkSettings:
    """The local Spark session of the spark engine (dbt-spark `method: session`).

    ``dir`` holds Spark's metastore and warehouse (marts as Parquet under
    ``<dir>/warehouse/marts.db/<table>``); default ``<data>/spark``. dbt's profile reads these
    as CPA_SPARK_DIR, CPA_SPARK_MASTER and CPA_SPARK_DRIVER_MEMORY, which also override here.
    """

    master: str = "local[2]"
    driver_memory: str = "4g"
    dir: Path | None = None


@dataclass(frozen=True)
class IngestSettings:
    max_quarantine_share: float = 0.05
    # decompressed MiB of files decoded, validated and committed together; ingestion holds
    # about two batches at once (the read-ahead), so this bounds its memory
    batch_mb: int = 64
    partitions_start: str = "2024-10-01"


@dataclass(frozen=True)
class MetricSettings:
    tier_a_min_revenue_90d: float = 3_000_000
    tier_b_min_revenue_90d: float = 600_000
    promotion_growth: float = 0.25
    needs_traffic_cap_utilisation: float = 0.30
    needs_traffic_click_drop: float = 0.5
    reconciliation_gap_share: float = 0.02
    reconciliation_gap_rub: float = 10_000
    manager_capacity_tier_a: int = 30
    manager_capacity_other: int = 100
    manager_monthly_cost_rub: float = 150_000


@dataclass(frozen=True)
class AlertSettings:
    language: str = "en"
    churn_threshold: float = 0.5
    traffic_stop_min_daily_conversions: float = 5
    traffic_stop_days: int = 3
    margin_drop_points: float = 10
    launch_stalled_days: int = 7
    overdue_debt_rub: float = 50_000
    overdue_debt_days: int = 30
    tier_change_lookback_days: int = 7  # a tier change stays an open alert this many days


@dataclass(frozen=True)
class PublishSettings:
    """BI publishing (owner: EXPORTS): versions kept so open readers of old ones are not cut off."""

    keep_versions: int = 3
    # DuckDB file format of the BI snapshot: readable by BI drivers bundling an older DuckDB.
    # "latest" = this DuckDB's own format.
    storage_version: str = "v1.0.0"


@dataclass(frozen=True)
class RoutingSettings:
    """Who receives alert e-mails (owner: EXPORTS). Endpoints and credentials: environment only.

    ``recipients_file`` is a CSV ``manager_id,email[,language]`` (team leads, account managers and
    an ``ops`` row for run failures and unassigned alerts); e-mail addresses are personal data, so
    the file lives outside git. Relative to this config file; env CPA_ALERT_RECIPIENTS overrides.
    """

    recipients_file: Path | None = None
    webhook_max_attempts: int = 4
    webhook_backoff_seconds: float = 1.0  # doubles after every failed attempt
    delivery_timeout_seconds: float = 10.0


@dataclass(frozen=True)
class MLSettings:
    """Churn model and forecasts (owner: ML). The alert threshold is [alerts] churn_threshold."""

    seed: int = 42
    threads: int = 1  # OpenMP threads for model fits (threadpoolctl); keep 1-2 on shared hosts
    calls_per_week: int = 20  # k for precision@k: clients the managers can call in a week
    snapshot_weekday: int = 1  # ISO weekday of the weekly churn snapshots (1 = Monday)
    backtest_folds: int = 8  # rolling origins of the churn backtest (4 weekly snapshots each)
    backtest_workers: int = 2  # churn backtest folds fitted at once (threads; 1 = one by one)
    forecast_horizon_weeks: int = 13
    forecast_backtest_origins: int = 8  # rolling origins of the forecast backtest


@dataclass(frozen=True)
class QualitySettings:
    """Data-quality checks on the raw layer (owner: QUALITY; ingest/quality)."""

    # Rows per check, sampled by hash of the source's key (duplicates stay together): keeps a
    # check at a few seconds on a 1M-row clicks day. 0 = no cap (check every loaded row).
    sample_rows: int = 100_000


@dataclass(frozen=True)
class Settings:
    paths: Paths = field(default_factory=Paths)
    network: Network = field(default_factory=Network)
    duckdb: DuckDBSettings = field(default_factory=DuckDBSettings)
    warehouse: WarehouseSettings = field(default_factory=WarehouseSettings)
    spark: SparkSettings = field(default_factory=SparkSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    metrics: MetricSettings = field(default_factory=MetricSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    publish: PublishSettings = field(default_factory=PublishSettings)
    routing: RoutingSettings = field(default_factory=RoutingSettings)
    ml: MLSettings = field(default_factory=MLSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)

    def with_paths(self, **kwargs: Any) -> Settings:
        """A copy pointing at other folders (tests and benchmarks use this)."""
        return replace(self, paths=replace(self.paths, **kwargs))

    def with_engine(self, engine: str, *, spark_dir: Path | None = None) -> Settings:
        """A copy building on another engine (tests compare both on one warehouse)."""
        _check_engine(engine, "with_engine()")
        spark = replace(self.spark, dir=spark_dir) if spark_dir is not None else self.spark
        return replace(self, warehouse=WarehouseSettings(engine=engine), spark=spark)

    @property
    def spark_dir(self) -> Path:
        """Spark's metastore + warehouse folder ([spark] dir, default <data>/spark)."""
        return self.spark.dir or self.paths.data / "spark"


_SECTIONS = {
    "paths": Paths,
    "network": Network,
    "duckdb": DuckDBSettings,
    "warehouse": WarehouseSettings,
    "spark": SparkSettings,
    "ingest": IngestSettings,
    "metrics": MetricSettings,
    "alerts": AlertSettings,
    "publish": PublishSettings,
    "routing": RoutingSettings,
    "ml": MLSettings,
    "quality": QualitySettings,
}

# Path-valued keys outside [paths]: resolved relative to the config file like [paths] entries.
_PATH_KEYS = {("routing", "recipients_file"), ("spark", "dir")}

_PATH_ENV = {"landing": "CPA_LANDING_DIR", "data": "CPA_DATA_DIR", "warehouse": "CPA_WAREHOUSE"}

# Environment overrides of the engine settings: the same names dbt's profile reads.
_SPARK_ENV = {"master": "CPA_SPARK_MASTER", "driver_memory": "CPA_SPARK_DRIVER_MEMORY"}


def _check_engine(engine: str, where: str) -> None:
    if engine not in ENGINES:
        allowed = " or ".join(f'"{e}"' for e in ENGINES)
        raise ConfigError(
            f"{where}: unknown engine {engine!r}; allowed: {allowed}. Set it in cpa.toml "
            '[warehouse] engine (e.g. engine = "duckdb") or with the environment variable '
            "CPA_ENGINE."
        )


def _coerce(section: str, key: str, value: Any, expected: type, base: Path) -> Any:
    where = f"[{section}] {key}"
    if section == "paths" or (section, key) in _PATH_KEYS:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where} must be a non-empty path string, got {value!r}")
        path = Path(value).expanduser()
        return path if path.is_absolute() else (base / path)
    if expected is bool or isinstance(value, bool):
        raise ConfigError(f"{where} must be a {expected.__name__}, got {value!r}")
    try:
        return expected(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where} must be a {expected.__name__}, got {value!r}") from exc


def load_settings(config_file: str | Path | None = None) -> Settings:
    """Read the settings file (``CPA_CONFIG`` or the repository's ``cpa.toml``) over the defaults.

    Unknown sections or keys are errors, not silently ignored: a typo in a threshold name
    must not leave the default in force unnoticed.
    """
    path = Path(config_file or os.environ.get("CPA_CONFIG") or DEFAULT_CONFIG_FILE)
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"{path} is not valid TOML: {exc}. Fix the file or unset CPA_CONFIG."
            ) from exc
    elif config_file or os.environ.get("CPA_CONFIG"):
        raise ConfigError(
            f"configuration file {path} does not exist (named by CPA_CONFIG or the caller)"
        )

    base = path.parent
    sections: dict[str, Any] = {}
    for name, values in raw.items():
        cls = _SECTIONS.get(name)
        if cls is None:
            raise ConfigError(f"{path}: unknown section [{name}]; known: {', '.join(_SECTIONS)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: [{name}] must be a table of settings")
        known = {f.name: f for f in fields(cls)}
        kwargs = {}
        for key, value in values.items():
            if key not in known:
                raise ConfigError(
                    f"{path}: unknown setting [{name}] {key}; known: {', '.join(known)}"
                )
            default = getattr(cls(), key)
            expected = type(default) if default is not None else str
            kwargs[key] = _coerce(name, key, value, expected, base)
        sections[name] = cls(**kwargs)

    settings = Settings(**sections)
    overrides = {
        key: Path(os.environ[env]).expanduser().resolve()
        for key, env in _PATH_ENV.items()
        if os.environ.get(env)
    }
    if overrides:
        settings = settings.with_paths(**overrides)
    settings = _engine_overrides(settings, path)
    if settings.alerts.language not in ("en", "ru"):
        raise ConfigError(
            f"[alerts] language must be 'en' or 'ru', got {settings.alerts.language!r}"
        )
    if settings.ingest.batch_mb < 1:
        raise ConfigError(
            f"{path}: [ingest] batch_mb must be at least 1 (MiB of decompressed files per "
            f"ingestion batch), got {settings.ingest.batch_mb}"
        )
    return settings


def _engine_overrides(settings: Settings, config_file: Path) -> Settings:
    """CPA_ENGINE / CPA_SPARK_* over the file, then the engine name checked."""
    engine = os.environ.get("CPA_ENGINE") or settings.warehouse.engine
    where = "CPA_ENGINE" if os.environ.get("CPA_ENGINE") else f"{config_file}: [warehouse] engine"
    _check_engine(engine, where)
    spark = {key: os.environ[env] for key, env in _SPARK_ENV.items() if os.environ.get(env)}
    if os.environ.get("CPA_SPARK_DIR"):
        spark["dir"] = Path(os.environ["CPA_SPARK_DIR"]).expanduser().resolve()
    return replace(
        settings,
        warehouse=replace(settings.warehouse, engine=engine),
        spark=replace(settings.spark, **spark),
    )


def hash_key(*, allow_demo: bool = False) -> bytes:
    """The secret key for hashing personal data, from ``CPA_HASH_KEY``.

    Outside the demo a missing key is an error rather than a silent default: hashes made with
    a public key could be reversed by brute force over the small space of phones or IPs.
    """
    value = os.environ.get("CPA_HASH_KEY")
    if value:
        return value.encode("utf-8")
    if allow_demo or os.environ.get("CPA_DEMO") == "1":
        return DEMO_HASH_KEY.encode("utf-8")
    raise ConfigError(
        "CPA_HASH_KEY is not set: personal data (IPs, user agents, names, e-mails, phones) is "
        "hashed with this secret key at ingestion. Set it in the environment, e.g. "
        "`export CPA_HASH_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')`, "
        "and keep it stable: changing it changes every hash. For the bundled demo, set CPA_DEMO=1."
    )


def dbt_env_values(settings: Settings) -> dict[str, str]:
    """What dbt_project/profiles.yml reads with `env_var`, from the settings: one source."""
    paths = settings.paths
    return {
        "CPA_WAREHOUSE": str(paths.warehouse_file),
        "CPA_RAW_DIR": str(paths.raw),
        "CPA_TMP_DIR": str(paths.tmp),
        "CPA_DUCKDB_MEMORY_LIMIT": settings.duckdb.memory_limit,
        "CPA_SPARK_DIR": str(settings.spark_dir),
        "CPA_SPARK_MASTER": settings.spark.master,
        "CPA_SPARK_DRIVER_MEMORY": settings.spark.driver_memory,
    }
