"""Byte-level writers that reproduce how each exporter formats its files, deterministically.

The same world must give the same bytes twice, so gzip headers carry mtime 0 and no name,
JSON keys keep their insertion order, and file modification times are set from the world's
own clock (the delivery time of the file), not the machine's.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np

GZIP_LEVEL = 1  # fast: the landing folder is rewritten often, size matters less
NBSP = "\u00a0"


def gzip_bytes(data: bytes) -> bytes:
    """Gzip with a fixed header (mtime 0, no file name) so output is reproducible."""
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


_MADE: set[Path] = set()  # folders known to exist (saves a mkdir per file)


def forget_folders() -> None:
    """Call when folders may have been removed (a new world replaces the old one)."""
    _MADE.clear()


def write_bytes(path: Path, data: bytes, delivered_at: datetime | None = None) -> None:
    """Write a file and stamp its mtime with the world's delivery time (deterministic)."""
    if path.parent not in _MADE:
        path.parent.mkdir(parents=True, exist_ok=True)
        _MADE.add(path.parent)
    path.write_bytes(data)
    if delivered_at is not None:
        ts = delivered_at.replace(tzinfo=UTC).timestamp()
        os.utime(path, (ts, ts))


def day_end(d: date) -> datetime:
    """The last second of UTC day d (naive UTC)."""
    return datetime.combine(d, time(23, 59, 59))


def delivery_time(d: date, hours_after: float = 1.0) -> datetime:
    """When a file covering day d lands: shortly after the day ends."""
    return datetime.combine(d + timedelta(days=1), time(0)) + timedelta(hours=hours_after)


def iso_z(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def unix_s(ts: datetime) -> int:
    return int(ts.replace(tzinfo=UTC).timestamp())


def dumps(obj: Any) -> str:
    """Compact, key-order-preserving JSON (UTF-8 text, non-ASCII kept)."""
    return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))


def ru_money(x: float, sep: str = " ") -> str:
    """`12 345,67`: Russian accounting format, thousands separated by `sep` (space or NBSP)."""
    neg = x < 0
    s = f"{abs(x):,.2f}".replace(",", "\x00").replace(".", ",").replace("\x00", sep)
    return ("-" if neg else "") + s


def ru_rate(x: float) -> str:
    return f"{x:.4f}".replace(".", ",")


def ru_date(d: date) -> str:
    return d.strftime("%d.%m.%Y")


def csv_field(value: Any) -> str:
    """RFC 4180 quoting for the small CSV exports written row by row."""
    if value is None:
        return ""
    s = str(value)
    if any(c in s for c in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def csv_lines(header: list[str], rows: list[list[Any]], sep: str = ",") -> list[str]:
    """Header + RFC 4180 rows (minimal quoting), via the C csv writer."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(header)
    w.writerows([["" if v is None else v for v in r] for r in rows])
    return buf.getvalue().split("\n")[:-1]


HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def hex_ids(rng: np.random.Generator, n: int, nbytes: int = 16) -> np.ndarray:
    """n random lowercase hex ids (2*nbytes chars) as a numpy bytes array, vectorised."""
    b = np.frombuffer(rng.bytes(n * nbytes), dtype=np.uint8).reshape(n, nbytes)
    out = np.empty((n, 2 * nbytes), dtype=np.uint8)
    out[:, 0::2] = HEX[b >> 4]
    out[:, 1::2] = HEX[b & 15]
    return out.view(f"S{2 * nbytes}").ravel()
