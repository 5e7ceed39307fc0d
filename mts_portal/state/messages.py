"""Notifications centre, sending an SMS, support, and the demo mailbox."""

from __future__ import annotations

import uuid

import reflex as rx
from sqlalchemy import select

from mts_portal.core import cabinet, runtime, support
from mts_portal.core.clock import fmt_datetime
from mts_portal.core.errors import DomainError
from mts_portal.core.models import MailMessage
from mts_portal.core.money import format_rub
from mts_portal.core.settings import get_settings
from mts_portal.core.words import plural_category
from mts_portal.i18n import add, tr
from mts_portal.state.base import SessionState, UiState, in_thread, query, write

add({
    "notes.title": ("Уведомления", "Notifications"),
    "notes.hint": ("Уведомления хранятся 3 дня.", "Notifications are kept for 3 days."),
    "notes.read_all": ("Отметить все прочитанными", "Mark all as read"),
    "notes.empty": ("Уведомлений нет", "No notifications"),
    "notes.all_read": ("Все уведомления отмечены прочитанными", "All notifications are marked as read"),
    "notes.new": ("новое", "new"),
    "sms.title": ("Отправить SMS", "Send an SMS"),
    "sms.hint": ("SMS уходит с выбранного номера и оплачивается по тарифу: из пакета SMS, если он есть.",
                 "The SMS is sent from the selected number and charged by the tariff (from the SMS bundle if any)."),
    "sms.to": ("Кому", "To"),
    "sms.text": ("Текст сообщения", "Message"),
    "sms.send": ("Отправить", "Send"),
    "sms.send_q": ("Отправить SMS?", "Send the SMS?"),
    "sms.sent": ("SMS отправлено", "SMS sent"),
    "sms.blocked": ("SMS не отправлено: недостаточно средств или номер не активен",
                    "Not sent: not enough money or the number is not active"),
    "sms.chars": ("символов", "characters"),
    "sms.at_limit": ("Это максимум для одного SMS.", "That is all one SMS holds."),
    "sms.too_long": ("Текст длиннее одного SMS на {n}: с кириллицей в SMS помещается 70 символов, латиницей — 160. "
                     "Сократите текст.",
                     "The text is {n} longer than one SMS: it holds 70 characters with Cyrillic, 160 in Latin "
                     "letters. Shorten it."),
    "sms.limit_hint": ("Кириллица — до 70 символов, латиница — до 160.", "Cyrillic: up to 70 characters; Latin: 160."),
    "support.title": ("Поддержка", "Support"),
    "support.faq": ("Частые вопросы", "FAQ"),
    "support.search": ("Поиск по вопросам", "Search the FAQ"),
    "support.nothing": ("Ничего не нашлось — спросите в чате", "Nothing found: ask in the chat"),
    "support.chat": ("Чат с поддержкой", "Support chat"),
    "support.chat_hint": ("Задайте вопрос: бот ответит из базы знаний или передаст специалисту.",
                          "Ask a question: the bot answers from the FAQ or hands you over to a person."),
    "support.ask": ("Спросить", "Ask"),
    "support.callback": ("Заказать обратный звонок", "Request a callback"),
    "support.callback_topic": ("О чём вопрос", "What is it about"),
    "support.callback_time": ("Удобное время", "Convenient time"),
    "support.callback_send": ("Заказать звонок", "Request the call"),
    "support.callback_done": ("Заявка принята: специалист перезвонит", "Request received: a specialist will call"),
    "support.shops": ("Салоны МТС", "MTS shops"),
    "support.city": ("Город", "City"),
    "support.no_shops": ("В этом городе салонов нет", "No shops in this city"),
    "support.metro": ("м.", "metro"),
    "mail.title": ("Почта (демо)", "Mailbox (demo)"),
    "mail.hint": ("Письма, отправленные порталом на адрес. Только в демо-режиме.",
                  "Mail the portal sent to an address. Demo mode only."),
    "mail.show": ("Показать письма", "Show mail"),
    "mail.empty": ("Писем нет", "No mail"),
    "mail.attachment": ("Вложение", "Attachment"),
    "mail.back": ("В личный кабинет", "Back to My MTS"),
})

SMS_MAX_INPUT = 1000  # what the text field keeps at most (the field itself stops at one SMS)


class NotificationsState(SessionState):
    items: list[dict[str, str]] = []
    unread: int = 0

    async def _reload(self, info) -> None:
        lang, now = self._lang(), runtime.now()
        notes = await query(lambda s: cabinet.notifications(s, info, info.selected_msisdn, now))
        self.items = [{"id": str(n.id), "when": fmt_datetime(n.created_at), "kind": n.kind,
                       "text": n.text_en if lang == "en" else n.text_ru, "unread": "1" if n.read_at is None else "0"}
                      for n in notes]
        self.unread = sum(1 for n in notes if n.read_at is None)

    @rx.event
    async def load(self):
        info = await self._begin()
        if info is None:
            return await self._gone()
        await self._reload(info)

    @rx.event
    async def read_one(self, note_id: str):
        info = await self._session()
        if info is None:
            return await self._gone()
        try:
            await write(lambda s: cabinet.mark_notification_read(s, info, note_id, runtime.now()))
        except DomainError as exc:
            return rx.toast.error(self._msg(exc))
        await self._reload(info)

    @rx.event
    async def read_all(self):
        info = await self._session()
        if info is None:
            return await self._gone()
        n = await write(lambda s: cabinet.mark_all_read(s, info, info.selected_msisdn, runtime.now()))
        await self._reload(info)
        if n:
            return rx.toast.success(self.t["notes.all_read"])


class SmsState(SessionState):
    to: str = ""
    text: str = ""
    length_note: str = ""
    error: str = ""
    result: str = ""
    _key: str = ""

    @rx.var
    def limit(self) -> int:
        return cabinet.sms_limit(self.text)

    @rx.var
    def over(self) -> int:
        """How many characters the text has beyond one SMS (a Latin text that got a Cyrillic letter)."""
        return max(0, len(self.text) - cabinet.sms_limit(self.text))

    def _note(self) -> None:
        """What the counter says besides the figures: that the SMS is full, or how much is too long."""
        lang, limit = self._lang(), cabinet.sms_limit(self.text)
        over = len(self.text) - limit
        if over > 0:
            word = {"one": "символ", "few": "символа"}.get(plural_category(over, "ru"), "символов")
            n = f"{over} {word}" if lang != "en" else f"{over} character{'s' if over != 1 else ''}"
            self.length_note = tr("sms.too_long", lang).format(n=n)
        elif self.text and len(self.text) == limit:
            self.length_note = tr("sms.at_limit", lang)
        else:
            self.length_note = ""

    @rx.event
    async def load(self):
        info = await self._begin()
        if info is None:
            return await self._gone()
        self.error = self.result = ""
        self._note()

    @rx.event
    def set_to(self, value: str):
        self.to = str(value)[:24]

    @rx.event
    def set_text(self, value: str):
        # the field stops typing at one SMS (max_length); nothing is cut here below a sane bound: a text
        # that outgrew its SMS (a Cyrillic letter in a long Latin text) stays as typed and is shown as too long
        self.text = str(value)[:SMS_MAX_INPUT]
        self._note()

    @rx.event
    def prepare(self):
        self._key = uuid.uuid4().hex

    @rx.event
    async def send(self):
        """Send once per confirmation opened: the key is taken by the first confirm, so the second click
        of a double click (it runs after the first, whose text is already cleared) does nothing."""
        info = await self._session()
        if info is None:
            return await self._gone()
        key, self._key = self._key, ""
        if not key:
            return None
        to, text, lang = self.to, self.text, self._lang()
        try:
            sent = await in_thread(lambda: cabinet.send_sms(runtime.engine(), info, to, text, runtime.now(), key))
        except DomainError as exc:
            self.error = self._msg(exc)
            self.result = ""
            return
        if sent.status == "blocked":
            self.error = tr("sms.blocked", lang)
            self.result = ""
            return
        self.error = ""
        if sent.status == "rated":
            self.result = f"{tr('sms.sent', lang)}: {format_rub(sent.charged_kopecks, lang)}"
            self.text = ""
            self.length_note = ""
            return rx.toast.success(self.result)


class SupportState(SessionState):
    query_text: str = ""
    faq: list[dict[str, str]] = []
    chat: list[dict[str, str]] = []
    handover: bool = False
    callback_error: str = ""
    city: str = "Москва"
    shop_rows: list[dict[str, str]] = []

    def _faq(self) -> None:
        lang = self._lang()
        self.faq = [{"id": f.id, "q": f.q_en if lang == "en" else f.q_ru, "a": f.a_en if lang == "en" else f.a_ru}
                    for f, _ in support.search(self.query_text)]

    def _shops(self) -> None:
        lang = self._lang()
        self.shop_rows = [{"address": sh.address(lang), "hours": sh.hours, "metro": sh.metro(lang)}
                          for sh in support.shops(self.city)]

    @rx.event
    async def load(self):
        info = await self._begin()
        if info is None:
            return await self._gone()
        self._faq()
        self._shops()
        if len(self.chat) <= 1:  # nothing asked yet: the greeting in the current language
            self.chat = [{"who": "bot", "text": tr("support.chat_hint", self._lang())}]

    @rx.event
    def search(self, value: str):
        self.query_text = str(value)[:100]
        self._faq()

    @rx.event
    def set_city(self, value: str):
        self.city = str(value)
        self._shops()

    @rx.event
    async def ask(self, form: dict):
        info = await self._session()
        if info is None:
            return await self._gone()
        question = str(form.get("message", "")).strip()[:300]
        if not question:
            return
        reply = support.chat_answer(question, self._lang())
        self.chat = [*self.chat, {"who": "me", "text": question}, {"who": "bot", "text": reply.text}][-20:]
        self.handover = self.handover or reply.handover

    @rx.event
    async def callback(self, form: dict):
        info = await self._session()
        if info is None:
            return await self._gone()
        phone = str(form.get("phone", "") or info.selected_msisdn)
        topic, when = str(form.get("topic", "")), str(form.get("when", ""))
        try:
            await write(lambda s: support.request_callback(s, info, phone, topic, when, runtime.now()))
        except DomainError as exc:
            self.callback_error = self._msg(exc)
            return
        self.callback_error = ""
        self.handover = False
        self.chat = [*self.chat, {"who": "bot", "text": tr("support.callback_done", self._lang())}]
        return rx.toast.success(self.t["support.callback_done"])


class MailboxState(UiState):
    """Demo mode only: the simulated e-mail box (ordered detail reports arrive here)."""

    address: str = ""
    mails: list[dict[str, str]] = []

    @rx.event
    def load(self):
        if not get_settings().demo:
            return rx.redirect("/login")
        address = self.router.url.query_parameters.get("a", "")
        if address:
            self.address = str(address)[:200]
            return MailboxState.show

    @rx.event
    def set_address(self, value: str):
        self.address = str(value)[:200]

    @rx.event
    async def show(self):
        if not get_settings().demo:
            self.mails = []
            return
        address = self.address.strip()

        def fn(s):
            return [{"id": str(m.id), "subject": m.subject, "body": m.body, "when": fmt_datetime(m.created_at),
                     "attachment": m.attachment_name or ""}
                    for m in s.exec(select(MailMessage).where(MailMessage.to_email == address)
                                    .order_by(MailMessage.id.desc()).limit(20)).scalars()]

        self.mails = await query(fn)
