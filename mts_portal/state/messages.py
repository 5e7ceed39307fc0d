"""Notifications centre, sending an SMS, support, and the demo mailbox."""

from __future__ import annotations

import uuid

import reflex as rx
from sqlalchemy import select

from mts_portal.core import auth, cabinet, runtime, support
from mts_portal.core.clock import fmt_datetime
from mts_portal.core.errors import DomainError
from mts_portal.core.models import MailMessage
from mts_portal.core.money import format_rub
from mts_portal.core.settings import get_settings
from mts_portal.core.words import plural_category
from mts_portal.i18n import add, count_text, tr
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
    "sms.recipient": ("Получатель {n}", "Recipient {n}"),
    "sms.add": ("Добавить получателя", "Add a recipient"),
    "sms.remove": ("Убрать получателя {n}", "Remove recipient {n}"),
    "sms.up_to": ("До 5 получателей за раз: каждое SMS оплачивается отдельно.",
                  "Up to 5 recipients at once: each SMS is charged on its own."),
    "sms.cost_now": ("Спишется", "Charged"),
    "sms.cost_for": ("{n}", "{n}"),
    "sms.cost_bundle": ("{n} из пакета — 0 ₽", "{n} from the bundle, 0 ₽"),
    "sms.cost_paid": ("{n} × {rate} = {sum}", "{n} × {rate} = {sum}"),
    "sms.sent_many": ("SMS отправлено на {n} из {of}: {sum}", "SMS sent to {n} of {of}: {sum}"),
    "sms.sent_all": ("SMS отправлено на {n}: {sum}", "SMS sent to {n}: {sum}"),
    "sms.delivered": ("доставлено", "delivered"),
    "sms.not_sent": ("не отправлено", "not sent"),
    "sms.why_funds": ("недостаточно средств", "not enough money"),
    "sms.why_parental": ("ограничение «Родительского контроля»", "a Parental control limit"),
    "sms.why_status": ("номер не активен", "the number is not active"),
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
    """Send an SMS to up to 5 recipients: each field's number is checked beside it, the confirmation
    says what it costs (bundle first, then the tariff's rate), each recipient is rated and delivered on
    its own, and the outcome of each is listed."""

    recipients: list[str] = [""]
    to_errors: list[str] = [""]
    text: str = ""
    text_error: str = ""
    length_note: str = ""
    error: str = ""
    result: str = ""
    outcomes: list[dict[str, str]] = []
    ask_open: bool = False
    cost_text: str = ""
    cost_detail: str = ""
    _key: str = ""

    @rx.var
    def to(self) -> str:
        return self.recipients[0] if self.recipients else ""

    @rx.var
    def limit(self) -> int:
        return cabinet.sms_limit(self.text)

    @rx.var
    def over(self) -> int:
        """How many characters the text has beyond one SMS (a Latin text that got a Cyrillic letter)."""
        return max(0, len(self.text) - cabinet.sms_limit(self.text))

    @rx.var
    def can_add(self) -> bool:
        return len(self.recipients) < cabinet.MAX_RECIPIENTS

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
        self.error = self.result = self.text_error = ""
        self.to_errors = [""] * len(self.recipients)
        self.outcomes = []
        self.ask_open = False
        self._note()

    @rx.event
    def set_to(self, value: str):
        self.set_recipient(0, value)

    @rx.event
    def set_recipient(self, index: int, value: str):
        i = int(index)
        if 0 <= i < len(self.recipients):
            self.recipients = [str(value)[:24] if j == i else r for j, r in enumerate(self.recipients)]
            self.to_errors = [("" if j == i else e) for j, e in enumerate(self.to_errors)]

    @rx.event
    def add_recipient(self):
        if len(self.recipients) < cabinet.MAX_RECIPIENTS:
            self.recipients = [*self.recipients, ""]
            self.to_errors = [*self.to_errors, ""]

    @rx.event
    def remove_recipient(self, index: int):
        i = int(index)
        if len(self.recipients) > 1 and 0 <= i < len(self.recipients):
            self.recipients = [r for j, r in enumerate(self.recipients) if j != i]
            self.to_errors = [e for j, e in enumerate(self.to_errors) if j != i]

    @rx.event
    def set_text(self, value: str):
        # the field stops typing at one SMS (max_length); nothing is cut here below a sane bound: a text
        # that outgrew its SMS (a Cyrillic letter in a long Latin text) stays as typed and is shown as too long
        self.text = str(value)[:SMS_MAX_INPUT]
        self.text_error = ""
        self._note()

    async def _check(self, info) -> int | None:
        """Check every field (messages beside them); the number of recipients when all are right."""
        lang = self._lang()
        msisdns, problems = cabinet.recipient_problems(self.recipients, info.selected_msisdn)
        self.to_errors = [problems[i].message(lang) if i in problems else "" for i in range(len(self.recipients))]
        try:
            cabinet.check_sms_text(self.text)
            self.text_error = ""
        except DomainError as exc:
            self.text_error = self._msg(exc)
        if problems or self.text_error:
            return None
        return len(msisdns)

    @rx.event
    async def prepare(self):
        """The confirmation opens: one request (a double click inside it sends once), and its cost."""
        await self._prepare()

    async def _prepare(self) -> bool:
        self._key = uuid.uuid4().hex
        info = await self._session()
        if info is None:
            self._key = ""
            return False
        n = await self._check(info)
        if n is None:
            self._key = ""
            return False
        lang, now = self._lang(), runtime.now()
        cost = await query(lambda s: cabinet.sms_cost(s, info, n, now))
        self.cost_text = format_rub(cost.total_kopecks, lang)
        parts = []
        if cost.from_bundle:
            parts.append(tr("sms.cost_bundle", lang).format(n=count_text(cost.from_bundle, lang, SMS_WORD, SMS_WORD_EN)))
        if cost.paid:
            parts.append(tr("sms.cost_paid", lang).format(n=cost.paid, rate=format_rub(cost.rate_kopecks, lang),
                                                          sum=format_rub(cost.total_kopecks, lang)))
        self.cost_detail = tr("sms.cost_for", lang).format(
            n=count_text(n, lang, ("получатель", "получателя", "получателей"), ("recipient", "recipients"))) \
            + ": " + "; ".join(parts) + "."
        return True

    @rx.event
    async def ask(self):
        """«Отправить»: the fields are checked; when they are right, the question with the cost opens."""
        self.error = ""
        if await self._session() is None:
            return await self._gone()
        self.ask_open = await self._prepare()

    @rx.event
    def set_ask_open(self, value: bool):
        self.ask_open = bool(value)
        if not self.ask_open:
            self._key = ""

    @rx.event
    async def send(self):
        """Send once per confirmation opened: the key is taken by the first confirm, so the second click
        of a double click (it runs after the first, whose text is already cleared) does nothing."""
        info = await self._session()
        if info is None:
            return await self._gone()
        key, self._key = self._key, ""
        self.ask_open = False
        if not key:
            return None
        to, text, lang = list(self.recipients), self.text, self._lang()
        try:
            sent = await in_thread(lambda: cabinet.send_sms_many(runtime.engine(), info, to, text, runtime.now(), key))
        except DomainError as exc:
            field = str(exc.details.get("field", ""))
            if field.startswith("to-") and field[3:].isdigit() and int(field[3:]) < len(self.to_errors):
                i = int(field[3:])
                self.to_errors = [self._msg(exc) if j == i else e for j, e in enumerate(self.to_errors)]
            elif field == "text":
                self.text_error = self._msg(exc)
            else:
                self.error = self._msg(exc)
            self.result = ""
            return
        self.outcomes = [{"to": auth.format_msisdn(x.to), "ok": "1" if x.status == "rated" else "0",
                          "text": (f"{tr('sms.delivered', lang)}, {format_rub(x.charged_kopecks, lang)}"
                                   if x.status == "rated" else tr("sms.not_sent", lang) + ": " + blocked_reason(x.reason,
                                                                                                              lang))}
                         for x in sent if x.status != "duplicate"]
        rated = [x for x in sent if x.status == "rated"]
        if not rated:
            if all(x.status == "duplicate" for x in sent):
                return None
            self.error = tr("sms.blocked", lang)
            self.result = ""
            return
        self.error = ""
        total = format_rub(sum(x.charged_kopecks for x in rated), lang)
        numbers = count_text(len(sent), lang, ("номер", "номера", "номеров"), ("number", "numbers"))
        if len(sent) == 1:
            self.result = f"{tr('sms.sent', lang)}: {total}"
        elif len(rated) == len(sent):
            self.result = tr("sms.sent_all", lang).format(n=numbers, sum=total)
        else:
            # «из 3 номеров», «из 21 номера»: after «из» the genitive
            of = numbers if lang == "en" else count_text(len(sent), lang, ("номера", "номеров", "номеров"), ("", ""))
            self.result = tr("sms.sent_many", lang).format(n=len(rated), of=of, sum=total)
        self.text = ""
        self.length_note = ""
        return rx.toast.success(self.result)


SMS_WORD = ("SMS", "SMS", "SMS")
SMS_WORD_EN = ("SMS", "SMS")


def blocked_reason(reason: str | None, lang: str) -> str:
    """Why one recipient's SMS was refused, in words."""
    reason = reason or ""
    if reason.startswith("parental control"):
        return tr("sms.why_parental", lang)
    if reason.startswith("insufficient funds"):
        return tr("sms.why_funds", lang)
    return tr("sms.why_status", lang)


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
