"""Figures the reliability tests record for the report (faults injected, inputs tried, rows lost).

A test calls :func:`record`; when ``CPA_RELIABILITY_TALLY`` names a file (the report command
sets it), one JSON line is appended per call, otherwise nothing is written. Each test records
only after its assertions passed, so a recorded "rows_lost: 0" is a checked figure.
"""

from __future__ import annotations

import json
import os


def record(area: str, check: str, *, faults: int = 0, inputs: int = 0, rows_lost: int = 0,
           rows_checked: int = 0, note: str = "") -> None:
    path = os.environ.get("CPA_RELIABILITY_TALLY")
    if not path:
        return
    line = {"area": area, "check": check, "faults": faults, "inputs": inputs,
            "rows_lost": rows_lost, "rows_checked": rows_checked, "note": note}
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
