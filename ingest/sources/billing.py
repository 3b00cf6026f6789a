"""Billing exports (Windows-1251, ``;``, decimal comma, dd.mm.yyyy, Russian headers)."""

from __future__ import annotations

import polars as pl

from ingest.landing import FilePattern
from ingest.sources import FxRule, SourceSpec
from ingest.validate import Field

_MONTH = r"(?P<month>\d{4}-\d{2})"


def _column_day(column: str):
    def day(_tz: str) -> pl.Expr:  # billing dates are already reporting days
        return pl.col(column)

    return day


def specs() -> list[SourceSpec]:
    invoices = SourceSpec(
        name="invoices",
        pattern=FilePattern("billing/invoices", rf"invoices_{_MONTH}\.csv", "month"),
        fmt="billing",
        dedup="exact_file",
        refs=(("advertiser_id", "advertiser"),),
        fx=FxRule("currency", _column_day("invoice_date")),
        depends_on=("offers", "companies", "fx_rates"),
        fields=[
            Field("invoice_number", "Номер счета", "str"),
            Field("invoice_date", "Дата", "date_ru", future=True),
            Field("due_date", "Срок оплаты", "date_ru"),
            Field("advertiser_id", "ID рекламодателя", "int"),
            Field("counterparty", "Контрагент", "str"),
            Field("inn", "ИНН", "str", nullable=True),
            Field("period_from", "Период с", "date_ru"),
            Field("period_to", "Период по", "date_ru"),
            Field("amount_net", "Сумма без НДС", "money_ru"),
            Field("vat", "НДС", "money_ru"),
            Field("amount_total", "Сумма", "money_ru"),
            Field("currency", "Валюта", "str"),
            Field("status", "Статус", "enum",
                  values=("выставлен", "частично оплачен", "оплачен", "аннулирован")),
        ],
    )
    payments = SourceSpec(
        name="payments",
        pattern=FilePattern("billing/payments", rf"payments_{_MONTH}\.csv", "month"),
        fmt="billing",
        key=("payment_number",),
        dedup="global",
        refs=(("advertiser_id", "advertiser"),),
        fx=FxRule("currency", _column_day("payment_date")),
        depends_on=("offers", "companies", "fx_rates"),
        fields=[
            Field("payment_number", "Номер платежа", "str"),
            Field("payment_date", "Дата", "date_ru", future=True),
            Field("advertiser_id", "ID рекламодателя", "int"),
            Field("inn", "ИНН", "str", nullable=True),
            Field("amount", "Сумма", "money_ru"),
            Field("currency", "Валюта", "str"),
            Field("invoice_number", "Номер счета", "str", nullable=True),
            Field("purpose", "Назначение платежа", "str", nullable=True),
        ],
    )
    fx_rates = SourceSpec(
        name="fx_rates",
        pattern=FilePattern("billing", r"fx_rates\.csv", "none"),
        fmt="billing",
        key=("rate_date", "currency"),
        dedup="file",
        fields=[
            Field("rate_date", "Дата", "date_ru"),
            Field("currency", "Валюта", "str"),
            Field("rate", "Курс", "rate_ru"),
        ],
    )
    return [invoices, payments, fx_rates]
