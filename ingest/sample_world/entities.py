"""The cast of the world, planned up front: staff, advertisers with their fates, offers,
publishers, CRM companies and programmes, each with a timeline in day indices.

Entities are few (thousands at most), so their whole timelines are planned before the first
day is generated; facts (clicks, conversions, activities) are then drawn day by day from these
plans without holding any history. Day index 0 is `config.start`; negative days are before the
exported history (advertisers that already existed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from . import names
from .config import WorldConfig
from .seasonality import CATEGORIES

CHANNELS = [
    "context",
    "social",
    "teaser",
    "push",
    "email",
    "seo",
    "cashback",
    "inapp",
    "doorway",
    "other",
]
CURRENCIES = ["RUB", "USD", "EUR", "KZT"]
FX_START = {"RUB": 1.0, "USD": 96.5, "EUR": 104.0, "KZT": 0.195}
FATES = ["growing", "stable", "declining", "freeze_warned", "freeze_abrupt", "new"]
MODELS_BY_CAT = {
    "finance": ["CPL", "CPA"],
    "insurance": ["CPL", "CPS"],
    "hr": ["CPL"],
    "fmcg": ["CPA", "CPS"],
    "ecommerce": ["CPS", "RevShare", "CPA"],
    "education": ["CPL", "CPA"],
    "travel": ["CPS", "RevShare"],
    "telecom": ["CPA", "CPL"],
    "gaming": ["CPI", "CPA"],
    "auto": ["CPL", "CPA"],
    "realty": ["CPL"],
    "health": ["CPA", "CPS"],
}
PRICE_RUB = {
    "finance": 3500,
    "insurance": 1200,
    "hr": 700,
    "fmcg": 400,
    "ecommerce": 800,
    "education": 2400,
    "travel": 1400,
    "telecom": 1000,
    "gaming": 500,
    "auto": 3000,
    "realty": 5000,
    "health": 900,
}
ORDER_VALUE_RUB = {
    "ecommerce": 4500,
    "travel": 30000,
    "fmcg": 1500,
    "insurance": 8000,
    "health": 3000,
}
HOLD_DAYS = {
    "finance": [14, 30],
    "insurance": [14],
    "hr": [7],
    "fmcg": [7],
    "ecommerce": [14, 30],
    "education": [14],
    "travel": [30, 45],
    "telecom": [7],
    "gaming": [0, 7],
    "auto": [14],
    "realty": [30],
    "health": [14],
}
BASE_CR = {"CPL": 0.10, "CPA": 0.06, "CPS": 0.035, "RevShare": 0.03, "CPI": 0.12}
QUALITIES = ["good", "average", "trash", "bot"]
NEVER = 10**6  # a day index that never comes


@dataclass
class Managers:
    ids: np.ndarray
    role: list[str]
    name: list[str]
    email: list[str]
    team_lead: list[int | None]
    hired: list[int]  # day index
    left: list[int | None]


@dataclass
class Advertisers:
    ids: np.ndarray
    cat: np.ndarray  # index into CATEGORIES
    size: np.ndarray
    fate: list[str]
    start: np.ndarray  # first live day (0 for advertisers that predate the history)
    freeze: np.ndarray  # NEVER when no freeze
    warn: np.ndarray  # start of the warning window (NEVER when none)
    currency: list[str]
    payer: list[str]
    terms: np.ndarray  # payment terms in days
    brand: list[str]
    company_id: np.ndarray
    company_created: np.ndarray
    account_id_day: np.ndarray  # when the CRM company gets its advertiser_id
    inn: list[str]
    am_plan: list[list[tuple[int, int]]]  # [(from_day, manager_id)]
    vol: np.ndarray  # advertisers x days: demand multiplier (0 = no traffic)
    appr: np.ndarray  # advertisers x days: approval multiplier
    act: np.ndarray  # advertisers x days: CRM activity rate per day
    temp_stops: list[list[tuple[int, int]]] = field(default_factory=list)


@dataclass
class Offers:
    ids: np.ndarray
    adv: np.ndarray  # index into Advertisers
    cat: np.ndarray
    model: list[str]
    currency: list[str]
    price: np.ndarray
    payout: np.ndarray
    price2: np.ndarray  # price after the change day
    change_day: np.ndarray
    hold: np.ndarray
    cap: np.ndarray  # 0 = no cap
    created: np.ndarray
    launch: np.ndarray
    end: np.ndarray  # first day without traffic for good (pause before a stop, or stop)
    stop: np.ndarray  # day the status becomes `stopped`
    stall_until: np.ndarray  # no conversions before this day (integration problems)
    cr: np.ndarray
    approval: np.ndarray
    share: np.ndarray
    calls: np.ndarray  # offline call conversions per day per 100 clean clicks
    title: list[str]
    exclusive: np.ndarray
    sources: list[list[str]]
    pause_off: np.ndarray  # pause windows: offer index, from, to (exclusive)
    pause_from: np.ndarray
    pause_to: np.ndarray


@dataclass
class Publishers:
    ids: np.ndarray
    quality: list[str]
    size: np.ndarray
    bot_share: np.ndarray
    trash_rate: np.ndarray
    cr_mult: np.ndarray
    appr_mult: np.ndarray
    affinity: np.ndarray  # publishers x categories
    channel: np.ndarray  # index into CHANNELS (main channel)
    channels: list[list[str]]
    registered: np.ndarray
    first: np.ndarray
    banned: np.ndarray
    inactive: np.ndarray
    manager: np.ndarray
    name: list[str]
    email: list[str]
    phone: list[str]
    country: list[str]


@dataclass
class Programme:
    name: str
    started: int
    ended: int | None
    control: list[int]  # advertiser indices
    reference: list[int]
    uplift: float


@dataclass
class Prospect:
    company_id: int
    name: str
    inn: str
    category: str
    created: int
    bdm: int
    lost_day: int
    loss_reason: str


@dataclass
class World:
    config: WorldConfig
    days: list[date]
    managers: Managers
    advertisers: Advertisers
    offers: Offers
    publishers: Publishers
    programmes: list[Programme]
    prospects: list[Prospect]
    contacts: dict[int, list[dict]]  # company_id -> contacts
    contacts_lost: dict[int, int]  # company_id -> day the last contact leaves


def _fate_list(n: int, rng: np.random.Generator) -> list[str]:
    counts = {
        "new": max(2, round(0.2 * n)),
        "freeze_warned": max(2, round(0.12 * n)),
        "freeze_abrupt": max(1, round(0.08 * n)),
        "declining": max(1, round(0.14 * n)),
        "growing": max(2, round(0.2 * n)),
    }
    counts["stable"] = n - sum(counts.values())
    fates = [f for f, c in counts.items() for _ in range(c)]
    rng.shuffle(fates)
    return fates


def _managers(n_adv: int, D: int, rng: np.random.Generator) -> tuple[Managers, list[list[int]]]:
    """Team leads with account managers under them, plus BDMs, billing and tech staff."""
    n_teams = max(2, n_adv // 40 + 1)
    n_am = max(4, -(-n_adv // 10))
    ids, role, team_lead, hired, left = [], [], [], [], []
    teams: list[list[int]] = []
    mid = 1
    for _t in range(n_teams):
        lead = mid
        ids.append(mid), role.append("team_lead"), team_lead.append(None)
        hired.append(-int(rng.integers(400, 2000))), left.append(None)
        mid += 1
        team = []
        for _ in range(max(2, n_am // n_teams)):
            ids.append(mid), role.append("account_manager"), team_lead.append(lead)
            hired.append(-int(rng.integers(60, 1500))), left.append(None)
            team.append(mid)
            mid += 1
        teams.append(team)
    for r in ["bdm"] * max(1, n_teams // 2 + 1) + ["billing", "tech"]:
        ids.append(mid), role.append(r), team_lead.append(None)
        hired.append(-int(rng.integers(60, 1500))), left.append(None)
        mid += 1
    # One account manager of the first team leaves mid-history; a newcomer takes over.
    leaver = teams[0][0]
    left[ids.index(leaver)] = int(D * 0.55)
    ids.append(mid), role.append("account_manager"), team_lead.append(team_lead[ids.index(leaver)])
    hired.append(int(D * 0.55) - 21), left.append(None)
    teams[0].append(mid)
    names_, emails = [], []
    for _ in ids:
        full, local = names.person(rng)
        names_.append(full)
        emails.append(f"{local}@cpa-network.ru")
    return (
        Managers(np.array(ids), role, names_, emails, team_lead, hired, left),
        teams,
    )


def _plan_advertisers(
    cfg: WorldConfig, D: int, rng: np.random.Generator, mgr: Managers, teams: list[list[int]]
) -> Advertisers:
    n = cfg.advertisers
    cats = np.array([i % len(CATEGORIES) for i in range(n)])
    rng.shuffle(cats)
    fates = _fate_list(n, rng)
    size = rng.lognormal(0.0, 0.9, size=n)
    start = np.zeros(n, dtype=np.int64)
    freeze = np.full(n, NEVER, dtype=np.int64)
    warn = np.full(n, NEVER, dtype=np.int64)
    growth = np.zeros(n)
    for i, f in enumerate(fates):
        if f == "new":
            start[i] = int(rng.integers(min(45, D // 4), max(min(45, D // 4) + 1, D - 75)))
            growth[i] = rng.uniform(0.0, 0.4)
            size[i] *= 0.8
        elif f == "growing":
            growth[i] = rng.uniform(0.25, 0.7)
        elif f == "declining":
            growth[i] = -rng.uniform(0.3, 0.6)
        else:
            growth[i] = rng.uniform(-0.05, 0.1)
        if f.startswith("freeze"):
            freeze[i] = int(rng.integers(min(120, D // 3), D - 10))
            if f == "freeze_warned":
                warn[i] = freeze[i] - int(rng.integers(35, 70))
    currency = ["RUB"] * n
    non_freeze = [i for i, f in enumerate(fates) if f in ("stable", "growing")]
    for cur, i in zip(["USD", "EUR", "KZT"], non_freeze[:3], strict=False):
        currency[i] = cur
    for i in range(n):
        if currency[i] == "RUB" and rng.random() < 0.06:
            currency[i] = str(rng.choice(["USD", "EUR", "KZT"]))
    payer = [
        str(rng.choice(["punctual", "late", "partial", "overpayer"], p=[0.6, 0.22, 0.1, 0.08]))
        for _ in range(n)
    ]
    terms = rng.choice([14, 30], size=n)
    brands = [names.brand(rng, CATEGORIES[c]) for c in cats]
    company_id = 10_000 + np.arange(n)
    company_created = np.where(
        start > 0, start - rng.integers(40, 90, size=n), -rng.integers(120, 1500, size=n)
    )
    account_day = np.where(start > 0, start - 30, company_created + 20)
    inns = [names.inn(rng) for _ in range(n)]
    # account managers: round robin over the managers active when the advertiser arrives
    am_plan: list[list[tuple[int, int]]] = []
    all_am = [m for t in teams for m in t]
    for i in range(n):
        day0 = min(int(company_created[i]), 0) if start[i] == 0 else int(company_created[i])
        pool = [
            m
            for m in all_am
            if mgr.hired[list(mgr.ids).index(m)] <= max(day0, 0) - 7
            or mgr.hired[list(mgr.ids).index(m)] < 0
        ]
        pool = [m for m in pool if (mgr.left[list(mgr.ids).index(m)] or NEVER) > max(day0, 0)]
        am = pool[i % len(pool)]
        plan = [(-(10**5), am)]
        lft = mgr.left[list(mgr.ids).index(am)]
        if lft is not None:
            team = next(t for t in teams if am in t)
            successor = [m for m in team if m != am and mgr.left[list(mgr.ids).index(m)] is None]
            plan.append((lft, successor[i % len(successor)]))
        am_plan.append(plan)
    # demand, approval and CRM-activity curves per advertiser and day
    d = np.arange(D)
    vol = np.zeros((n, D))
    appr = np.ones((n, D))
    act = np.zeros((n, D))
    temp_stops: list[list[tuple[int, int]]] = []
    for i in range(n):
        t0 = int(start[i])
        base = size[i] * np.exp(growth[i] * (d - t0) / 365.0)
        ramp = np.clip((d - t0 + 1) / 30.0, 0, 1) if t0 > 0 else np.ones(D)
        v = base * ramp * (d >= t0)
        a = np.ones(D)
        c = np.full(D, 0.15 + 0.25 * min(size[i], 4.0)) * (d >= company_created[i])
        stops = []
        for _ in range(int(rng.poisson(D / 365.0 * 0.9))):
            s = int(rng.integers(t0 + 20, D)) if t0 + 20 < D else D
            e = s + int(rng.integers(3, 13))
            if freeze[i] != NEVER and e >= warn[i] - 5 and s < freeze[i] + 30:
                continue
            stops.append((s, e))
            v[s:e] = 0.0
            c[s:e] *= 2.0  # the manager chases the client about the stop
        temp_stops.append(stops)
        if fates[i] == "declining":
            a *= np.clip(1 - 0.12 * (d - t0) / 365.0, 0.7, 1)
        if warn[i] != NEVER:
            w, fz = int(warn[i]), int(freeze[i])
            frac = np.clip((d - w) / max(fz - w, 1), 0, 1)
            v *= 1 - 0.6 * frac
            a *= 1 - 0.45 * frac
            c *= 1 - 0.8 * frac
        if freeze[i] != NEVER:
            fz = int(freeze[i])
            v[fz:] = 0.0
            c[fz:] = 0.1 * c[fz:] * (d[fz:] < fz + 45)
        vol[i], appr[i], act[i] = v, a, c
    return Advertisers(
        ids=101 + np.arange(n),
        cat=cats,
        size=size,
        fate=fates,
        start=start,
        freeze=freeze,
        warn=warn,
        currency=currency,
        payer=payer,
        terms=terms,
        brand=brands,
        company_id=company_id,
        company_created=company_created,
        account_id_day=account_day,
        inn=inns,
        am_plan=am_plan,
        vol=vol,
        appr=appr,
        act=act,
        temp_stops=temp_stops,
    )


def _plan_offers(cfg: WorldConfig, D: int, rng: np.random.Generator, adv: Advertisers) -> Offers:
    rows: list[dict] = []
    pauses: list[tuple[int, int, int]] = []
    for a in range(len(adv.ids)):
        t0 = int(adv.start[a])
        k0 = int(np.clip(1 + rng.poisson(0.8 + adv.size[a]), 1, 8))
        launches = [int(rng.integers(-400, -1)) for _ in range(k0)] if t0 == 0 else [t0] * 1
        if t0 > 0 and k0 > 1:
            launches += [int(rng.integers(t0, t0 + 60)) for _ in range(k0 - 1)]
        n_new = int(rng.poisson(1.2 * (D - t0) / 365.0 * min(adv.size[a], 2.0) ** 0.5))
        launches += [int(rng.integers(t0 + 30, D)) for _ in range(n_new) if t0 + 30 < D]
        last_day = min(int(adv.freeze[a]), D + 400)
        launches = [x for x in launches if x < last_day - 14 or x == launches[0]]
        for j, launch in enumerate(sorted(launches)):
            cat = int(adv.cat[a]) if rng.random() < 0.93 else int(rng.integers(0, len(CATEGORIES)))
            rows.append({"adv": a, "cat": cat, "launch": launch, "main": j == 0})
    n = len(rows)
    o_adv = np.array([r["adv"] for r in rows])
    o_cat = np.array([r["cat"] for r in rows])
    launch = np.array([r["launch"] for r in rows], dtype=np.int64)
    created = launch - rng.integers(9, 30, size=n)
    model, currency, titles, sources = [], [], [], []
    price = np.zeros(n)
    payout = np.zeros(n)
    hold = np.zeros(n, dtype=np.int64)
    cr = np.zeros(n)
    for k in range(n):
        cat = CATEGORIES[o_cat[k]]
        m = str(rng.choice(MODELS_BY_CAT[cat]))
        if m in ("CPS", "RevShare") and cat not in ORDER_VALUE_RUB:
            m = "CPA"
        cur = adv.currency[o_adv[k]]
        if m in ("CPS", "RevShare"):
            p = round(float(rng.uniform(4, 15)), 1)
        else:
            p = PRICE_RUB[cat] * cfg.money_scale * float(rng.lognormal(0, 0.35)) / FX_START[cur]
            p = round(p, 2) if cur in ("USD", "EUR") else round(p, 0)
        price[k] = p
        pay = p * float(rng.uniform(0.6, 0.85))
        payout[k] = round(
            pay, 1 if m in ("CPS", "RevShare") else (2 if cur in ("USD", "EUR") else 0)
        )
        hold[k] = int(rng.choice(HOLD_DAYS[cat])) if m != "CPI" else int(rng.choice([0, 3]))
        cr[k] = BASE_CR[m] * float(rng.lognormal(0, 0.35))
        model.append(m)
        currency.append(cur)
        titles.append(names.offer_title(rng, adv.brand[o_adv[k]], cat))
        sources.append(
            sorted(rng.choice(CHANNELS[:8], size=int(rng.integers(3, 8)), replace=False).tolist())
        )
    # price changes: some advertisers cut the price (margin drops), some raise it
    change_day = np.full(n, NEVER, dtype=np.int64)
    price2 = price.copy()
    for k in range(n):
        if rng.random() < 0.2:
            change_day[k] = int(rng.integers(max(int(launch[k]) + 30, 30), D + 60))
            f = rng.uniform(0.72, 0.9) if rng.random() < 0.65 else rng.uniform(1.05, 1.2)
            price2[k] = round(price[k] * f, 2)
    # lifecycle: stops, pauses, freezes
    end = np.full(n, NEVER, dtype=np.int64)
    stop = np.full(n, NEVER, dtype=np.int64)
    for k in range(n):
        a = int(o_adv[k])
        if not rows[k]["main"] and rng.random() < 0.3:
            s = int(rng.integers(max(int(launch[k]) + 45, 1), D + 300))
            end[k] = stop[k] = s
        for _ in range(int(rng.poisson(0.7 * D / 365.0))):
            s = int(rng.integers(max(int(launch[k]), 1), D))
            pauses.append((k, s, s + int(rng.integers(3, 20))))
        fz, w = int(adv.freeze[a]), int(adv.warn[a])
        if fz != NEVER:
            if w != NEVER and not rows[k]["main"]:
                p = int(rng.integers(w, fz))  # offers paused one by one before the freeze
                end[k] = min(end[k], p)
            end[k] = min(end[k], fz)
            stop[k] = min(stop[k], fz + int(rng.integers(30, 75)))
    stall_until = np.where(
        (launch > 0) & (rng.random(n) < 0.15), launch + rng.integers(7, 21, size=n), -NEVER
    )
    share = rng.lognormal(0, 0.6, size=n) * np.where([r["main"] for r in rows], 2.0, 1.0)
    calls = np.where(
        np.isin(o_cat, [CATEGORIES.index(c) for c in ("finance", "realty", "auto")])
        & (rng.random(n) < 0.35),
        rng.uniform(0.3, 1.0, size=n),
        0.0,
    )
    pause_arr = np.array(pauses, dtype=np.int64).reshape(-1, 3)
    return Offers(
        ids=1001 + np.arange(n),
        adv=o_adv,
        cat=o_cat,
        model=model,
        currency=currency,
        price=price,
        payout=payout,
        price2=price2,
        change_day=change_day,
        hold=hold,
        cap=np.zeros(n, dtype=np.int64),
        created=created,
        launch=launch,
        end=end,
        stop=stop,
        stall_until=stall_until,
        cr=cr,
        approval=rng.uniform(0.55, 0.92, size=n),
        share=share,
        calls=calls,
        title=titles,
        exclusive=rng.random(n) < 0.1,
        sources=sources,
        pause_off=pause_arr[:, 0],
        pause_from=pause_arr[:, 1],
        pause_to=pause_arr[:, 2],
    )


def _plan_publishers(
    cfg: WorldConfig, D: int, rng: np.random.Generator, mgr: Managers
) -> Publishers:
    n = cfg.publishers
    quality = [str(q) for q in rng.choice(QUALITIES, size=n, p=[0.55, 0.25, 0.12, 0.08])]
    quality[0], quality[1], quality[2] = "good", "trash", "bot"
    q = np.array(quality)
    bot = np.select(
        [q == "good", q == "average", q == "trash"],
        [rng.uniform(0.005, 0.03, n), rng.uniform(0.03, 0.08, n), rng.uniform(0.08, 0.2, n)],
        rng.uniform(0.5, 0.85, n),
    )
    trash = np.select([q == "good", q == "average", q == "trash"], [0.02, 0.06, 0.35], 0.6)
    cr_mult = np.select([q == "good", q == "average", q == "trash"], [1.2, 0.9, 0.9], 0.35)
    appr_mult = np.select([q == "good", q == "average", q == "trash"], [1.05, 0.95, 0.55], 0.4)
    affinity = np.full((n, len(CATEGORIES)), 0.03)
    for i in range(n):
        focus = rng.choice(len(CATEGORIES), size=int(rng.integers(1, 5)), replace=False)
        affinity[i, focus] += rng.uniform(0.5, 1.5, size=len(focus))
    registered = np.where(
        rng.random(n) < 0.75,
        -rng.integers(30, 1500, size=n),
        rng.integers(0, max(D - 30, 1), size=n),
    )
    first = registered + 8
    banned = np.full(n, NEVER, dtype=np.int64)
    inactive = np.full(n, NEVER, dtype=np.int64)
    for i in range(n):
        lo = max(int(first[i]) + 60, 30)
        if quality[i] in ("trash", "bot") and rng.random() < 0.5 and lo < D:
            banned[i] = int(rng.integers(lo, D + 300))
        elif rng.random() < 0.1 and lo < D:
            inactive[i] = int(rng.integers(lo, D + 300))
    channel = rng.integers(0, len(CHANNELS), size=n)
    for i in range(n):
        if quality[i] == "bot":
            channel[i] = CHANNELS.index(str(rng.choice(["doorway", "push", "teaser", "other"])))
    channels = []
    for i in range(n):
        extra = rng.choice(len(CHANNELS), size=int(rng.integers(0, 3)), replace=False)
        channels.append([CHANNELS[c] for c in sorted({int(channel[i]), *map(int, extra)})])
    staff = [
        int(m)
        for m, r in zip(mgr.ids, mgr.role, strict=True)
        if r in ("account_manager", "bdm") and mgr.left[list(mgr.ids).index(m)] is None
    ]
    nm, em, ph, co = [], [], [], []
    for i in range(n):
        full, local = names.person(rng)
        nm.append(full)
        em.append(f"{local}{i}@{rng.choice(['mail.ru', 'yandex.ru', 'gmail.com'])}")
        ph.append(names.phone(rng))
        co.append(str(rng.choice(["RU", "RU", "RU", "KZ", "BY", "UA", "AM"])))
    return Publishers(
        ids=50_001 + np.arange(n),
        quality=quality,
        size=rng.lognormal(0, 1.1, size=n),
        bot_share=bot,
        trash_rate=trash,
        cr_mult=cr_mult,
        appr_mult=appr_mult,
        affinity=affinity,
        channel=channel,
        channels=channels,
        registered=registered,
        first=first,
        banned=banned,
        inactive=inactive,
        manager=np.array([staff[i % len(staff)] for i in range(n)]),
        name=nm,
        email=em,
        phone=ph,
        country=co,
    )


def _plan_programmes(D: int, rng: np.random.Generator, adv: Advertisers) -> list[Programme]:
    """Client-service experiments. The control group gets a real uplift after `started_on`."""
    out = []
    specs = [
        ("dedicated_manager", int(D * 0.55) // 7 * 7, None, 0.35),
        ("qbr_pilot", int(D * 0.3) // 7 * 7, int(D * 0.3) // 7 * 7 + 150, 0.12),
    ]
    taken: set[int] = set()
    for name, s, e, uplift in specs:
        pool = [
            i
            for i in range(len(adv.ids))
            if adv.fate[i] in ("stable", "growing", "declining")
            and adv.start[i] <= s - 90
            and i not in taken
        ]
        rng.shuffle(pool)
        k = max(2, min(len(pool) // 2, round(0.15 * len(adv.ids))))
        control, reference = sorted(pool[:k]), sorted(pool[k : 2 * k])
        taken.update(control + reference)
        end = e if e is not None else D
        for i in control:
            ramp = np.clip((np.arange(D) - s) / 30.0, 0, 1) * (np.arange(D) < end)
            adv.vol[i] *= 1 + uplift * ramp
            adv.appr[i] *= 1 + 0.1 * uplift * ramp
            adv.act[i] *= 1 + 1.5 * ramp
        out.append(Programme(name, s, e, control, reference, uplift))
    return out


def _plan_prospects(n: int, D: int, rng: np.random.Generator, mgr: Managers) -> list[Prospect]:
    bdms = [int(m) for m, r in zip(mgr.ids, mgr.role, strict=True) if r == "bdm"]
    out = []
    reasons = [
        "Дорого",
        "Ушли к конкуренту",
        "Нет бюджета",
        "Не прошли модерацию",
        "Пропал контакт",
    ]
    for j in range(max(3, n // 3)):
        cat = CATEGORIES[int(rng.integers(0, len(CATEGORIES)))]
        created = int(rng.integers(-200, D - 20))
        lost = created + int(rng.integers(20, 120))
        out.append(
            Prospect(
                20_000 + j,
                names.brand(rng, cat),
                names.inn(rng),
                cat,
                created,
                bdms[j % len(bdms)],
                lost,
                str(rng.choice(reasons)),
            )
        )
    return out


def _contacts(
    world_adv: Advertisers, prospects: list[Prospect], D: int, rng: np.random.Generator
) -> tuple[dict[int, list[dict]], dict[int, int]]:
    out: dict[int, list[dict]] = {}
    lost: dict[int, int] = {}
    ids = [(int(c), dom) for c, dom in zip(world_adv.company_id, world_adv.brand, strict=True)]
    ids += [(p.company_id, p.name) for p in prospects]
    for cid, brand_name in ids:
        people = []
        for _ in range(int(rng.integers(1, 4)) + 1):
            full, local = names.person(rng)
            people.append(
                {
                    "name": full,
                    "email": f"{local}@{names.translit(brand_name)}.ru",
                    "phone": names.phone(rng),
                    "position": str(rng.choice(names.POSITIONS)),
                }
            )
        out[cid] = people
    for a in range(len(world_adv.ids)):
        if world_adv.warn[a] != NEVER:  # a warned client loses contacts before it freezes
            mid = (int(world_adv.warn[a]) + int(world_adv.freeze[a])) // 2
            lost[int(world_adv.company_id[a])] = mid
    return out, lost


def plan_world(cfg: WorldConfig) -> World:
    """Plan every entity and timeline of the world (deterministic in the seed)."""
    rng = np.random.default_rng([cfg.seed, 1])
    D = cfg.days
    days = [cfg.start + timedelta(days=i) for i in range(D)]
    mgr, teams = _managers(cfg.advertisers, D, rng)
    adv = _plan_advertisers(cfg, D, rng, mgr, teams)
    programmes = _plan_programmes(D, rng, adv)
    offers = _plan_offers(cfg, D, rng, adv)
    pubs = _plan_publishers(cfg, D, rng, mgr)
    prospects = _plan_prospects(cfg.advertisers, D, rng, mgr)
    contacts, lost = _contacts(adv, prospects, D, rng)
    return World(cfg, days, mgr, adv, offers, pubs, programmes, prospects, contacts, lost)


def am_on(adv: Advertisers, a: int, d: int) -> int:
    """The advertiser's account manager on day d."""
    cur = adv.am_plan[a][0][1]
    for start, m in adv.am_plan[a]:
        if d >= start:
            cur = m
    return cur


def offer_status(offers: Offers, adv: Advertisers, k: int, d: int) -> str:
    """The catalogue status of offer k on day d (what a snapshot of that day shows)."""
    if d < offers.launch[k]:
        return "draft"
    if d >= offers.stop[k]:
        return "stopped"
    if d >= offers.end[k]:
        return "paused"
    a = int(offers.adv[k])
    if any(s <= d < e for s, e in adv.temp_stops[a]):
        return "paused"
    m = offers.pause_off == k
    if np.any((offers.pause_from[m] <= d) & (d < offers.pause_to[m])):
        return "paused"
    return "active"


def day_of(d: date, start: date) -> int:
    return (d - start).days
