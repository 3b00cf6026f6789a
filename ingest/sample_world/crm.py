"""CRM and catalogue snapshots (full state on a day) and the daily CRM activity log.

Snapshots are rendered from the planned timelines, so a snapshot of any day is exact without
replaying history; activities are drawn per day (fewer contacts before a warned freeze, more
for clients in a programme's control group or in a temporary stop).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np

from .entities import NEVER, World, am_on, offer_status
from .formats import iso_z, unix_s
from .seasonality import CATEGORIES

MANAGER_HEADER = ["manager_id", "full_name", "email", "role", "team_lead_id", "hired_at", "left_at"]
PUBLISHER_HEADER = [
    "publisher_id",
    "name",
    "email",
    "phone",
    "country",
    "registered_at",
    "traffic_types",
    "status",
    "manager_id",
]
PROGRAM_HEADER = ["advertiser_id", "program", "group", "started_on", "ended_on"]
ACT_TYPES = ["call", "email", "meeting", "ticket", "note"]
ACT_P = [0.3, 0.4, 0.06, 0.09, 0.15]
RESULTS = {
    "call": ["Обсудили бюджет на месяц", "Не дозвонились", "Договорились о созвоне", None],
    "email": ["Отправлен отчёт", "Запрос на увеличение капы", "Согласование креативов", None],
    "meeting": ["Встреча по итогам квартала", "Презентация новых источников"],
    "ticket": ["Проблема с постбэком", "Расхождение в статистике", "Вопрос по выплатам"],
    "note": ["Клиент доволен качеством", "Клиент жалуется на апрув", None],
}


@dataclass
class Deal:
    deal_id: int
    company_id: int
    adv: int | None  # advertiser index (None for prospects)
    pipeline: str
    stages: list[tuple[int, str]]
    budget: float
    responsible: int
    loss_reason: str | None


def _ts(world: World, day: int, hour: int = 10) -> datetime:
    return datetime.combine(world.config.start + timedelta(days=day), time(hour))


class Crm:
    def __init__(self, world: World) -> None:
        self.w = world
        self.rng = np.random.default_rng([world.config.seed, 9])
        self.deals = self._plan_deals()
        self.act_seq = 1_000_000
        self.late_activities: list[dict] = []
        m = world.managers
        self.m_index = {int(x): i for i, x in enumerate(m.ids)}
        self.tech = [int(x) for x, r in zip(m.ids, m.role, strict=True) if r == "tech"]
        self.billing_staff = [int(x) for x, r in zip(m.ids, m.role, strict=True) if r == "billing"]
        self.bdms = [int(x) for x, r in zip(m.ids, m.role, strict=True) if r == "bdm"]

    # -- plans -------------------------------------------------------------------------------
    def _plan_deals(self) -> list[Deal]:
        w, rng = self.w, self.rng
        a, o = w.advertisers, w.offers
        bdms = [int(x) for x, r in zip(w.managers.ids, w.managers.role, strict=True) if r == "bdm"]
        D = w.config.days
        deals: list[Deal] = []
        did = 500_000
        for i in range(len(a.ids)):
            c0, s = int(a.company_created[i]), int(a.start[i])
            if s == 0:
                s = c0 + 45
            stages = [
                (c0 + 2, "lead"),
                (c0 + 10, "brief"),
                (max(c0 + 15, s - 20), "integration"),
                (s, "launched"),
                (s + 14, "won"),
            ]
            did += 1
            budget = float(round(a.size[i] * 400_000, -4) + 50_000)
            deals.append(
                Deal(
                    did,
                    int(a.company_id[i]),
                    i,
                    "new_client",
                    stages,
                    budget,
                    bdms[i % len(bdms)],
                    None,
                )
            )
            life_end = min(int(a.freeze[i]), D)
            t = max(int(a.start[i]), 0)
            for _ in range(int(rng.poisson(0.8 * max(life_end - t, 0) / 365.0))):
                c = int(rng.integers(t, life_end)) if t < life_end else t
                won = rng.random() < 0.6 and not (a.warn[i] != NEVER and c >= a.warn[i])
                end = c + int(rng.integers(30, 60))
                did += 1
                stg = [(c, "lead"), (c + 7, "brief"), (end, "won" if won else "lost")]
                reason = (
                    None
                    if won
                    else str(
                        rng.choice(["Сокращение бюджета", "Дорого", "Не устроило качество трафика"])
                    )
                )
                deals.append(
                    Deal(
                        did,
                        int(a.company_id[i]),
                        i,
                        "upsell",
                        stg,
                        float(round(a.size[i] * 150_000, -4) + 20_000),
                        am_on(a, i, c),
                        reason,
                    )
                )
        for k in range(len(o.ids)):
            lk = int(o.launch[k])
            ai = int(o.adv[k])
            if lk > 30 and lk != int(a.start[ai]):
                did += 1
                stg = [
                    (lk - 25, "lead"),
                    (lk - 15, "brief"),
                    (lk - 8, "integration"),
                    (lk, "launched"),
                    (lk + 14, "won"),
                ]
                deals.append(
                    Deal(
                        did,
                        int(a.company_id[ai]),
                        ai,
                        "new_offer",
                        stg,
                        float(round(a.size[ai] * 100_000, -4) + 20_000),
                        am_on(a, ai, lk - 25),
                        None,
                    )
                )
        for p in w.prospects:
            did += 1
            stg = [(p.created, "lead"), (p.created + 10, "brief"), (p.lost_day, "lost")]
            deals.append(
                Deal(did, p.company_id, None, "new_client", stg, 100_000.0, p.bdm, p.loss_reason)
            )
        return deals

    # -- snapshots ---------------------------------------------------------------------------
    def companies(self, d: int) -> list[dict]:
        w, a = self.w, self.w.advertisers
        out = []
        for i in range(len(a.ids)):
            created = int(a.company_created[i])
            if created > d:
                continue
            cid = int(a.company_id[i])
            changes = [created]
            if d >= a.account_id_day[i]:
                changes.append(int(a.account_id_day[i]))
            changes += [s for s, _ in a.am_plan[i] if created < s <= d]
            contacts = w.contacts[cid]
            lost = w.contacts_lost.get(cid, NEVER)
            if d >= lost:
                contacts = contacts[:-1]
                changes.append(lost)
            tags = []
            if a.size[i] > 2.5:
                tags.append("key_account")
            if a.currency[i] != "RUB":
                tags.append(f"валюта:{a.currency[i]}")
            for p in w.programmes:
                if i in p.control and d >= p.started - 14:
                    tags.append(f"программа:{p.name}")
            out.append(
                {
                    "id": cid,
                    "advertiser_id": int(a.ids[i]) if d >= a.account_id_day[i] else None,
                    "name": f"ООО «{a.brand[i]}»",
                    "inn": a.inn[i],
                    "industry": _industry(int(a.cat[i])),
                    "responsible_user_id": am_on(a, i, d),
                    "bdm_user_id": self.bdms[i % len(self.bdms)] if i % 3 else None,
                    "created_at": unix_s(_ts(w, created, 9)),
                    "updated_at": unix_s(_ts(w, max(changes), 12)),
                    "tags": tags,
                    "contacts": contacts,
                }
            )
        for p in w.prospects:
            if p.created > d:
                continue
            out.append(
                {
                    "id": p.company_id,
                    "advertiser_id": None,
                    "name": f"ООО «{p.name}»",
                    "inn": p.inn,
                    "industry": _industry(CATEGORIES.index(p.category)),
                    "responsible_user_id": p.bdm,
                    "bdm_user_id": p.bdm,
                    "created_at": unix_s(_ts(w, p.created, 9)),
                    "updated_at": unix_s(
                        _ts(w, min(p.lost_day, d) if p.lost_day <= d else p.created, 12)
                    ),
                    "tags": ["prospect"],
                    "contacts": w.contacts[p.company_id][:1],
                }
            )
        return out

    def deals_at(self, d: int) -> list[dict]:
        w, a = self.w, self.w.advertisers
        out = []
        for dl in self.deals:
            if dl.stages[0][0] > d:
                continue
            stage, closed = dl.stages[0][1], None
            for day, st in dl.stages:
                if day <= d:
                    stage = st
                    if st in ("won", "lost"):
                        closed = day
            adv_id = None
            if dl.adv is not None and d >= a.account_id_day[dl.adv]:
                adv_id = int(a.ids[dl.adv])
            out.append(
                {
                    "deal_id": dl.deal_id,
                    "company_id": dl.company_id,
                    "advertiser_id": adv_id,
                    "pipeline": dl.pipeline,
                    "stage": stage,
                    "expected_monthly_budget": dl.budget,
                    "created_at": unix_s(_ts(w, dl.stages[0][0], 11)),
                    "closed_at": unix_s(_ts(w, closed, 15)) if closed is not None else None,
                    "responsible_user_id": dl.responsible,
                    "loss_reason": dl.loss_reason if stage == "lost" else None,
                }
            )
        return out

    def managers(self, d: int) -> list[list]:
        m, start = self.w.managers, self.w.config.start
        rows = []
        for i, mid in enumerate(m.ids):
            if m.hired[i] > d:
                continue
            left = m.left[i]
            rows.append(
                [
                    int(mid),
                    m.name[i],
                    m.email[i],
                    m.role[i],
                    "" if m.team_lead[i] is None else m.team_lead[i],
                    (start + timedelta(days=m.hired[i])).isoformat(),
                    (start + timedelta(days=left)).isoformat()
                    if left is not None and left <= d
                    else "",
                ]
            )
        return rows

    def programs(self, d: int) -> list[list]:
        w, start = self.w, self.w.config.start
        rows = []
        for p in w.programmes:
            if d < p.started - 14:
                continue
            ended = (start + timedelta(days=p.ended)).isoformat() if p.ended is not None else ""
            for group, members in (("control", p.control), ("reference", p.reference)):
                for i in members:
                    rows.append(
                        [
                            int(w.advertisers.ids[i]),
                            p.name,
                            group,
                            (start + timedelta(days=p.started)).isoformat(),
                            ended,
                        ]
                    )
        return rows

    def offers(self, d: int) -> list[dict]:
        w = self.w
        o, a = w.offers, w.advertisers
        out = []
        for k in range(len(o.ids)):
            if o.created[k] > d:
                continue
            st = offer_status(o, a, k, d)
            price = float(o.price2[k] if d >= o.change_day[k] else o.price[k])
            out.append(
                {
                    "offer_id": int(o.ids[k]),
                    "advertiser_id": int(a.ids[o.adv[k]]),
                    "title": o.title[k],
                    "category": CATEGORIES[o.cat[k]],
                    "payout_model": o.model[k],
                    "currency": o.currency[k],
                    "price": price,
                    "payout": float(o.payout[k]),
                    "hold_days": int(o.hold[k]),
                    "daily_cap": int(o.cap[k]) if o.cap[k] > 0 else None,
                    "status": st,
                    "created_at": iso_z(_ts(w, int(o.created[k]), 8)),
                    "launched_at": iso_z(_ts(w, int(o.launch[k]), 9)) if o.launch[k] <= d else None,
                    "stopped_at": iso_z(_ts(w, int(o.stop[k]), 9)) if st == "stopped" else None,
                    "exclusive": bool(o.exclusive[k]),
                    "allowed_sources": o.sources[k],
                }
            )
        return out

    def publishers(self, d: int) -> list[list]:
        p = self.w.publishers
        rows = []
        for i in range(len(p.ids)):
            if p.registered[i] > d:
                continue
            status = (
                "banned" if d >= p.banned[i] else "inactive" if d >= p.inactive[i] else "active"
            )
            rows.append(
                [
                    int(p.ids[i]),
                    p.name[i],
                    p.email[i],
                    p.phone[i],
                    p.country[i],
                    iso_z(_ts(self.w, int(p.registered[i]), 14)),
                    "|".join(p.channels[i]),
                    status,
                    int(p.manager[i]),
                ]
            )
        return rows

    # -- activities ----------------------------------------------------------------------------
    def activities(self, d: int) -> list[dict]:
        """Activities of the file for day d: today's, minus late ones, plus yesterday's late."""
        w, a = self.w, self.w.advertisers
        rng = np.random.default_rng([w.config.seed, 10, d])
        counts = rng.poisson(a.act[:, d])
        today: list[dict] = []
        base = datetime.combine(w.config.start + timedelta(days=d), time(0))
        for i in np.flatnonzero(counts):
            for _ in range(int(counts[i])):
                today.append(
                    self._activity(
                        rng,
                        base,
                        int(a.company_id[i]),
                        int(a.ids[i]) if d >= a.account_id_day[i] else None,
                        am_on(a, int(i), d),
                        late_payer=a.payer[i] == "late",
                    )
                )
        for p in w.prospects:
            if p.created <= d < p.lost_day and rng.random() < 0.15:
                today.append(self._activity(rng, base, p.company_id, None, p.bdm))
        today.sort(key=lambda r: (r["occurred_at"], r["activity_id"]))
        late = rng.random(len(today)) < 0.07
        out = self.late_activities + [r for r, lt in zip(today, late, strict=True) if not lt]
        self.late_activities = [r for r, lt in zip(today, late, strict=True) if lt]
        return out

    def _activity(
        self,
        rng: np.random.Generator,
        base: datetime,
        cid: int,
        adv_id: int | None,
        manager: int,
        late_payer: bool = False,
    ) -> dict:
        t = str(rng.choice(ACT_TYPES, p=ACT_P))
        if t == "ticket":
            manager = self.tech[int(rng.integers(0, len(self.tech)))]
        elif t == "email" and late_payer and rng.random() < 0.3:
            manager = self.billing_staff[0]
        direction = (
            ("in" if rng.random() < 0.8 else "out")
            if t == "ticket"
            else ("out" if rng.random() < 0.7 else "in")
        )
        dur = (
            int(rng.integers(30, 900))
            if t == "call"
            else int(rng.integers(1800, 5400))
            if t == "meeting"
            else None
        )
        when = base + timedelta(seconds=int(rng.integers(5 * 3600, 16 * 3600)))
        self.act_seq += 1
        results = RESULTS[t]
        return {
            "activity_id": self.act_seq,
            "company_id": cid,
            "advertiser_id": adv_id,
            "manager_id": manager,
            "type": t,
            "direction": direction,
            "occurred_at": unix_s(when),
            "duration_s": dur,
            "result": results[int(rng.integers(0, len(results)))],
        }


def _industry(cat: int) -> str:
    from .names import industry

    return industry(CATEGORIES[cat])


def snapshot_days(start: date, days: int) -> list[int]:
    """Weekly snapshots (Mondays), plus the first and the last day of the history."""
    out = {0, days - 1}
    out.update(i for i in range(days) if (start + timedelta(days=i)).weekday() == 0)
    return sorted(out)
