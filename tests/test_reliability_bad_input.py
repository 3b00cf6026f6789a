"""Bad input: property-based fuzzing of every source's parser through the real ingestion.

Each example takes one clean contract file of a source (tests/ingest_contract_files.py's base
world), damages it (corrupted bytes, truncation, a wrong encoding, a random field value, lines
duplicated or dropped) and ingests that source into a copy of an already loaded warehouse. The
run must not crash, and the delivery must be accounted for exactly: read = loaded + deduplicated
+ quarantined, every quarantined row has a named reason and a row in meta.quarantine, the rows
loaded are in the raw layer, and a line-based file's data lines are all read (none silently
dropped). The contract's named misbehaviours are covered by tests/test_ingest_defects.py and
tests/test_reliability_redelivery.py (the generator plants every one of them).
"""

from __future__ import annotations

import codecs
import gzip
import json
import os
import shutil
import tempfile
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_contract_files import base_world, settings_for
from reliability.tally import record

from ingest.pipeline import ingest_all, ingest_source

REASONS = {"bad_field_count", "unparsable_number", "unparsable_date", "unknown_enum",
           "invalid_format", "negative_amount", "unknown_id", "future_timestamp",
           "missing_value", "no_fx_rate", "unreadable_file", "missing_column", "empty_snapshot",
           "encoding_error", "stray_file", "invalid_json"}
FILES = {
    "clicks": "tracker/clicks/clicks_2026-11-23.csv.gz",
    "conversions": "tracker/conversions/conversions_2026-11-23.jsonl.gz",
    "offers": "tracker/offers/offers_2026-11-23.json",
    "publishers": "tracker/publishers/publishers_2026-11-23.csv",
    "invoices": "billing/invoices/invoices_2026-11.csv",
    "payments": "billing/payments/payments_2026-11.csv",
    "fx_rates": "billing/fx_rates.csv",
    "companies": "crm/companies/companies_2026-11-23.json",
    "managers": "crm/managers/managers_2026-11-23.csv",
    "deals": "crm/deals/deals_2026-11-23.json",
    "activities": "crm/activities/activities_2026-11-23.jsonl",
    "programs": "crm/programs/programs_2026-11-23.csv",
}
BILLING = {"invoices", "payments", "fx_rates"}
LINE_BASED = {"clicks", "conversions", "publishers", "invoices", "payments", "fx_rates",
              "managers", "activities", "programs"}
PARQUET = {"clicks", "conversions"}
TRIED = {"n": 0}


@pytest.fixture(scope="module")
def template():
    """A base world, loaded once; every example starts from a copy of it."""
    root = Path(tempfile.mkdtemp(prefix="rel_fuzz_"))
    old = os.environ.get("CPA_HASH_KEY")
    os.environ["CPA_HASH_KEY"] = "fuzz-key"
    s = settings_for(root)
    base_world(s.paths.landing)
    # a second, later day so that every base file is re-ingested as a correction, not a first load
    ingest_all(s)
    yield root
    if old is None:
        os.environ.pop("CPA_HASH_KEY", None)
    else:
        os.environ["CPA_HASH_KEY"] = old
    shutil.rmtree(root, ignore_errors=True)
    if TRIED["n"]:
        record("bad input", "hypothesis: damaged files of all 12 sources ingested",
               inputs=TRIED["n"],
               rows_lost=0)


# --------------------------------------------------------------------------- damage


def _decode(source: str, data: bytes) -> str:
    if source in BILLING and not data.startswith(codecs.BOM_UTF8):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("cp1251")
    return data.decode("utf-8-sig")


def _encode(source: str, text: str) -> bytes:
    return text.encode("cp1251", errors="replace") if source in BILLING else text.encode("utf-8")


def _set_field(source: str, text: str, line_no: int, col: int, value: object) -> str:
    if source in ("offers", "companies", "deals"):
        doc = json.loads(text)
        records = next(iter(v for v in doc.values() if isinstance(v, list)))
        rec = records[line_no % len(records)]
        keys = sorted(rec)
        rec[keys[col % len(keys)]] = value
        return json.dumps(doc, ensure_ascii=False)
    lines = text.splitlines(keepends=True)
    i = 1 + line_no % max(1, len(lines) - 1) if source not in ("conversions", "activities") \
        else line_no % len(lines)
    if source in ("conversions", "activities"):
        rec = json.loads(lines[i])
        keys = sorted(rec)
        rec[keys[col % len(keys)]] = value
        lines[i] = json.dumps(rec, ensure_ascii=False) + "\n"
    else:
        sep = ";" if source in BILLING else ","
        end = "\r\n" if lines[i].endswith("\r\n") else "\n"
        fields = lines[i].rstrip("\r\n").split(sep)
        fields[col % len(fields)] = str(value)
        lines[i] = sep.join(fields) + end
    return "".join(lines)


DAMAGE = st.one_of(
    st.tuples(st.just("flip"), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)),
                                        min_size=1, max_size=8)),
    st.tuples(st.just("truncate"), st.floats(0.0, 1.0)),
    st.tuples(st.just("encoding"), st.sampled_from(["utf-16", "latin-1", "cp1251", "utf-8-sig",
                                                    "koi8-r"])),
    st.tuples(st.just("field"), st.integers(0, 50), st.integers(0, 50),
              st.one_of(st.text(max_size=30), st.integers(-10**12, 10**12),
                        st.floats(allow_nan=True), st.none(), st.booleans(),
                        st.sampled_from(["", "-1", "1e309", "31.02.2026", "2026-13-01T00:00:00Z",
                                         '"', ";", ",", "\n", "\r\n", "NaN", "0x1F"]))),
    st.tuples(st.just("lines"), st.lists(st.integers(0, 50), min_size=1, max_size=5),
              st.booleans()),
)


def _damage(source: str, data: bytes, damage: tuple) -> bytes:
    gz = FILES[source].endswith(".gz")
    kind = damage[0]
    if kind == "flip":
        out = bytearray(data)
        for pos, byte in damage[1]:
            out[pos % len(out)] = byte
        return bytes(out)
    if kind == "truncate":
        return data[: int(len(data) * damage[1])]
    text = _decode(source, gzip.decompress(data) if gz else data)
    if kind == "encoding":
        raw = text.encode(damage[1], errors="replace")
    elif kind == "field":
        try:
            raw = _encode(source, _set_field(source, text, damage[1], damage[2], damage[3]))
        except (ValueError, TypeError):  # a value json cannot write (NaN is written as NaN)
            raw = _encode(source, text)
    else:  # duplicate (True) or drop (False) some lines
        lines = text.splitlines(keepends=True)
        for n in damage[1]:
            i = n % len(lines)
            if damage[2]:
                lines.insert(i, lines[i])
            elif len(lines) > 1:
                del lines[i]
        raw = _encode(source, "".join(lines))
    return gzip.compress(raw) if gz else raw


def _data_lines(source: str, data: bytes) -> int | None:
    """Non-blank data lines of a readable line-based file (None when it is not readable)."""
    try:
        raw = gzip.decompress(data) if FILES[source].endswith(".gz") else data
        text = _decode(source, raw) if source in BILLING else raw.decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile):
        return None
    lines = [ln for ln in text.replace("\r\n", "\n").split("\n") if ln.strip("\r") != ""]
    header = 0 if source in ("conversions", "activities") else 1
    return max(0, len(lines) - header)


# --------------------------------------------------------------------------- the property


def _check(template: Path, source: str, damage: tuple) -> None:
    work = Path(tempfile.mkdtemp(prefix="rel_fuzz_ex_"))
    try:
        shutil.copytree(template, work, dirs_exist_ok=True)
        s = settings_for(work)
        path = s.paths.landing / FILES[source]
        data = _damage(source, path.read_bytes(), damage)
        path.write_bytes(data)
        ingest_source(s, source)  # must not raise, whatever the bytes
        TRIED["n"] += 1
        con = duckdb.connect(str(s.paths.warehouse_file), read_only=True)
        try:
            m = con.execute(
                "SELECT outcome, reason, rows_read, rows_loaded, rows_deduplicated, "
                "rows_quarantined, content_hash FROM meta.file_manifest WHERE file_path = ? "
                "ORDER BY ingested_at DESC, manifest_id DESC LIMIT 1", [FILES[source]]
            ).fetchall()[0]
            outcome, reason, read, loaded, dedup, quarantined, digest = m
            assert read == loaded + dedup + quarantined, m
            q = con.execute("SELECT line, reason, field FROM meta.quarantine WHERE file_path = ? "
                            "AND content_hash = ?", [FILES[source], digest]).fetchall()
            assert all(r[1] in REASONS for r in q), q
            if outcome == "identical_redelivery":
                assert data == (template / "landing" / FILES[source]).read_bytes()
                return
            if outcome == "rejected":
                assert reason in REASONS and (read, loaded) == (0, 0), m
                assert [r[1] for r in q if r[0] is None] == [reason], q
                return
            assert outcome == "corrected", m
            assert len([r for r in q if r[0] is not None]) == quarantined, (m, q)
            if source in PARQUET:
                part = s.paths.raw / source / "day=2026-11-23" / "part-0.parquet"
                stored = pl.read_parquet(part).height
            else:
                stored = con.execute(f"SELECT count(*) FROM raw.{source} WHERE _source_file = ?",
                                     [FILES[source]]).fetchall()[0][0]
            assert stored == loaded, (m, stored)
            if source in LINE_BASED:
                assert read == _data_lines(source, data), (m, _data_lines(source, data))
        finally:
            con.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.parametrize("source", sorted(FILES))
def test_damaged_file_never_crashes_and_is_accounted_for(template, source):
    @settings(max_examples=int(os.environ.get("CPA_RELIABILITY_EXAMPLES", "12")), deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow], database=None)
    @given(damage=DAMAGE)
    def prop(damage):
        _check(template, source, damage)

    prop()
