"""Finding the export files in the landing folder and naming what they cover.

Each source owns one folder and one file-name pattern (``docs/sources.md``); the date in the
name is the day or month the file covers. A file whose name matches no pattern is a *stray*:
it is recorded (``stray_file``), never guessed at and never a crash.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

_HASH_CACHE: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, cached by (path, size, mtime) so sensors can poll cheaply."""
    st = path.stat()
    cache_key = (str(path), st.st_size, st.st_mtime_ns)
    cached = _HASH_CACHE.get(cache_key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    _HASH_CACHE[cache_key] = value
    return value


@dataclass(frozen=True)
class FilePattern:
    """Where a source's files live and how their names encode the covered period."""

    folder: str  # relative to the landing root, e.g. "tracker/clicks"
    regex: str  # full-match pattern for the file name; group "day" or "month" if dated
    cadence: str  # "day", "month" or "none"

    def match(self, name: str) -> tuple[date | None, date | None] | None:
        """(day, month) covered by a matching name, or None if the name does not match."""
        m = re.fullmatch(self.regex, name)
        if m is None:
            return None
        try:
            if self.cadence == "day":
                return date.fromisoformat(m.group("day")), None
            if self.cadence == "month":
                return None, date.fromisoformat(m.group("month") + "-01")
        except ValueError:  # e.g. clicks_2026-13-45.csv.gz: looks dated, is not
            return None
        return None, None


@dataclass(frozen=True)
class LandingFile:
    """One file in the landing folder, as the pipeline and the Dagster sensor see it."""

    source: str
    path: Path  # absolute
    rel_path: str  # relative to the landing root, POSIX style: the lineage key everywhere
    day: date | None
    month: date | None
    size: int
    mtime: float

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def sha256(self) -> str:
        return file_sha256(self.path)


def _visible_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def discover(landing_root: Path, source: str, pattern: FilePattern) -> list[LandingFile]:
    """The files of one source, oldest covered period first (then by name)."""
    out = []
    for path in _visible_files(landing_root / pattern.folder):
        covered = pattern.match(path.name)
        if covered is None:
            continue
        st = path.stat()
        out.append(
            LandingFile(
                source=source,
                path=path,
                rel_path=path.relative_to(landing_root).as_posix(),
                day=covered[0],
                month=covered[1],
                size=st.st_size,
                mtime=st.st_mtime,
            )
        )
    out.sort(key=lambda f: (f.day or f.month or date.min, f.name))
    return out


def stray_files(
    landing_root: Path, patterns: dict[str, FilePattern], folders: list[str] | None = None
) -> list[tuple[str, Path]]:
    """Files in the landing tree that match no source pattern, with the source that owns the
    folder they sit in (``_landing`` when no source does). Hidden files (``.name``) are
    skipped: exporters and editors use them for partial writes.

    ``folders`` limits the walk to some folders (one source's run looks at its own folder).
    """
    if not landing_root.is_dir():
        return []
    owners: dict[str, str] = {}
    for source, pattern in patterns.items():
        owners.setdefault(pattern.folder, source)
    roots = [landing_root / f for f in folders] if folders else [landing_root]
    out = []
    for root in roots:
        if not root.is_dir():
            continue
        walk = [root] if folders else [root, *sorted(p for p in root.rglob("*") if p.is_dir())]
        for folder in walk:
            rel_folder = folder.relative_to(landing_root).as_posix()
            for path in _visible_files(folder):
                if any(
                    p.folder == rel_folder and p.match(path.name) is not None
                    for p in patterns.values()
                ):
                    continue
                out.append((owners.get(rel_folder, "_landing"), path))
    return out
