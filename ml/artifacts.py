"""Saving and loading trained models: <models>/<model_version>/model.joblib + metadata.json.

The version is a content hash of the training rows and parameters (ml.churn.model), so the
same data and seed give the same folder; saving again overwrites it atomically (written to a
temporary folder beside it, then swapped), and LATEST names the newest version.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import joblib

from ml.churn.model import ChurnModel


def save_model(model: ChurnModel, models_dir: Path, extra: dict[str, Any] | None = None) -> Path:
    """Write the model and its metadata; return the version folder."""
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / model.version
    tmp = models_dir / f".{model.version}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    joblib.dump(model, tmp / "model.joblib")
    meta = {**model.metadata(), **(extra or {})}
    (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    old = models_dir / f".{model.version}.old"
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    (models_dir / "LATEST").write_text(model.version + "\n", encoding="utf-8")
    return target


def load_model(models_dir: Path, version: str | None = None) -> ChurnModel:
    """Load a saved model (default: the one named in LATEST)."""
    if version is None:
        latest = models_dir / "LATEST"
        if not latest.exists():
            raise FileNotFoundError(
                f"no trained churn model in {models_dir}: run the churn training first "
                "(the ml churn asset, or python -m ml.report)."
            )
        version = latest.read_text(encoding="utf-8").strip()
    path = models_dir / version / "model.joblib"
    if not path.exists():
        raise FileNotFoundError(f"model {version} not found at {path}")
    return joblib.load(path)


def load_metadata(models_dir: Path, version: str) -> dict[str, Any]:
    return json.loads((models_dir / version / "metadata.json").read_text(encoding="utf-8"))
