"""CRM exports (amoCRM style: Unix seconds, nested JSON) and the staff / programme CSVs."""

from __future__ import annotations

import polars as pl

from ingest.landing import FilePattern
from ingest.pii import hash_list_series
from ingest.sources import SourceSpec
from ingest.validate import Field

_DAY = r"(?P<day>\d{4}-\d{2}-\d{2})"


def _hash_contacts(rows: pl.DataFrame, key: bytes) -> pl.DataFrame:
    """Contacts are personal data: keep only how many there are and their e-mails' hashes."""
    if rows.height == 0:
        empty = pl.lit(None, dtype=pl.List(pl.String)).alias("contact_email_hashes")
        return rows.with_columns(empty).drop("_contact_emails")
    emails = rows["_contact_emails"].alias("contact_email_hashes")
    return rows.with_columns(hash_list_series(emails, key)).drop("_contact_emails")


def specs() -> list[SourceSpec]:
    companies = SourceSpec(
        name="companies",
        pattern=FilePattern("crm/companies", rf"companies_{_DAY}\.json", "day"),
        fmt="json",
        array_key="companies",
        snapshot=True,
        key=("company_id",),
        extra_sql={
            "contact_count": "CAST(json_array_length(_text, '$.contacts') AS INTEGER)",
            "_contact_emails": "json_extract_string(_text, '$.contacts[*].email')",
        },
        extra_schema={"contact_count": pl.Int32(), "contact_email_hashes": pl.List(pl.String)},
        post=_hash_contacts,
        consumed_keys=("contacts",),
        fields=[
            Field("company_id", "id", "int"),
            Field("advertiser_id", "advertiser_id", "int", nullable=True),
            Field("name", "name", "str"),
            Field("inn", "inn", "str", nullable=True),
            Field("industry", "industry", "str", nullable=True),
            Field("responsible_user_id", "responsible_user_id", "int"),
            Field("bdm_user_id", "bdm_user_id", "int", nullable=True),
            Field("created_at", "created_at", "ts_unix", future=True),
            Field("updated_at", "updated_at", "ts_unix", future=True),
            Field("tags", "tags", "list", nullable=True),
        ],
    )
    managers = SourceSpec(
        name="managers",
        pattern=FilePattern("crm/managers", rf"managers_{_DAY}\.csv", "day"),
        fmt="csv",
        snapshot=True,
        key=("manager_id",),
        fields=[
            Field("manager_id", "manager_id", "int"),
            Field("full_name_hash", "full_name", "pii"),
            Field("email_hash", "email", "pii", nullable=True),
            Field("role", "role", "enum",
                  values=("account_manager", "bdm", "billing", "tech", "team_lead")),
            Field("team_lead_id", "team_lead_id", "int", nullable=True),
            Field("hired_at", "hired_at", "date_iso"),
            Field("left_at", "left_at", "date_iso", nullable=True),
        ],
    )
    deals = SourceSpec(
        name="deals",
        pattern=FilePattern("crm/deals", rf"deals_{_DAY}\.json", "day"),
        fmt="json",
        array_key="deals",
        snapshot=True,
        key=("deal_id",),
        fields=[
            Field("deal_id", "deal_id", "int"),
            Field("company_id", "company_id", "int"),
            Field("advertiser_id", "advertiser_id", "int", nullable=True),
            Field("pipeline", "pipeline", "enum", values=("new_client", "upsell", "new_offer")),
            Field("stage", "stage", "enum",
                  values=("lead", "brief", "integration", "launched", "won", "lost")),
            Field("expected_monthly_budget", "expected_monthly_budget", "money", nullable=True),
            Field("created_at", "created_at", "ts_unix", future=True),
            Field("closed_at", "closed_at", "ts_unix", nullable=True, future=True),
            Field("responsible_user_id", "responsible_user_id", "int"),
            Field("loss_reason", "loss_reason", "str", nullable=True),
        ],
    )
    activities = SourceSpec(
        name="activities",
        pattern=FilePattern("crm/activities", rf"activities_{_DAY}\.jsonl", "day"),
        fmt="jsonl",
        key=("activity_id",),
        dedup="global",
        refs=(("company_id", "company"), ("manager_id", "manager"),
              ("advertiser_id", "advertiser")),
        depends_on=("companies", "managers", "offers"),
        fields=[
            Field("activity_id", "activity_id", "int"),
            Field("company_id", "company_id", "int"),
            Field("advertiser_id", "advertiser_id", "int", nullable=True),
            Field("manager_id", "manager_id", "int"),
            Field("type", "type", "enum", values=("call", "email", "meeting", "ticket", "note")),
            Field("direction", "direction", "enum", values=("in", "out")),
            Field("occurred_at", "occurred_at", "ts_unix", future=True),
            Field("duration_s", "duration_s", "int", nullable=True, small=True),
            Field("result", "result", "str", nullable=True),
        ],
    )
    programs = SourceSpec(
        name="programs",
        pattern=FilePattern("crm/programs", rf"programs_{_DAY}\.csv", "day"),
        fmt="csv",
        snapshot=True,
        key=("advertiser_id", "program"),
        fields=[
            Field("advertiser_id", "advertiser_id", "int"),
            Field("program", "program", "str"),
            Field("group_name", "group", "enum", values=("control", "reference")),
            Field("started_on", "started_on", "date_iso"),
            Field("ended_on", "ended_on", "date_iso", nullable=True),
        ],
    )
    return [companies, managers, deals, activities, programs]
