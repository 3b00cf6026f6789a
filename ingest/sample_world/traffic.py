"""Tracker facts for one UTC day, vectorised: clicks, conversions and their status events.

Per day: how many clicks the network gets (seasonality x advertisers' demand), which offers and
publishers they go to, their timestamps and devices; which clean clicks convert, with what final
status; and the status events (pending now, approved/rejected when the hold ends) scheduled into
the files of the days they happen. Nothing here loops over clicks in Python.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import polars as pl

from . import pools
from .entities import CHANNELS, FX_START, ORDER_VALUE_RUB, World
from .formats import hex_ids
from .seasonality import CATEGORIES, HOURLY_UTC, season_matrix

DAY = 86_400
MSK = 3 * 3600


@dataclass(eq=False)
class Block:
    """Tracker facts of UTC days [d0, d1)."""

    d0: int
    d1: int
    clicks: pl.DataFrame  # in file column order, sorted by day then ts
    bounds: np.ndarray  # clicks of day d are rows bounds[d-d0]:bounds[d-d0+1]
    click_offer: np.ndarray  # offer index per click
    click_msk_day: np.ndarray  # reporting day index per click
    click_bot: np.ndarray
    truth: pl.DataFrame  # conversions created these days, final state (as of the world's end)
    events: list[tuple[int, bytes, np.ndarray]]  # (file day, NDJSON lines, their timestamps)

    def day_clicks(self, d: int) -> pl.DataFrame:
        lo, hi = int(self.bounds[d - self.d0]), int(self.bounds[d - self.d0 + 1])
        return self.clicks.slice(lo, hi - lo)

    def clicks_csv(self) -> list[bytes]:
        """The uncompressed CSV file of every day of the block: one write, sliced at newlines
        (no field contains a newline)."""
        buf = io.BytesIO()
        self.clicks.write_csv(buf)
        data = buf.getvalue()
        nl = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
        header = data[: nl[0] + 1]
        ends = np.r_[nl[0], nl[1:]]  # ends[i] = newline before row i (row i starts after it)
        out = []
        for i in range(self.d1 - self.d0):
            lo, hi = int(self.bounds[i]), int(self.bounds[i + 1])
            out.append(header + (data[ends[lo] + 1 : ends[hi] + 1] if hi > lo else b""))
        return out


class TrafficModel:
    """Draws each day's tracker facts from the planned world."""

    def __init__(self, world: World, fx_filled: dict[str, np.ndarray], fx_offset: int) -> None:
        self.w = world
        self.cfg = world.config
        self.D = self.cfg.days
        self.season = season_matrix(world.days)
        self.fx = fx_filled
        self.fx_offset = fx_offset
        self.t0 = int(datetime.combine(self.cfg.start, datetime.min.time(), UTC).timestamp())
        self.world_end = self.D * DAY - 1  # last second of the last UTC day
        self.ua, self.ua_by_os, self.ua_bot = pools.user_agents()
        prng = np.random.default_rng([self.cfg.seed, 3])
        self.subs = pools.sub_ids(prng)
        self.ipv6 = pools.ipv6_pool(prng)
        self.channels = pl.Series("source", CHANNELS)
        self.countries = pl.Series("country", pools.COUNTRIES)
        o = world.offers
        self.goal = pl.Series("goal", [pools.GOAL_BY_MODEL[m] for m in o.model])
        self.cat_names = pl.Series("category", CATEGORIES)
        self.cur_names = ["RUB", "USD", "EUR", "KZT"]
        self.cur_series = pl.Series(self.cur_names)
        self.devices = pl.Series(pools.DEVICES)
        self.os_names = pl.Series(pools.OS_LIST)
        self.statuses = pl.Series(["pending", "approved", "rejected", "trash"])
        self.comments = pl.Series([*pools.REJECT_COMMENTS, "Превышен дневной лимит (cap)"])
        self.o_cur = np.array([self.cur_names.index(c) for c in o.currency])
        self.o_pct = np.array([m in ("CPS", "RevShare") for m in o.model])
        ov = [ORDER_VALUE_RUB.get(CATEGORIES[c], 3000) for c in o.cat]
        self.o_order = (
            np.array(ov, dtype=float)
            * self.cfg.money_scale
            * 2
            / np.array([FX_START[c] for c in o.currency])
        )
        self.conv_seq = 0
        #: days generated per vectorised block: Polars' fixed cost per call dominates small
        #: days, so small worlds batch up to 16 days; big ones go day by day (memory)
        self.block_days = int(np.clip(60_000 // max(self.cfg.clicks_per_day, 1), 1, 16))
        # normalise demand so that the average day has `clicks_per_day` clicks; set caps
        totals = np.zeros(self.D)
        wsum = np.zeros(len(o.ids))
        live_days = np.zeros(len(o.ids))
        for d in range(self.D):
            w = self.offer_weights(d)
            totals[d] = w.sum()
            wsum += w
            live_days += w > 0
        self.norm = self.cfg.clicks_per_day / max(totals.mean(), 1e-9)
        self.totals = totals
        crng = np.random.default_rng([self.cfg.seed, 4])
        exp_conv = self.norm * wsum / np.maximum(live_days, 1) * o.cr * 0.85
        kind = crng.random(len(o.ids))
        factor = np.where(
            kind < 0.1, 0.8, np.where(kind < 0.2, 8.0, crng.uniform(1.3, 3.0, len(o.ids)))
        )
        cap = np.ceil(np.maximum(exp_conv * factor, 2)).astype(np.int64)
        o.cap[:] = np.where(kind > 0.55, 0, cap)

    # -- demand -----------------------------------------------------------------------------
    def offer_weights(self, d: int) -> np.ndarray:
        o, a = self.w.offers, self.w.advertisers
        live = (o.launch <= d) & (d < o.end)
        m = (o.pause_from <= d) & (d < o.pause_to)
        live[o.pause_off[m]] = False
        return a.vol[o.adv, d] * o.share * self.season[o.cat, d] * live

    def publisher_weights(self, d: int) -> np.ndarray:
        p = self.w.publishers
        active = (p.first <= d) & (d < p.banned) & (d < p.inactive)
        return p.size * active

    def fx_rate(self, cur_idx: np.ndarray, msk_day: np.ndarray) -> np.ndarray:
        """RUB per unit at the reporting day's rate (latest published on or before it)."""
        out = np.ones(len(cur_idx))
        for ci, name in enumerate(self.cur_names[1:], start=1):
            m = cur_idx == ci
            if m.any():
                out[m] = self.fx[name][msk_day[m] + self.fx_offset]
        return out

    # -- one day of numbers ------------------------------------------------------------------
    def _arrays(self, d: int) -> dict[str, np.ndarray]:
        """Everything random about UTC day d, as numpy columns (times in seconds from t0)."""
        rng = np.random.default_rng([self.cfg.seed, 2, d])
        o, p, a = self.w.offers, self.w.publishers, self.w.advertisers
        w = self.offer_weights(d)
        n = int(rng.poisson(self.norm * w.sum())) if w.sum() > 0 else 0
        counts = rng.multinomial(n, w / w.sum()) if n else np.zeros(len(w), dtype=np.int64)
        sec = np.sort(rng.choice(24, size=n, p=HOURLY_UTC) * 3600 + rng.integers(0, 3600, n))
        off = rng.permutation(np.repeat(np.arange(len(w)), counts))
        cat = o.cat[off]
        pw = self.publisher_weights(d)
        pub = np.zeros(n, dtype=np.int64)
        for c in np.unique(cat):
            idx = np.flatnonzero(cat == c)
            pc = pw * p.affinity[:, c]
            pub[idx] = rng.choice(len(pw), size=len(idx), p=pc / pc.sum())
        true_bot = rng.random(n) < p.bot_share[pub]
        is_bot = (true_bot & (rng.random(n) < 0.85)) | (~true_bot & (rng.random(n) < 0.003))
        dev = rng.choice(3, size=n, p=pools.DEVICE_P)
        os_idx = np.where(
            dev == 0,
            rng.choice(3, size=n, p=[0.8, 0.15, 0.05]),
            np.where(
                dev == 1, rng.choice([3, 4], size=n, p=[0.7, 0.3]), rng.choice([3, 5], size=n)
            ),
        )
        ua_idx = np.zeros(n, dtype=np.int64)
        for k, os_name in enumerate(pools.OS_LIST):
            m = os_idx == k
            pool = self.ua_by_os[os_name]
            ua_idx[m] = pool[rng.integers(0, len(pool), m.sum())]
        ua_idx[true_bot] = self.ua_bot[rng.integers(0, len(self.ua_bot), true_bot.sum())]
        v6 = rng.random(n) < 0.04
        octets = rng.integers(1, 255, size=(n, 4))
        src = np.where(rng.random(n) < 0.85, p.channel[pub], rng.integers(0, len(CHANNELS), n))
        sub = np.where(
            rng.random(n) < 0.35, -1, (pub * 7 + rng.integers(0, 20, n)) % len(self.subs)
        )
        country = rng.choice(len(pools.COUNTRIES), size=n, p=pools.COUNTRY_P)
        unique = rng.random(n) < np.where(true_bot, 0.5, 0.88)
        ids = hex_ids(rng, n)
        v6_idx = np.where(v6, rng.integers(0, len(self.ipv6), n), -1)
        out: dict[str, np.ndarray] = {
            "k_cid": ids, "k_ts": d * DAY + sec, "k_off": off, "k_pub": pub, "k_src": src,
            "k_sub": sub, "k_country": country, "k_dev": dev, "k_os": os_idx,
            "k_o0": octets[:, 0], "k_o1": octets[:, 1], "k_o2": octets[:, 2],
            "k_o3": octets[:, 3], "k_v6": v6_idx, "k_ua": ua_idx,
            "k_unique": unique.astype(np.int8), "k_bot": is_bot.astype(np.int8),
            "k_msk": d + (sec + MSK) // DAY,
        }  # fmt: skip
        # ---- conversions from clicks
        pconv = np.where(true_bot, 0.004, o.cr[off] * p.cr_mult[pub])
        pconv = np.where(d < o.stall_until[off], 0.0, pconv)
        conv = np.flatnonzero(rng.random(n) < pconv)
        c_off, c_pub = off[conv], pub[conv]
        c_sec = (
            sec[conv]
            + (rng.exponential(np.where(self.o_pct[c_off], 7200, 2400))).astype(np.int64)
            + 30
        )
        c_click = ids[conv]
        c_bot = true_bot[conv]
        # ---- offline (phone) conversions: no click
        clean_per_offer = np.bincount(off[~true_bot], minlength=len(w))
        n_calls = rng.poisson(o.calls * clean_per_offer / 100.0)
        call_off = np.repeat(np.arange(len(w)), n_calls)
        k = len(call_off)
        if k:
            call_pub = rng.choice(len(pw), size=k, p=pw / pw.sum())
            call_sec = rng.integers(6 * 3600, 18 * 3600, size=k)
            c_off = np.concatenate([c_off, call_off])
            c_pub = np.concatenate([c_pub, call_pub])
            c_sec = np.concatenate([c_sec, call_sec])
            c_click = np.concatenate([c_click, np.full(k, b"", dtype=c_click.dtype)])
            c_bot = np.concatenate([c_bot, np.zeros(k, dtype=bool)])
        m = len(c_off)
        is_call = np.arange(m) >= m - k
        c_adv = o.adv[c_off]
        # final status: trash (bots, junk traffic), approved or rejected; daily caps enforced
        trash = c_bot | (rng.random(m) < p.trash_rate[c_pub])
        pa = np.clip(o.approval[c_off] * p.appr_mult[c_pub] * a.appr[c_adv, d], 0, 0.98)
        approved = ~trash & (rng.random(m) < pa)
        comment = np.where(trash | approved, -1, rng.integers(0, len(pools.REJECT_COMMENTS), m))
        order = np.lexsort((c_sec, c_off))
        ranks = np.empty(m, dtype=np.int64)
        if m:
            so = c_off[order]
            nt = (~trash[order]).astype(np.int64)
            cum = np.cumsum(nt)
            starts = np.r_[0, np.flatnonzero(np.diff(so)) + 1]
            group_start_cum = np.repeat(cum[starts] - nt[starts], np.diff(np.r_[starts, m]))
            ranks[order] = cum - group_start_cum  # 1-based rank among non-trash of its offer
        capped = (o.cap[c_off] > 0) & ~trash & (ranks > o.cap[c_off])
        approved &= ~capped
        comment = np.where(capped, len(pools.REJECT_COMMENTS), comment)
        status = np.where(trash, 3, np.where(approved, 1, 2))  # 0 pending 1 appr 2 rej 3 trash
        # money in the offer's currency
        price = np.where(d >= o.change_day[c_off], o.price2[c_off], o.price[c_off])
        payout = o.payout[c_off].copy()
        order_value = self.o_order[c_off] * rng.lognormal(-0.18, 0.6, m)
        pct = self.o_pct[c_off]
        revenue = np.round(np.where(pct, order_value * price / 100.0, price), 2)
        payout = np.round(np.where(pct, order_value * payout / 100.0, payout), 2)
        # events: (conversion index, second, status code, chargeback comment flag)
        hold = o.hold[c_off]
        first_sec = np.where(
            trash,
            c_sec + rng.integers(60, 1800, m),
            np.where(hold == 0, c_sec + rng.integers(60, 600, m), c_sec),
        )
        first_status = np.where(trash | (hold == 0), status, 0)
        settle_sec = c_sec + hold * DAY + rng.integers(0, 3 * DAY, m)
        has_second = ~trash & (hold > 0)
        chargeback = approved & (rng.random(m) < 0.01)
        cb_sec = settle_sec + rng.integers(10 * DAY, 40 * DAY, m)
        # final state as of the world's end
        end_rel = self.world_end - d * DAY  # the world's last second, relative to this day
        final = np.where(has_second & (settle_sec > end_rel), 0, status)
        final = np.where(chargeback & (cb_sec <= end_rel), 2, final)
        c_msk = d + (c_sec + MSK) // DAY
        out.update({
            "c_seq": np.arange(self.conv_seq, self.conv_seq + m, dtype=np.int64),
            "c_cid": c_click, "c_off": c_off, "c_pub": c_pub, "c_adv": c_adv, "c_call": is_call,
            "c_ts": d * DAY + c_sec, "c_rev": revenue, "c_pay": payout,
            "c_sub": np.concatenate([sub[conv], np.full(k, -1)]),
            "c_country": np.concatenate([country[conv], np.full(k, len(pools.COUNTRIES) - 1)]),
            "c_comment": comment, "c_msk": c_msk, "c_final": final,
            "c_fx": self.fx_rate(self.o_cur[c_off], c_msk),
            "c_exported": first_sec <= end_rel,  # created after the last export: not in it
            "e_idx": np.concatenate(
                [np.arange(m), np.flatnonzero(has_second), np.flatnonzero(chargeback)]
            ),
            "e_ts": d * DAY + np.concatenate(
                [first_sec, settle_sec[has_second], cb_sec[chargeback]]
            ),
            "e_status": np.concatenate(
                [first_status, status[has_second], np.full(chargeback.sum(), 2)]
            ),
            "e_cb": np.concatenate(
                [np.zeros(m + has_second.sum(), bool), np.ones(chargeback.sum(), bool)]
            ),
        })  # fmt: skip
        self.conv_seq += m
        return out

    # -- a block of days, shaped into export rows in a few vectorised steps --------------------
    def block(self, d0: int, d1: int) -> Block:
        """Days [d0, d1): Polars work is done once per block (its fixed cost dominates small
        days); per-day file contents are slices of the block's frames."""
        parts = [self._arrays(d) for d in range(d0, d1)]
        cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if k[0] in "kc"}
        n_clicks = [len(p["k_ts"]) for p in parts]
        n_conv = [len(p["c_seq"]) for p in parts]
        conv_off = np.cumsum([0, *n_conv[:-1]])
        ev = {k: np.concatenate([p[k] for p in parts]) for k in ("e_ts", "e_status", "e_cb")}
        ev["e_idx"] = np.concatenate(
            [p["e_idx"] + off for p, off in zip(parts, conv_off, strict=True)]
        )
        clicks = self._clicks_frame(cat)
        base = self._conversions_frame(cat)
        order = np.lexsort((ev["e_ts"], ev["e_ts"] // DAY))
        e_day = ev["e_ts"][order] // DAY
        events = base[ev["e_idx"][order]].with_columns(
            status=pl.Series(ev["e_status"][order]).cast(pl.UInt32),
            updated_at=pl.from_epoch(pl.Series(self.t0 + ev["e_ts"][order]), time_unit="s"),
            _cb=pl.Series(ev["e_cb"][order]),
        )
        events = _finish_events(events, self.statuses)
        # serialise once and keep per-day byte slices: compact, and frees the block's frames
        # (a Polars slice would keep the whole block alive until its last day is written)
        blob = io.BytesIO()
        events.write_ndjson(blob)
        data = blob.getvalue()
        ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
        starts = np.r_[0, ends[:-1] + 1]
        by_day: list[tuple[int, bytes, np.ndarray]] = []
        cuts = np.flatnonzero(np.diff(e_day)) + 1
        e_sorted_ts = ev["e_ts"][order]
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(e_day)], strict=True):
            if hi > lo and e_day[lo] < self.D:
                part = data[int(starts[lo]) : int(ends[hi - 1]) + 1]
                by_day.append((int(e_day[lo]), part, e_sorted_ts[lo:hi].copy()))
        truth = base.filter(pl.col("exported")).select(
            "conversion_id", "click_id", "advertiser_id", "offer_id", "publisher_id",
            "category", "goal", "created_at", pl.col("msk").alias("day"),
            pl.lit(self.statuses).gather(pl.col("final")).alias("status"),
            pl.when("keep").then(pl.col("revenue")).otherwise(0.0).alias("revenue"),
            pl.when("keep").then(pl.col("payout")).otherwise(0.0).alias("payout"),
            "currency", "fx_rate",
            (pl.when("keep").then(pl.col("revenue")).otherwise(0.0) * pl.col("fx_rate"))
            .round(2).alias("revenue_rub"),
            (pl.when("keep").then(pl.col("payout")).otherwise(0.0) * pl.col("fx_rate"))
            .round(2).alias("payout_rub"),
            pl.col("call").alias("is_offline"),
        )  # fmt: skip
        return Block(d0, d1, clicks, np.cumsum([0, *n_clicks]), cat["k_off"], cat["k_msk"],
                     cat["k_bot"].astype(bool), truth, by_day)  # fmt: skip

    def _clicks_frame(self, c: dict[str, np.ndarray]) -> pl.DataFrame:
        o, p = self.w.offers, self.w.publishers
        raw = pl.DataFrame({
            "cid": pl.Series(c["k_cid"], dtype=pl.Binary), "ts": self.t0 + c["k_ts"],
            "offer_id": o.ids[c["k_off"]], "publisher_id": p.ids[c["k_pub"]],
            "src": c["k_src"], "sub": c["k_sub"], "country": c["k_country"], "dev": c["k_dev"],
            "os": c["k_os"], "o0": c["k_o0"], "o1": c["k_o1"], "o2": c["k_o2"], "o3": c["k_o3"],
            "v6": c["k_v6"], "ua": c["k_ua"], "is_unique": c["k_unique"], "is_bot": c["k_bot"],
        })  # fmt: skip
        ip4 = pl.concat_str([pl.col(f"o{i}").cast(pl.String) for i in range(4)], separator=".")
        return raw.select(
            pl.col("cid").cast(pl.String).alias("click_id"),
            pl.from_epoch("ts", time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("ts"),
            "offer_id",
            "publisher_id",
            pl.lit(self.channels).gather(pl.col("src")).alias("source"),
            pl.when(pl.col("sub") >= 0)
            .then(pl.lit(self.subs).gather(pl.col("sub").clip(0)))
            .otherwise(pl.lit(""))
            .alias("sub_id"),
            pl.lit(self.countries).gather(pl.col("country")).alias("country"),
            pl.lit(self.devices).gather(pl.col("dev")).alias("device"),
            pl.lit(self.os_names).gather(pl.col("os")).alias("os"),
            pl.when(pl.col("v6") >= 0)
            .then(pl.lit(self.ipv6).gather(pl.col("v6").clip(0)))
            .otherwise(ip4)
            .alias("ip"),
            pl.lit(self.ua).gather(pl.col("ua")).alias("user_agent"),
            "is_unique",
            "is_bot",
        )

    def _conversions_frame(self, c: dict[str, np.ndarray]) -> pl.DataFrame:
        o, p, a = self.w.offers, self.w.publishers, self.w.advertisers
        final = c["c_final"]
        raw = pl.DataFrame({
            "seq": c["c_seq"], "cid": pl.Series(c["c_cid"], dtype=pl.Binary),
            "offer_id": o.ids[c["c_off"]], "advertiser_id": a.ids[c["c_adv"]],
            "publisher_id": p.ids[c["c_pub"]], "call": c["c_call"], "goal_i": c["c_off"],
            "created": self.t0 + c["c_ts"], "revenue": c["c_rev"], "payout": c["c_pay"],
            "cur": self.o_cur[c["c_off"]], "sub": c["c_sub"], "country": c["c_country"],
            "comment_i": np.maximum(c["c_comment"], 0), "_has_comment": c["c_comment"] >= 0,
            "cat": o.cat[c["c_off"]], "msk": c["c_msk"].astype(np.int32), "final": final,
            "fx_rate": c["c_fx"], "keep": (final == 1) | (final == 0),
            "exported": c["c_exported"],
        })  # fmt: skip
        return raw.select(
            pl.concat_str(pl.lit("cv"), pl.col("seq").cast(pl.String).str.zfill(10)).alias(
                "conversion_id"
            ),
            pl.col("cid").cast(pl.String).replace("", None).alias("click_id"),
            "offer_id",
            "advertiser_id",
            "publisher_id",
            pl.when("call")
            .then(pl.lit("call"))
            .otherwise(pl.lit(self.goal).gather(pl.col("goal_i")))
            .alias("goal"),
            pl.from_epoch("created", time_unit="s").alias("created_at"),
            "revenue",
            "payout",
            pl.lit(self.cur_series).gather(pl.col("cur")).alias("currency"),
            pl.when(pl.col("sub") >= 0)
            .then(pl.lit(self.subs).gather(pl.col("sub").clip(0)))
            .otherwise(None)
            .alias("sub_id"),
            pl.lit(self.countries).gather(pl.col("country")).replace("", None).alias("country"),
            pl.lit(self.comments).gather(pl.col("comment_i")).alias("comment"),
            "_has_comment",
            "exported",
            pl.lit(self.cat_names).gather(pl.col("cat")).alias("category"),
            "msk",
            "final",
            "fx_rate",
            "keep",
            "call",
        )


def _finish_events(ev: pl.DataFrame, statuses: pl.Series) -> pl.DataFrame:
    """Shape status events into the export's fields: rejected/trash carry no money."""
    st = pl.lit(statuses).gather(pl.col("status"))
    zero = pl.col("status") >= 2
    comment = (
        pl.when(pl.col("_cb"))
        .then(pl.lit("Отклонено при сверке"))
        .when((pl.col("status") == 2) & pl.col("_has_comment"))
        .then(pl.col("comment"))
        .when(pl.col("status") == 3)
        .then(pl.lit("Фрод-фильтр"))
        .otherwise(None)
    )
    return ev.select(
        "conversion_id",
        "click_id",
        "offer_id",
        "advertiser_id",
        "publisher_id",
        "goal",
        st.alias("status"),
        pl.col("created_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        pl.col("updated_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        pl.when(zero).then(0.0).otherwise(pl.col("revenue")).alias("revenue"),
        pl.when(zero).then(0.0).otherwise(pl.col("payout")).alias("payout"),
        "currency",
        "sub_id",
        "country",
        comment.alias("comment"),
    )
