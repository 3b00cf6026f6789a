"""The DuckDB reporting day looks the zone's UTC offset up among the zone's transitions instead
of converting every row through ICU (dbt_project/macros/reporting_day.sql). The local times it
gives must be ICU's exactly, to the microsecond, on both sides of every transition."""

from __future__ import annotations

import json

from test_dbt_support import dbt, fresh_dir

# DST at night (Berlin), none since 2014 (Moscow, the default), half- and quarter-hour offsets
# (St John's, Kathmandu, Chatham), a half-hour DST (Lord Howe), changes at local midnight, where
# a misplaced transition changes the day (Havana, Santiago, Gaza), and no transition at all.
ZONES = [
    "Europe/Moscow", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu",
    "Australia/Lord_Howe", "Pacific/Chatham", "America/Havana", "America/Santiago",
    "Asia/Gaza", "UTC",
]

# every minute, and the microsecond before it, of March 2011 (Moscow's change to UTC+4), October
# 2014 (back to UTC+3) and 2025 (every zone's DST changes); the edges of the looked-up range; null
PROBES = """
with minutes as (
    select unnest(range(timestamp '2011-03-01', timestamp '2011-04-01', interval 1 minute)) as m
    union all
    select unnest(range(timestamp '2014-10-01', timestamp '2014-11-01', interval 1 minute))
    union all
    select unnest(range(timestamp '2025-01-01', timestamp '2026-01-01', interval 1 minute))
)
select m as ts from minutes
union all
select m - interval 1 microsecond from minutes
union all
select * from (values
    (timestamp '1969-12-31 23:59:59.999999'), (timestamp '1970-01-01 00:00:00'),
    (timestamp '2099-12-31 23:59:59.999999'), (timestamp '2100-01-01 00:00:00'),
    (timestamp '2150-06-01 12:00:00'), (cast(null as timestamp))
) as edges(ts)
"""


def _comparison(zones: list[str]) -> str:
    parts = []
    for tz in zones:
        icu = f"timezone('{tz}', ts at time zone 'UTC')"
        parts.append(f"""
            select '{tz}' as zone,
                {{{{ zone_transitions('{tz}') | length }}}} as spans,
                count(*) as probes,
                count(*) filter (where {{{{ zone_local_time('ts', '{tz}') }}}}
                                 is distinct from {icu}) as local_time_mismatches,
                count(*) filter (where {{{{ reporting_day('ts', '{tz}') }}}}
                                 is distinct from cast({icu} as date)) as day_mismatches
            from probes""")
    return f"with probes as ({PROBES})" + "\nunion all".join(parts)


def test_offset_lookup_gives_icus_local_time_and_day_in_every_zone(tmp_path):
    proc = dbt(["--quiet", "show", "--inline", _comparison(ZONES), "--output", "json",
                "--limit", str(len(ZONES))], fresh_dir(tmp_path / "data"))
    rows = {r["zone"]: r for r in json.loads(proc.stdout)["show"]}
    assert set(rows) == set(ZONES)
    assert {z: (r["local_time_mismatches"], r["day_mismatches"]) for z, r in rows.items()} == {
        z: (0, 0) for z in ZONES
    }
    minutes = (31 + 31 + 365) * 24 * 60
    assert {r["probes"] for r in rows.values()} == {2 * minutes + 6}
    # the lookup is really used: one span where the offset never changed, many under DST
    assert rows["UTC"]["spans"] == 1
    assert rows["Europe/Moscow"]["spans"] > 50 and rows["Europe/Berlin"]["spans"] > 200
