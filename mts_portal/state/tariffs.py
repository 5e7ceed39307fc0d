"""Tariffs: the current tariff's conditions, the catalogue, compare, switch with a
prorated preview, and the advisor (the real last 30 days re-rated under each tariff)."""

from __future__ import annotations

import uuid

import reflex as rx

from mts_portal.core import advisor, billing, cabinet, runtime
from mts_portal.core.catalog import default_catalog
from mts_portal.core.errors import DomainError
from mts_portal.core.money import format_amount, format_data, format_rub
from mts_portal.i18n import add, tr
from mts_portal.state.base import SessionState, query, write

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
    "tariffs.preview_fee": ("Спишется сейчас (за оставшиеся дни месяца)", "Charged now (for the rest of the month)"),
    "tariffs.preview_days": ("дней из", "days of"),
    "tariffs.preview_bundles": ("Пакеты до конца месяца", "Bundles to the end of the month"),
    "tariffs.preview_balance": ("Баланс после перехода", "Balance after the switch"),
    "tariffs.preview_ends": ("Остатки пакетов текущего тарифа сгорят; купленные пакеты интернета сохранятся.",
                             "What is left of the current tariff's bundles ends; bought data packages stay."),
    "tariffs.not_affordable": ("Недостаточно средств для перехода: пополните счёт.",
                               "Not enough money to switch: top up first."),
    "tariffs.confirm": ("Перейти на тариф", "Switch tariff"),
    "tariffs.switched": ("Тариф изменён", "Tariff changed"),
    "advisor.title": ("Подбор тарифа", "Tariff advisor"),
    "advisor.hint": ("Пересчитаем ваши звонки, SMS и интернет за последние 30 дней по каждому тарифу — тем же "
                     "движком тарификации, что и на самом деле.",
                     "We re-rate your calls, SMS and data of the last 30 days under each tariff — with the same "
                     "rating engine as for real."),
    "advisor.run": ("Подобрать", "Find the best"),
    "advisor.records": ("событий за 30 дней", "events in 30 days"),
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


class TariffsState(SessionState):
    current: dict[str, str] = {}
    catalogue: list[dict[str, str]] = []
    preview_open: bool = False
    preview: dict[str, str] = {}
    preview_affordable: bool = False
    preview_error: str = ""
    advice: list[dict[str, str]] = []
    advice_summary: str = ""
    advice_records: str = ""
    advising: bool = False
    _switch_key: str = ""

    async def _reload(self, info) -> None:
        lang = self._lang()
        line = await query(lambda s: cabinet.selected_line(s, info))
        cat = default_catalog()
        tariffs = sorted((t for t in cat.tariffs.values() if t.public or t.code == line.tariff_code),
                         key=lambda t: t.sort)
        self.catalogue = [_tariff_row(t, line.tariff_code, lang) for t in tariffs if t.public]
        self.current = _tariff_row(cat.tariffs[line.tariff_code], line.tariff_code, lang)

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
        try:
            p = await query(lambda s: billing.preview_tariff_switch(
                session=s, line=cabinet.selected_line(s, info), new_code=str(code), now=now))
        except DomainError as exc:
            return rx.toast.error(self._msg(exc))
        t = default_catalog().tariffs[p.to_tariff]
        self.preview = {
            "code": p.to_tariff, "name": t.name(lang), "fee": format_rub(p.fee_kopecks, lang),
            "days": f"{p.remaining_days} {tr('tariffs.preview_days', lang)} {p.period_days}",
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

        def fn(s):
            line = cabinet.line_for_update(s, info, info.selected_msisdn)
            return billing.switch_tariff(session=s, line=line, new_code=code, now=runtime.now(), request_key=key)

        try:
            await write(fn)
        except DomainError as exc:
            self.preview_error = self._msg(exc)
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
        self.advice_records = f"{advice.records} {tr('advisor.records', lang)}"
        self.advising = False
