"""Tracker exports: clicks, conversion events, offer and publisher snapshots."""

from __future__ import annotations

import polars as pl

from ingest.landing import FilePattern
from ingest.sources import CHANNELS, CURRENCIES, FxRule, SourceSpec
from ingest.validate import Field

_DAY = r"(?P<day>\d{4}-\d{2}-\d{2})"


def _created_reporting_day(tz: str) -> pl.Expr:
    """Reading 2: a conversion converts at the rate of its created_at reporting day."""
    return (
        pl.col("created_at").dt.replace_time_zone("UTC").dt.convert_time_zone(tz).dt.date()
    )


def specs() -> list[SourceSpec]:
    clicks = SourceSpec(
        name="clicks",
        pattern=FilePattern("tracker/clicks", rf"clicks_{_DAY}\.csv\.gz", "day"),
        fmt="csv.gz",
        target="parquet",
        key=("click_id",),
        dedup="neighbours",
        refs=(("offer_id", "offer"), ("publisher_id", "publisher")),
        depends_on=("offers", "publishers"),
        fields=[
            Field("click_id", "click_id", "str", pattern="[0-9a-f]{32}"),
            Field("ts", "ts", "ts_iso", future=True),
            Field("offer_id", "offer_id", "int"),
            Field("publisher_id", "publisher_id", "int"),
            Field("source", "source", "enum", values=CHANNELS),
            Field("sub_id", "sub_id", "str", nullable=True),
            Field("country", "country", "str", nullable=True, pattern="[A-Z]{2}"),
            Field("device", "device", "enum", values=("desktop", "mobile", "tablet")),
            Field("os", "os", "str"),
            Field("ip_hash", "ip", "pii"),
            Field("user_agent_hash", "user_agent", "pii"),
            Field("is_unique", "is_unique", "bool01"),
            Field("is_bot", "is_bot", "bool01"),
        ],
    )
    conversions = SourceSpec(
        name="conversions",
        pattern=FilePattern("tracker/conversions", rf"conversions_{_DAY}\.jsonl\.gz", "day"),
        fmt="jsonl.gz",
        target="parquet",
        key=("conversion_id", "updated_at", "status"),
        dedup="global",
        refs=(("offer_id", "offer"), ("publisher_id", "publisher"),
              ("advertiser_id", "advertiser")),
        fx=FxRule("currency", _created_reporting_day),
        depends_on=("offers", "publishers", "companies", "fx_rates"),
        fields=[
            Field("conversion_id", "conversion_id", "str"),
            Field("click_id", "click_id", "str", nullable=True),
            Field("offer_id", "offer_id", "int"),
            Field("advertiser_id", "advertiser_id", "int"),
            Field("publisher_id", "publisher_id", "int"),
            Field("goal", "goal", "enum",
                  values=("lead", "sale", "install", "deposit", "registration", "call")),
            Field("status", "status", "enum", values=("pending", "approved", "rejected", "trash")),
            Field("created_at", "created_at", "ts_iso", future=True),
            Field("updated_at", "updated_at", "ts_iso", future=True),
            Field("revenue", "revenue", "money"),
            Field("payout", "payout", "money"),
            Field("currency", "currency", "enum", values=CURRENCIES),
            Field("sub_id", "sub_id", "str", nullable=True),
            Field("country", "country", "str", nullable=True),
            Field("comment", "comment", "str", nullable=True),
        ],
    )
    offers = SourceSpec(
        name="offers",
        pattern=FilePattern("tracker/offers", rf"offers_{_DAY}\.json", "day"),
        fmt="json",
        array_key="offers",
        snapshot=True,
        key=("offer_id",),
        extra_schema={"exported_at": pl.Datetime("us")},
        fields=[
            Field("offer_id", "offer_id", "int"),
            Field("advertiser_id", "advertiser_id", "int"),
            Field("title", "title", "str"),
            Field("category", "category", "enum", values=(
                "finance", "insurance", "hr", "fmcg", "ecommerce", "education", "travel",
                "telecom", "gaming", "auto", "realty", "health")),
            Field("payout_model", "payout_model", "enum",
                  values=("CPA", "CPL", "CPS", "CPI", "RevShare")),
            Field("currency", "currency", "str"),
            Field("price", "price", "money"),
            Field("payout", "payout", "money"),
            Field("hold_days", "hold_days", "int", small=True),
            Field("daily_cap", "daily_cap", "int", nullable=True, small=True),
            Field("status", "status", "enum", values=("draft", "active", "paused", "stopped")),
            Field("created_at", "created_at", "ts_iso", future=True),
            Field("launched_at", "launched_at", "ts_iso", nullable=True, future=True),
            Field("stopped_at", "stopped_at", "ts_iso", nullable=True, future=True),
            Field("exclusive", "exclusive", "bool"),
            Field("allowed_sources", "allowed_sources", "list", values=CHANNELS),
        ],
    )
    publishers = SourceSpec(
        name="publishers",
        pattern=FilePattern("tracker/publishers", rf"publishers_{_DAY}\.csv", "day"),
        fmt="csv",
        snapshot=True,
        key=("publisher_id",),
        fields=[
            Field("publisher_id", "publisher_id", "int"),
            Field("name_hash", "name", "pii", nullable=True),
            Field("email_hash", "email", "pii", nullable=True),
            Field("phone_hash", "phone", "pii", nullable=True),
            Field("country", "country", "str", nullable=True),
            Field("registered_at", "registered_at", "ts_iso", future=True),
            Field("traffic_types", "traffic_types", "pipe_list", nullable=True, values=CHANNELS),
            Field("status", "status", "enum", values=("active", "inactive", "banned")),
            Field("manager_id", "manager_id", "int", nullable=True),
        ],
    )
    return [clicks, conversions, offers, publishers]
