"""Alert texts in English and Russian, each with the numbers that fired it and a next step.

Texts are rendered from the ``metrics`` JSON at feed time, so the history stores numbers only
and a change of language (``[alerts] language`` or a recipient's own) needs no re-evaluation.
"""

from __future__ import annotations

import json
from typing import Any

LANGUAGES = ("en", "ru")
_REASONS = {
    "en": {
        "low_cap_utilisation": "low cap utilisation",
        "click_drop": "clicks fell",
        "both": "low cap utilisation and clicks fell",
    },
    "ru": {
        "low_cap_utilisation": "низкая загрузка капы",
        "click_drop": "падение кликов",
        "both": "низкая загрузка капы и падение кликов",
    },
}
_RU_GROUP = {"active": "активные", "stopped": "остановившиеся"}


def _num(x: Any, lang: str, digits: int = 0) -> str:
    if x is None:
        return "—"
    text = f"{float(x):,.{digits}f}"
    return text.replace(",", "\u00a0").replace(".", ",") if lang == "ru" else text


def _money(x: Any, lang: str) -> str:
    return f"{_num(x, lang)}\u00a0RUB" if lang == "en" else f"{_num(x, lang)}\u00a0₽"


def _pct(x: Any, lang: str) -> str:
    return f"{_num(x, lang, 1)}\u00a0%" if lang == "ru" else f"{_num(x, lang, 1)}%"


def _render(rule: str, subject: str, m: dict[str, Any], lang: str) -> tuple[str, str, str]:
    ru = lang == "ru"
    if rule == "churn_risk":
        p = _num(float(m["churn_probability"]) * 100, lang)
        reasons = "; ".join(m.get("reasons") or []) or ("нет" if ru else "none given")
        if ru:
            return (
                f"Риск оттока: {subject}",
                f"Вероятность заморозки {p} % (порог {_num(m['threshold'] * 100, lang)} %, "
                f"группа: {_RU_GROUP.get(m.get('risk_group'), m.get('risk_group'))}). "
                f"Причины: {reasons}.",
                "Позвонить клиенту на этой неделе: разобрать причины и договориться о плане "
                "(условия, капы, креативы, новые офферы).",
            )
        return (
            f"Churn risk: {subject}",
            f"Probability of freezing {p}% (threshold {_num(m['threshold'] * 100, lang)}%, "
            f"group: {m.get('risk_group')}). Reasons: {reasons}.",
            "Call the client this week: go through the reasons and agree a plan (terms, caps, "
            "creatives, new offers).",
        )
    if rule == "traffic_stop":
        if ru:
            return (
                f"Остановка конверсий: {subject}",
                f"Нет конверсий {m['days_without_conversions']} дн. (последняя "
                f"{m['last_conversion_day']}), до этого в среднем "
                f"{_num(m['avg_daily_conversions_28d'], lang, 1)} в день за 28 дней.",
                "Сегодня проверить с клиентом: не выключен ли постбэк, не исчерпан ли "
                "бюджет, не остановлены ли офферы.",
            )
        return (
            f"Conversions stopped: {subject}",
            f"No conversions for {m['days_without_conversions']} days (last on "
            f"{m['last_conversion_day']}), after "
            f"{_num(m['avg_daily_conversions_28d'], lang, 1)} a day on average over 28 days.",
            "Check with the client today: postback broken, budget exhausted or offers paused?",
        )
    if rule == "margin_drop":
        if m.get("negative_margin"):
            detail_ru = f"Маржа за 7 дней отрицательная: {_money(m['margin_7d'], lang)}."
            detail_en = f"Margin over the last 7 days is negative: {_money(m['margin_7d'], lang)}."
        else:
            detail_ru = (
                f"Маржа за 7 дней {_pct(m['margin_pct_7d'], lang)} против "
                f"{_pct(m['margin_pct_prev_28d'], lang)} за 28 дней до того "
                f"(−{_num(m['drop_points'], lang, 1)} п.п.)."
            )
            detail_en = (
                f"Margin over the last 7 days {_pct(m['margin_pct_7d'], lang)} against "
                f"{_pct(m['margin_pct_prev_28d'], lang)} in the 28 days before "
                f"(−{_num(m['drop_points'], lang, 1)} points)."
            )
        if ru:
            return (
                f"Падение маржи оффера {subject}",
                detail_ru,
                "Сверить ставку рекламодателя и выплату вебмастерам; при необходимости "
                "снизить выплату или пересогласовать ставку.",
            )
        return (
            f"Margin drop on offer {subject}",
            detail_en,
            "Compare the advertiser's price with the publisher payout; lower the payout or "
            "renegotiate the price if needed.",
        )
    if rule == "needs_traffic":
        reason = _REASONS[lang].get(m.get("reason"), m.get("reason"))
        if ru:
            return (
                f"Офферу нужен трафик: {subject}",
                f"Неделя с {m['week_start']}: причина {reason}; загрузка капы "
                f"{_pct(m['avg_cap_utilisation_pct'], lang)}, чистых кликов за 7 дней "
                f"{_num(m['clean_clicks_7d'], lang)} против "
                f"{_num(m['clean_clicks_prev_28d'], lang)} за 28 дней до того.",
                "Обсудить на еженедельной встрече: предложить оффер вебмастерам, поднять "
                "выплату или обновить креативы.",
            )
        return (
            f"Offer needs traffic: {subject}",
            f"Week of {m['week_start']}: reason {reason}; cap utilisation "
            f"{_pct(m['avg_cap_utilisation_pct'], lang)}, clean clicks "
            f"{_num(m['clean_clicks_7d'], lang)} in 7 days against "
            f"{_num(m['clean_clicks_prev_28d'], lang)} in the 28 days before.",
            "Raise it in the weekly review: pitch the offer to publishers, raise the payout "
            "or refresh the creatives.",
        )
    if rule == "launch_stalled":
        if ru:
            return (
                f"Запуск без конверсий: оффер {subject}",
                f"Запущен {m['launch_day']} ({m['days_since_launch']} дн. назад), чистых "
                f"кликов {_num(m['clean_clicks_since_launch'], lang)}, ни одной одобренной "
                "или холдовой конверсии.",
                "Проверить трекинг (постбэк, лендинг) и условия оффера вместе с клиентом.",
            )
        return (
            f"Stalled launch: offer {subject}",
            f"Launched on {m['launch_day']} ({m['days_since_launch']} days ago), "
            f"{_num(m['clean_clicks_since_launch'], lang)} clean clicks, no approved or "
            "pending conversion.",
            "Check tracking (postback, landing page) and the offer terms with the client.",
        )
    if rule == "overdue_debt":
        invoices = ", ".join(m.get("invoice_numbers") or [])
        if ru:
            return (
                f"Просроченная задолженность: {subject}",
                f"Просрочено {_money(m['overdue_rub'], lang)} по {m['invoices']} счетам "
                f"(до {m['max_days_past_due']} дн.): {invoices}.",
                "Напомнить клиенту об оплате и согласовать график; при просрочке 90+ дней "
                "обсудить с финансами приостановку трафика.",
            )
        return (
            f"Overdue debt: {subject}",
            f"{_money(m['overdue_rub'], lang)} overdue on {m['invoices']} invoice(s) (up to "
            f"{m['max_days_past_due']} days past due): {invoices}.",
            "Remind the client and agree a payment schedule; at 90+ days, discuss pausing "
            "traffic with finance.",
        )
    if rule == "reconciliation_gap":
        if ru:
            return (
                f"Расхождение сверки: {subject}",
                f"Период {m['period_from']}–{m['period_to']}: трекер "
                f"{_money(m['tracker_revenue'], lang)}, выставлено "
                f"{_money(m['invoiced_net'], lang)} без НДС, расхождение "
                f"{_money(m['gap'], lang)} ({_pct(m['gap_pct'], lang)}).",
                "Сверить акт с клиентом и финансами; выставить корректировочный счёт при "
                "необходимости.",
            )
        return (
            f"Reconciliation gap: {subject}",
            f"Period {m['period_from']}–{m['period_to']}: tracker "
            f"{_money(m['tracker_revenue'], lang)}, invoiced {_money(m['invoiced_net'], lang)} "
            f"net of VAT, gap {_money(m['gap'], lang)} ({_pct(m['gap_pct'], lang)}).",
            "Reconcile the statement with the client and finance; issue a corrective "
            "invoice if needed.",
        )
    if rule == "tier_change":
        rev = _money(m["revenue_90d"], lang)
        if m.get("kind") == "promotion_candidate":
            if ru:
                return (
                    f"Кандидат на повышение: {subject}",
                    f"Уровень {m['tier']}, выручка за 90 дней {rev}, рост "
                    f"{_pct(m.get('growth_pct'), lang)} к предыдущим 90 дням.",
                    "Предложить клиенту план роста (новые офферы, больше капы) для перехода в A.",
                )
            return (
                f"Promotion candidate: {subject}",
                f"Tier {m['tier']}, 90-day revenue {rev}, up "
                f"{_pct(m.get('growth_pct'), lang)} on the 90 days before.",
                "Offer the client a growth plan (new offers, higher caps) to reach tier A.",
            )
        up = m["tier"] < m["previous_tier"]
        if ru:
            return (
                f"Смена уровня: {subject}",
                f"{m['day']}: {m['previous_tier']} → {m['tier']}, выручка за 90 дней {rev}.",
                "Поздравить клиента и пересмотреть условия обслуживания."
                if up
                else "Выяснить причину снижения и договориться о плане восстановления.",
            )
        return (
            f"Tier change: {subject}",
            f"{m['day']}: {m['previous_tier']} → {m['tier']}, 90-day revenue {rev}.",
            "Congratulate the client and review the service level."
            if up
            else "Find out why revenue fell and agree a recovery plan.",
        )
    raise ValueError(f"no text for alert rule {rule!r}")


def render(alert: dict[str, Any], lang: str) -> dict[str, str]:
    """Title, message and next step for one alert row (needs rule, subject ids, metrics)."""
    if lang not in LANGUAGES:
        raise ValueError(f"alert language must be one of {LANGUAGES}, got {lang!r}")
    metrics = alert["metrics"]
    m = json.loads(metrics) if isinstance(metrics, str) else dict(metrics)
    name = alert.get("company_name")
    subject = alert["subject_id"]
    if alert["subject_type"] == "advertiser" and name:
        subject = f"{name} ({alert['subject_id']})"
    elif alert["subject_type"] == "offer":
        title = m.get("offer_title")
        subject = alert["subject_id"] + (f" «{title}»" if title else "")
        subject += f" ({name})" if name else ""
    title, message, next_step = _render(alert["rule"], subject, m, lang)
    if alert.get("change") == "resolved":
        title = ("Решено: " if lang == "ru" else "Resolved: ") + title
    return {"title": title, "message": message, "next_step": next_step}
