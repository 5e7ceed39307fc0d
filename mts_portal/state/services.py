"""Services, Internet (add-on packages), Roaming options and «МТС Бонус»."""

from __future__ import annotations

import uuid

import reflex as rx
from sqlalchemy import select

from mts_portal.core import billing, bonus, cabinet, content, runtime
from mts_portal.core.catalog import POPULAR_COUNTRIES, default_catalog
from mts_portal.core.clock import fmt_date, fmt_datetime
from mts_portal.core.errors import DomainError
from mts_portal.core.models import Subscription
from mts_portal.core.money import MINUS, format_rub
from mts_portal.core.words import country, pick
from mts_portal.i18n import add, count_text, plural, tr
from mts_portal.state.base import SessionState, query, write
from mts_portal.state.service_pages import MANAGE, cancelled_text, content_rows, service_details
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
    "services.unblock_hint": ("Связь на номере снова заработает сразу после разблокировки.",
                              "The number works again as soon as it is unblocked."),
    "services.blocked_ok": ("Номер заблокирован: связь приостановлена до разблокировки",
                            "Number blocked: service paused until you unblock it"),
    "services.unblocked_ok": ("Номер разблокирован: связь снова доступна", "Number unblocked: service is back"),
    "services.is_blocked": ("Номер заблокирован по вашему заявлению", "The number is blocked at your request"),
    "services.manage": ("Настроить", "Manage"),
    "services.more": ("Подробнее", "More"),
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
    "roaming.on_q": ("Подключить", "Turn on"),
    "roaming.off_q": ("Отключить", "Turn off"),
    "roaming.confirm_on": ("Подключить", "Turn on"),
    "roaming.confirm_off": ("Отключить", "Turn off"),
    "roaming.popular": ("30 популярных стран (350 ₽/сутки)", "30 popular countries (350 ₽ a day)"),
    "roaming.rates": ("Без опций: за границей звонки 49 ₽/мин, SMS 19 ₽, интернет 150 ₽/МБ; по России исходящие "
                      "5 ₽/мин, входящие 3 ₽/мин.",
                      "Without options: abroad calls 49 ₽/min, SMS 19 ₽, data 150 ₽/MB; in Russia outgoing 5 ₽/min, "
                      "incoming 3 ₽/min."),
    "bonus.title": ("МТС Бонус", "MTS Bonus"),
    "bonus.points": ("баллов", "points"),
    "bonus.missing": ("Нужно ещё {n}", "You need {n} more"),
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
    details = service_details(session, line, now, lang) if "service" in categories else {}
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
            "detail": details.get(p.code, "") if sub is not None else "",  # the melody, the last backup, …
            "manage": MANAGE.get(p.code, ""),
        })
    return rows


POINTS_RU = ("балл", "балла", "баллов")
POINTS_EN = ("point", "points")


def points_text(n: int, lang: str) -> str:
    """'1 балл', '294 балла', '950 баллов' / '1 point', '950 points'."""
    return count_text(n, lang, POINTS_RU, POINTS_EN)


def signed_points(n: int) -> str:
    """History amounts signed like money: '+40', '−150' (a minus sign, not a hyphen)."""
    return f"+{n}" if n > 0 else (f"{MINUS}{-n}" if n < 0 else "0")


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
        """Opening a confirmation starts one request: a double click inside it acts once."""
        self._buy_key = uuid.uuid4().hex

    async def _spend(self, fn, ok: str | None = None):
        """Run the action of the confirmation that was opened, once. Its key is taken by the first
        confirm: a second click of a double click (queued behind the first, so it runs after it) finds
        no key and does nothing — no second toast, no contradictory error. A repeat that still reaches
        the core with the same key (duplicate_request) is silently the same result."""
        info = await self._session()
        if info is None:
            return await self._gone()
        key, self._buy_key = self._buy_key, ""
        if not key:
            return None
        try:
            res = await write(lambda s: fn(s, info, key))
        except DomainError as exc:
            await self._reload(info)
            if exc.code == "duplicate_request":
                return None
            return rx.toast.error(self._msg(exc))
        await self._reload(info)
        if ok is None:
            ok = res.message_en if self._lang() == "en" else res.message_ru
        return rx.toast.success(ok)

    @rx.event
    async def connect(self, code: str):
        return await self._spend(lambda s, info, key: cabinet.connect(s, info, info.selected_msisdn, str(code),
                                                                      runtime.now(), request_key=key))

    @rx.event
    async def disconnect(self, code: str):
        return await self._spend(lambda s, info, key: cabinet.disconnect(s, info, info.selected_msisdn, str(code),
                                                                         runtime.now()))


class ServicesState(ProductsMixin, SessionState):
    _categories: tuple = ("service", "content")
    content_subs: list[dict[str, str]] = []  # connected content subscriptions: provider, fee, charges
    ended_content: list[dict[str, str]] = []

    async def _reload(self, info) -> None:
        await ProductsMixin._reload(self, info)
        lang, now = self._lang(), runtime.now()
        self.content_subs, self.ended_content = await query(lambda s: content_rows(s, info, now, lang))

    @rx.event
    async def cancel_content(self, code: str):
        """Cancel a content subscription (asked first with its last charge); a double click cancels once."""
        info = await self._session()
        if info is None:
            return await self._gone()
        key, self._buy_key = self._buy_key, ""
        if not key:
            return None
        try:
            ended = await write(lambda s: content.cancel(s, info, info.selected_msisdn, str(code), runtime.now()))
        except DomainError as exc:
            await self._reload(info)
            return None if exc.code == "not_connected" else rx.toast.error(self._msg(exc))
        await self._reload(info)
        return rx.toast.success(cancelled_text(ended, self._lang()))

    @rx.event
    async def set_block(self, blocked: bool):
        blocked = bool(blocked)
        ok = self.t["services.blocked_ok" if blocked else "services.unblocked_ok"]
        return await self._spend(lambda s, info, key: cabinet.voluntary_block(s, info, info.selected_msisdn, blocked,
                                                                              runtime.now()), ok)


class InternetState(ProductsMixin, SessionState):
    _categories: tuple = ("addon",)
    buckets: list[BucketRow] = []

    async def _reload(self, info) -> None:
        await ProductsMixin._reload(self, info)
        lang, now = self._lang(), runtime.now()
        views = await query(lambda s: billing.current_buckets(s, cabinet.selected_line(s, info), now))
        self.buckets = bucket_rows([b for b in views if b.kind == "data"], lang)


class RoamingState(ProductsMixin, SessionState):
    """Every toggle asks first: the dialog states the option's price and when it is charged (or, to
    turn it off, what calls cost without it); cancelling changes nothing (the switch follows the store)."""

    _categories: tuple = ("roaming",)
    popular: str = ", ".join(sorted(POPULAR_COUNTRIES))
    ask_open: bool = False
    ask_code: str = ""
    ask_on: bool = True
    ask_name: str = ""
    ask_terms: str = ""
    ask_cost: str = ""

    async def _reload(self, info) -> None:
        await ProductsMixin._reload(self, info)
        lang = self._lang()
        self.popular = ", ".join(sorted(country(c, lang) for c in POPULAR_COUNTRIES))  # by name, A to Z

    @rx.event
    def ask_toggle(self, code: str, on: bool):
        """The switch was flipped: ask before anything changes."""
        row = next((p for p in self.products if p["code"] == str(code)), None)
        if row is None:
            return
        lang = self._lang()
        self.ask_code, self.ask_on, self.ask_name = row["code"], bool(on), row["name"]
        self.ask_terms = cabinet.option_terms(row["code"], bool(on)).text(lang)
        self.ask_cost = row["cost_now"] if on else ""
        self._buy_key = uuid.uuid4().hex
        self.ask_open = True

    @rx.event
    def set_ask_open(self, value: bool):
        self.ask_open = bool(value)
        if not self.ask_open:
            self._buy_key = ""  # cancelled: the confirm of this question can no longer act

    @rx.event
    async def confirm_toggle(self):
        self.ask_open = False
        if self.ask_on:
            return await self.connect(self.ask_code)
        return await self.disconnect(self.ask_code)


class BonusState(ProductsMixin, SessionState):
    points: int = 0
    points_word: str = ""
    loaded: bool = False
    offers: list[dict[str, str]] = []
    history: list[dict[str, str]] = []

    async def _reload(self, info) -> None:
        lang = self._lang()

        def fn(s):
            line = cabinet.selected_line(s, info)
            return line.bonus_points, bonus.history(s, info, line.msisdn)

        self.points, hist = await query(fn)
        self.points_word = (POINTS_EN[0] if self.points == 1 else POINTS_EN[1]) if lang == "en" else \
            plural(self.points, *POINTS_RU)
        self.offers = [{
            "code": o.code, "name": o.name_en if lang == "en" else o.name_ru, "points": points_text(o.points, lang),
            "what": o.what_en if lang == "en" else o.what_ru,
            "affordable": "1" if self.points >= o.points else "0",
            # a disabled exchange says why: how many points are still missing
            "missing": "" if self.points >= o.points else
            tr("bonus.missing", lang).format(n=points_text(o.points - self.points, lang)),
        } for o in bonus.offers()]
        self.history = [{"id": str(h.id), "when": fmt_datetime(h.created_at), "points": signed_points(h.points),
                         "what": pick(h.description, h.description_en, lang), "earned": "1" if h.points > 0 else "0"}
                        for h in hist]
        self.loaded = True

    @rx.event
    async def exchange(self, code: str):
        return await self._spend(lambda s, info, key: bonus.exchange(s, info, info.selected_msisdn, str(code),
                                                                     runtime.now(), request_key=key),
                                 self.t["bonus.exchanged"])
