"""Services, Internet (add-on packages), Roaming options and «МТС Бонус»."""

from __future__ import annotations

import uuid

import reflex as rx
from sqlalchemy import select

from mts_portal.core import billing, bonus, cabinet, runtime
from mts_portal.core.catalog import POPULAR_COUNTRIES, default_catalog
from mts_portal.core.clock import fmt_date, fmt_datetime
from mts_portal.core.errors import DomainError
from mts_portal.core.models import Subscription
from mts_portal.core.money import format_rub
from mts_portal.core.words import pick
from mts_portal.i18n import add, tr
from mts_portal.state.base import SessionState, query, write
from mts_portal.state.views import BucketRow, bucket_rows

add({
    "services.title": ("Услуги", "Services"),
    "services.connected": ("Подключённые услуги", "Connected services"),
    "services.none": ("Платных услуг не подключено", "No services connected"),
    "services.catalogue": ("Каталог услуг", "Services catalogue"),
    "services.subscriptions": ("Платные подписки", "Paid subscriptions"),
    "services.no_subscriptions": ("Платных подписок нет — списаний за контент не будет.",
                                  "No paid subscriptions: no content charges."),
    "services.connect": ("Подключить", "Connect"),
    "services.disconnect": ("Отключить", "Disconnect"),
    "services.connect_q": ("Подключить услугу?", "Connect the service?"),
    "services.disconnect_q": ("Отключить услугу?", "Disconnect the service?"),
    "services.cost_now": ("Спишется сейчас", "Charged now"),
    "services.free": ("бесплатно", "free"),
    "services.per_month": ("в месяц", "a month"),
    "services.per_day": ("в сутки", "a day"),
    "services.usage_day": ("в сутки, только в дни использования", "a day, only on days you use it"),
    "services.since": ("с", "since"),
    "services.paid_points": ("оплачено баллами до", "paid with points until"),
    "services.connected_ok": ("Услуга подключена", "Connected"),
    "services.disconnected_ok": ("Услуга отключена", "Disconnected"),
    "services.block": ("Добровольная блокировка", "Voluntary block"),
    "services.block_hint": ("Временно приостановить связь на номере (например, на время отпуска). "
                            "Абонентская плата продолжает списываться.",
                            "Pause the service for a while (a holiday, say). Monthly fees still apply."),
    "services.block_q": ("Заблокировать номер?", "Block the number?"),
    "services.unblock_q": ("Разблокировать номер?", "Unblock the number?"),
    "internet.title": ("Интернет", "Internet"),
    "internet.remaining": ("Остаток трафика", "Data left"),
    "internet.none": ("Пакетов интернета нет: интернет оплачивается по тарифу.",
                      "No data bundles: data is charged by the tariff."),
    "internet.packages": ("Дополнительные пакеты", "Extra packages"),
    "internet.buy": ("Купить", "Buy"),
    "internet.buy_q": ("Купить пакет?", "Buy the package?"),
    "internet.bought": ("Пакет подключён", "Package added"),
    "roaming.title": ("Роуминг", "Roaming"),
    "roaming.hint": ("Подключите опцию до поездки: тарификация учтёт её со следующего звонка, SMS или сессии.",
                     "Turn an option on before a trip: rating uses it from the very next call, SMS or session."),
    "roaming.on": ("Подключено", "On"),
    "roaming.popular": ("30 популярных стран (350 ₽/сутки)", "30 popular countries (350 ₽ a day)"),
    "roaming.rates": ("Без опций: за границей звонки 49 ₽/мин, SMS 19 ₽, интернет 150 ₽/МБ; по России исходящие "
                      "5 ₽/мин, входящие 3 ₽/мин.",
                      "Without options: abroad calls 49 ₽/min, SMS 19 ₽, data 150 ₽/MB; in Russia outgoing 5 ₽/min, "
                      "incoming 3 ₽/min."),
    "bonus.title": ("МТС Бонус", "MTS Bonus"),
    "bonus.points": ("баллов", "points"),
    "bonus.hint": ("1 балл за каждые полные 5 ₽ списаний, включая абонентскую плату.",
                   "1 point for every full 5 ₽ charged, fees included."),
    "bonus.catalogue": ("Обменять баллы", "Spend points"),
    "bonus.exchange": ("Обменять", "Exchange"),
    "bonus.exchange_q": ("Обменять баллы?", "Spend the points?"),
    "bonus.exchanged": ("Баллы обменяны", "Points spent"),
    "bonus.history": ("История баллов", "Points history"),
    "bonus.no_history": ("Баллов ещё не было", "No points yet"),
    "bonus.earned": ("начислено", "earned"),
    "bonus.spent": ("списано", "spent"),
})


def price_text(product, lang: str) -> str:
    if not product.fee_kopecks:
        return tr("services.free", lang)
    unit = {"month": "services.per_month", "day": "services.per_day", "usage_day": "services.usage_day"}.get(
        product.fee_unit)
    fee = format_rub(product.fee_kopecks, lang)
    if product.code == "zabugorishche":
        fee = f"{format_rub(product.popular_countries_fee_kopecks, lang)}–{fee}"
    return f"{fee} {tr(unit, lang)}" if unit else fee


def product_rows(session, info, now, lang: str, categories: tuple[str, ...]) -> list[dict[str, str]]:
    line = cabinet.selected_line(session, info)
    subs = {s.code: s for s in session.exec(select(Subscription).where(
        Subscription.line_id == line.id, Subscription.active == True)).scalars()}  # noqa: E712
    rows = []
    for p in sorted(default_catalog().products.values(), key=lambda p: (p.category, p.sort)):
        if p.category not in categories or not p.public:
            continue
        sub = subs.get(p.code)
        cost = billing.option_connect_price(session, line, p, now)
        paid = sub is not None and sub.source == "bonus" and sub.paid_until is not None
        rows.append({
            "code": p.code, "name": p.name(lang), "category": p.category,
            "description": p.description_en if lang == "en" else p.description_ru,
            "price": price_text(p, lang),
            "cost_now": format_rub(cost, lang),
            "connected": "1" if sub is not None else "0",
            "since": f"{tr('services.since', lang)} {fmt_date(sub.started_at)}" if sub else "",
            "paid_points": f"{tr('services.paid_points', lang)} {fmt_date(sub.paid_until)}" if paid else "",
        })
    return rows


class ProductsMixin(rx.State, mixin=True):
    """Shared by the pages that connect and disconnect products (each page gets its own copy)."""

    products: list[dict[str, str]] = []
    connected_services: int = 0
    connected_content: int = 0
    status: str = "active"
    error: str = ""
    _buy_key: str = ""
    _categories: tuple = ("service", "content")

    async def _reload(self, info) -> None:
        lang, now, cats = self._lang(), runtime.now(), self._categories

        def fn(s):
            return product_rows(s, info, now, lang, cats), cabinet.selected_line(s, info).status

        self.products, self.status = await query(fn)
        self.connected_services = sum(1 for p in self.products if p["connected"] == "1" and p["category"] == "service")
        self.connected_content = sum(1 for p in self.products if p["connected"] == "1" and p["category"] == "content")

    @rx.event
    async def load(self):
        info = await self._begin()
        if info is None:
            return await self._gone()
        self.error = ""
        await self._reload(info)

    @rx.event
    def prepare(self, code: str):
        """Opening a confirmation starts one purchase: a double click inside it buys once."""
        self._buy_key = uuid.uuid4().hex

    async def _spend(self, fn, ok: str | None = None):
        """Run a paid action with the key of the confirmation that was opened; a repeat of the same
        request (a double click) is silently the same result."""
        info = await self._session()
        if info is None:
            return await self._gone()
        key = self._buy_key or uuid.uuid4().hex
        try:
            res = await write(lambda s: fn(s, info, key))
        except DomainError as exc:
            await self._reload(info)
            if exc.code == "duplicate_request":
                return None
            return rx.toast.error(self._msg(exc))
        await self._reload(info)
        return rx.toast.success(ok or (res.message_en if self._lang() == "en" else res.message_ru))

    @rx.event
    async def connect(self, code: str):
        return await self._spend(lambda s, info, key: cabinet.connect(s, info, info.selected_msisdn, str(code),
                                                                      runtime.now(), request_key=key))

    @rx.event
    async def disconnect(self, code: str):
        info = await self._session()
        if info is None:
            return await self._gone()
        try:
            res = await write(lambda s: cabinet.disconnect(s, info, info.selected_msisdn, str(code), runtime.now()))
        except DomainError as exc:
            return rx.toast.error(self._msg(exc))
        await self._reload(info)
        return rx.toast.success(res.message_en if self._lang() == "en" else res.message_ru)

    @rx.event
    async def toggle(self, code: str, on: bool):
        if on:
            return await self.connect(code)
        return await self.disconnect(code)


class ServicesState(ProductsMixin, SessionState):
    _categories: tuple = ("service", "content")

    @rx.event
    async def set_block(self, blocked: bool):
        info = await self._session()
        if info is None:
            return await self._gone()
        try:
            await write(lambda s: cabinet.voluntary_block(s, info, info.selected_msisdn, bool(blocked), runtime.now()))
        except DomainError as exc:
            return rx.toast.error(self._msg(exc))
        await self._reload(info)


class InternetState(ProductsMixin, SessionState):
    _categories: tuple = ("addon",)
    buckets: list[BucketRow] = []

    async def _reload(self, info) -> None:
        await ProductsMixin._reload(self, info)
        lang, now = self._lang(), runtime.now()
        views = await query(lambda s: billing.current_buckets(s, cabinet.selected_line(s, info), now))
        self.buckets = bucket_rows([b for b in views if b.kind == "data"], lang)


class RoamingState(ProductsMixin, SessionState):
    _categories: tuple = ("roaming",)
    popular: str = ", ".join(sorted(POPULAR_COUNTRIES))


class BonusState(ProductsMixin, SessionState):
    points: int = 0
    offers: list[dict[str, str]] = []
    history: list[dict[str, str]] = []

    async def _reload(self, info) -> None:
        lang = self._lang()

        def fn(s):
            line = cabinet.selected_line(s, info)
            return line.bonus_points, bonus.history(s, info, line.msisdn)

        self.points, hist = await query(fn)
        self.offers = [{"code": o.code, "name": o.name_en if lang == "en" else o.name_ru, "points": str(o.points),
                        "what": o.what_en if lang == "en" else o.what_ru,
                        "affordable": "1" if self.points >= o.points else "0"} for o in bonus.offers()]
        self.history = [{"id": str(h.id), "when": fmt_datetime(h.created_at), "points": f"{h.points:+d}",
                         "what": pick(h.description, h.description_en, lang), "earned": "1" if h.points > 0 else "0"} for h in hist]

    @rx.event
    async def exchange(self, code: str):
        return await self._spend(lambda s, info, key: bonus.exchange(s, info, info.selected_msisdn, str(code),
                                                                     runtime.now(), request_key=key),
                                 self.t["bonus.exchanged"])
