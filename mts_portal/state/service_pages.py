"""The pages behind three services of /services: GOOD'OK (/services/goodok), «Вторая память»
(/services/memory) and «Родительский контроль» (/services/parental); and what the services list
says about each of them (`service_details`).

Every paid action is asked first with its cost; every refusal is shown beside the field it is about
(messages kept in both languages, shown in the current one)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime

import reflex as rx
from sqlmodel import Session

from mts_portal.core import auth, billing, cabinet, goodok, memory, parental, runtime
from mts_portal.core.catalog import default_catalog
from mts_portal.core.clock import as_utc, period_of
from mts_portal.core.detail import RecordView
from mts_portal.core.errors import DomainError
from mts_portal.core.explain import describe
from mts_portal.core.models import Line
from mts_portal.core.money import format_amount, format_rub
from mts_portal.i18n import add, count_text, tr
from mts_portal.state.base import KEEP_FAILURES, SessionState, both, query, write
from mts_portal.state.views import day_text, moment_text

add({
    "title.goodok": ("GOOD'OK — Мой МТС", "GOOD'OK — My MTS"),
    "title.memory": ("Вторая память — Мой МТС", "Second memory — My MTS"),
    "title.parental": ("Родительский контроль — Мой МТС", "Parental control — My MTS"),
    "svc.manage": ("Настроить", "Manage"),
    "svc.more": ("Подробнее", "More"),
    "svc.back": ("Все услуги", "All services"),
    "svc.connect_first": ("Услуга не подключена.", "The service is not connected."),
    "svc.connect": ("Подключить услугу", "Connect the service"),
    "svc.connect_q": ("Подключить услугу?", "Connect the service?"),
    "svc.connected_ok": ("Услуга подключена", "Service connected"),
    "svc.free_action": ("Бесплатно: ничего не спишется.", "Free: nothing is charged."),
    # GOOD'OK
    "goodok.title": ("GOOD'OK — мелодия вместо гудка", "GOOD'OK — a melody instead of the ringing tone"),
    "goodok.hint": ("Звонящие вам слышат выбранную мелодию вместо гудков. Мелодии с пометкой «входит в подписку» "
                    "бесплатны; остальные оплачиваются один раз — купленную мелодию можно снова выбрать бесплатно.",
                    "Your callers hear the melody you choose instead of the ringing tone. Melodies marked "
                    "“included” are free; the others are paid once — a melody bought can be chosen again for free."),
    "goodok.current": ("Сейчас звучит", "Playing now"),
    "goodok.none": ("Мелодия не выбрана: звонящие слышат обычный гудок.",
                    "No melody chosen: callers hear the usual ringing tone."),
    "goodok.since": ("с", "since"),
    "goodok.catalogue": ("Каталог мелодий", "Melody catalogue"),
    "goodok.genre": ("Жанр", "Genre"),
    "goodok.all": ("Все жанры", "All genres"),
    "goodok.search": ("Название или исполнитель", "Title or artist"),
    "goodok.nothing": ("Ничего не нашлось", "Nothing found"),
    "goodok.included": ("входит в подписку", "included"),
    "goodok.owned": ("куплена", "bought"),
    "goodok.choose": ("Выбрать", "Choose"),
    "goodok.chosen": ("Установлена", "Set"),
    "goodok.choose_q": ("Установить мелодию?", "Set the melody?"),
    "goodok.cost_now": ("Спишется сейчас", "Charged now"),
    "goodok.cost_free_included": ("0,00 ₽ — мелодия входит в подписку GOOD'OK.",
                                  "0.00 ₽: the melody is included in GOOD'OK."),
    "goodok.cost_free_owned": ("0,00 ₽ — мелодия уже куплена.", "0.00 ₽: you bought this melody before."),
    "goodok.cost_paid": ("{price} — один раз; потом эту мелодию можно выбирать снова бесплатно.",
                         "{price}, once; later you can choose this melody again for free."),
    "goodok.set_ok": ("Мелодия установлена", "Melody set"),
    "goodok.seconds": ("с", "s"),
    # «Вторая память»
    "memory.title": ("«Вторая память» — резервная копия телефона", "Second memory — a backup of the phone"),
    "memory.hint": ("Контакты и журнал звонков телефона сохраняются в облаке МТС по расписанию и по запросу. "
                    "Хранятся 10 последних копий. Восстановление добавляет в телефон то, чего в нём нет, — ничего "
                    "не удаляет и не заменяет.",
                    "The phone's contacts and call log are kept in the MTS cloud on a schedule and on demand. The "
                    "newest 10 backups are kept. A restore adds to the phone what it lacks: it never deletes or "
                    "replaces anything."),
    "memory.phone": ("Телефон (симуляция)", "The phone (simulated)"),
    "memory.phone_hint": ("Так выглядит телефон абонента в симуляции: журнал звонков пополняется реальными "
                          "звонками номера; контакты можно добавлять и удалять, как на телефоне.",
                          "The subscriber's phone as simulated: the call log fills with the number's real calls; "
                          "contacts can be added and deleted as on a handset."),
    "memory.contacts": ("Контакты", "Contacts"),
    "memory.calls": ("Журнал звонков", "Call log"),
    "memory.no_calls": ("Журнал звонков пуст", "The call log is empty"),
    "memory.name": ("Имя", "Name"),
    "memory.number": ("Номер", "Number"),
    "memory.add": ("Добавить контакт", "Add a contact"),
    "memory.added": ("Контакт добавлен", "Contact added"),
    "memory.delete": ("Удалить контакт", "Delete the contact"),
    "memory.deleted": ("Контакт удалён из телефона", "Contact deleted from the phone"),
    "memory.clear": ("Очистить журнал", "Clear the log"),
    "memory.clear_q": ("Очистить журнал звонков телефона?", "Clear the phone's call log?"),
    "memory.clear_d": ("Звонки исчезнут из журнала телефона; из резервной копии их можно вернуть.",
                       "The calls leave the phone's log; a backup can bring them back."),
    "memory.cleared": ("Журнал звонков очищен", "Call log cleared"),
    "memory.out": ("исходящий", "outgoing"),
    "memory.in": ("входящий", "incoming"),
    "memory.backups": ("Резервные копии", "Backups"),
    "memory.last": ("Последняя копия", "Latest backup"),
    "memory.no_backups": ("Копий пока нет", "No backups yet"),
    "memory.backup_now": ("Сделать копию сейчас", "Back up now"),
    "memory.backup_q": ("Сделать резервную копию?", "Make a backup?"),
    "memory.backup_d": ("Бесплатно: входит в абонентскую плату «Вторая память». В копию войдут все контакты и "
                        "журнал звонков телефона.",
                        "Free: included in the Second memory fee. The backup takes all contacts and the call log."),
    "memory.backup_ok": ("Копия сохранена", "Backup saved"),
    "memory.backup_same": ("Копия уже сохранена минуту назад — телефон с тех пор не менялся",
                           "A backup was saved a moment ago and the phone has not changed since"),
    "memory.schedule": ("Расписание", "Schedule"),
    "memory.freq.daily": ("Каждый день в 03:00", "Every day at 03:00"),
    "memory.freq.weekly": ("Раз в неделю в 03:00", "Once a week at 03:00"),
    "memory.freq.off": ("Только по запросу", "On demand only"),
    "memory.next": ("Следующая копия", "Next backup"),
    "memory.schedule_ok": ("Расписание сохранено", "Schedule saved"),
    "memory.by_schedule": ("по расписанию", "scheduled"),
    "memory.by_hand": ("вручную", "on demand"),
    "memory.restore": ("Восстановить", "Restore"),
    "memory.restore_q": ("Восстановить из копии?", "Restore from the backup?"),
    "memory.restore_nothing": ("Всё из этой копии уже есть в телефоне — восстанавливать нечего.",
                               "Everything in this backup is on the phone already: nothing to restore."),
    "memory.restore_will": ("Вернётся в телефон", "Will come back to the phone"),
    "memory.restore_free": ("Бесплатно. Ничего в телефоне не удалится и не заменится.",
                            "Free. Nothing on the phone is deleted or replaced."),
    "memory.restored": ("Восстановлено", "Restored"),
    "memory.and_more": ("и ещё {n}", "and {n} more"),
    # «Родительский контроль»
    "parental.title": ("«Родительский контроль»", "Parental control"),
    "parental.hint": ("Подключите номер ребёнка: вы увидите его расходы и сможете ограничить траты в месяц, "
                      "запретить платные подписки и отключить мобильный интернет ночью (23:00–07:00). "
                      "Ограничения действуют сразу: звонок, SMS или сессия сверх них не пройдёт и ничего не будет "
                      "списано.",
                      "Attach your child's number: you see its spending and can limit spending per month, block "
                      "paid subscriptions and turn mobile data off at night (23:00–07:00). Limits apply at once: a "
                      "call, SMS or session beyond them does not go through and nothing is charged."),
    "parental.children": ("Номера детей", "Children's numbers"),
    "parental.no_children": ("Номера детей ещё не подключены", "No child's number attached yet"),
    "parental.attach_own": ("Номер из вашего кабинета", "A number of your account"),
    "parental.attach_own_hint": ("Номера вашего кабинета подключаются сразу, без кода.",
                                 "Numbers of your account are attached at once, without a code."),
    "parental.attach": ("Подключить", "Attach"),
    "parental.attach_q": ("Подключить номер к «Родительскому контролю»?", "Put the number under Parental control?"),
    "parental.attach_d": ("Бесплатно: услуга уже оплачивается на вашем номере. Владелец номера получит SMS.",
                          "Free: the service is already paid on your number. The number's holder gets an SMS."),
    "parental.no_own": ("В кабинете нет других номеров, которые можно подключить.",
                        "Your account has no other number to attach."),
    "parental.attach_other": ("Другой номер МТС", "Another MTS number"),
    "parental.attach_other_hint": ("На номер придёт SMS с кодом: подключение подтверждается кодом с телефона "
                                   "ребёнка.", "An SMS with a code goes to the number: it is confirmed with the "
                                   "code from the child's phone."),
    "parental.send_code": ("Получить код", "Get a code"),
    "parental.code": ("Код из SMS", "Code from the SMS"),
    "parental.confirm": ("Подтвердить", "Confirm"),
    "parental.code_sent": ("Код отправлен на номер", "A code was sent to"),
    "parental.code_format": ("Код — это 6 цифр из SMS. Попытка не засчитана.",
                             "The code is the 6 digits from the SMS. This try was not counted."),
    "parental.attached": ("Номер подключён к «Родительскому контролю»", "The number is under Parental control"),
    "parental.via_account": ("номер вашего кабинета", "a number of your account"),
    "parental.via_code": ("подтверждён кодом", "confirmed by a code"),
    "parental.spent": ("Потрачено за {month}", "Spent in {month}"),
    "parental.of_limit": ("из {limit}", "of {limit}"),
    "parental.no_limit": ("без лимита", "no limit"),
    "parental.left": ("осталось {left}", "{left} left"),
    "parental.by_cat": ("По видам", "By kind"),
    "parental.nothing_spent": ("Трат нет", "Nothing spent"),
    "parental.refused": ("Отклонено ограничениями в этом месяце", "Refused by the limits this month"),
    "parental.limits": ("Ограничения", "Limits"),
    "parental.night_on": ("Интернет ночью отключён (23:00–07:00)", "No mobile data at night (23:00–07:00)"),
    "parental.night_off": ("Интернет круглосуточно", "Mobile data all day"),
    "parental.blocked": ("Запрещены подписки", "Blocked subscriptions"),
    "parental.blocked_all": ("все платные подписки", "all paid subscriptions"),
    "parental.blocked_none": ("Подписки не запрещены", "No subscription blocked"),
    "parental.subs": ("Подписки ребёнка", "The child's subscriptions"),
    "parental.edit": ("Изменить ограничения", "Change the limits"),
    "parental.limit_field": ("Лимит расходов в месяц, ₽ (пусто — без лимита)",
                             "Spending limit a month, ₽ (empty: no limit)"),
    "parental.limit_hint": ("Считаются звонки, SMS и интернет сверх пакетов, роуминг, платные подписки и пакеты "
                            "интернета. Абонентская плата не ограничивается.",
                            "Counted: calls, SMS and data beyond bundles, roaming, paid subscriptions and data "
                            "packages. Monthly fees are not limited."),
    "parental.night_field": ("Отключать мобильный интернет ночью (23:00–07:00)",
                             "Turn mobile data off at night (23:00–07:00)"),
    "parental.block_field": ("Запретить платные подписки", "Block paid subscriptions"),
    "parental.block_all": ("Все платные подписки", "All paid subscriptions"),
    "parental.save": ("Сохранить ограничения", "Save the limits"),
    "parental.saved": ("Ограничения сохранены", "Limits saved"),
    "parental.save_d": ("Бесплатно. Запрещённые подписки на номере ребёнка отключатся сразу (уже оплаченное не "
                        "возвращается).", "Free. Blocked subscriptions on the child's number stop at once (what was "
                        "paid is not refunded)."),
    "parental.detach": ("Отключить контроль", "Stop the control"),
    "parental.detach_q": ("Отключить «Родительский контроль» для номера?", "Stop Parental control of the number?"),
    "parental.detach_d": ("Бесплатно. Все ограничения номера снимутся сразу; владелец номера получит SMS.",
                          "Free. All the number's limits are lifted at once; its holder gets an SMS."),
    "parental.detached": ("Контроль отключён", "Control stopped"),
    "parental.under": ("Ваш номер под «Родительским контролем» номера {parent}",
                       "Your number is under the Parental control of {parent}"),
    "parental.spent_mine": ("Потрачено в этом месяце: {spent}", "Spent this month: {spent}"),
})

CATEGORY = {"voice": ("звонки", "calls"), "sms": ("SMS", "SMS"), "data": ("интернет", "data"),
            "roaming": ("роуминг", "roaming"), "content": ("подписки", "subscriptions"),
            "service": ("услуги", "services")}
SEND_AGAIN_AFTER_S = 10


def _pair(pair, lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def quoted(text: str, lang: str) -> str:
    return f"“{text}”" if lang == "en" else f"«{text}»"


def connect_cost(session: Session, line: Line, code: str, now) -> int:
    return billing.option_connect_price(session, line, default_catalog().products[code], now)


def service_details(session: Session, line: Line, now, lang: str) -> dict[str, str]:
    """What the services list says under GOOD'OK, «Вторая память» and «Родительский контроль»: the melody
    chosen, the newest backup, the numbers under control (for a connected service)."""
    out: dict[str, str] = {}
    choice = goodok.current(session, line)
    m = goodok.BY_CODE.get(choice.melody_code) if choice else None
    out["goodok"] = (tr("goodok.current", lang) + f": {quoted(m.title(lang), lang)} — {m.artist(lang)}") if m else \
        tr("goodok.none", lang)
    last = memory.newest(session, line.id)
    out["second_memory"] = (f"{tr('memory.last', lang)}: {moment_text(last.created_at, lang)}, "
                            f"{memory.size_text(last.size_bytes, lang)}") if last else tr("memory.no_backups", lang)
    kids = parental.links_of_parent(session, line.id)
    if kids:
        numbers = ", ".join(auth.format_msisdn(session.get(Line, k.child_line_id).msisdn) for k in kids)
        out["parental_control"] = f"{tr('parental.children', lang)}: {numbers}"
    else:
        out["parental_control"] = tr("parental.no_children", lang)
    return out


class FormMessages(rx.State, mixin=True):
    """Messages by element id, kept in [ru, en] and shown in the current language (`msg`)."""

    msgs: dict[str, list[str]] = {}

    @rx.var
    def msg(self) -> dict[str, str]:
        i = 1 if self.lang == "en" else 0
        return {k: v[i] for k, v in self.msgs.items() if v and v[i]}

    def _say(self, key: str, text: list[str]) -> None:
        self.msgs = {**self.msgs, key: list(text)}

    def _unsay(self, *keys: str) -> None:
        self.msgs = {k: v for k, v in self.msgs.items() if k not in keys}

    def _field_error(self, exc: DomainError, fields: dict[str, str], default: str) -> None:
        """A core refusal shown at the field it names (else at `default`)."""
        self._say(fields.get(exc.details.get("field", ""), default), both(exc))


class ServicePage(FormMessages, rx.State, mixin=True):
    """A service's own page: whether it is connected, and connecting it with the cost asked first."""

    _service: str = ""
    connected: bool = False
    loaded: bool = False
    fee_text: str = ""
    connect_cost_text: str = ""
    _connect_key: str = ""

    async def _load_service(self, info) -> None:
        lang, now, code = self._lang(), runtime.now(), self._service

        def fn(s):
            line = cabinet.selected_line(s, info)
            connected = code in billing.active_options(s, line.id)
            return connected, connect_cost(s, line, code, now)

        self.connected, cost = await query(fn)
        p = default_catalog().products[code]
        self.fee_text = f"{format_rub(p.fee_kopecks, lang)} {tr('services.per_month', lang)}"
        self.connect_cost_text = format_rub(cost, lang)

    @rx.event
    def prepare_connect(self):
        self._connect_key = uuid.uuid4().hex

    @rx.event
    async def connect_service(self):
        info = await self._session()
        if info is None:
            return await self._gone()
        key, self._connect_key = self._connect_key, ""
        if not key:
            return None
        code = self._service
        try:
            await write(lambda s: cabinet.connect(s, info, info.selected_msisdn, code, runtime.now(), request_key=key))
        except DomainError as exc:
            if exc.code == "duplicate_request":
                return None
            return rx.toast.error(self._msg(exc))
        await self._reload(info)
        return rx.toast.success(self.t["svc.connected_ok"])

    async def _reload(self, info) -> None:
        await self._load_service(info)

    @rx.event
    async def load(self):
        info = await self._begin()
        if info is None:
            return await self._gone()
        self.msgs = {}
        await self._reload(info)
        self.loaded = True


# ---------------------------------------------------------------- GOOD'OK


class GoodokState(ServicePage, SessionState):
    _service: str = "goodok"
    current_title: str = ""
    current_since: str = ""
    melodies: list[dict[str, str]] = []
    genres: list[dict[str, str]] = []
    genre: str = "all"
    search: str = ""
    ask_open: bool = False
    ask_code: str = ""
    ask_name: str = ""
    ask_cost: str = ""
    ask_terms: str = ""
    _ask_key: str = ""

    @rx.var
    def shown(self) -> list[dict[str, str]]:
        q = self.search.strip().lower()
        return [m for m in self.melodies if (self.genre == "all" or m["genre"] == self.genre)
                and (not q or q in m["search"])]

    async def _reload(self, info) -> None:
        await self._load_service(info)
        lang = self._lang()
        v = await query(lambda s: goodok.view(s, info, info.selected_msisdn))
        cur = goodok.BY_CODE.get(v.current) if v.current else None
        self.current_title = f"{quoted(cur.title(lang), lang)} — {cur.artist(lang)}" if cur else ""
        self.current_since = f"{tr('goodok.since', lang)} {moment_text(v.chosen_at, lang)}" if cur else ""
        rows = []
        for m in goodok.MELODIES:
            owned = m.code in v.owned
            if not m.price_kopecks:
                price = tr("goodok.included", lang)
            elif owned:
                price = f"{format_rub(m.price_kopecks, lang)} · {tr('goodok.owned', lang)}"
            else:
                price = format_rub(m.price_kopecks, lang)
            rows.append({"code": m.code, "title": m.title(lang), "artist": m.artist(lang), "genre": m.genre,
                         "genre_name": _pair(goodok.GENRES[m.genre], lang), "price": price,
                         "paid": "1" if m.price_kopecks and not owned else "0",
                         "length": f"{m.seconds} {tr('goodok.seconds', lang)}",
                         "current": "1" if m.code == v.current else "0",
                         "search": f"{m.title_ru} {m.title_en} {m.artist_ru} {m.artist_en}".lower()})
        self.melodies = rows
        self.genres = [{"code": "all", "name": tr("goodok.all", lang)}] + [
            {"code": g, "name": _pair(names, lang)} for g, names in goodok.GENRES.items()]

    @rx.event
    def set_genre(self, value: str):
        self.genre = str(value) if str(value) in goodok.GENRES else "all"

    @rx.event
    def set_search(self, value: str):
        self.search = str(value)[:60]

    @rx.event
    async def ask_choose(self, code: str):
        """The confirmation of a melody: its price now (0 when included or bought), nothing changes yet."""
        info = await self._session()
        if info is None:
            return await self._gone()
        lang, code = self._lang(), str(code)
        self._unsay("melody")
        try:
            m = goodok.melody(code)
        except DomainError as exc:
            return rx.toast.error(self._msg(exc))
        price = await query(lambda s: goodok.price_for(s, cabinet.selected_line(s, info), m))
        self.ask_code, self.ask_name = m.code, f"{quoted(m.title(lang), lang)} — {m.artist(lang)}"
        self.ask_cost = format_rub(price, lang)
        if price:
            self.ask_terms = tr("goodok.cost_paid", lang).format(price=format_rub(price, lang))
        elif m.price_kopecks:
            self.ask_terms = tr("goodok.cost_free_owned", lang)
        else:
            self.ask_terms = tr("goodok.cost_free_included", lang)
        self._ask_key = uuid.uuid4().hex
        self.ask_open = True

    @rx.event
    def set_ask_open(self, value: bool):
        self.ask_open = bool(value)
        if not self.ask_open:
            self._ask_key = ""

    @rx.event
    async def confirm_choose(self):
        info = await self._session()
        if info is None:
            return await self._gone()
        key, self._ask_key = self._ask_key, ""
        if not key:
            return None  # the second click of a double click
        code = self.ask_code
        try:
            await write(lambda s: goodok.choose(s, info, info.selected_msisdn, code, runtime.now()))
        except DomainError as exc:
            if exc.code == "already_set":
                self.ask_open = False
                return None
            self._say("melody", both(exc))
            self._ask_key = key  # the question stays open with the reason beside it
            return None
        self.ask_open = False
        await self._reload(info)
        return rx.toast.success(f"{self.t['goodok.set_ok']}: {self.ask_name}")


# ---------------------------------------------------------------- «Вторая память»


class MemoryState(ServicePage, SessionState):
    _service: str = "second_memory"
    contacts: list[dict[str, str]] = []
    contacts_count: str = ""
    calls: list[dict[str, str]] = []
    calls_count: str = ""
    backups: list[dict[str, str]] = []
    frequency: str = "daily"
    next_text: str = ""
    name: str = ""
    number: str = ""
    restore_open: bool = False
    restore_id: str = ""
    restore_when: str = ""
    restore_contacts: list[str] = []
    restore_calls: list[str] = []
    restore_more: str = ""
    restore_empty: bool = False
    _backup_key: str = ""
    _restore_key: str = ""

    async def _reload(self, info) -> None:
        await self._load_service(info)
        lang, now = self._lang(), runtime.now()

        def fn(s):
            line = cabinet.selected_line(s, info)
            memory.phone(s, line, now)
            return (memory.contacts(s, line), memory.calls(s, line), memory.backups(s, line),
                    memory.schedule(s, line, now))

        people, log, saved, sched = await write(fn)
        self.contacts = [{"id": str(c.id), "name": c.name, "number": memory.number_text(c.number)} for c in people]
        self.contacts_count = count_text(len(people), lang, ("контакт", "контакта", "контактов"),
                                         ("contact", "contacts"))
        names = {c.number: c.name for c in people}  # the log shows a known number by its contact's name
        self.calls = [{"when": moment_text(c.started_at, lang), "peer": names.get(c.peer) or memory.number_text(c.peer),
                       "direction": tr("memory.out" if c.direction == "out" else "memory.in", lang),
                       "out": "1" if c.direction == "out" else "0",
                       "duration": f"{c.duration_s // 60}:{c.duration_s % 60:02d}"} for c in log[:30]]
        self.calls_count = count_text(len(log), lang, ("звонок", "звонка", "звонков"), ("call", "calls"))
        self.backups = [{
            "id": str(b.id), "when": moment_text(b.created_at, lang), "size": memory.size_text(b.size_bytes, lang),
            "what": count_text(b.contacts_count, lang, ("контакт", "контакта", "контактов"), ("contact", "contacts"))
            + ", " + count_text(b.calls_count, lang, ("звонок", "звонка", "звонков"), ("call", "calls")),
            "trigger": tr("memory.by_schedule" if b.trigger == "schedule" else "memory.by_hand", lang),
        } for b in saved]
        self.frequency = sched.frequency
        self.next_text = moment_text(sched.next_at, lang) if sched.next_at and self.connected else "—"

    @rx.event
    def set_name(self, value: str):
        self.name = str(value)[:100]

    @rx.event
    def set_number(self, value: str):
        self.number = str(value)[:30]

    async def _act(self, fn, ok: str | None, error_at: str, fields: dict[str, str] | None = None):
        info = await self._session()
        if info is None:
            return await self._gone()
        try:
            res = await write(lambda s: fn(s, info))
        except DomainError as exc:
            self._field_error(exc, fields or {}, error_at)
            return None
        await self._reload(info)
        return res if ok is None else rx.toast.success(ok)

    @rx.event
    async def add_contact(self):
        name, number = self.name, self.number
        self._unsay("contact-name", "contact-number", "contact")
        result = await self._act(lambda s, info: memory.add_contact(s, info, info.selected_msisdn, name, number,
                                                                    runtime.now()),
                                 None, "contact", {"name": "contact-name", "number": "contact-number"})
        if result is None:
            return None
        self.name = self.number = ""
        return rx.toast.success(self.t["memory.added"])

    @rx.event
    async def delete_contact(self, contact_id: str):
        return await self._act(lambda s, info: memory.delete_contact(s, info, info.selected_msisdn, str(contact_id)),
                               self.t["memory.deleted"], "contact")

    @rx.event
    async def clear_calls(self):
        return await self._act(lambda s, info: memory.clear_call_log(s, info, info.selected_msisdn, runtime.now()),
                               self.t["memory.cleared"], "calls")

    @rx.event
    def prepare_backup(self):
        self._backup_key = uuid.uuid4().hex

    @rx.event
    async def backup_now(self):
        key, self._backup_key = self._backup_key, ""
        if not key:
            return None
        self._unsay("backup")
        res = await self._act(lambda s, info: memory.backup_now(s, info, info.selected_msisdn, runtime.now()),
                              None, "backup")
        if res is None:
            return None
        if res.repeated:
            return rx.toast.info(self.t["memory.backup_same"])
        lang = self._lang()
        return rx.toast.success(f"{self.t['memory.backup_ok']}: {self.backups[0]['what']}, "
                                f"{memory.size_text(res.backup.size_bytes, lang)}")

    @rx.event
    async def set_frequency(self, value: str):
        value = str(value)
        self._unsay("frequency")
        return await self._act(lambda s, info: memory.set_schedule(s, info, info.selected_msisdn, value,
                                                                   runtime.now()),
                               self.t["memory.schedule_ok"], "frequency", {"frequency": "frequency"})

    @rx.event
    async def ask_restore(self, backup_id: str):
        """What this backup would bring back, before anything changes."""
        info = await self._session()
        if info is None:
            return await self._gone()
        lang = self._lang()
        try:
            plan = await write(lambda s: memory.restore_preview(s, info, info.selected_msisdn, str(backup_id),
                                                                runtime.now()))
        except DomainError as exc:
            return rx.toast.error(self._msg(exc))
        self.restore_id = str(plan.backup_id)
        self.restore_when = moment_text(plan.made_at, lang)
        self.restore_contacts = [f"{c['name']} · {memory.number_text(c['number'])}" for c in plan.contacts[:20]]
        self.restore_calls = [
            f"{moment_text(as_utc(_iso(c['started_at'])), lang)} · {memory.number_text(c['peer'])} · "
            f"{tr('memory.out' if c['direction'] == 'out' else 'memory.in', lang)}" for c in plan.calls[:10]]
        hidden = max(0, len(plan.contacts) - 20) + max(0, len(plan.calls) - 10)
        self.restore_more = tr("memory.and_more", lang).format(n=hidden) if hidden else ""
        self.restore_empty = plan.empty
        self._restore_key = uuid.uuid4().hex
        self._unsay("restore")
        self.restore_open = True

    @rx.event
    def set_restore_open(self, value: bool):
        self.restore_open = bool(value)
        if not self.restore_open:
            self._restore_key = ""

    @rx.event
    async def confirm_restore(self):
        key, self._restore_key = self._restore_key, ""
        if not key:
            return None
        backup_id = self.restore_id
        plan = await self._act(lambda s, info: memory.restore(s, info, info.selected_msisdn, backup_id,
                                                              runtime.now()), None, "restore")
        if plan is None:
            return None
        self.restore_open = False
        lang = self._lang()
        return rx.toast.success(
            f"{self.t['memory.restored']}: "
            + count_text(len(plan.contacts), lang, ("контакт", "контакта", "контактов"), ("contact", "contacts"))
            + ", " + count_text(len(plan.calls), lang, ("звонок", "звонка", "звонков"), ("call", "calls")))


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


# ---------------------------------------------------------------- «Родительский контроль»


class ParentalState(ServicePage, SessionState):
    _service: str = "parental_control"
    children: list[dict[str, str]] = []
    refused: list[dict[str, str]] = []  # the latest refused events, "link" = the child's link id
    own: list[dict[str, str]] = []
    own_choice: str = ""
    under: str = ""  # the selected number is itself a child: who controls it and how
    under_limits: str = ""
    code_step: bool = False
    code_label: str = ""
    other: str = ""
    content: list[dict[str, str]] = []
    edit_open: bool = False
    edit_link: str = ""
    edit_label: str = ""
    edit_limit: str = ""
    edit_night: bool = False
    edit_blocked: list[str] = []
    _attempt: str = ""
    _attempt_msisdn: str = ""
    _sent_at: float = 0.0
    _save_key: str = ""

    async def _reload(self, info) -> None:
        await self._load_service(info)
        lang, now = self._lang(), runtime.now()
        cat = default_catalog()

        def fn(s):
            kids = parental.children(s, info, info.selected_msisdn, now)
            own = parental.own_candidates(s, info, info.selected_msisdn)
            mine = parental.controlled(s, info, info.selected_msisdn, now)
            return kids, [ln.msisdn for ln in own], mine

        kids, own, mine = await query(fn)
        month = period_of(now).name(lang)
        rows, refused = [], []
        for k in kids:
            limit = k.spend_limit_kopecks
            pct = 0 if not limit else min(100, k.spent_kopecks * 100 // limit)
            blocked = ([tr("parental.blocked_all", lang)] if parental.ALL_CONTENT in k.blocked else
                       [cat.products[c].name(lang) for c in k.blocked if c in cat.products])
            rows.append({
                "id": str(k.link_id), "msisdn": k.msisdn, "label": auth.format_msisdn(k.msisdn),
                "via": tr("parental.via_account" if k.via == "account" else "parental.via_code", lang)
                + " · " + tr("goodok.since", lang) + " " + day_text(as_utc(k.since).date(), lang),
                "spent_title": tr("parental.spent", lang).format(month=month),
                "spent": format_rub(k.spent_kopecks, lang),
                "limit": tr("parental.of_limit", lang).format(limit=format_rub(limit, lang)) if limit is not None
                else tr("parental.no_limit", lang),
                "left": tr("parental.left", lang).format(left=format_rub(k.left_kopecks, lang)) if limit is not None
                else "",
                "pct": str(pct), "has_limit": "1" if limit is not None else "0",
                "by_cat": " · ".join(f"{_pair(CATEGORY.get(c, (c, c)), lang)} {format_rub(v, lang)}"
                                     for c, v in sorted(k.by_category.items())) or tr("parental.nothing_spent", lang),
                "night": tr("parental.night_on" if k.night_data_off else "parental.night_off", lang),
                "blocked": (tr("parental.blocked", lang) + ": " + ", ".join(blocked)) if blocked
                else tr("parental.blocked_none", lang),
                "subs": ", ".join(cat.products[c].name(lang) for c in k.subscriptions) or "—",
                "refused_count": str(k.refused_count),
            })
            for r in k.refused:
                view = RecordView(r.id, r.event_id, r.kind, r.direction, r.peer, r.started_at, r.duration_s, r.bytes,
                                  r.zone, r.status, r.units, r.charged_kopecks, r.paid_by, [], _json(r.explanation))
                d = describe(view, lang)
                amount = format_amount(r.units, "min", lang) if r.kind == "voice" else d.amount
                refused.append({"link": str(k.link_id), "when": moment_text(r.started_at, lang),
                                "what": f"{d.kind}{f' ({d.zone})' if r.zone != 'home' else ''}, {amount}: "
                                        f"{d.explain.split('; ')[-1]}"})
        self.children = rows
        self.refused = refused
        self.own = [{"msisdn": m, "label": auth.format_msisdn(m)} for m in own]
        if self.own_choice not in own:
            self.own_choice = own[0] if own else ""
        self.content = [{"code": c, "name": cat.products[c].name(lang)} for c in parental.content_codes()]
        if mine is not None:
            self.under = tr("parental.under", lang).format(parent=auth.format_msisdn(mine.parent_msisdn))
            parts = [tr("parental.spent_mine", lang).format(spent=format_rub(mine.spent_kopecks, lang))
                     + (" " + tr("parental.of_limit", lang).format(limit=format_rub(mine.spend_limit_kopecks, lang))
                        if mine.spend_limit_kopecks is not None else ""),
                     tr("parental.night_on" if mine.night_data_off else "parental.night_off", lang)]
            if mine.blocked:
                parts.append(tr("parental.blocked", lang) + ": " + (
                    tr("parental.blocked_all", lang) if parental.ALL_CONTENT in mine.blocked else
                    ", ".join(cat.products[c].name(lang) for c in mine.blocked if c in cat.products)))
            self.under_limits = " · ".join(parts)
        else:
            self.under = self.under_limits = ""

    @rx.event
    def set_own_choice(self, value: str):
        self.own_choice = str(value)

    @rx.event
    def set_other(self, value: str):
        self.other = str(value)[:24]

    async def _do(self, fn, ok: str, error_at: str, fields: dict[str, str] | None = None):
        info = await self._session()
        if info is None:
            return await self._gone()
        try:
            await write(lambda s: fn(s, info))
        except DomainError as exc:
            self._field_error(exc, fields or {}, error_at)
            return False
        await self._reload(info)
        return rx.toast.success(ok)

    @rx.event
    async def attach_own(self):
        child = self.own_choice
        self._unsay("own")
        if not child:
            self._say("own", both("parental.no_own"))
            return None
        res = await self._do(lambda s, info: parental.attach_own(s, info, info.selected_msisdn, child, runtime.now()),
                             self.t["parental.attached"], "own", {"child": "own"})
        return None if res is False else res

    @rx.event
    async def request_code(self):
        info = await self._session()
        if info is None:
            return await self._gone()
        text, client = self.other, self._client()
        self._unsay("other-number", "other-code")
        try:
            msisdn = auth.normalize_msisdn(text)
        except DomainError as exc:
            self._say("other-number", both(exc))
            return None
        if self.code_step and msisdn == self._attempt_msisdn and time.monotonic() - self._sent_at < SEND_AGAIN_AFTER_S:
            return None  # a double click on «Получить код»: one SMS
        try:
            req = await write(lambda s: parental.request_attach(s, info, info.selected_msisdn, msisdn, client,
                                                                runtime.now()))
        except DomainError as exc:
            self._field_error(exc, {"child": "other-number"}, "other-number")
            return None
        self._attempt, self._attempt_msisdn, self._sent_at = req.attempt_id, msisdn, time.monotonic()
        self.code_label = f"{self.t['parental.code_sent']} {auth.format_msisdn(msisdn)}"
        self.code_step = True

    @rx.event
    async def confirm_code(self, form: dict):
        code = auth.typed_code(form.get("code"))
        self._unsay("other-code")
        if code is None:
            self._say("other-code", both("parental.code_format"))  # not a code: not counted as a wrong try
            return None
        attempt, msisdn = self._attempt, self._attempt_msisdn
        info = await self._session()
        if info is None:
            return await self._gone()
        try:  # a wrong code is counted (kept) even though the confirmation is refused
            await write(lambda s: parental.confirm_attach(s, info, info.selected_msisdn, attempt, msisdn, code,
                                                          runtime.now()), keep_on=KEEP_FAILURES)
        except DomainError as exc:
            self._field_error(exc, {"child": "other-code"}, "other-code")
            return None
        self.code_step = False
        self.other = ""
        await self._reload(info)
        return rx.toast.success(self.t["parental.attached"])

    @rx.event
    def cancel_code(self):
        self.code_step = False
        self._unsay("other-code")

    @rx.event
    async def open_limits(self, link_id: str):
        row = next((c for c in self.children if c["id"] == str(link_id)), None)
        if row is None:
            return None
        info = await self._session()
        if info is None:
            return await self._gone()
        kids = await query(lambda s: parental.children(s, info, info.selected_msisdn, runtime.now()))
        k = next((k for k in kids if str(k.link_id) == row["id"]), None)
        if k is None:
            return None
        self.edit_link, self.edit_label = row["id"], row["label"]
        self.edit_limit = "" if k.spend_limit_kopecks is None else \
            format_rub(k.spend_limit_kopecks).replace("\u00a0₽", "").replace("\u00a0", "").replace(",00", "")
        self.edit_night = k.night_data_off
        self.edit_blocked = list(k.blocked)
        self._unsay("limit", "blocked", "limits")
        self._save_key = uuid.uuid4().hex
        self.edit_open = True

    @rx.event
    def set_edit_open(self, value: bool):
        self.edit_open = bool(value)
        if not self.edit_open:
            self._save_key = ""

    @rx.event
    def set_edit_limit(self, value: str):
        self.edit_limit = str(value)[:20]
        self._unsay("limit")

    @rx.event
    def set_edit_night(self, value: bool):
        self.edit_night = bool(value)

    @rx.event
    def toggle_blocked(self, code: str, on: bool):
        code = str(code)
        rest = [c for c in self.edit_blocked if c != code]
        self.edit_blocked = [*rest, code] if on else rest

    @rx.event
    async def save_limits(self):
        key = self._save_key
        if not key:
            return None
        link, limit, night, blocked = self.edit_link, self.edit_limit, self.edit_night, list(self.edit_blocked)
        self._unsay("limit", "blocked", "limits")
        res = await self._do(lambda s, info: parental.set_limits(s, info, info.selected_msisdn, link, limit, night,
                                                                 blocked, runtime.now()),
                             self.t["parental.saved"], "limits", {"limit": "limit", "blocked": "blocked"})
        if res is False:
            return None
        self._save_key = ""
        self.edit_open = False
        return res

    @rx.event
    async def detach(self, link_id: str):
        res = await self._do(lambda s, info: parental.detach(s, info, info.selected_msisdn, str(link_id),
                                                             runtime.now()), self.t["parental.detached"],
                             "children")
        return None if res is False else res


def _json(text: str) -> dict:
    try:
        return json.loads(text or "{}")
    except ValueError:
        return {}


# ---------------------------------------------------------------- content subscriptions (on /services)

add({
    "content.provider": ("Поставщик", "Provider"),
    "content.since": ("подключена", "since"),
    "content.last": ("Последнее списание", "Last charge"),
    "content.no_charges": ("Списаний ещё не было", "No charges yet"),
    "content.next": ("Следующее списание", "Next charge"),
    "content.history": ("История списаний", "Charges"),
    "content.total": ("всего {n} на {sum}", "{n}, {sum} in all"),
    "content.cancel": ("Отключить", "Cancel"),
    "content.cancel_q": ("Отключить подписку?", "Cancel the subscription?"),
    "content.cancel_terms": ("Отключение бесплатно. Последнее списание — {last}. Следующего списания ({next}) не "
                             "будет; уже списанное не возвращается.",
                             "Cancelling is free. The last charge was {last}. The next one ({next}) will not be made; "
                             "what was charged is not refunded."),
    "content.cancel_terms_none": ("Отключение бесплатно. Списаний по подписке ещё не было, и больше не будет.",
                                  "Cancelling is free. Nothing was charged for it yet, and nothing will be."),
    "content.cancelled": ("Подписка «{name}» отключена. Последнее списание — {last}. Больше списаний не будет.",
                          "{name} cancelled. The last charge was {last}. There will be no more charges."),
    "content.ended": ("Отключённые подписки", "Cancelled subscriptions"),
    "content.ended_at": ("отключена", "cancelled"),
    "content.none_after": ("больше списаний не будет", "no further charges"),
    "content.charge_at": ("{when} — {amount}", "{when}, {amount}"),
})


def _fee_text(v, lang: str) -> str:
    unit = tr("services.per_day" if v.fee_unit == "day" else "services.per_month", lang)
    return f"{format_rub(v.fee_kopecks, lang)} {unit}"


def _charge_text(c, lang: str) -> str:
    return tr("content.charge_at", lang).format(when=moment_text(c.at, lang), amount=format_rub(c.amount_kopecks, lang))


def content_rows(session: Session, info, now, lang: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The number's content subscriptions for /services: (connected ones, cancelled ones), as text."""
    from mts_portal.core import content

    active, ended = [], []
    for v in content.subscriptions(session, info, info.selected_msisdn, now):
        last = _charge_text(v.last_charge, lang) if v.last_charge else ""
        row = {"code": v.code, "id": str(v.id), "name": v.name_en if lang == "en" else v.name_ru,
               "provider": f"{tr('content.provider', lang)}: {v.provider_en if lang == 'en' else v.provider_ru}",
               "fee": _fee_text(v, lang), "since": f"{tr('content.since', lang)} {moment_text(v.started_at, lang)}",
               "last": f"{tr('content.last', lang)}: {last}" if last else tr("content.no_charges", lang),
               "history": "\n".join(_charge_text(c, lang) for c in v.charges[:31]),
               "history_title": f"{tr('content.history', lang)} — " + tr("content.total", lang).format(
                   n=count_text(len(v.charges), lang, ("списание", "списания", "списаний"), ("charge", "charges")),
                   sum=format_rub(v.total_kopecks, lang))}
        if v.active:
            nxt = (f"{moment_text(v.next_charge_at, lang)}, {format_rub(v.fee_kopecks, lang)}"
                   if v.next_charge_at else "—")
            row["next"] = f"{tr('content.next', lang)}: {nxt}"
            row["cancel_terms"] = (tr("content.cancel_terms", lang).format(last=last, next=nxt) if last else
                                   tr("content.cancel_terms_none", lang))
            active.append(row)
        else:
            row["ended"] = f"{tr('content.ended_at', lang)} {moment_text(v.ended_at, lang)} · " \
                           f"{tr('content.none_after', lang)}"
            ended.append(row)
    return active, ended


def cancelled_text(v, lang: str) -> str:
    last = _charge_text(v.last_charge, lang) if v.last_charge else "—"
    return tr("content.cancelled", lang).format(name=v.name_en if lang == "en" else v.name_ru, last=last)


MANAGE = {"goodok": "/services/goodok", "second_memory": "/services/memory", "parental_control": "/services/parental"}
