"""One pipeline stage as its own process, so that a test can SIGKILL it.

Usage: ``python -m tests.reliability.stage ingest|dbt|churn|publish`` with the usual environment
(CPA_CONFIG, CPA_LANDING_DIR, CPA_DATA_DIR, CPA_DEMO / CPA_HASH_KEY).

Fault injection: ``CPA_RELIABILITY_KILL_AT="module:function:n"`` replaces that function so that
its n-th call SIGKILLs the process before running (``...:n:after`` once it returned). That is
a crash at a precise point (e.g. inside a batch's transaction), as opposed to the tests' timed
kills at random instants.
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import subprocess
import sys

from ingest.settings import REPO_ROOT, load_settings


def _arm_kill(spec: str) -> None:
    module_name, func_name, nth, *when = spec.split(":")
    owner = importlib.import_module(module_name)
    *path, func_name = func_name.split(".")  # "DataFrame.write_parquet": a method
    for name in path:
        owner = getattr(owner, name)
    original = getattr(owner, func_name)
    calls = {"n": 0}
    after = bool(when and when[0] == "after")

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == int(nth) and not after:
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(*args, **kwargs)
        if calls["n"] == int(nth) and after:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(owner, func_name, wrapper)


def main(stage: str) -> int:
    if os.environ.get("CPA_RELIABILITY_KILL_AT"):
        for spec in os.environ["CPA_RELIABILITY_KILL_AT"].split(","):
            _arm_kill(spec)
    settings = load_settings()
    if stage == "ingest":
        from ingest.pipeline import ingest_all

        ingest_all(settings)
    elif stage == "dbt":
        env = {**os.environ, "CPA_WAREHOUSE": str(settings.paths.warehouse_file),
               "CPA_RAW_DIR": str(settings.paths.raw), "CPA_TMP_DIR": str(settings.paths.tmp),
               # per data folder: concurrent runs must not share target/ and logs/
               "DBT_TARGET_PATH": str(settings.paths.data / "dbt_target"),
               "DBT_LOG_PATH": str(settings.paths.data / "dbt_logs")}
        dbt = os.path.join(os.path.dirname(sys.executable), "dbt")
        project = str(REPO_ROOT / "dbt_project")
        return subprocess.call([dbt, "run", "--project-dir", project, "--profiles-dir", project,
                                "--quiet"], env=env, cwd=REPO_ROOT)
    elif stage == "churn":
        from ingest.warehouse import connect
        from ml.pipeline import run_churn

        con = connect(settings)
        try:
            run_churn(settings, con)
        finally:
            con.close()
    elif stage == "publish":
        from exports.publish import publish

        publish(settings)
    else:
        raise SystemExit(f"unknown stage {stage!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
