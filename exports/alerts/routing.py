"""Who receives alert e-mails: a small CSV maintained by the account leads, outside git.

The warehouse holds manager e-mails only as hashes (personal data), so the addresses come from
this file: ``manager_id,email[,language]``, one row per team lead or account manager, plus an
``ops`` row for run failures and alerts that have no team lead.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from exports.alerts.texts import LANGUAGES
from ingest.settings import ConfigError, Settings

OPS = "ops"
ENV_RECIPIENTS = "CPA_ALERT_RECIPIENTS"


@dataclass(frozen=True)
class Recipient:
    manager_id: str
    email: str
    language: str | None = None  # None: [alerts] language


def recipients_file(settings: Settings, env: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if env is None else env
    value = env.get(ENV_RECIPIENTS)
    return Path(value).expanduser() if value else settings.routing.recipients_file


def load_recipients(
    settings: Settings, env: Mapping[str, str] | None = None
) -> dict[str, Recipient]:
    """Read the routing CSV (empty when none is configured). Errors name the file and line."""
    path = recipients_file(settings, env)
    if path is None:
        return {}
    if not path.exists():
        raise ConfigError(
            f"alert recipients file {path} does not exist ([routing] recipients_file or "
            f"{ENV_RECIPIENTS}). Create it with the header manager_id,email,language."
        )
    out: dict[str, Recipient] = {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in reader.fieldnames or []]
        if not {"manager_id", "email"} <= set(header):
            raise ConfigError(
                f"{path}: header must contain manager_id,email[,language]; got {header}"
            )
        for line, row in enumerate(reader, start=2):
            row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            mid, email, lang = row["manager_id"], row["email"], row.get("language") or None
            if not mid and not email:
                continue
            if not mid or "@" not in email:
                raise ConfigError(f"{path}, line {line}: need a manager_id and an e-mail address")
            if lang is not None and lang not in LANGUAGES:
                raise ConfigError(f"{path}, line {line}: language must be one of {LANGUAGES}")
            if mid in out:
                raise ConfigError(f"{path}, line {line}: manager_id {mid} appears twice")
            out[mid] = Recipient(mid, email, lang)
    return out
