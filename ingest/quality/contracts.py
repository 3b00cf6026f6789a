"""What the raw layer promises, per source, written as data rather than as GX objects.

The checks are declared here as plain values so that they can be read, listed and tested
without importing Great Expectations (whose import takes seconds); `suites.py` turns them into
GX ExpectationSuites. The columns follow docs/raw_layer.md, the enums and rules docs/sources.md.

Two severities: ``critical`` checks restate the ingestion contract — a loaded row that breaks
one is a pipeline bug and blocks downstream; ``warning`` checks are data-quality findings about
what the exporters delivered (e.g. sources.md reading 12) — reported, never blocking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["critical", "warning"]

CHANNELS = ("context", "social", "teaser", "push", "email", "seo", "cashback", "inapp",
            "doorway", "other")
CURRENCIES = ("RUB", "USD", "EUR", "KZT")
DEVICES = ("desktop", "mobile", "tablet")
GOALS = ("lead", "sale", "install", "deposit", "registration", "call")
CONVERSION_STATUSES = ("pending", "approved", "rejected", "trash")
CATEGORIES = ("finance", "insurance", "hr", "fmcg", "ecommerce", "education", "travel",
              "telecom", "gaming", "auto", "realty", "health")
PAYOUT_MODELS = ("CPA", "CPL", "CPS", "CPI", "RevShare")
OFFER_STATUSES = ("draft", "active", "paused", "stopped")
PUBLISHER_STATUSES = ("active", "inactive", "banned")
INVOICE_STATUSES = ("выставлен", "частично оплачен", "оплачен", "аннулирован")
ROLES = ("account_manager", "bdm", "billing", "tech", "team_lead")
PIPELINES = ("new_client", "upsell", "new_offer")
STAGES = ("lead", "brief", "integration", "launched", "won", "lost")
ACTIVITY_TYPES = ("call", "email", "meeting", "ticket", "note")
DIRECTIONS = ("in", "out")
PROGRAM_GROUPS = ("control", "reference")

HEX32 = r"^[0-9a-f]{32}$"
HEX64 = r"^[0-9a-f]{64}$"
COUNTRY = r"^[A-Z]{2}$"
INN = r"^(?:[0-9]{10}|[0-9]{12})$"

LINEAGE = ("_source_file", "_source_line")
# Column names that would mean personal data landed unhashed (docs/raw_layer.md: never raw).
PII_EVERYWHERE = ("ip", "user_agent", "email", "phone", "full_name", "contacts",
                  "contact_name", "contact_email", "contact_phone", "contact_emails",
                  "contact_phones", "contact_names")


@dataclass(frozen=True)
class Check:
    """One expectation: the GX class name, its arguments, and the name reports use.

    ``name`` is stable (tests and Dagster metadata refer to it), e.g. ``format(click_id)``.
    """

    name: str
    expectation: str
    kwargs: dict[str, Any]
    severity: Severity = "critical"
    description: str = ""

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the check looks at (for deciding which values may be shown)."""
        kw = self.kwargs
        if "column" in kw:
            return (kw["column"],)
        if "column_list" in kw:
            return tuple(kw["column_list"])
        if "column_A" in kw:
            return (kw["column_A"], kw["column_B"])
        return ()


@dataclass(frozen=True)
class SourceContract:
    """The raw-layer shape of one source and the checks its loaded rows must pass.

    ``derived`` are SQL expressions evaluated by DuckDB while reading (named ``_chk_*``): rules
    that span columns of different types, list columns or other tables are computed there, and
    GX then expects them to be true. An expression yields NULL where the rule does not apply.
    """

    source: str
    storage: Literal["parquet", "table"]
    columns: tuple[str, ...]
    sample_key: str
    checks: tuple[Check, ...]
    derived: dict[str, str] = field(default_factory=dict)
    # Derived expressions that need other raw tables (comma-separated): dropped, and reported,
    # while one of them is not loaded.
    needs_tables: dict[str, str] = field(default_factory=dict)

    @property
    def location(self) -> str:
        """``raw.<source>`` table, or the Parquet dataset name under ``<data>/raw``."""
        return self.source if self.storage == "parquet" else f"raw.{self.source}"


# ---- small constructors: one line per rule in the contracts below --------------------------

def present(columns: tuple[str, ...]) -> Check:
    return Check("columns_present", "ExpectTableColumnsToMatchSet",
                 {"column_set": list(columns), "exact_match": False},
                 description="every column of docs/raw_layer.md is there")


def no_pii(*extra: str) -> Check:
    return Check("no_raw_pii_columns", "ExpectTableColumnsToNotInclude",
                 {"column_set": sorted({*PII_EVERYWHERE, *extra})},
                 description="no raw personal-data column (ip, email, ...): only `*_hash`")


def not_null(*columns: str) -> tuple[Check, ...]:
    return tuple(Check(f"not_null({c})", "ExpectColumnValuesToNotBeNull", {"column": c})
                 for c in columns)


def unique(*columns: str, severity: Severity = "critical", skip_missing: bool = False) -> Check:
    name = f"unique({', '.join(columns)})"
    if len(columns) == 1:
        return Check(name, "ExpectColumnValuesToBeUnique", {"column": columns[0]}, severity,
                     "natural key occurs once in what is loaded")
    kwargs: dict[str, Any] = {"column_list": list(columns)}
    if skip_missing:
        kwargs["ignore_row_if"] = "any_value_is_missing"
    return Check(name, "ExpectCompoundColumnsToBeUnique", kwargs, severity,
                 "natural key occurs once in what is loaded")


def accepted(column: str, values: tuple[Any, ...], severity: Severity = "critical") -> Check:
    return Check(f"accepted_values({column})", "ExpectColumnValuesToBeInSet",
                 {"column": column, "value_set": list(values)}, severity,
                 f"one of {', '.join(map(str, values))}")


def rejected_values(column: str, values: tuple[Any, ...], severity: Severity) -> Check:
    return Check(f"rejected_values({column})", "ExpectColumnValuesToNotBeInSet",
                 {"column": column, "value_set": list(values)}, severity)


def at_least(column: str, minimum: float, *, strict: bool = False,
             severity: Severity = "critical") -> Check:
    return Check(f"range({column})", "ExpectColumnValuesToBeBetween",
                 {"column": column, "min_value": minimum, "strict_min": strict}, severity,
                 f"{column} {'>' if strict else '>='} {minimum}")


def fmt(column: str, regex: str, severity: Severity = "critical") -> Check:
    return Check(f"format({column})", "ExpectColumnValuesToMatchRegex",
                 {"column": column, "regex": regex}, severity, f"matches `{regex}`")


def ordered(later: str, earlier: str, severity: Severity = "warning") -> Check:
    return Check(f"order({later} >= {earlier})", "ExpectColumnPairValuesAToBeGreaterThanB",
                 {"column_A": later, "column_B": earlier, "or_equal": True,
                  "ignore_row_if": "either_value_is_missing"}, severity)


def holds(name: str, severity: Severity, description: str) -> Check:
    """The derived column ``_chk_<name>`` is true (NULL = rule does not apply)."""
    return Check(name, "ExpectColumnValuesToBeInSet",
                 {"column": f"_chk_{name}", "value_set": [True]}, severity, description)


def not_empty() -> Check:
    return Check("not_empty", "ExpectTableRowCountToBeBetween", {"min_value": 1}, "warning",
                 "something was loaded")


def base(columns: tuple[str, ...], *pii: str) -> tuple[Check, ...]:
    """Checks every source shares: schema, no raw PII, lineage present and one row per line."""
    return (present(columns), no_pii(*pii), *not_null(*LINEAGE), unique(*LINEAGE), not_empty())


def _list_in(column: str, values: tuple[str, ...]) -> str:
    items = ", ".join(f"'{v}'" for v in values)
    return f"list_has_all([{items}]::VARCHAR[], {column})"


_NOT_AFTER_SNAPSHOT = "no timestamp after the end of its snapshot's day (future_timestamp)"


def _not_after_snapshot(*columns: str) -> str:
    """greatest() skips NULLs in DuckDB: the latest non-null timestamp of the row."""
    return f"greatest({', '.join(columns)}) < snapshot_date + INTERVAL 1 DAY"


_FILE_DATE = r"TRY_CAST(regexp_extract(_source_file, '(\d{4}-\d{2}-\d{2})', 1) AS DATE)"


def _known(column: str, table: str, id_column: str | None = None) -> str:
    """True if the row's id occurs in any snapshot of ``table``; NULL (not applicable) for a
    NULL id, which is the not_null check's business."""
    return (f"CASE WHEN b.{column} IS NOT NULL THEN EXISTS (SELECT 1 FROM {table} k "
            f"WHERE k.{id_column or column} = b.{column}) END")


_OFFER_KNOWN = _known("offer_id", "raw.offers")
_PUBLISHER_KNOWN = _known("publisher_id", "raw.publishers")
_ADVERTISER_KNOWN = """CASE WHEN b.advertiser_id IS NOT NULL THEN (
    EXISTS (SELECT 1 FROM raw.offers o WHERE o.advertiser_id = b.advertiser_id)
    OR EXISTS (SELECT 1 FROM raw.companies c WHERE c.advertiser_id = b.advertiser_id)) END"""
_NEEDS_ADVERTISERS = "raw.offers, raw.companies"
# The offer's advertiser in the newest snapshot on or before the event's file day (or the
# oldest snapshot if the offer only appeared later): sources.md reading 12 and 13.
_OFFER_ADVERTISER = """coalesce(
    (SELECT o.advertiser_id FROM raw.offers o WHERE o.offer_id = b.offer_id
       AND o.snapshot_date <= b.file_day ORDER BY o.snapshot_date DESC LIMIT 1),
    (SELECT o.advertiser_id FROM raw.offers o WHERE o.offer_id = b.offer_id
       ORDER BY o.snapshot_date LIMIT 1))"""


# ---- the twelve sources -------------------------------------------------------------------

_CLICK_COLS = ("click_id", "ts", "offer_id", "publisher_id", "source", "sub_id", "country",
               "device", "os", "ip_hash", "user_agent_hash", "is_unique", "is_bot", *LINEAGE,
               "file_day")
CLICKS = SourceContract(
    "clicks", "parquet", _CLICK_COLS, "click_id",
    checks=(
        *base(_CLICK_COLS),
        *not_null("click_id", "ts", "offer_id", "publisher_id", "source", "device", "os",
                  "ip_hash", "user_agent_hash", "is_unique", "is_bot", "file_day"),
        unique("click_id"),
        fmt("click_id", HEX32), fmt("ip_hash", HEX64), fmt("user_agent_hash", HEX64),
        fmt("country", COUNTRY),
        accepted("source", CHANNELS), accepted("device", DEVICES),
        accepted("is_unique", (True, False)), accepted("is_bot", (True, False)),
        holds("ts_not_after_file_day", "critical", "no click later than its file's UTC day"),
        holds("ts_not_before_file_day", "warning",
              "ts is not before its file's UTC day (else it came in a later day's file)"),
        holds("offer_known", "critical", "offer_id known to an offers snapshot"),
        holds("publisher_known", "critical", "publisher_id known to a publishers snapshot"),
    ),
    derived={
        "_chk_ts_not_after_file_day": "ts < file_day + INTERVAL 1 DAY",
        "_chk_ts_not_before_file_day": "ts >= file_day",
        "_chk_offer_known": _OFFER_KNOWN,
        "_chk_publisher_known": _PUBLISHER_KNOWN,
    },
    needs_tables={"_chk_offer_known": "raw.offers", "_chk_publisher_known": "raw.publishers"},
)

_CONV_COLS = ("conversion_id", "click_id", "offer_id", "advertiser_id", "publisher_id", "goal",
              "status", "created_at", "updated_at", "revenue", "payout", "currency", "sub_id",
              "country", "comment", *LINEAGE, "file_day")
CONVERSIONS = SourceContract(
    "conversions", "parquet", _CONV_COLS, "conversion_id",
    checks=(
        *base(_CONV_COLS),
        *not_null("conversion_id", "offer_id", "advertiser_id", "publisher_id", "goal", "status",
                  "created_at", "updated_at", "revenue", "payout", "currency", "file_day"),
        unique("conversion_id", "updated_at", "status"),
        fmt("click_id", HEX32),
        accepted("goal", GOALS), accepted("status", CONVERSION_STATUSES),
        accepted("currency", CURRENCIES),
        at_least("revenue", 0), at_least("payout", 0),
        ordered("updated_at", "created_at"),
        holds("updated_not_after_file_day", "critical",
              "no status event later than its file's UTC day"),
        holds("created_not_after_file_day", "critical", "no conversion created in the future"),
        holds("offer_known", "critical", "offer_id known to an offers snapshot"),
        holds("publisher_known", "critical", "publisher_id known to a publishers snapshot"),
        holds("advertiser_known", "critical", "advertiser_id known to an offers or CRM snapshot"),
        Check("offer_advertiser_matches", "ExpectColumnPairValuesToBeEqual",
              {"column_A": "advertiser_id", "column_B": "_chk_offer_advertiser_id",
               "ignore_row_if": "either_value_is_missing"}, "warning",
              "conversion's advertiser_id equals its offer's advertiser in the catalogue "
              "(sources.md reading 12: reported, not quarantined)"),
    ),
    derived={
        "_chk_updated_not_after_file_day": "updated_at < file_day + INTERVAL 1 DAY",
        "_chk_created_not_after_file_day": "created_at < file_day + INTERVAL 1 DAY",
        "_chk_offer_known": _OFFER_KNOWN,
        "_chk_publisher_known": _PUBLISHER_KNOWN,
        "_chk_offer_advertiser_id": _OFFER_ADVERTISER,
        "_chk_advertiser_known": _ADVERTISER_KNOWN,
    },
    needs_tables={"_chk_offer_known": "raw.offers", "_chk_publisher_known": "raw.publishers",
                  "_chk_offer_advertiser_id": "raw.offers",
                  "_chk_advertiser_known": _NEEDS_ADVERTISERS},
)

_OFFER_COLS = ("snapshot_date", "exported_at", "offer_id", "advertiser_id", "title", "category",
               "payout_model", "currency", "price", "payout", "hold_days", "daily_cap", "status",
               "created_at", "launched_at", "stopped_at", "exclusive", "allowed_sources",
               *LINEAGE)
OFFERS = SourceContract(
    "offers", "table", _OFFER_COLS, "offer_id",
    checks=(
        *base(_OFFER_COLS),
        *not_null("snapshot_date", "offer_id", "advertiser_id", "category", "payout_model",
                  "currency", "price", "payout", "hold_days", "status", "created_at"),
        unique("snapshot_date", "offer_id"),
        accepted("category", CATEGORIES), accepted("payout_model", PAYOUT_MODELS),
        accepted("currency", CURRENCIES, "warning"), accepted("status", OFFER_STATUSES),
        at_least("price", 0), at_least("payout", 0),
        at_least("hold_days", 0, severity="warning"), at_least("daily_cap", 0, severity="warning"),
        ordered("launched_at", "created_at"), ordered("stopped_at", "launched_at"),
        holds("allowed_sources_known", "critical", "allowed_sources are channels of the list"),
        holds("payout_within_price", "warning", "publisher payout does not exceed the price"),
        holds("timestamps_not_after_snapshot", "critical", _NOT_AFTER_SNAPSHOT),
    ),
    derived={
        "_chk_allowed_sources_known": _list_in("allowed_sources", CHANNELS),
        "_chk_payout_within_price": "payout <= price",
        "_chk_timestamps_not_after_snapshot":
            _not_after_snapshot("created_at", "launched_at", "stopped_at"),
    },
)

_PUB_COLS = ("snapshot_date", "publisher_id", "name_hash", "email_hash", "phone_hash", "country",
             "registered_at", "traffic_types", "status", "manager_id", *LINEAGE)
PUBLISHERS = SourceContract(
    "publishers", "table", _PUB_COLS, "publisher_id",
    checks=(
        *base(_PUB_COLS, "name"),
        *not_null("snapshot_date", "publisher_id", "registered_at", "status"),
        unique("snapshot_date", "publisher_id"),
        fmt("name_hash", HEX64), fmt("email_hash", HEX64), fmt("phone_hash", HEX64),
        fmt("country", COUNTRY),
        accepted("status", PUBLISHER_STATUSES),
        holds("traffic_types_known", "critical", "traffic_types are channels of the list"),
        holds("timestamps_not_after_snapshot", "critical", _NOT_AFTER_SNAPSHOT),
    ),
    derived={"_chk_traffic_types_known": _list_in("traffic_types", CHANNELS),
             "_chk_timestamps_not_after_snapshot": _not_after_snapshot("registered_at")},
)

_INV_COLS = ("file_month", "invoice_number", "invoice_date", "due_date", "advertiser_id",
             "counterparty", "inn", "period_from", "period_to", "amount_net", "vat",
             "amount_total", "currency", "status", *LINEAGE)
INVOICES = SourceContract(
    "invoices", "table", _INV_COLS, "invoice_number",
    checks=(
        *base(_INV_COLS),
        *not_null("file_month", "invoice_number", "invoice_date", "advertiser_id",
                  "amount_total", "currency", "status"),
        accepted("status", INVOICE_STATUSES), accepted("currency", CURRENCIES, "warning"),
        at_least("amount_net", 0), at_least("vat", 0), at_least("amount_total", 0),
        fmt("inn", INN, "warning"),
        ordered("due_date", "invoice_date"), ordered("period_to", "period_from"),
        holds("date_not_after_file_month", "critical", "no invoice dated after its file month"),
        holds("total_is_net_plus_vat", "warning", "Сумма = Сумма без НДС + НДС (±0.01)"),
        holds("advertiser_known", "critical", "advertiser_id known to an offers or CRM snapshot"),
    ),
    needs_tables={"_chk_advertiser_known": _NEEDS_ADVERTISERS},
    derived={
        "_chk_advertiser_known": _ADVERTISER_KNOWN,
        "_chk_date_not_after_file_month": "invoice_date < file_month + INTERVAL 1 MONTH",
        "_chk_total_is_net_plus_vat":
            "abs(coalesce(amount_net, 0) + coalesce(vat, 0) - amount_total) <= 0.01",
    },
)

_PAY_COLS = ("file_month", "payment_number", "payment_date", "advertiser_id", "inn", "amount",
             "currency", "invoice_number", "purpose", *LINEAGE)
PAYMENTS = SourceContract(
    "payments", "table", _PAY_COLS, "payment_number",
    checks=(
        *base(_PAY_COLS),
        *not_null("file_month", "payment_number", "payment_date", "advertiser_id", "amount",
                  "currency"),
        unique("payment_number"),
        accepted("currency", CURRENCIES, "warning"),
        at_least("amount", 0),
        fmt("inn", INN, "warning"),
        holds("date_not_after_file_month", "critical", "no payment dated after its file month"),
        holds("advertiser_known", "critical", "advertiser_id known to an offers or CRM snapshot"),
    ),
    derived={"_chk_date_not_after_file_month": "payment_date < file_month + INTERVAL 1 MONTH",
             "_chk_advertiser_known": _ADVERTISER_KNOWN},
    needs_tables={"_chk_advertiser_known": _NEEDS_ADVERTISERS},
)

_FX_COLS = ("rate_date", "currency", "rate", *LINEAGE)
FX_RATES = SourceContract(
    "fx_rates", "table", _FX_COLS, "rate_date",
    checks=(
        *base(_FX_COLS),
        *not_null("rate_date", "currency", "rate"),
        unique("rate_date", "currency"),
        fmt("currency", r"^[A-Z]{3}$", "warning"),
        rejected_values("currency", ("RUB",), "warning"),
        at_least("rate", 0, strict=True),
    ),
)

_COMPANY_COLS = ("snapshot_date", "company_id", "advertiser_id", "name", "inn", "industry",
                 "responsible_user_id", "bdm_user_id", "created_at", "updated_at", "tags",
                 "contact_count", "contact_email_hashes", *LINEAGE)
COMPANIES = SourceContract(
    "companies", "table", _COMPANY_COLS, "company_id",
    checks=(
        *base(_COMPANY_COLS),
        *not_null("snapshot_date", "company_id", "name", "responsible_user_id", "created_at"),
        unique("snapshot_date", "company_id"),
        unique("snapshot_date", "advertiser_id", severity="warning", skip_missing=True),
        at_least("contact_count", 0, severity="warning"),
        fmt("inn", INN, "warning"),
        ordered("updated_at", "created_at"),
        holds("contact_emails_hashed", "critical", "contact e-mails are 64-hex hashes"),
        holds("timestamps_not_after_snapshot", "critical", _NOT_AFTER_SNAPSHOT),
    ),
    derived={
        "_chk_contact_emails_hashed": (
            "list_bool_and(list_transform(contact_email_hashes, "
            "lambda x: regexp_full_match(x, '[0-9a-f]{64}')))"),
        "_chk_timestamps_not_after_snapshot": _not_after_snapshot("created_at", "updated_at"),
    },
)

_MANAGER_COLS = ("snapshot_date", "manager_id", "full_name_hash", "email_hash", "role",
                 "team_lead_id", "hired_at", "left_at", *LINEAGE)
MANAGERS = SourceContract(
    "managers", "table", _MANAGER_COLS, "manager_id",
    checks=(
        *base(_MANAGER_COLS, "name"),
        *not_null("snapshot_date", "manager_id", "role", "hired_at"),
        unique("snapshot_date", "manager_id"),
        fmt("full_name_hash", HEX64), fmt("email_hash", HEX64),
        accepted("role", ROLES),
        ordered("left_at", "hired_at"),
        holds("team_lead_has_no_lead", "warning", "a team lead's own team_lead_id is empty"),
        holds("account_manager_has_lead", "warning",
              "an account manager has a team lead (alerts are routed to it)"),
    ),
    derived={
        "_chk_team_lead_has_no_lead":
            "CASE WHEN role = 'team_lead' THEN team_lead_id IS NULL END",
        "_chk_account_manager_has_lead":
            "CASE WHEN role = 'account_manager' THEN team_lead_id IS NOT NULL END",
    },
)

_DEAL_COLS = ("snapshot_date", "deal_id", "company_id", "advertiser_id", "pipeline", "stage",
              "expected_monthly_budget", "created_at", "closed_at", "responsible_user_id",
              "loss_reason", *LINEAGE)
DEALS = SourceContract(
    "deals", "table", _DEAL_COLS, "deal_id",
    checks=(
        *base(_DEAL_COLS),
        *not_null("snapshot_date", "deal_id", "company_id", "pipeline", "stage", "created_at"),
        unique("snapshot_date", "deal_id"),
        accepted("pipeline", PIPELINES), accepted("stage", STAGES),
        at_least("expected_monthly_budget", 0),
        ordered("closed_at", "created_at"),
        holds("timestamps_not_after_snapshot", "critical", _NOT_AFTER_SNAPSHOT),
    ),
    derived={"_chk_timestamps_not_after_snapshot": _not_after_snapshot("created_at", "closed_at")},
)

_ACTIVITY_COLS = ("activity_id", "company_id", "advertiser_id", "manager_id", "type",
                  "direction", "occurred_at", "duration_s", "result", *LINEAGE)
ACTIVITIES = SourceContract(
    "activities", "table", _ACTIVITY_COLS, "activity_id",
    checks=(
        *base(_ACTIVITY_COLS),
        *not_null("activity_id", "company_id", "manager_id", "type", "direction",
                  "occurred_at"),
        unique("activity_id"),
        accepted("type", ACTIVITY_TYPES), accepted("direction", DIRECTIONS),
        at_least("duration_s", 0, severity="warning"),
        holds("occurred_not_after_file_day", "critical",
              "no activity later than the UTC day of its file"),
        holds("company_known", "critical", "company_id known to a companies snapshot"),
        holds("manager_known", "critical", "manager_id known to a managers snapshot"),
        holds("advertiser_known", "critical", "advertiser_id known to an offers or CRM snapshot"),
    ),
    derived={
        "_chk_occurred_not_after_file_day": f"occurred_at < {_FILE_DATE} + INTERVAL 1 DAY",
        "_chk_company_known": _known("company_id", "raw.companies"),
        "_chk_manager_known": _known("manager_id", "raw.managers"),
        "_chk_advertiser_known": _ADVERTISER_KNOWN,
    },
    needs_tables={"_chk_company_known": "raw.companies", "_chk_manager_known": "raw.managers",
                  "_chk_advertiser_known": _NEEDS_ADVERTISERS},
)

_PROGRAM_COLS = ("snapshot_date", "advertiser_id", "program", "group_name", "started_on",
                 "ended_on", *LINEAGE)
PROGRAMS = SourceContract(
    "programs", "table", _PROGRAM_COLS, "advertiser_id",
    checks=(
        *base(_PROGRAM_COLS),
        *not_null("snapshot_date", "advertiser_id", "program", "group_name", "started_on"),
        unique("snapshot_date", "advertiser_id", "program"),
        accepted("group_name", PROGRAM_GROUPS),
        ordered("ended_on", "started_on"),
    ),
)

CONTRACTS: dict[str, SourceContract] = {
    c.source: c
    for c in (CLICKS, CONVERSIONS, OFFERS, PUBLISHERS, INVOICES, PAYMENTS, FX_RATES, COMPANIES,
              MANAGERS, DEALS, ACTIVITIES, PROGRAMS)
}

# Columns whose values may appear in check metadata (Dagster UI, logs). Everything else —
# free text such as sub_id, comment, titles, INNs, purposes — is shown redacted: metadata is
# read by more people than the raw layer.
_SHOWABLE = {"source", "device", "goal", "status", "currency", "category", "payout_model",
             "role", "pipeline", "stage", "type", "direction", "group_name", "country",
             "program", "is_unique", "is_bot", "exclusive", "revenue", "payout", "price",
             "amount", "amount_net", "vat", "amount_total", "rate", "hold_days", "daily_cap",
             "duration_s", "contact_count", "expected_monthly_budget"}
_SHOWABLE_SUFFIXES = ("_id", "_hash", "_date", "_at", "_day", "_month", "_on", "_number")


def showable(column: str) -> bool:
    """May a value of this column be shown in check metadata? (default: no)."""
    if column in _SHOWABLE or column in LINEAGE or column.startswith("_chk_"):
        return True
    return column.endswith(_SHOWABLE_SUFFIXES) and column != "contact_email_hashes"


def contract(source: str) -> SourceContract:
    """The contract of a source, or an error naming the known sources."""
    try:
        return CONTRACTS[source]
    except KeyError:
        raise ValueError(
            f"unknown source {source!r}; data-quality suites exist for: {', '.join(CONTRACTS)}"
        ) from None


def _rule(check: Check) -> str:
    """A check's rule in words, for the generated documentation."""
    kw = check.kwargs
    if check.description:
        return check.description
    if check.expectation == "ExpectColumnValuesToNotBeNull":
        return "never null"
    if check.expectation == "ExpectColumnValuesToNotBeInSet":
        return f"none of {', '.join(map(str, kw['value_set']))}"
    if check.expectation == "ExpectColumnPairValuesAToBeGreaterThanB":
        return "when both are set"
    return check.expectation


def checks_markdown() -> str:
    """Every source's checks as Markdown tables (docs/data_quality.md embeds this verbatim)."""
    out: list[str] = []
    for spec in CONTRACTS.values():
        where = (f"`<data>/raw/{spec.source}/day=*/` (the checked days)"
                 if spec.storage == "parquet" else f"`{spec.location}`")
        out += [f"### {spec.source}", "", f"Reads {where}; sampled by hash of "
                f"`{spec.sample_key}`.", "", "| check | severity | rule |", "|---|---|---|"]
        for check in spec.checks:
            rule = _rule(check).replace("|", "\\|")
            out.append(f"| `{check.name}` | {check.severity} | {rule} |")
        out.append("")
    return "\n".join(out)
