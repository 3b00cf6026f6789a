"""Atomic file-system swaps shared by publishing and feeds.

Readers (BI tools, people opening a feed) must never see a half-written state. On POSIX a
rename within one file system is atomic, and a rename over a symlink replaces it atomically, so
every "make this the current version" step is: build beside, then one rename.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path


def swap_symlink(link: Path, target: str) -> None:
    """Point ``link`` at ``target`` (a path relative to the link's folder) in one atomic step.

    A temporary symlink is created beside the link and renamed over it: a reader resolving the
    link sees either the old or the new target, never a missing link.
    """
    tmp = link.with_name(f".{link.name}.{uuid.uuid4().hex}.tmp")
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write a small text file so that readers see the old or the new content, never a part."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def replace_dir(staging: Path, final: Path) -> None:
    """Move a fully written ``staging`` folder to ``final``, replacing an older ``final``.

    ``os.replace`` cannot replace a non-empty folder, so an existing one is first renamed aside
    (still complete) and removed only after the new one is in place.
    """
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.{uuid.uuid4().hex}.old")
        os.replace(final, old)
    os.replace(staging, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def safe_name(value: str) -> str:
    """A folder name for an id from the data (run ids, lead ids): no separators, no dot files."""
    cleaned = "".join(c if c.isalnum() or c in "-_.=" else "_" for c in str(value)).strip(".")
    if not cleaned:
        raise ValueError(f"cannot make a folder name from {value!r}")
    return cleaned
