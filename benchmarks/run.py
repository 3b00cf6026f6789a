"""``python -m benchmarks.run [--scales 1m,10m,100m] [--out benchmarks/results.md]``.

For each scale: generate the world (or reuse one already generated with the same config under
the work folder), hold back the last UTC day's tracker files, run the full pipeline stage by
stage (each a child process: wall time, peak RSS, load average at its start), put the day back
and run the incremental path (that day's ingestion partition + dbt build + ML, alerts, publish),
then the floor query. Optionally repeats one scale with a shorter history to show
whether peak memory grows with history length. A scale whose estimated cost would overrun
``--deadline`` is not started; the report then carries a labelled extrapolation instead.
Results are rewritten after every scale, so a stopped run still leaves what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.engines import compare_mart_counts, spark_missing
from benchmarks.measure import Measured, dir_size_bytes, machine, parse_gnu_time, run_measured
from benchmarks.report import write_reports
from benchmarks.stages import bench_settings, dbt_command
from ingest.sample_world import SCALES, WorldConfig

FULL_STAGES = ("ingest", "dbt", "ml", "alerts", "publish")


def _child_env(config: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if not env.get("CPA_HASH_KEY"):
        env["CPA_DEMO"] = "1"  # synthetic data only: the public demo key is fine here
    if config is not None:
        env["CPA_CONFIG"] = str(config)
    return env


def _held_back(world: Path, day: str) -> list[Path]:
    tracker = world / "landing" / "tracker"
    return [
        tracker / "clicks" / f"clicks_{day}.csv.gz",
        tracker / "conversions" / f"conversions_{day}.jsonl.gz",
    ]


def _generate(config: WorldConfig, world: Path, log: Path) -> tuple[Measured, dict, bool]:
    """Generate ``world`` unless a world with the same config is already there (reused: its
    recorded generation cost is reported)."""
    summary_file = world / "truth" / "summary.json"
    cost_file = world.parent / "generate.json"
    if summary_file.exists():
        summary = json.loads(summary_file.read_text())
        if (
            summary.get("config", {}).get("clicks_per_day") == config.clicks_per_day
            and summary.get("config", {}).get("days") == config.days
            and summary.get("config", {}).get("seed") == config.seed
        ):
            cost = (
                Measured(**json.loads(cost_file.read_text()))
                if cost_file.exists()
                else parse_gnu_time(world.parent / "generate.time")
            )
            if cost is not None:
                return cost, summary, True
    if world.exists():
        shutil.rmtree(world)
    argv = [
        sys.executable,
        "-m",
        "ingest.sample_world",
        "--out",
        str(world),
        "--scale",
        config.scale,
        "--days",
        str(config.days),
        "--seed",
        str(config.seed),
        "--clicks-per-day",
        str(config.clicks_per_day),
    ]
    cost = run_measured(argv, env=_child_env(), log=log)
    if cost.returncode != 0:
        raise RuntimeError(f"generating the {config.scale} world failed: see {log}")
    cost_file.write_text(json.dumps(cost.as_dict()))
    return cost, json.loads(summary_file.read_text()), False


def _dbt_detail(run_results: Path, keep: Path) -> dict:
    """dbt's own timing: its elapsed time (the rest of the stage is start-up and parsing), the
    number of nodes and the slowest ones — where a dbt build spends its time."""
    if not run_results.exists():
        return {}
    keep.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run_results, keep)  # the next build overwrites dbt's copy
    results = json.loads(run_results.read_text())
    nodes = results.get("results", [])
    slowest = sorted(nodes, key=lambda n: -n.get("execution_time", 0))[:8]
    return {
        "dbt_elapsed_seconds": round(results.get("elapsed_time", 0.0), 1),
        "nodes": len(nodes),
        "node_seconds_sum": round(sum(n.get("execution_time", 0.0) for n in nodes), 1),
        "slowest": {n["unique_id"]: round(n["execution_time"], 2) for n in slowest},
        # dbt's worker threads the nodes ran on (project hooks run on "main")
        "threads_used": len({n.get("thread_id") for n in nodes} - {"main", None}),
    }


def _stage(
    stage: str,
    world: Path,
    data: Path,
    scratch: Path,
    *,
    tag: str,
    day: str | None = None,
    config: Path | None = None,
) -> tuple[Measured, dict]:
    log = scratch / "logs" / f"{tag}-{stage}.log"
    result_file = scratch / "results" / f"{tag}-{stage}.json"
    if stage in ("dbt", "dbt_spark"):
        target = "spark" if stage == "dbt_spark" else "duckdb"
        settings = bench_settings(world / "landing", data, config)
        argv, extra = dbt_command(settings, scratch, target)
        cost = run_measured(argv, env={**_child_env(config), **extra}, log=log, cwd=scratch)
        folder = "dbt_target" if target == "duckdb" else f"dbt_target_{target}"
        detail = _dbt_detail(scratch / folder / "run_results.json", result_file)
        return cost, {**detail, "duckdb_memory_limit": settings.duckdb.memory_limit}
    argv = [
        sys.executable,
        "-m",
        "benchmarks.stages",
        stage,
        "--landing",
        str(world / "landing"),
        "--data",
        str(data),
        "--result",
        str(result_file),
        "--run-id",
        f"bench-{tag}",
    ]
    if day:
        argv += ["--day", day]
    cost = run_measured(argv, env=_child_env(config), log=log)
    detail = (
        json.loads(result_file.read_text()) if result_file.exists() and cost.returncode == 0 else {}
    )
    return cost, detail


def _pipeline(
    world: Path,
    data: Path,
    scratch: Path,
    tag: str,
    day: str | None = None,
    config: Path | None = None,
) -> dict:
    """The stages in the orchestrator's order; stops at the first failure (recorded)."""
    out: dict[str, dict] = {}
    for stage in FULL_STAGES:
        cost, detail = _stage(stage, world, data, scratch, tag=tag, day=day, config=config)
        out[stage] = {**cost.as_dict(), "detail": detail}
        print(
            f"  {tag:<12} {stage:<8} {cost.seconds:>9.1f} s  peak {cost.peak_rss_mib:>8.0f} MiB"
            f"  load {cost.load_at_start:.1f}  rc {cost.returncode}",
            flush=True,
        )
        if cost.returncode != 0:
            out[stage]["failed_log"] = str(scratch / "logs" / f"{tag}-{stage}.log")
            break
    return out


def run_scale(
    scale: str,
    work: Path,
    *,
    days: int | None,
    factor: int = 1,
    with_incremental: bool = True,
    with_floor: bool = True,
    with_spark: bool = False,
    label: str | None = None,
) -> dict:
    cpd = SCALES[scale][0] * factor if factor > 1 else None
    config = WorldConfig.from_scale(scale, days=days, clicks_per_day=cpd)
    name = label or (scale if days is None else f"{scale}-{config.days}d")
    scratch = work / name
    world, data = scratch / "world", scratch / "data"
    scratch.mkdir(parents=True, exist_ok=True)
    print(f"[{name}] {config.clicks_per_day} clicks/day x {config.days} days", flush=True)
    gen, summary, reused = _generate(config, world, scratch / "logs" / "generate.log")
    counts = summary.get("counts", summary)
    if data.exists():
        shutil.rmtree(data)  # a benchmark measures a build from nothing
    last_day = config.end.isoformat()
    held = scratch / "held_back"
    held.mkdir(exist_ok=True)
    for f in _held_back(world, last_day):  # an interrupted earlier run may have left them aside
        if (held / f.name).exists():
            shutil.move(held / f.name, f)
    result: dict = {
        "label": name,
        "scale": scale,
        "clicks_per_day": config.clicks_per_day,
        "days": config.days,
        "world_counts": counts,
        "generate": {**gen.as_dict(), "reused_world": reused},
        "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if with_incremental:
        for f in _held_back(world, last_day):
            shutil.move(f, held / f.name)
    result["full"] = _pipeline(world, data, scratch, "full")
    result["warehouse_bytes"] = dir_size_bytes(data / "warehouse.duckdb")
    result["raw_parquet_bytes"] = dir_size_bytes(data / "raw")
    result["landing_bytes"] = dir_size_bytes(world / "landing")
    full_ok = _completed(result["full"])
    if with_spark and full_ok:  # the second engine on the very same raw layer
        result["spark"] = _spark_build(world, data, scratch)
    if with_incremental:
        for f in _held_back(world, last_day):
            shutil.move(held / f.name, f)
        if full_ok:
            result["incremental_day"] = last_day
            result["incremental"] = _pipeline(world, data, scratch, "incremental", day=last_day)
    if with_floor:  # the engine's floor, then the landing floor (benchmarks/floor.py)
        floor_data = scratch / "floor_data"
        for stage, key in (("floor", "floor"), ("landing", "landing_floor")):
            cost, detail = _stage(stage, world, floor_data, scratch, tag="floor")
            shutil.rmtree(floor_data, ignore_errors=True)  # the landing's Parquet: GBs at 100M
            result[key] = {**cost.as_dict(), "detail": detail}
            print(f"  {stage:<12} {cost.seconds:>9.1f} s  peak {cost.peak_rss_mib:>8.0f} MiB",
                  flush=True)
    result["finished_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
    return result


def budget_config(scratch: Path, memory_limit: str) -> Path:
    """A copy of the repository's cpa.toml with ``[duckdb] memory_limit`` set, in ``scratch``."""
    from ingest.settings import DEFAULT_CONFIG_FILE

    source = Path(os.environ.get("CPA_CONFIG") or DEFAULT_CONFIG_FILE)  # the one in effect
    text = source.read_text(encoding="utf-8")
    fixed, n = re.subn(r"(?m)^memory_limit = .*$", f'memory_limit = "{memory_limit}"', text)
    if n != 1:
        raise RuntimeError(f"{source} has no single `memory_limit = ` line to set")
    out = scratch / "cpa-budget.toml"
    out.write_text(fixed, encoding="utf-8")
    return out


def budget_run(scratch: Path, memory_limit: str) -> dict:
    """The full pipeline once more on the world in ``scratch`` (its own warehouse, removed
    afterwards) with DuckDB's memory budget fixed at ``memory_limit`` in every stage.

    At the default budget (a share of RAM) DuckDB keeps what it has read in memory while it
    may, so a longer history shows a higher peak without needing it. A budget that binds at
    both history lengths shows what the stages need (192MB no longer binds for publishing a
    one-year world: 272-301 MiB against 359-362 MiB for two years). dbt builds with the
    profile's threads, as the product does; the report names the threads its nodes ran on.
    """
    data = scratch / "data-budget"
    shutil.rmtree(data, ignore_errors=True)
    print(f"[{scratch.name}] DuckDB memory budget {memory_limit}", flush=True)
    try:
        config = budget_config(scratch, memory_limit)
        return {"memory_limit": memory_limit,
                "full": _pipeline(scratch / "world", data, scratch, "budget", config=config)}
    finally:
        shutil.rmtree(data, ignore_errors=True)


def _spark_build(world: Path, data: Path, scratch: Path) -> dict:
    """``dbt build --target spark`` (a local session, README "When one machine is not enough")
    after the DuckDB build, and how its marts compare: row counts per mart, both engines.

    Peak RSS and CPU seconds are dbt's Python process only: the JVM that does Spark's work is
    its child and not reaped by it, so only the wall time compares the engines."""
    missing = spark_missing()
    if missing:
        return {"not_run": missing}
    settings = bench_settings(world / "landing", data)
    spark_dir = settings.spark_dir
    if spark_dir.exists():
        shutil.rmtree(spark_dir)  # a build from nothing, like the DuckDB one
    cost, detail = _stage("dbt_spark", world, data, scratch, tag="full")
    print(
        f"  {'full':<12} {'dbt_spark':<8} {cost.seconds:>9.1f} s  load {cost.load_at_start:.1f}"
        f"  rc {cost.returncode}",
        flush=True,
    )
    out = {**cost.as_dict(), "detail": detail}
    if cost.returncode == 0:
        out["mart_row_counts"] = compare_mart_counts(settings.paths.warehouse_file, settings)
    else:
        out["failed_log"] = str(scratch / "logs" / "full-dbt_spark.log")
    return out


def _completed(stages: dict) -> bool:
    """Every stage of a pipeline ran and succeeded."""
    return len(stages) == len(FULL_STAGES) and all(c["returncode"] == 0 for c in stages.values())


def _total_seconds(result: dict) -> float:
    stages = [*result.get("full", {}).values(), *result.get("incremental", {}).values()]
    return (
        result["generate"]["seconds"] * (0 if result["generate"].get("reused_world") else 1)
        + sum(s["seconds"] for s in stages)
        + result.get("floor", {}).get("seconds", 0)
        + result.get("landing_floor", {}).get("seconds", 0)
    )


def parse_entry(entry: str, default_days: int | None) -> tuple[str, int, int | None, str]:
    """``SCALE[xN][@DAYS]`` -> (preset, clicks-per-day multiplier, days, label): ``100m@120`` is
    the 100M preset's daily volume over 120 days, ``demox10`` the demo world with 10x the
    clicks per day (same advertisers), for "a world 10x larger"."""
    match = re.fullmatch(r"([a-z0-9]+?)(?:x(\d+))?(?:@(\d+))?", entry)
    if not match:
        raise ValueError(f"cannot read scale {entry!r}: expected SCALE[xN][@DAYS]")
    scale, factor, days = match.group(1), int(match.group(2) or 1), match.group(3)
    n = int(days) if days else default_days
    label = scale + (f"x{factor}" if factor > 1 else "") + ("" if n is None else f"-{n}d")
    return scale, factor, n, label


def _total_clicks(scale: str, days: int | None, factor: int = 1) -> int:
    return SCALES[scale][0] * factor * (days or WorldConfig().days)


def _estimate_seconds(
    done: dict[str, dict], scale: str, days: int | None, factor: int = 1, *, generated: bool = False
) -> float | None:
    """Linear in total clicks from the largest world measured so far, generation included
    unless the world is already ``generated`` — a deliberately optimistic guess: costs that
    grow faster only add to it."""
    if not done:
        return None
    last = max(done.values(), key=lambda r: r["clicks_per_day"] * r["days"])
    ratio = _total_clicks(scale, days, factor) / (last["clicks_per_day"] * last["days"])
    gen = 0.0 if generated else last["generate"]["seconds"] * ratio
    return (
        gen
        + (
            _total_seconds(last)
            - (0 if last["generate"].get("reused_world") else last["generate"]["seconds"])
        )
        * ratio
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scales",
        default="1m,10m,100m",
        help="comma-separated presets of ingest.sample_world, each optionally SCALE@DAYS",
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results.md"))
    parser.add_argument("--json", type=Path, default=None, help="default: --out with .json")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=Path("/tmp/cpa_bench"),
        help="worlds and warehouses (large: keep it outside the repository)",
    )
    parser.add_argument(
        "--days", type=int, default=None, help="history length (default: the preset's)"
    )
    parser.add_argument(
        "--history-days",
        type=int,
        default=365,
        help="also run one scale with this shorter history (0 = skip)",
    )
    parser.add_argument(
        "--history-scale",
        default=None,
        help="label of the scale the history check repeats (default: the smallest). Pick one "
        "with several ingestion batches at both lengths: at 1m a whole year of clicks is one "
        "batch, so the check compares one batch in memory with two",
    )
    parser.add_argument(
        "--history-memory-limit",
        default="128MB",
        help="also run both history lengths with DuckDB's memory budget fixed at this "
        "('' = skip): the default budget is a share of RAM, which DuckDB fills as a cache. "
        "Pick one below what every DuckDB stage takes at the shorter history (at 10m, 256MB "
        "was above publishing's need at 365 days, so its peak showed the data, not the budget)",
    )
    parser.add_argument(
        "--deadline",
        default=None,
        help="UTC 'HH:MM': do not start a scale estimated to finish after it",
    )
    parser.add_argument("--notes", type=Path, default=None, help="Markdown appended to the report")
    parser.add_argument(
        "--spark-scales",
        default="1m,10m",
        help="labels of the scales whose dbt build is also run on Spark ('' = none)",
    )
    args = parser.parse_args(argv)
    try:
        entries = [parse_entry(s.strip(), args.days) for s in args.scales.split(",") if s.strip()]
    except ValueError as exc:
        parser.error(str(exc))
    for s, _factor, _days, _label in entries:
        if s not in SCALES:
            parser.error(f"unknown scale {s!r}; choose from {', '.join(SCALES)}")
    entries.sort(key=lambda e: _total_clicks(e[0], e[2], e[1]))
    json_out = args.json or args.out.with_suffix(".json")
    spark_labels = {x.strip() for x in args.spark_scales.split(",") if x.strip()}
    if args.history_scale and args.history_scale not in {e[3] for e in entries}:
        parser.error(f"--history-scale {args.history_scale!r} is not one of --scales")
    deadline = None
    if args.deadline:
        hh, mm = (int(x) for x in args.deadline.split(":"))
        now = datetime.now(UTC)
        deadline = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
        if deadline < now:
            deadline += timedelta(days=1)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "machine": machine(),
        "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(
            ["python -m benchmarks.run", *(argv if argv is not None else sys.argv[1:])]
        ),
        "scales": {},
        "not_run": {},
        "history_check": None,
    }
    notes = args.notes.read_text(encoding="utf-8") if args.notes and args.notes.exists() else ""

    def save() -> None:
        report["finished_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
        write_reports(report, args.out, json_out, notes=notes)

    for scale, factor, days, label in entries:
        generated = (args.work_dir / label / "world" / "truth" / "summary.json").exists()
        estimate = _estimate_seconds(report["scales"], scale, days, factor, generated=generated)
        if (
            deadline
            and estimate is not None
            and datetime.now(UTC) + timedelta(seconds=estimate) > deadline
        ):
            report["not_run"][label] = (
                f"not started: estimated {estimate / 60:.0f} min (linear in clicks "
                f"from the largest scale run) would end after the deadline {args.deadline} UTC"
            )
            print(f"[{label}] skipped: {report['not_run'][label]}", flush=True)
            save()
            continue
        started = time.perf_counter()
        report["scales"][label] = run_scale(
            scale, args.work_dir, days=days, factor=factor, label=label,
            with_spark=label in spark_labels,
        )
        report["scales"][label]["benchmark_seconds"] = round(time.perf_counter() - started, 1)
        save()
        if label == (args.history_scale or entries[0][3]) and args.history_days:
            base = report["scales"][label]
            short = run_scale(
                scale,
                args.work_dir,
                days=args.history_days,
                with_incremental=False,
                with_floor=False,
                label=f"{scale}-history{args.history_days}d",
            )
            report["history_check"] = {
                "scale": label,
                "short_days": args.history_days,
                "long_days": base["days"],
                "short": short,
            }
            save()
            if args.history_memory_limit:
                runs = (base["full"], short["full"])
                took = sum(c["seconds"] for r in runs for c in r.values())
                if not all(_completed(r) for r in runs):
                    report["history_check"]["budget_not_run"] = "a default-budget build failed"
                elif deadline and datetime.now(UTC) + timedelta(seconds=1.5 * took) > deadline:
                    report["history_check"]["budget_not_run"] = (
                        f"not started: about {1.5 * took / 60:.0f} min would end after the "
                        f"deadline {args.deadline} UTC"
                    )
                else:
                    report["history_check"]["budget"] = {
                        "long": budget_run(args.work_dir / label, args.history_memory_limit),
                        "short": budget_run(
                            args.work_dir / short["label"], args.history_memory_limit
                        ),
                    }
                save()
    save()
    print(f"wrote {args.out} and {json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
