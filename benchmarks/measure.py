"""Measuring one child process: wall time, peak resident memory, load average at its start.

Each stage runs as its own process and is reaped with ``os.wait4``, whose resource usage
covers that child and the descendants it waited for, so a stage's peak RSS is its own and not
the maximum over everything that ran before (which ``RUSAGE_CHILDREN`` of the parent would be).
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path


@dataclass
class Measured:
    """One child process's cost. ``peak_rss_mib`` is ru_maxrss (KiB on Linux) in MiB."""

    seconds: float
    peak_rss_mib: float
    load_at_start: float  # 1-minute load average when the child started
    returncode: int
    cpu_seconds: float = -1.0  # user + system CPU of the child (and its children); -1 unknown

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def run_measured(
    argv: list[str], *, env: dict[str, str], log: Path, cwd: Path | None = None
) -> Measured:
    """Run ``argv`` to completion with its output appended to ``log``; never raises on failure
    (the caller decides), so a failed stage still leaves its timing and log behind."""
    log.parent.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(argv)}\n".encode())
        out.flush()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; keep Popen from waiting
    return Measured(
        seconds=round(time.perf_counter() - started, 2),
        peak_rss_mib=round(usage.ru_maxrss / 1024, 1),
        load_at_start=round(load, 2),
        returncode=proc.returncode,
        cpu_seconds=round(usage.ru_utime + usage.ru_stime, 2),
    )


def parse_gnu_time(path: Path) -> Measured | None:
    """A `/usr/bin/time -v` report as a Measured (load unknown: recorded as -1)."""
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8", errors="replace")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    code = re.search(r"Exit status: (\d+)", text)
    if not (wall and rss):
        return None
    hours, minutes, seconds = int(wall.group(1) or 0), int(wall.group(2)), float(wall.group(3))
    return Measured(
        seconds=round(hours * 3600 + minutes * 60 + seconds, 2),
        peak_rss_mib=round(int(rss.group(1)) / 1024, 1),
        load_at_start=-1.0,
        returncode=int(code.group(1)) if code else 0,
    )


def dir_size_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return -1.0


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def source_commit() -> str:
    """The commit measured: ``CPA_BENCH_COMMIT`` (a snapshot without .git) or git's HEAD."""
    if os.environ.get("CPA_BENCH_COMMIT"):
        return os.environ["CPA_BENCH_COMMIT"]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> dict[str, object]:
    """What the figures were measured on, including how busy the host was at the start."""
    return {
        "source_commit": source_commit(),
        "cores": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _mem_total_gib(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            p: _version(p)
            for p in (
                "duckdb",
                "polars",
                "dbt-core",
                "dbt-duckdb",
                "scikit-learn",
                "dagster",
                "pyarrow",
            )
        },
    }
