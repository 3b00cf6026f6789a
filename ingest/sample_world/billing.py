"""The accounting system: exchange rates, monthly invoices from approved conversions, and
payments from advertisers with different payment habits (punctual, late, partial, overpaying,
prepaying, and the ones that stop paying before they freeze).

Invoices are built from the same final-approved revenue the tracker truth holds, so a
reconciliation gap appears only where one was planted (recorded in the truth).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from .entities import NEVER, World
from .formats import ru_date, ru_money, ru_rate

FX_OFFSET = 10  # fx arrays start this many days before the world
INVOICE_HEADER = [
    "Номер счета",
    "Дата",
    "Срок оплаты",
    "ID рекламодателя",
    "Контрагент",
    "ИНН",
    "Период с",
    "Период по",
    "Сумма без НДС",
    "НДС",
    "Сумма",
    "Валюта",
    "Статус",
]
PAYMENT_HEADER = [
    "Номер платежа",
    "Дата",
    "ID рекламодателя",
    "ИНН",
    "Сумма",
    "Валюта",
    "Номер счета",
    "Назначение платежа",
]
FX_HEADER = ["Дата", "Валюта", "Курс"]


def fx_tables(
    start: date, days: int, seed: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], list[date]]:
    """Published rates (NaN on days without a rate: Sundays and New Year holidays) and the
    filled series (latest earlier rate), indexed by day index + FX_OFFSET."""
    rng = np.random.default_rng([seed, 7])
    n = days + FX_OFFSET + 3
    dates = [start + timedelta(days=i - FX_OFFSET) for i in range(n)]
    published = np.array([d.weekday() != 6 and not (d.month == 1 and d.day <= 8) for d in dates])
    published[0] = True
    pub: dict[str, np.ndarray] = {}
    filled: dict[str, np.ndarray] = {}
    for cur, level, vol in (("USD", 96.5, 0.006), ("EUR", 104.0, 0.005), ("KZT", 0.195, 0.004)):
        x = np.empty(n)
        v = np.log(level)
        for i in range(n):
            v += 0.02 * (np.log(level) - v) + rng.normal(0, vol)
            x[i] = np.exp(v)
        x = np.round(x, 4)
        p = np.where(published, x, np.nan)
        f = p.copy()
        for i in range(1, n):
            if np.isnan(f[i]):
                f[i] = f[i - 1]
        pub[cur], filled[cur] = p, f
    return pub, filled, dates


def fx_file_lines(pub: dict[str, np.ndarray], dates: list[date], last: date) -> list[list[str]]:
    rows = []
    for i, d in enumerate(dates):
        if d > last:
            break
        for cur in ("USD", "EUR", "KZT"):
            if not np.isnan(pub[cur][i]):
                rows.append([ru_date(d), cur, ru_rate(float(pub[cur][i]))])
    return rows


@dataclass
class Invoice:
    number: str
    adv: int
    issued: date
    due: date
    period_from: date
    period_to: date
    currency: str
    net: float
    vat: float
    true_net: float
    planted: bool = False
    void: bool = False
    versions: list[tuple[date, float, str]] = field(default_factory=list)  # (file month, net, kind)


@dataclass
class Payment:
    number: str
    adv: int
    day: date
    amount: float
    currency: str
    invoice: str | None
    purpose: str


def month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, k: int) -> date:
    y, m = divmod(d.month - 1 + k, 12)
    return date(d.year + y, m + 1, 1)


class Billing:
    """Accrues approved revenue per advertiser and reporting month; issues and pays invoices."""

    def __init__(self, world: World, fx_filled: dict[str, np.ndarray]) -> None:
        self.w = world
        self.cfg = world.config
        self.fx = fx_filled
        self.rng = np.random.default_rng([self.cfg.seed, 8])
        first = month_start(self.cfg.start)
        self.months = [first]
        while self.months[-1] <= self.cfg.end:
            self.months.append(add_months(self.months[-1], 1))
        self.accrual = np.zeros((len(world.advertisers.ids), len(self.months) + 1))
        # reporting-day index -> month index
        day_month = []
        for i in range(self.cfg.days + 2):
            d = self.cfg.start + timedelta(days=i)
            day_month.append((d.year - first.year) * 12 + d.month - first.month)
        self.day_month = np.array(day_month)
        self.invoice_rows: dict[date, list[list[str]]] = {}
        self.payment_rows: dict[date, list[Payment]] = {}
        self.invoices: dict[str, Invoice] = {}
        self.payments: list[Payment] = []
        self.pay_by_inv: dict[str, list[Payment]] = {}
        self.inv_seq = 0
        self.pay_seq = 0
        self.status_rows: list[
            tuple[date, Invoice, float, str]
        ] = []  # (file month, inv, net, kind)
        a = world.advertisers
        for i in range(len(a.ids)):  # prepayments before a new advertiser's launch
            if a.fate[i] == "new":
                day = self.cfg.start + timedelta(days=int(a.start[i]) - 5)
                amt = float(max(50_000, round(a.size[i] * 200_000, -4)))
                if a.currency[i] != "RUB":
                    amt = round(amt / {"USD": 96.5, "EUR": 104.0, "KZT": 0.195}[a.currency[i]], -1)
                self._pay(i, day, amt, a.currency[i], None, "Предоплата по договору")

    def accrue(self, adv_idx: np.ndarray, msk_day: np.ndarray, revenue: np.ndarray) -> None:
        np.add.at(self.accrual, (adv_idx, self.day_month[msk_day]), revenue)

    def rate(self, cur: str, d: date) -> float:
        if cur == "RUB":
            return 1.0
        return float(self.fx[cur][(d - self.cfg.start).days + FX_OFFSET])

    def _pay(
        self, a: int, day: date, amount: float, cur: str, inv: str | None, purpose: str
    ) -> None:
        if day > self.cfg.end or amount <= 0:
            return
        day = max(day, self.cfg.start)
        self.pay_seq += 1
        p = Payment(f"ПП-{self.pay_seq:06d}", a, day, round(amount, 2), cur, inv, purpose)
        self.payment_rows.setdefault(month_start(day), []).append(p)
        self.payments.append(p)
        if inv is not None:
            self.pay_by_inv.setdefault(inv, []).append(p)

    def close_month(self, mi: int) -> None:
        """The reporting month `mi` is complete: issue its invoices, plan payments/corrections."""
        a, rng = self.w.advertisers, self.rng
        period_from = self.months[mi]
        period_to = add_months(period_from, 1) - timedelta(days=1)
        for i in np.flatnonzero(self.accrual[:, mi] > 0):
            true_net = round(float(self.accrual[i, mi]), 2)
            issued = add_months(period_from, 1) + timedelta(days=int(rng.integers(0, 5)))
            if issued > self.cfg.end:
                continue
            di = (issued - self.cfg.start).days
            warned = a.warn[i] != NEVER and di >= a.warn[i]
            net = true_net
            planted = False
            kind = rng.random()
            p_wrong = 0.3 if warned else 0.05
            if kind < p_wrong:
                net = round(
                    true_net * float(rng.choice([rng.uniform(0.8, 0.93), rng.uniform(1.07, 1.15)])),
                    2,
                )
                planted = True
            self.inv_seq += 1
            cur = a.currency[i]
            vat_rate = 0.2 if cur == "RUB" else 0.0
            inv = Invoice(
                f"СЧ-{issued.year}-{self.inv_seq:05d}",
                int(i),
                issued,
                issued + timedelta(days=int(a.terms[i])),
                period_from,
                period_to,
                cur,
                net,
                round(net * vat_rate, 2),
                true_net,
                planted,
            )
            self.invoices[inv.number] = inv
            self.status_rows.append((month_start(issued), inv, net, "issued"))
            final_total = inv.net + inv.vat
            pay_from = issued
            # corrections months later: half of the wrong amounts are fixed, a few voided
            if planted and not warned and rng.random() < 0.5:
                fix = add_months(issued, int(rng.integers(1, 4)))
                if fix <= self.cfg.end:
                    inv.planted = False
                    self.status_rows.append((fix, inv, true_net, "corrected"))
                    final_total = round(true_net * (1 + vat_rate), 2)
                    pay_from = fix
            elif not planted and rng.random() < 0.02:
                fix = add_months(issued, int(rng.integers(1, 3)))
                if fix <= self.cfg.end:
                    inv.void = True
                    self.status_rows.append((fix, inv, net, "void"))
                    self.inv_seq += 1
                    re_day = fix + timedelta(days=int(rng.integers(0, 4)))
                    if re_day <= self.cfg.end:
                        re = Invoice(
                            f"СЧ-{re_day.year}-{self.inv_seq:05d}",
                            int(i),
                            re_day,
                            re_day + timedelta(days=int(a.terms[i])),
                            period_from,
                            period_to,
                            cur,
                            net,
                            inv.vat,
                            true_net,
                        )
                        self.invoices[re.number] = re
                        self.status_rows.append((month_start(re_day), re, net, "issued"))
                        self._plan_payment(re, re.net + re.vat, re_day)
                    continue
            if planted:
                final_total = inv.net + inv.vat if inv.planted else final_total
            self._plan_payment(inv, round(final_total, 2), pay_from)

    def _plan_payment(self, inv: Invoice, total: float, earliest: date) -> None:
        a, rng, i = self.w.advertisers, self.rng, inv.adv
        di = (inv.issued - self.cfg.start).days
        fz, wn = int(a.freeze[i]), int(a.warn[i])
        if fz != NEVER and di >= fz - 10:
            return  # the client froze: this invoice stays a debt
        if wn != NEVER and di >= wn + 20:
            return
        payer = a.payer[i]
        if wn != NEVER and di >= wn - 30:
            payer = "late_warned"
        due = inv.due
        purpose = f"Оплата по счету № {inv.number} от {ru_date(inv.issued)}"
        cur, amount = inv.currency, total
        if cur != "RUB" and rng.random() < 0.1:  # paid in roubles at the payment day's rate
            cur = "RUB"

        def pay(day: date, amt: float) -> None:
            day = max(day, earliest, inv.issued)
            if cur != inv.currency:
                amt = amt * self.rate(inv.currency, min(day, self.cfg.end))
            self._pay(i, day, amt, cur, inv.number, purpose)

        if payer == "punctual":
            pay(due - timedelta(days=int(rng.integers(0, 10))), amount)
        elif payer == "late":
            pay(due + timedelta(days=int(rng.integers(5, 50))), amount)
        elif payer == "late_warned":
            pay(due + timedelta(days=int(rng.integers(25, 80))), amount)
        elif payer == "partial":
            first = round(amount * float(rng.uniform(0.3, 0.6)), 2)
            pay(due - timedelta(days=int(rng.integers(0, 5))), first)
            pay(due + timedelta(days=int(rng.integers(10, 45))), amount - first)
        else:  # overpayer: rounds up or pays a little extra
            pay(
                due - timedelta(days=int(rng.integers(0, 7))),
                amount * float(rng.uniform(1.01, 1.06)),
            )
        if rng.random() < 0.01:  # paid twice by mistake: an overpayment
            pay(due + timedelta(days=int(rng.integers(1, 20))), amount)

    def paid_by(self, number: str, until: date) -> float:
        inv = self.invoices[number]
        tot = 0.0
        for p in self.pay_by_inv.get(number, []):
            if p.day <= until:
                tot += (
                    p.amount
                    if p.currency == inv.currency
                    else p.amount / self.rate(inv.currency, p.day)
                )
        return tot

    def invoice_file_rows(self, month: date, sep: str) -> list[list[str]]:
        """Rows of invoices_<month>.csv: issued that month plus later corrections of older ones."""
        end = min(add_months(month, 1) - timedelta(days=1), self.cfg.end)
        rows = []
        for fm, inv, net, kind in self.status_rows:
            if fm != month:
                continue
            vat = round(net * (0.2 if inv.currency == "RUB" else 0.0), 2)
            total = round(net + vat, 2)
            if kind == "void":
                status = "аннулирован"
            else:
                paid = self.paid_by(inv.number, end)
                status = (
                    "оплачен"
                    if paid >= total - 0.005
                    else "частично оплачен"
                    if paid > 0
                    else "выставлен"
                )
            inv.versions.append((month, net, kind))
            a = self.w.advertisers
            rows.append(
                [
                    inv.number,
                    ru_date(inv.issued),
                    ru_date(inv.due),
                    str(a.ids[inv.adv]),
                    f"ООО «{a.brand[inv.adv]}»",
                    a.inn[inv.adv],
                    ru_date(inv.period_from),
                    ru_date(inv.period_to),
                    ru_money(net, sep),
                    ru_money(vat, sep),
                    ru_money(total, sep),
                    inv.currency,
                    status,
                ]
            )
        return rows

    def payment_file_rows(self, month: date, sep: str) -> list[list[str]]:
        a = self.w.advertisers
        ps = sorted(self.payment_rows.get(month, []), key=lambda p: (p.day, p.number))
        return [
            [
                p.number,
                ru_date(p.day),
                str(a.ids[p.adv]),
                a.inn[p.adv],
                ru_money(p.amount, sep),
                p.currency,
                p.invoice or "",
                p.purpose,
            ]
            for p in ps
        ]
