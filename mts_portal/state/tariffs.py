"""Tariffs: the current tariff's conditions, the catalogue, compare, switch with a
prorated preview, and the advisor (the real last 30 days re-rated under each tariff)."""

from __future__ import annotations

import uuid

import reflex as rx

from mts_portal.core import advisor, billing, cabinet, family, runtime
from mts_portal.core.catalog import default_catalog
from mts_portal.core.errors import DomainError
from mts_portal.core.money import format_amount, format_data, format_rub
from mts_portal.i18n import add, count_text, tr
from mts_portal.state.base import SessionState, query, write
from mts_portal.state.views import moment_text

add({
    "tariffs.title": ("Тарифы", "Tariffs"),
    "tariffs.current": ("Ваш тариф", "Your tariff"),
    "tariffs.catalogue": ("Все тарифы", "All tariffs"),
    "tariffs.compare": ("Сравнение", "Compare"),
    "tariffs.per_month": ("₽/мес", "₽/month"),
    "tariffs.minutes": ("Минуты", "Minutes"),
    "tariffs.sms": ("SMS", "SMS"),
    "tariffs.data": ("Интернет", "Internet"),
    "tariffs.fee": ("Абонентская плата", "Monthly fee"),
    "tariffs.rate_min": ("Минута сверх пакета", "Minute over the bundle"),
    "tariffs.rate_sms": ("SMS сверх пакета", "SMS over the bundle"),
    "tariffs.rate_mb": ("1 МБ сверх пакета", "1 MB over the bundle"),
    "tariffs.switch": ("Перейти", "Switch"),
    "tariffs.is_current": ("Ваш тариф", "Current"),
    "tariffs.preview": ("Переход на тариф", "Switching to"),
    "tariffs.preview_fee": ("Спишется сейчас", "Charged now"),
    "tariffs.preview_for_rest": ("абонентская плата «{name}» за {days} из {whole} до конца месяца",
                                 "the {name} monthly fee for {days} of {whole}, to the end of the month"),
    "tariffs.preview_for_whole": ("абонентская плата «{name}» за весь месяц ({days} из {whole}): сегодня первый "
                                  "день расчётного периода",
                                  "the {name} monthly fee for the whole month ({days} of {whole}): today is the "
                                  "period's first day"),
    "tariffs.preview_free": ("ничего: у тарифа «{name}» нет абонентской платы", "nothing: {name} has no monthly fee"),
    "tariffs.preview_no_refund": ("Уже списанная в этом месяце абонентская плата ({paid}) не возвращается.",
                                  "The monthly fee already charged this month ({paid}) is not refunded."),
    "tariffs.preview_nothing_paid": ("За текущий тариф в этом месяце абонентская плата не списывалась — "
                                     "возвращать нечего.",
                                     "No monthly fee was charged for the current tariff this month: "
                                     "nothing to refund."),
    "tariffs.preview_next": ("Дальше — {fee} в начале каждого месяца.", "Then {fee} at the start of each month."),
    "tariffs.preview_invites": ("Неподтверждённые приглашения в «МЫ МТС» будут отменены: {n}.",
                                "Pending MY MTS invitations will be cancelled: {n}."),
    "tariffs.preview_bundles": ("Пакеты до конца месяца", "Bundles to the end of the month"),
    "tariffs.preview_balance": ("Баланс после перехода", "Balance after the switch"),
    "tariffs.preview_ends": ("Остатки пакетов текущего тарифа сгорят; купленные пакеты интернета сохранятся.",
                             "What is left of the current tariff's bundles ends; bought data packages stay."),
    "tariffs.not_affordable": ("Недостаточно средств для перехода: пополните счёт.",
                               "Not enough money to switch: top up first."),
    "tariffs.confirm": ("Перейти на тариф", "Switch tariff"),
    "tariffs.switched": ("Тариф изменён", "Tariff changed"),
    "tariffs.switch_blocked": ("Смена тарифа недоступна", "Switching is not available"),
    "tariffs.share": ("ваша доля", "your share"),
    "tariffs.from_pool": ("общий пакет, осталось {left}", "shared bundle, {left} left"),
    "tariffs.paid_by_owner": ("платит владелец группы", "paid by the group's owner"),
    "history.title": ("История смены тарифа", "Tariff history"),
    "history.none": ("Смен тарифа не было", "No tariff changes"),
    "history.reason.provision": ("Подключение номера", "Number connected"),
    "history.reason.switch": ("Смена тарифа", "Tariff switch"),
    "history.reason.family_join": ("Вступление в группу «МЫ МТС»", "Joined a MY MTS group"),
    "history.reason.family_leave": ("Выход из группы «МЫ МТС»", "Left the MY MTS group"),
    "history.reason.backfill": ("Тариф на начало истории (более ранние смены не сохранились)",
                                "Tariff when the history began (earlier changes were not kept)"),
    "history.fee": ("списано {fee}", "{fee} charged"),
    "advisor.title": ("Подбор тарифа", "Tariff advisor"),
    "advisor.hint": ("Пересчитаем ваши звонки, SMS и интернет за последние 30 дней по каждому тарифу — тем же "
                     "движком тарификации, что и на самом деле.",
                     "We re-rate your calls, SMS and data of the last 30 days under each tariff — with the same "
                     "rating engine as for real."),
    "advisor.run": ("Подобрать", "Find the best"),
    "advisor.in_30_days": ("за 30 дней", "in 30 days"),
    "advisor.total": ("Итого за 30 дней", "Total for 30 days"),
    "advisor.usage": ("сверх пакетов", "over bundles"),
    "advisor.best": ("Выгоднее всего", "Cheapest"),
    "advisor.save": ("Экономия", "You would save"),
    "advisor.stay": ("Ваш тариф уже самый выгодный.", "Your tariff is already the cheapest."),
    "advisor.would_save": ("Перейдя на «{name}», вы бы сэкономили {amount} за 30 дней.",
                           "On {name} you would have saved {amount} in 30 days."),
})


def _tariff_row(t, current: str, lang: str) -> dict[str, str]:
    return {
        "code": t.code, "name": t.name(lang), "fee": format_rub(t.fee_kopecks, lang),
        "minutes": format_amount(t.minutes, "min", lang) if t.minutes else "—",
        "sms": format_amount(t.sms, "sms", lang) if t.sms else "—",
        "data": format_data(t.data_kb, lang) if t.data_kb else "—",
        "rate_min": format_rub(t.rate_voice_kopecks, lang), "rate_sms": format_rub(t.rate_sms_kopecks, lang),
        "rate_mb": format_rub(t.rate_mb_kopecks, lang),
        "description": t.description_en if lang == "en" else t.description_ru,
        "current": "1" if t.code == current else "0",
    }


EMPTY_TARIFF = {k: "" for k in ("code", "name", "fee", "minutes", "sms", "data", "rate_min", "rate_sms", "rate_mb",
                                 "description", "current")}
EMPTY_PREVIEW = {k: "" for k in ("code", "name", "title", "fee", "charge_for", "refund", "next", "invites", "bundles",
                                 "balance_after")}
KIND_KEY = {"voice": "minutes", "sms": "sms", "data": "data"}


def _member_figures(session, info, msisdn: str, now, lang: str) -> dict[str, str]:
    """A family member's minutes, SMS and data: their quota (their share of the owner's bundle), or
    what is left of the shared bundle when they have no quota."""
    v = family.view(session, info, msisdn, now)
    out = {}
    for m in v.members[:1]:
        for sh in m.shares:
            if sh.quota is not None:
                out[KIND_KEY[sh.kind]] = f"{format_amount(sh.quota, sh.unit, lang)} · {tr('tariffs.share', lang)}"
            else:
                out[KIND_KEY[sh.kind]] = tr("tariffs.from_pool", lang).format(
                    left=format_amount(sh.remaining, sh.unit, lang))
    return out


def _history_row(c, lang: str) -> dict[str, str]:
    cat = default_catalog()

    def name(code):
        t = cat.tariffs.get(code)
        return (t.name(lang) if lang == "en" else f"«{t.name(lang)}»") if t else code

    return {"id": str(c.id), "when": moment_text(c.at, lang),
            "what": f"{name(c.from_code)} → {name(c.to_code)}" if c.from_code else name(c.to_code),
            "why": tr(f"history.reason.{c.reason}", lang),
            "fee": tr("history.fee", lang).format(fee=format_rub(c.fee_kopecks, lang)) if c.fee_kopecks else ""}


class TariffsState(SessionState):
    current: dict[str, str] = dict(EMPTY_TARIFF)
    catalogue: list[dict[str, str]] = []
    switch_block: str = ""  # why this line cannot switch (a family member, an owner with members), or ""
    preview_open: bool = False
    preview: dict[str, str] = dict(EMPTY_PREVIEW)
    preview_affordable: bool = False
    preview_error: str = ""
    advice: list[dict[str, str]] = []
    advice_summary: str = ""
    advice_records: str = ""
    advising: bool = False
    history: list[dict[str, str]] = []  # the line's tariff changes, newest first
    _switch_key: str = ""

    async def _reload(self, info) -> None:
        lang, now = self._lang(), runtime.now()
        cat = default_catalog()

        def fn(s):
            line = cabinet.selected_line(s, info)
            block = cabinet.tariff_switch_block(s, line)
            member = _member_figures(s, info, line.msisdn, now, lang) if cat.tariffs[line.tariff_code].family_member \
                else {}
            return line.tariff_code, block, member, billing.tariff_history(s, line)

        code, block, member, changes = await query(fn)
        self.history = [_history_row(c, lang) for c in changes]
        tariffs = sorted((t for t in cat.tariffs.values() if t.public), key=lambda t: t.sort)
        self.catalogue = [_tariff_row(t, code, lang) for t in tariffs]
        current = _tariff_row(cat.tariffs[code], code, lang)
        if cat.tariffs[code].family_member:
            current.update(member)
            current["fee"] = f"{current['fee']} · {tr('tariffs.paid_by_owner', lang)}"
        self.current = current
        self.switch_block = block.text(lang) if block is not None else ""

    @rx.event
    async def load(self):
        info = await self._begin()
        if info is None:
            return await self._gone()
        self.preview_open = False
        self.advice = []
        self.advice_summary = ""
        await self._reload(info)

    @rx.event
    async def open_preview(self, code: str):
        info = await self._session()
        if info is None:
            return await self._gone()
        lang, now = self._lang(), runtime.now()
        self.preview_error = ""
        if self.switch_block:
            return rx.toast.error(self.switch_block)
        try:
            terms = await query(lambda s: cabinet.switch_terms(s, info, info.selected_msisdn, str(code), now))
        except DomainError as exc:
            return rx.toast.error(self._msg(exc))
        p = terms.preview
        t = default_catalog().tariffs[p.to_tariff]
        days = count_text(p.remaining_days, lang, ("день", "дня", "дней"), ("day", "days"))
        if not t.fee_kopecks:
            charge_for = tr("tariffs.preview_free", lang).format(name=t.name(lang))
        else:
            charge_for = tr("tariffs.preview_for_whole" if terms.whole_period else "tariffs.preview_for_rest",
                            lang).format(name=t.name(lang), days=days, whole=p.period_days)
        refund = tr("tariffs.preview_no_refund", lang).format(paid=format_rub(terms.paid_this_period_kopecks, lang)) \
            if terms.paid_this_period_kopecks else tr("tariffs.preview_nothing_paid", lang)
        self.preview = {
            "code": p.to_tariff, "name": t.name(lang), "fee": format_rub(p.fee_kopecks, lang),
            "title": f"{tr('tariffs.preview', lang)} " + (t.name(lang) if lang == "en" else f"«{t.name(lang)}»"),
            "charge_for": charge_for, "refund": refund,
            "next": tr("tariffs.preview_next", lang).format(fee=format_rub(t.fee_kopecks, lang)) if t.fee_kopecks
            else "",
            "invites": tr("tariffs.preview_invites", lang).format(n=terms.pending_invitations)
            if terms.pending_invitations else "",
            "bundles": ", ".join(x for x in (
                format_amount(p.bundles["voice"], "min", lang) if p.bundles["voice"] else "",
                format_amount(p.bundles["sms"], "sms", lang) if p.bundles["sms"] else "",
                format_data(p.bundles["data"], lang) if p.bundles["data"] else "") if x) or "—",
            "balance_after": format_rub(p.balance_after_kopecks, lang),
        }
        self.preview_affordable = p.affordable
        self._switch_key = uuid.uuid4().hex
        self.preview_open = True

    @rx.event
    def close_preview(self):
        self.preview_open = False

    @rx.event
    def set_preview_open(self, value: bool):
        self.preview_open = bool(value)

    @rx.event
    async def confirm_switch(self):
        info = await self._session()
        if info is None:
            return await self._gone()
        code, key = self.preview.get("code", ""), self._switch_key
        if not key:
            return None  # the second click of a double click: the first has switched (or answered)
        self._switch_key = ""

        def fn(s):
            line = cabinet.line_for_update(s, info, info.selected_msisdn)
            return billing.switch_tariff(session=s, line=line, new_code=code, now=runtime.now(), request_key=key)

        try:
            await write(fn)
        except DomainError as exc:
            if exc.code == "duplicate_request":
                return None
            self.preview_error = self._msg(exc)
            self._switch_key = key  # the question stays open: it may be confirmed again (same key)
            return
        self.preview_open = False
        await self._reload(info)
        return rx.toast.success(f"{self.t['tariffs.switched']}: {self.preview.get('name', '')}")

    @rx.event
    async def run_advisor(self):
        info = await self._session()
        if info is None:
            yield await self._gone()
            return
        self.advising = True
        yield
        lang, now = self._lang(), runtime.now()
        try:
            advice = await query(lambda s: advisor.advise(s, info, info.selected_msisdn, now))
        except DomainError as exc:
            self.advising = False
            yield rx.toast.error(self._msg(exc))
            return
        self.advice = [{
            "code": e.code, "name": e.name_en if lang == "en" else e.name_ru, "fee": format_rub(e.fee_kopecks, lang),
            "usage": format_rub(e.usage_kopecks, lang), "total": format_rub(e.total_kopecks, lang),
            "saving": format_rub(e.saving_kopecks, lang) if e.saving_kopecks > 0 else "",
            "best": "1" if e.cheapest else "0", "current": "1" if e.current else "0",
        } for e in advice.estimates]
        best = advice.best
        current = next((e for e in advice.estimates if e.current), None)
        if best is None or current is None or best.code == current.code or best.saving_kopecks <= 0:
            self.advice_summary = tr("advisor.stay", lang)
        else:
            self.advice_summary = tr("advisor.would_save", lang).format(
                name=best.name_en if lang == "en" else best.name_ru, amount=format_rub(best.saving_kopecks, lang))
        self.advice_records = count_text(advice.records, lang, ("событие", "события", "событий"),
                                         ("event", "events")) + " " + tr("advisor.in_30_days", lang)
        self.advising = False
