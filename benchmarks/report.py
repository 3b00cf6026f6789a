"""Turning the measurements into results.md (for people) and results.json (for tools).

Every figure sits next to the 1-minute load average at the start of what it measures: the host
is shared (2 cores), so a slow stage under load 8 says less than one under load 1.
"""

from __future__ import annotations

import json
from pathlib import Path

GIB = 1024**3
NAN = float("nan")
MEMORY_TARGET_GIB = 24


def _stages_total(stages: dict, names: tuple[str, ...] | None = None) -> float:
    return sum(s["seconds"] for n, s in stages.items() if names is None or n in names)


def _tracker_rows(stages: dict) -> int:
    sources = stages.get("ingest", {}).get("detail", {}).get("sources", {})
    return sum(sources.get(s, {}).get("rows_read", 0) for s in ("clicks", "conversions"))


def _cpu_total(stages: dict, names: tuple[str, ...] | None = None) -> float | None:
    values = [s.get("cpu_seconds", -1) for n, s in stages.items() if names is None or n in names]
    return round(sum(values), 1) if values and min(values) >= 0 else None


def derive(result: dict) -> dict:
    """The ratios the issue asks for, from one scale's raw measurements. Wall-time ratios are
    what the issue asks; the CPU-time ratios beside them move less with the shared host's load
    (a stage waiting for a core accrues wall time, not CPU time)."""
    full, inc = result.get("full", {}), result.get("incremental", {})
    out: dict = {
        "full_seconds": round(_stages_total(full), 1),
        "full_ingest_dbt_seconds": round(_stages_total(full, ("ingest", "dbt")), 1),
        "peak_rss_mib": max((s["peak_rss_mib"] for s in full.values()), default=0.0),
        "completed": len(full) == 5 and all(s["returncode"] == 0 for s in full.values()),
    }
    if inc:
        out["incremental_seconds"] = round(_stages_total(inc), 1)
        out["incremental_ingest_dbt_seconds"] = round(_stages_total(inc, ("ingest", "dbt")), 1)
        out["incremental_share_ingest_dbt"] = round(
            out["incremental_ingest_dbt_seconds"] / out["full_ingest_dbt_seconds"], 3
        )
        out["incremental_share_whole"] = round(out["incremental_seconds"] / out["full_seconds"], 3)
    floor = result.get("floor", {})
    if floor.get("returncode") == 0 and floor["seconds"] > 0:
        out["floor_seconds"] = floor["seconds"]
        out["pipeline_over_floor"] = round(out["full_seconds"] / floor["seconds"], 2)
        out["ingest_dbt_over_floor"] = round(out["full_ingest_dbt_seconds"] / floor["seconds"], 2)
    landing = result.get("landing_floor", {})
    if landing.get("returncode") == 0 and landing["seconds"] > 0:
        out["landing_floor_seconds"] = landing["seconds"]
        if "floor_seconds" in out:
            out["landing_over_floor"] = round(landing["seconds"] / out["floor_seconds"], 2)
        if full.get("ingest", {}).get("returncode") == 0:
            out["ingest_over_landing"] = round(full["ingest"]["seconds"] / landing["seconds"], 2)
    cpu_full, cpu_full_id = _cpu_total(full), _cpu_total(full, ("ingest", "dbt"))
    cpu_inc_id = _cpu_total(inc, ("ingest", "dbt")) if inc else None
    cpu_floor = floor.get("cpu_seconds", -1) if floor.get("returncode") == 0 else -1
    if cpu_full is not None:
        out["full_cpu_seconds"] = cpu_full
        if cpu_inc_id is not None and cpu_full_id:
            out["incremental_cpu_share_ingest_dbt"] = round(cpu_inc_id / cpu_full_id, 3)
        if cpu_floor > 0:
            out["pipeline_over_floor_cpu"] = round(cpu_full / cpu_floor, 2)
    return out


def _affine(x0: float, y0: float, x1: float, y1: float, x: float) -> tuple[float, float]:
    """y at x on the line through two measurements (a fixed cost plus a cost per click); a
    negative slope (noise, or fixed costs only) is read as flat. Returns (y, slope)."""
    slope = max(0.0, (y1 - y0) / (x1 - x0)) if x1 != x0 else 0.0
    return y1 + slope * (x - x1), slope


def extrapolate(scales: dict, target_clicks_per_day: int, target_days: int) -> dict | None:
    """Per stage, fixed + per-click cost through the two largest completed worlds with the
    same history length (proportional from one). An estimate, never a measurement."""
    done = sorted(
        (r for r in scales.values() if derive(r)["completed"] and r["days"] == target_days),
        key=lambda r: r["clicks_per_day"],
    )
    if not done:
        return None
    hi = done[-1]
    lo = done[-2] if len(done) > 1 else None
    x = target_clicks_per_day
    est: dict = {
        "model": "fixed + per-click (affine) per stage" if lo else "proportional to clicks",
        "from": [r.get("label", r["scale"]) for r in ([lo] if lo else []) + [hi]],
        "stages": {},
    }

    def at(y_hi: float, y_lo: float | None) -> float:
        if lo is None or y_lo is None:
            return y_hi * x / hi["clicks_per_day"]
        return _affine(lo["clicks_per_day"], y_lo, hi["clicks_per_day"], y_hi, x)[0]

    for name, s_hi in hi["full"].items():
        s_lo = lo["full"].get(name) if lo else None
        est["stages"][name] = {
            "seconds": round(at(s_hi["seconds"], s_lo["seconds"] if s_lo else None), 0),
            "cpu_seconds": round(
                at(s_hi.get("cpu_seconds", NAN), s_lo.get("cpu_seconds", NAN) if s_lo else None), 0
            ),
        }
    est["full_seconds"] = round(sum(v["seconds"] for v in est["stages"].values()), 0)
    floor_hi = hi.get("floor", {}).get("seconds")
    floor_lo = (lo or {}).get("floor", {}).get("seconds")
    if floor_hi:
        est["floor_seconds"] = round(at(floor_hi, floor_lo), 0)
        est["pipeline_over_floor"] = round(est["full_seconds"] / est["floor_seconds"], 2)
        cpu_hi = hi["floor"].get("cpu_seconds", NAN)
        cpu_lo = lo["floor"].get("cpu_seconds", NAN) if lo and lo.get("floor") else None
        est["floor_cpu_seconds"] = round(at(cpu_hi, cpu_lo), 0)
        est["full_cpu_seconds"] = round(sum(v["cpu_seconds"] for v in est["stages"].values()), 0)
        est["pipeline_over_floor_cpu"] = round(
            est["full_cpu_seconds"] / est["floor_cpu_seconds"], 2
        )
    return est


def _fmt_bytes(n: int) -> str:
    return f"{n / GIB:.2f} GiB" if n >= GIB / 4 else f"{n / 1024**2:.0f} MiB"


def _stage_table(stages: dict, rows: int) -> list[str]:
    lines = [
        "| stage | wall s | CPU s | load at start | peak RSS MiB | tracker rows/s | rc |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in stages.items():
        rate = f"{rows / s['seconds']:,.0f}" if rows and s["seconds"] else "–"
        lines.append(
            f"| {name} | {s['seconds']:.1f} | {s.get('cpu_seconds', -1):.1f} | "
            f"{s['load_at_start']:.1f} | "
            f"{s['peak_rss_mib']:.0f} | {rate} | {s['returncode']} |"
        )
    return lines


def _dbt_nodes(stages: dict) -> list[str]:
    d = stages.get("dbt", {}).get("detail", {})
    if not d:
        return []
    slow = ", ".join(f"`{k.split('.')[-1]}` {v:.1f} s" for k, v in d["slowest"].items())
    return [
        f"dbt: {d['nodes']} nodes, dbt's own elapsed {d['dbt_elapsed_seconds']:.1f} s of the "
        f"stage (rest: start-up, parsing), node time summed over threads "
        f"{d['node_seconds_sum']:.1f} s; slowest: {slow}.",
        "",
    ]


def _ingest_sources(stages: dict) -> list[str]:
    sources = stages.get("ingest", {}).get("detail", {}).get("sources", {})
    lines = [
        "| source | files | rows read | loaded | dedup | quarantined | s | rows/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in sources.items():
        rate = f"{r['rows_read'] / r['seconds']:,.0f}" if r["seconds"] else "–"
        lines.append(
            f"| {name} | {r['files']} | {r['rows_read']:,} | {r['rows_loaded']:,} | "
            f"{r['rows_deduplicated']:,} | {r['rows_quarantined']:,} | "
            f"{r['seconds']:.1f} | {rate} |"
        )
    return lines


def _targets(report: dict) -> list[str]:
    scales = report["scales"]
    if not scales:
        return ["No scale completed."]
    lines = [
        "Targets are stated for the 100M world; every world run in this session is listed "
        "(label = preset, `-Nd` = a shorter history). Verdicts are for the largest world run.",
        "",
        "| target | measured | met at the largest world? |",
        "|---|---|---|",
    ]
    runs = sorted(scales.values(), key=lambda r: r["clicks_per_day"] * r["days"])
    largest = runs[-1]
    dl = derive(largest)

    def each(fmt) -> str:
        return "; ".join(f"{r.get('label', r['scale'])}: {fmt(r, derive(r))}" for r in runs)

    peak_gib = dl["peak_rss_mib"] / 1024
    ok = dl["completed"] and peak_gib < MEMORY_TARGET_GIB
    lines.append(
        f"| completes on {report['machine']['cores']} cores in {MEMORY_TARGET_GIB} GiB, no OOM "
        "(max stage peak RSS) | "
        + each(
            lambda r, d: (
                f"{'ok' if d['completed'] else 'FAILED'} {d['peak_rss_mib'] / 1024:.2f} GiB"
            )
        )
        + f" | {'yes' if ok else 'no'} ({largest.get('label', largest['scale'])}) |"
    )
    hc = report.get("history_check")
    if hc and hc.get("short"):
        long_full = scales.get(hc["scale"], {}).get("full", {})
        ratios = history_ratios(long_full, hc["short"]["full"])
        budget = hc.get("budget")

        def worst(r: dict[str, float]) -> str:
            if not r:
                return "no stage succeeded at both lengths"
            w = max(r, key=r.get)
            return f"worst stage ({w}) {r[w]:.2f}"

        def flat(r: dict[str, float], *runs: dict) -> str:
            if not r or not _all_succeeded(*runs):
                return "incomplete (a stage failed)"
            return "yes" if max(r.values()) <= 1.25 else "no"

        measured = f"{hc['long_days']} d ÷ {hc['short_days']} d ({hc['scale']}): "
        verdict = ""
        if budget:
            budget_runs = (budget["long"]["full"], budget["short"]["full"])
            fixed = history_ratios(*budget_runs)
            measured += (
                f"with DuckDB's budget fixed at {budget['long']['memory_limit']}, "
                f"{worst(fixed)}; "
            )
            verdict = f"{flat(fixed, *budget_runs)} with a fixed budget; "
        elif hc.get("budget_not_run"):
            measured += f"fixed budget not run ({hc['budget_not_run']}); "
        measured += f"at the default budget (a share of RAM), {worst(ratios)}"
        verdict += f"{flat(ratios, long_full, hc['short']['full'])} at the default budget"
        lines.append(
            f"| peak memory flat in history length | {measured} | {verdict} "
            "(≤ 1.25 counted as flat) |"
        )
    if "incremental_share_ingest_dbt" in dl:
        lines.append(
            "| incremental day < 10 % of full build (ingest+dbt; whole pipeline) | "
            + each(
                lambda r, d: (
                    f"{d.get('incremental_share_ingest_dbt', NAN):.1%}; "
                    f"{d.get('incremental_share_whole', NAN):.1%} (CPU time, ingest+dbt: "
                    f"{d.get('incremental_cpu_share_ingest_dbt', NAN):.1%})"
                )
            )
            + f" | {'yes' if dl['incremental_share_ingest_dbt'] < 0.10 else 'no'} |"
        )
    if "pipeline_over_floor" in dl:
        lines.append(
            "| pipeline ÷ floor < 3 (whole; ingest+dbt) | "
            + each(
                lambda r, d: (
                    f"{d.get('pipeline_over_floor', NAN):.2f}; "
                    f"{d.get('ingest_dbt_over_floor', NAN):.2f} (CPU time, whole: "
                    f"{d.get('pipeline_over_floor_cpu', NAN):.2f})"
                )
            )
            + f" | {'yes' if dl['pipeline_over_floor'] < 3 else 'no'} |"
        )
    return lines


def _engines(report: dict) -> list[str]:
    """The same dbt project on both engines, same raw layer, same machine (issue: Spark on one
    machine is expected to be slower; the point is that it runs unchanged)."""
    rows = []
    for r in report["scales"].values():
        spark = r.get("spark")
        if spark is None:
            continue
        label = r.get("label", r["scale"])
        duck = r["full"].get("dbt", {})
        if "not_run" in spark:
            rows.append(f"| {label} | {duck.get('seconds', NAN):.1f} | {spark['not_run']} | | |")
            continue
        counts = spark.get("mart_row_counts", {})
        ratio = spark["seconds"] / duck["seconds"] if duck.get("seconds") else NAN
        same = (
            f"{counts['equal_counts']} / {counts['marts']}"
            if counts
            else f"build failed (rc {spark['returncode']})"
        )
        rows.append(
            f"| {label} | {duck.get('seconds', NAN):.1f} | {spark['seconds']:.1f} | "
            f"{ratio:.1f}× | {same} |"
        )
    if not rows:
        return []
    return [
        "## dbt build on both engines",
        "",
        "| scale | DuckDB dbt build s | Spark dbt build s (local[2] session, JVM start incl.) "
        "| Spark ÷ DuckDB | marts with equal row counts |",
        "|---|---:|---:|---:|---:|",
        *rows,
        "",
        "Same raw layer, same project, `dbt build --target duckdb` then `--target spark` "
        "(tests included). Row-for-row parity (money within 0.01 RUB) is asserted on a small "
        "world by tests/test_dbt_spark_parity.py.",
        "",
    ]


def render(report: dict, notes: str = "") -> str:
    m = report["machine"]
    out = [
        "# Benchmark results",
        "",
        f"Generated by `{report['command']}` — started {report['started_utc']}, "
        f"finished {report.get('finished_utc', '?')} (UTC). Machine-readable: `results.json`.",
        "",
        "## Machine",
        "",
        f"- {m['cores']} cores, {m['memory_gib']} GiB RAM, CPU: {m['cpu_model']}",
        "- load average at start (1/5/15 min): "
        + ", ".join(str(x) for x in m["load_average_at_start"])
        + " — the host is shared with other engineers' test runs: figures are noisy, each carries "
        "the load at its own start",
        f"- {m['os']}, Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        f"- source: commit `{m.get('source_commit', 'unknown')}`",
        "",
        "## Targets",
        "",
        *_targets(report),
        "",
    ]
    summary = [
        "| scale | clicks | days | full s | incr. (ingest+dbt) s | incr. share | floor s | "
        "pipeline ÷ floor | ingest+dbt ÷ floor | max peak MiB | warehouse | raw parquet |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["scales"].values():
        d = derive(r)
        clicks = r["world_counts"].get("clicks", "?")
        summary.append(
            f"| {r.get('label', r['scale'])} | {clicks:,} | {r['days']} | "
            f"{d['full_seconds']:.0f} | "
            f"{d.get('incremental_ingest_dbt_seconds', NAN):.1f} | "
            f"{d.get('incremental_share_ingest_dbt', NAN):.1%} | "
            f"{d.get('floor_seconds', NAN):.1f} | "
            f"{d.get('pipeline_over_floor', NAN):.2f} | "
            f"{d.get('ingest_dbt_over_floor', NAN):.2f} | "
            f"{d['peak_rss_mib']:.0f} | {_fmt_bytes(r['warehouse_bytes'])} | "
            f"{_fmt_bytes(r['raw_parquet_bytes'])} |"
        )
    out += [
        "## Summary per scale",
        "",
        *summary,
        "",
        "*full s* = sum of the five stages of the full build (generation excluded); "
        "*incr.* = the run after one held-back UTC day (that day's ingestion partition + "
        "`dbt build`), share = ÷ full ingest+dbt; *floor* = DuckDB alone, one query, same "
        "raw files (benchmarks/floor.py).",
        "",
    ]
    out += _engines(report)
    for scale, why in report.get("not_run", {}).items():
        out += [f"## {scale}: NOT RUN in this session", "", f"{why}.", ""]
        est = extrapolate(report["scales"], *_label_size(scale))
        if est:
            out += [
                f"**EXTRAPOLATION, not a measurement** ({est['model']}, through "
                f"{' and '.join(est['from'])}):",
                "",
                "| stage | est. wall s | est. CPU s |",
                "|---|---:|---:|",
                *[
                    f"| {n} | {v['seconds']:.0f} | {v.get('cpu_seconds', NAN):.0f} |"
                    for n, v in est["stages"].items()
                ],
                f"| **full** | {est['full_seconds']:.0f} | "
                f"{est.get('full_cpu_seconds', NAN):.0f} |",
                "",
                "Peak memory is not extrapolated: it does not scale linearly (ingestion works "
                "in batches of at most 64 MiB of compressed files, DuckDB stages are capped by "
                "`[duckdb] memory_limit` and spill beyond it); a world with the same daily "
                "volume but a shorter history, where one was run, shows it measured.",
                "",
            ]
            if "floor_seconds" in est:
                out += [
                    f"Extrapolated floor {est['floor_seconds']:.0f} s; pipeline ÷ floor ≈ "
                    f"{est['pipeline_over_floor']:.2f} in wall time, "
                    f"{est.get('pipeline_over_floor_cpu', NAN):.2f} in CPU time (extrapolated; "
                    "wall times of the source runs carry the host's load, CPU times less so).",
                    "",
                ]
    for r in report["scales"].values():
        rows = _tracker_rows(r["full"])
        g = r["generate"]
        out += [
            f"## {r.get('label', r['scale'])}: {r['clicks_per_day']:,} clicks/day × "
            f"{r['days']} days",
            "",
            "World: "
            + ", ".join(f"{k} {v:,}" for k, v in r["world_counts"].items() if isinstance(v, int))
            + f"; landing {_fmt_bytes(r['landing_bytes'])}. Generation {g['seconds']:.0f} s "
            f"(load {g['load_at_start']:.1f}; -1 = not recorded), peak {g['peak_rss_mib']:.0f} MiB"
            + (" (world reused: cost of its first generation)." if g.get("reused_world") else "."),
            "",
            "### Full build",
            "",
            *_stage_table(r["full"], rows),
            "",
            *_dbt_nodes(r["full"]),
            "Ingestion per source (full build):",
            "",
            *_ingest_sources(r["full"]),
            "",
        ]
        if r.get("incremental"):
            out += [
                f"### Incremental run after one new day ({r['incremental_day']})",
                "",
                *_stage_table(r["incremental"], _tracker_rows(r["incremental"])),
                "",
                *_dbt_nodes(r["incremental"]),
            ]
        if r.get("floor"):
            f = r["floor"]
            out += [
                f"Floor: {f['seconds']:.1f} s (load {f['load_at_start']:.1f}), "
                f"peak {f['peak_rss_mib']:.0f} MiB, "
                f"{f.get('detail', {}).get('mart_rows', '?')} offer × day rows.",
                "",
            ]
        if r.get("landing_floor"):
            lf, d = r["landing_floor"], derive(r)
            out += [
                f"Landing floor (the same tracker files only read, typed and written as Parquet "
                f"with Polars; benchmarks/floor.py): {lf['seconds']:.1f} s, "
                f"{d.get('landing_over_floor', NAN):.2f} × the floor; the ingestion took "
                f"{d.get('ingest_over_landing', NAN):.2f} × it (every source, with validation, "
                f"hashing, deduplication and lineage).",
                "",
            ]
    hc = report.get("history_check")
    if hc and hc.get("short"):
        out += [
            f"## Peak memory vs history length ({hc['scale']}: "
            f"{hc['short_days']} vs {hc['long_days']} days)",
            "",
            "At the default DuckDB budget (the full builds above):",
            "",
            *history_table(report["scales"][hc["scale"]]["full"], hc["short"]["full"]),
        ]
        if hc.get("budget"):
            budget = hc["budget"]
            out += [
                f"With DuckDB's memory budget fixed at {budget['long']['memory_limit']} in "
                "every stage (`[duckdb] memory_limit`; the full pipeline once more at each "
                f"length, on the whole history{_dbt_threads_note(budget)}):",
                "",
                *history_table(budget["long"]["full"], budget["short"]["full"]),
            ]
    if notes:
        out += [notes.rstrip(), ""]
    return "\n".join(out)


def _dbt_threads_note(budget: dict) -> str:
    """", dbt with N thread(s)": the threads dbt's nodes ran on (older reports lack it)."""
    threads = budget["long"]["full"].get("dbt", {}).get("detail", {}).get("threads_used")
    if not isinstance(threads, int):
        return ""
    return f"; dbt with {threads} thread{'s' if threads != 1 else ''}"


def history_ratios(long_run: dict, short_run: dict) -> dict[str, float]:
    """Peak RSS of each stage at the long history ÷ at the short one (stages that succeeded in
    both: a stage that failed early has a low peak that means nothing)."""
    return {
        n: long_run[n]["peak_rss_mib"] / s["peak_rss_mib"]
        for n, s in short_run.items()
        if n in long_run and s["peak_rss_mib"]
        and s["returncode"] == 0 and long_run[n]["returncode"] == 0
    }


def _all_succeeded(*runs: dict) -> bool:
    return all(c["returncode"] == 0 for r in runs for c in r.values())


def history_table(long_run: dict, short_run: dict) -> list[str]:
    lines = [
        "| stage | peak MiB short | peak MiB long | ratio | s short | s long |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    ratios = history_ratios(long_run, short_run)
    for n, s in short_run.items():
        if n in ratios:
            lr = long_run[n]
            lines.append(
                f"| {n} | {s['peak_rss_mib']:.0f} | {lr['peak_rss_mib']:.0f} | "
                f"{ratios[n]:.2f} | {s['seconds']:.1f} | {lr['seconds']:.1f} |"
            )
    return [*lines, ""]


def _label_size(label: str) -> tuple[int, int]:
    """(clicks per day, days) of a run label: ``100m``, ``100m-120d`` or ``demox10``."""
    from ingest.sample_world import SCALES, WorldConfig

    name, _, days = label.partition("-")
    scale, _, factor = name.partition("x")
    cpd = SCALES[scale][0] * (int(factor) if factor else 1)
    return cpd, int(days.rstrip("d")) if days else WorldConfig().days


def write_reports(report: dict, md: Path, js: Path, *, notes: str = "") -> None:
    report = {
        **report,
        "derived": {k: derive(v) for k, v in report["scales"].items()},
        "extrapolated": {
            s: extrapolate(report["scales"], *_label_size(s)) for s in report.get("not_run", {})
        },
    }
    md.parent.mkdir(parents=True, exist_ok=True)
    js.parent.mkdir(parents=True, exist_ok=True)
    js.write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    md.write_text(render(report, notes), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Re-render results.md from results.json (e.g. after adding profiling notes)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("json_file", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--notes", type=Path, default=None)
    args = parser.parse_args(argv)
    report = json.loads(args.json_file.read_text(encoding="utf-8"))
    notes = args.notes.read_text(encoding="utf-8") if args.notes else ""
    args.out.write_text(render(report, notes), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
