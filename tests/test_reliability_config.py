"""Configuration and secrets: a missing or malformed setting is a clear error that names it,
raised before anything is written."""

from __future__ import annotations

import subprocess
import sys

import pytest
from ingest_contract_files import base_world, settings_for
from reliability.tally import record

from ingest.marts import EngineUnavailableError, require_engine
from ingest.pipeline import ingest_all
from ingest.settings import REPO_ROOT, ConfigError, hash_key, load_settings

BAD_FILES = [
    ("[ml]\nseeds = 1\n", ["[ml] seeds", "unknown setting"]),
    ("[mll]\nseed = 1\n", ["[mll]", "unknown section"]),
    ("[duckdb]\nthreads = \"two\"\n", ["[duckdb] threads", "int", "'two'"]),
    ("[ingest]\nmax_quarantine_share = true\n", ["[ingest] max_quarantine_share", "float"]),
    ("[alerts]\nlanguage = \"de\"\n", ["[alerts] language", "'de'"]),
    ("[paths]\nlanding = 3\n", ["[paths] landing", "path"]),
    ("[metrics]\ntier_a_min_revenue_90d = [1]\n", ["[metrics] tier_a_min_revenue_90d"]),
    ("[network\ntimezone = 1\n", ["not valid TOML"]),
    ("duckdb = 1\n", ["[duckdb] must be a table"]),
    ("[warehouse]\nengine = \"postgres\"\n",
     ["[warehouse] engine", "'postgres'", '"duckdb" or "spark"', "CPA_ENGINE"]),
    ("[spark]\ndir = 5\n", ["[spark] dir", "path"]),
    ("[ingest]\nbatch_mb = 0\n", ["[ingest] batch_mb", "at least 1"]),
]


@pytest.mark.parametrize("text,named", BAD_FILES, ids=[b[1][0] for b in BAD_FILES])
def test_malformed_setting_is_named(tmp_path, text, named):
    cfg = tmp_path / "cpa.toml"
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    for part in named:
        assert part in str(err.value), (part, str(err.value))
    assert str(cfg) in str(err.value) or "[" in str(err.value)
    record("configuration", f"malformed cpa.toml: {named[0]}", inputs=1)


def test_missing_config_file_named(tmp_path, monkeypatch):
    monkeypatch.setenv("CPA_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=r"nope\.toml"):
        load_settings()
    record("configuration", "CPA_CONFIG names a missing file", inputs=1)


def test_missing_hash_key_outside_demo_stops_before_writing(tmp_path, monkeypatch):
    monkeypatch.delenv("CPA_HASH_KEY", raising=False)
    monkeypatch.delenv("CPA_DEMO", raising=False)
    with pytest.raises(ConfigError, match="CPA_HASH_KEY"):
        hash_key()
    s = settings_for(tmp_path)
    base_world(s.paths.landing)
    with pytest.raises(ConfigError, match="CPA_HASH_KEY"):
        ingest_all(s)
    assert not s.paths.warehouse_file.exists()  # nothing half-written
    monkeypatch.setenv("CPA_HASH_KEY", "")  # empty is missing too
    with pytest.raises(ConfigError, match="CPA_HASH_KEY"):
        hash_key()
    record("configuration", "CPA_HASH_KEY missing or empty outside the demo", inputs=2)


def test_cli_reports_a_bad_setting_in_one_line(tmp_path):
    cfg = tmp_path / "cpa.toml"
    cfg.write_text("[duckdb]\nmemory_limt = \"1GB\"\n", encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "CPA_DEMO": "1", "CPA_DATA_DIR": str(tmp_path / "d"),
           "CPA_LANDING_DIR": str(tmp_path / "l")}
    run = subprocess.run([sys.executable, "-m", "ingest.cli", "--config", str(cfg)],
                         cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run
    assert "[duckdb] memory_limt" in run.stderr and "Traceback" not in run.stderr, run.stderr
    record("configuration", "ingest.cli with a misspelt setting", inputs=1)


def test_engine_from_environment_is_checked_and_spark_settings_follow_env(tmp_path, monkeypatch):
    cfg = tmp_path / "cpa.toml"
    cfg.write_text('[warehouse]\nengine = "spark"\n[spark]\ndir = "sp"\n', encoding="utf-8")
    settings = load_settings(cfg)
    assert settings.warehouse.engine == "spark" and settings.spark_dir == tmp_path / "sp"
    monkeypatch.setenv("CPA_ENGINE", "duckdb")
    monkeypatch.setenv("CPA_SPARK_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("CPA_SPARK_MASTER", "local[1]")
    settings = load_settings(cfg)
    assert settings.warehouse.engine == "duckdb"
    assert (settings.spark_dir, settings.spark.master) == (tmp_path / "elsewhere", "local[1]")
    monkeypatch.setenv("CPA_ENGINE", "oracle")
    with pytest.raises(ConfigError, match=r"CPA_ENGINE: unknown engine 'oracle'.*\[warehouse\]"):
        load_settings(cfg)
    record("configuration", "CPA_ENGINE names an unknown engine", inputs=1)


def test_spark_engine_without_java_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("CPA_ENGINE", "spark")
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on PATH
    settings = load_settings()
    with pytest.raises(EngineUnavailableError) as err:
        require_engine(settings)
    message = str(err.value)
    for part in ("openjdk-17-jre-headless", "make setup-spark", 'engine = "duckdb"', "CPA_ENGINE"):
        assert part in message, (part, message)
    require_engine(settings.with_engine("duckdb"))  # the embedded engine needs nothing
    record("configuration", "spark engine chosen on a machine without Java", inputs=1)
