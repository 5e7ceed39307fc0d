"""Money («Счёт»): top up by card, promised payment, «На полном доверии», autopay,
transfers, operations history and spending charts.

Every money action is asked first and done once:
- the form only checks its fields (errors are shown at the field, nothing changes) and, when they are
  right, opens a confirmation that says what will happen (amount, card, fee, dates);
- the confirmation's button runs the action single-flight: `busy` names the action in flight (its
  buttons spin and do nothing), and the action consumes what the form prepared (`_pending`), so the
  second click of a double click finds nothing to do;
- top-ups and transfers carry a request key the core deduplicates on (`_pay_key`, `_transfer_key`),
  renewed only once an action completed (paid, declined, transfer confirmed or cancelled).

Messages are kept in both languages (`msgs`: key -> [ru, en]) and shown in the current one (`msg`), so
a language switch re-words them at once. A field's message is keyed by the field's element id.
"""

from __future__ import annotations

import re
import uuid

import reflex as rx

from mts_portal.core import auth, billing, cabinet, payments, runtime
from mts_portal.core.clock import fmt_datetime
from mts_portal.core.errors import DomainError
from mts_portal.core.money import MoneyFormatError, format_rub, parse_rub
from mts_portal.core.words import pick
from mts_portal.i18n import add, count_text, tr
from mts_portal.state.base import KEEP_FAILURES, SessionState, both, query, write

add({
    "money.title": ("Счёт", "Money"),
    "money.tab.topup": ("Пополнить", "Top up"),
    "money.tab.promise": ("Обещанный платёж", "Promised payment"),
    "money.tab.autopay": ("Автоплатёж", "Autopay"),
    "money.tab.transfer": ("Перевод", "Transfer"),
    "money.tab.history": ("История", "History"),
    "money.tab.spending": ("Расходы", "Spending"),
    "money.amount": ("Сумма, ₽", "Amount, ₽"),
    "money.card": ("Карта", "Card"),
    "money.new_card": ("Новая карта", "New card"),
    "money.card_number": ("Номер карты", "Card number"),
    "money.expiry": ("ММ/ГГ", "MM/YY"),
    "money.cvc": ("CVC", "CVC"),
    "money.save_card": ("Сохранить карту", "Save the card"),
    "money.pay": ("Пополнить", "Top up"),
    "money.pay_q": ("Пополнить счёт?", "Top up?"),
    "money.pay_text": ("С карты {card} будет списано {amount} и зачислено на номер {msisdn}.",
                       "{amount} will be charged to card {card} and credited to {msisdn}."),
    "money.pay_save_note": ("Карта сохранится, только если банк одобрит платёж.",
                            "The card is saved only if the bank approves the payment."),
    "money.pay_now": ("Оплатить", "Pay"),
    "money.paid": ("Баланс пополнен", "Topped up"),
    "money.card_not_saved": ("Карта не сохранена.", "The card was not saved."),
    "money.saved_cards": ("Сохранённые карты", "Saved cards"),
    "money.no_cards": ("Карт пока нет: карта сохраняется, когда с неё прошёл платёж.",
                       "No cards yet: a card is saved once a payment from it went through."),
    "money.remove_card": ("Удалить", "Remove"),
    "money.remove_card_q": ("Удалить карту?", "Remove the card?"),
    "money.card_removed": ("Карта удалена", "Card removed"),
    "money.card_expired": ("срок действия истёк", "expired"),
    "money.choose_card": ("Выберите карту", "Choose a card"),
    "money.test_cards": ("Тестовые карты: 4111 1111 1111 1111 — успешно; …0002 — недостаточно средств; …0069 — "
                         "истёк срок; …0119 — банк не отвечает.",
                         "Test cards: 4111 1111 1111 1111 succeeds; …0002 insufficient funds; …0069 expired; "
                         "…0119 bank not answering."),
    "money.credit": ("Кредитный лимит", "Credit limit"),
    "money.available": ("Доступно", "Available"),
    "money.full_trust": ("На полном доверии", "Full trust"),
    "money.full_trust_hint": ("Пользуйтесь связью, даже когда на счёте 0: баланс может опуститься до −300 ₽. "
                              "Бесплатно. Отключить можно, когда баланс не ниже нуля.",
                              "Keep using the service at zero: the balance may go down to −300 ₽. Free. You can "
                              "turn it off when the balance is not below zero."),
    # what a typed amount can get wrong (core parse_rub refuses it; these say how to fix it)
    "money.err.empty": ("Введите сумму", "Enter an amount"),
    "money.err.decimals": ("Не больше 2 знаков после запятой (копейки), например 100,50",
                           "At most 2 decimals (kopecks), e.g. 100.50"),
    "money.err.digits": ("Введите сумму цифрами, например 500 или 100,50 — без знаков и степеней",
                         "Enter the amount in digits, e.g. 500 or 100.50, with no signs or exponents"),
    "money.err.too_big": ("Слишком большая сумма", "The amount is too large"),
    "promise.hint": ("Деньги в долг на 3 дня: связь не прервётся, пока вы пополняете счёт. Погашается автоматически "
                     "из ближайшего пополнения.",
                     "Credit for 3 days so your service goes on while you top up. It is repaid automatically "
                     "from your next top-up."),
    "promise.fees": ("Плата: до 100 ₽ — бесплатно, до 300 ₽ — 10 ₽, до 500 ₽ — 25 ₽, больше — 50 ₽.",
                     "Fee: up to 100 ₽ free, up to 300 ₽ 10 ₽, up to 500 ₽ 25 ₽, more 50 ₽."),
    "promise.max": ("Доступная сумма", "Available amount"),
    "promise.active": ("Обещанный платёж подключён", "Promised payment is on"),
    "promise.until": ("до", "until"),
    "promise.take": ("Подключить", "Turn on"),
    "promise.take_q": ("Подключить обещанный платёж?", "Turn on the promised payment?"),
    "promise.text": ("Обещанный платёж {amount} на {days} — до {due}. {fee} Погасится автоматически из "
                     "ближайшего пополнения.",
                     "A promised payment of {amount} for {days}, until {due}. {fee} It is repaid automatically "
                     "from your next top-up."),
    "promise.fee_now": ("Плата за подключение {fee} спишется сразу.", "A fee of {fee} is charged now."),
    "promise.fee_free": ("Без платы за подключение.", "No fee."),
    "promise.fee": ("Плата", "Fee"),
    "promise.done": ("Обещанный платёж подключён", "Promised payment turned on"),
    "autopay.hint": ("Пополняйте счёт автоматически: когда баланс ниже порога, или раз в месяц.",
                     "Top up automatically: when the balance drops below a threshold, or once a month."),
    "autopay.monthly": ("Раз в месяц", "Monthly"),
    "autopay.kind_threshold": ("Ниже порога", "Below a threshold"),
    "autopay.rule_threshold": ("Когда баланс ниже {threshold}", "When the balance is below {threshold}"),
    "autopay.rule_monthly": ("Каждый месяц, {day}-го числа", "Monthly, on day {day}"),
    "autopay.threshold_value": ("Порог, ₽", "Threshold, ₽"),
    "autopay.day": ("День месяца (1–28)", "Day of month (1–28)"),
    "autopay.err.day": ("День месяца: целое число от 1 до 28 (такой день есть в каждом месяце)",
                        "Day of month: a whole number from 1 to 28 (a day every month has)"),
    "autopay.save": ("Подключить автоплатёж", "Turn on autopay"),
    "autopay.save_q": ("Подключить автоплатёж?", "Turn on autopay?"),
    "autopay.text_threshold": ("Когда баланс станет ниже {threshold}, с карты {card} будет списано {amount} — "
                               "не чаще раза в час.",
                               "When the balance drops below {threshold}, {amount} will be charged to card {card}, "
                               "at most once an hour."),
    "autopay.text_below": ("Баланс уже ниже порога: первое пополнение пройдёт в ближайшие минуты.",
                           "The balance is already below it: the first top-up comes within minutes."),
    "autopay.text_monthly": ("Каждый месяц {day}-го числа с карты {card} будет списано {amount}. "
                             "Первое списание — {first}.",
                             "Every month on day {day}, {amount} will be charged to card {card}. "
                             "First charge: {first}."),
    "autopay.text_replaces": ("Действующий автоплатёж этого вида будет заменён.",
                              "Your current autopay of this kind will be replaced."),
    "autopay.saved": ("Автоплатёж подключён", "Autopay is on"),
    "autopay.cancel": ("Отключить", "Turn off"),
    "autopay.cancelled": ("Автоплатёж отключён", "Autopay is off"),
    "autopay.active": ("Действующие автоплатежи", "Active autopays"),
    "autopay.none": ("Автоплатежей нет", "No autopay"),
    "autopay.history": ("Что сделал автоплатёж", "What autopay did"),
    "autopay.no_history": ("Автоплатёж ещё не срабатывал", "Autopay has not run yet"),
    "autopay.run.succeeded": ("выполнен", "done"),
    "autopay.run.declined": ("отклонён", "declined"),
    "autopay.need_card": ("Сначала пополните счёт с карты и сохраните её (вкладка «Пополнить»): автоплатёж "
                          "списывает деньги с карты, с которой уже прошёл платёж.",
                          "First top up from a card and save it (Top up tab): autopay charges a card a payment "
                          "has already gone through from."),
    "transfer.hint": ("Перевод с баланса на номер МТС. Подтверждается кодом из SMS. Только свои деньги, без кредита.",
                      "From your balance to another MTS number, confirmed by an SMS code. Own money only."),
    "transfer.to": ("Номер получателя", "Recipient's number"),
    "transfer.err.to": ("Введите номер получателя", "Enter the recipient's number"),
    "transfer.send": ("Получить код", "Get a code"),
    "transfer.confirm": ("Перевести", "Transfer"),
    "transfer.code_format": ("Код — это 6 цифр из SMS. Попытка не засчитана.",
                             "The code is the 6 digits from the SMS. This try was not counted."),
    "transfer.code_sent": ("Код подтверждения отправлен на ваш номер.", "A confirmation code was sent to your number."),
    "transfer.done": ("Перевод выполнен", "Transfer done"),
    "history.more": ("Показать ещё", "Show more"),
    "history.empty": ("Операций пока нет", "No operations yet"),
    "history.declined": ("отклонён", "declined"),
    "spending.by_category": ("По категориям за 30 дней", "By category, last 30 days"),
    "spending.by_day": ("По дням", "By day"),
    "spending.total": ("Всего", "Total"),
    "cat.voice": ("Звонки", "Calls"), "cat.sms": ("SMS", "SMS"), "cat.data": ("Интернет", "Internet"),
    "cat.roaming": ("Роуминг", "Roaming"), "cat.fee": ("Абонентская плата", "Fees"),
    "cat.service": ("Услуги", "Services"), "cat.content": ("Подписки", "Subscriptions"),
    "cat.other": ("Прочее", "Other"),
})

TABS = ("topup", "promise", "autopay", "transfer", "history", "spending")
# the core's field names (DomainError.details["field"]) -> the element id of that field, per form
FIELDS = {
    "pay": {"amount": "topup-amount", "card": "topup-card", "card_number": "card-number",
            "card_expiry": "card-expiry", "card_cvc": "card-cvc"},
    "promise": {"amount": "promise-amount"},
    "autopay": {"amount": "autopay-amount", "threshold": "autopay-threshold", "day": "autopay-day",
                "card": "autopay-card"},
    "transfer": {"amount": "transfer-amount", "to": "transfer-to"},
}
# each form's own messages: cleared when that form is sent again
FORM_KEYS = {form: (*ids.values(), f"{form}-error") for form, ids in FIELDS.items()}
FORM_KEYS["pay"] += ("pay-result",)
FORM_KEYS["transfer"] += ("transfer-code",)


def amount_problem(text) -> str | None:
    """The i18n key that says what is wrong with a typed amount (None: it reads as an amount)."""
    try:
        parse_rub(text)
        return None
    except MoneyFormatError as exc:
        reason = str(exc)
    cleaned = re.sub(r"[\s\u00a0\u202f₽]", "", str(text or ""))
    if "empty" in reason or not cleaned:
        return "money.err.empty"
    if "two digits" in reason:
        return "money.err.decimals"
    if re.fullmatch(r"[0-9]+(?:[.,][0-9]*)?", cleaned) and len(cleaned.split(",")[0].split(".")[0]) > 9:
        return "money.err.too_big"
    return "money.err.digits"


def rub(kopecks: int):
    """An amount in the reader's language (for `both`)."""
    return lambda lang: format_rub(kopecks, lang)


class MoneyState(SessionState):
    tab: str = "topup"
    balance_text: str = ""
    available_text: str = ""
    credit_text: str = ""
    full_trust: bool = False
    cards: list[dict[str, str]] = []  # saved cards that worked (an expired one says so)
    pay_cards: list[dict[str, str]] = []  # those a payment or an autopay may use
    card_choice: str = "new"
    save_card: bool = True
    msgs: dict[str, list[str]] = {}  # element id (or "<form>-error", "<x>-question") -> [ru, en]
    busy: str = ""  # the money action in flight: "pay" | "promise" | "autopay" | "transfer" | "code" | ...
    confirm: str = ""  # the open confirmation: "pay" | "promise" | "autopay" | ""
    promise_available: bool = False
    promise_reason: str = ""
    promise_max_text: str = ""
    promise_active_text: str = ""
    promise_amount: str = ""
    promise_fee_text: str = ""
    autopay_rules: list[dict[str, str]] = []
    autopay_runs: list[dict[str, str]] = []
    autopay_kind: str = "threshold"
    autopay_card: str = ""
    transfer_step: str = "form"
    operations: list[dict[str, str]] = []
    more_operations: bool = False
    by_category: list[dict[str, str | int]] = []
    by_day: list[dict[str, str | int]] = []
    spending_total: str = ""
    _pay_key: str = ""
    _transfer_key: str = ""
    _pending: dict = {}  # what the open confirmation will do (no card number or CVC: a tokenized card)
    _transfer: tuple = ()

    @rx.var
    def msg(self) -> dict[str, str]:
        """The page's messages in the current language."""
        i = 1 if self.lang == "en" else 0
        return {k: v[i] for k, v in self.msgs.items() if v and v[i]}

    # ---------------------------------------------------------------- messages

    def _say(self, key: str, text: list[str]) -> None:
        self.msgs = {**self.msgs, key: text}

    def _clear(self, form: str) -> None:
        drop = set(FORM_KEYS.get(form, ())) | {f"{form}-question"}
        self.msgs = {k: v for k, v in self.msgs.items() if k not in drop}

    def _error(self, form: str, exc: DomainError) -> None:
        """A core refusal, shown at the field it names (else under the form)."""
        field_id = FIELDS.get(form, {}).get(exc.details.get("field", ""), f"{form}-error")
        self._say(field_id, [exc.message("ru"), exc.message("en")])

    def _amount(self, text, field_id: str) -> int | None:
        """Kopecks from a typed amount, or None with the reason shown at the field."""
        problem = amount_problem(text)
        if problem is not None:
            self._say(field_id, both(problem))
            return None
        return parse_rub(text)

    def _has_errors(self, form: str) -> bool:
        return any(k in self.msgs for k in FORM_KEYS.get(form, ()) if k != "pay-result")

    # ---------------------------------------------------------------- loading

    async def _reload(self, info: auth.SessionInfo) -> None:
        lang, msisdn, now = self._lang(), info.selected_msisdn, runtime.now()

        def fn(s):
            summary = billing.line_summary(session=s, msisdn=cabinet.selected_line(s, info).msisdn, now=now)
            return (summary, payments.cards(s, info), payments.promise_offer(s, info, msisdn, now),
                    payments.autopay_view(s, info, msisdn), payments.operations(s, info, msisdn),
                    payments.spending(s, info, msisdn, now))

        summary, cards, offer, (rules, runs), ops, spend = await query(fn)
        self.balance_text = format_rub(summary.balance_kopecks, lang)
        self.available_text = format_rub(summary.balance_kopecks + summary.credit_limit_kopecks, lang)
        self.credit_text = format_rub(summary.credit_limit_kopecks, lang)
        self.full_trust = "full_trust" in summary.options
        self.cards = [{"id": str(c.id), "label": payments.card_label(c),
                       "exp": f"{c.exp_month:02d}/{c.exp_year % 100:02d}",
                       "note": tr("money.card_expired", lang) if payments.card_expired(c, now) else ""}
                      for c in cards]
        self.pay_cards = [c for c in self.cards if not c["note"]]
        usable = {c["id"] for c in self.pay_cards}
        if self.card_choice != "new" and self.card_choice not in usable:
            self.card_choice = self.pay_cards[0]["id"] if self.pay_cards else "new"
        if self.autopay_card not in usable:  # the default is a card that works, or none (the page says why)
            self.autopay_card = self.pay_cards[0]["id"] if self.pay_cards else ""
        self.promise_available = offer.available
        self.promise_reason = offer.reason_en if lang == "en" else offer.reason_ru
        self.promise_max_text = format_rub(offer.max_kopecks, lang)
        self.promise_active_text = (
            f"{format_rub(offer.active.amount_kopecks, lang)} {tr('promise.until', lang)} "
            f"{fmt_datetime(offer.active.due_at)}" if offer.active else "")
        labels = {c["id"]: c["label"] for c in self.cards}
        self.autopay_rules = [{
            "id": str(r.id), "kind": r.kind,
            "what": (tr("autopay.rule_threshold", lang).format(threshold=format_rub(r.threshold_kopecks or 0, lang))
                     if r.kind == "threshold" else tr("autopay.rule_monthly", lang).format(day=r.day_of_month)),
            "amount": format_rub(r.amount_kopecks, lang),
            "card": labels.get(str(r.card_id), "—"),
        } for r in rules]
        self.autopay_runs = [{
            "id": str(r.id), "when": fmt_datetime(r.created_at), "amount": format_rub(r.amount_kopecks, lang),
            "status": r.status, "status_text": tr(f"autopay.run.{r.status}", lang)
            if r.status in ("succeeded", "declined") else r.status,
            "reason": payments.run_reason(r.reason, lang)} for r in runs]
        self._set_operations(ops, append=False)
        self.by_category = [{"name": tr(f"cat.{k}", lang), "rub": v // 100, "key": k}
                            for k, v in sorted(spend.by_category.items(), key=lambda kv: -kv[1])]
        self.by_day = [{"day": d.strftime("%d.%m"), "rub": v // 100} for d, v in spend.by_day]
        self.spending_total = format_rub(spend.total, lang)

    def _set_operations(self, ops, append: bool) -> None:
        lang = self._lang()
        rows = [{"id": str(o.id), "when": fmt_datetime(o.at), "what": pick(o.description, o.description_en, lang),
                 "amount": format_rub(o.amount_kopecks, lang, sign=True), "status": o.status,
                 "credit": "1" if o.amount_kopecks > 0 and o.status == "done" else "0",
                 "after": format_rub(o.balance_after, lang) if o.balance_after is not None else ""} for o in ops]
        self.operations = (self.operations + rows) if append else rows
        self.more_operations = len([o for o in ops if o.id > 0]) >= 50

    @rx.event
    async def load(self):
        info = await self._begin()
        if info is None:
            return await self._gone()
        tab = self.router.url.query_parameters.get("tab", "")
        if tab in TABS:
            self.tab = tab
        # a page load starts afresh: new request keys, nothing pending, no messages
        self._pay_key, self._transfer_key = uuid.uuid4().hex, uuid.uuid4().hex
        self._pending, self._transfer = {}, ()
        self.msgs, self.busy, self.confirm = {}, "", ""
        self.transfer_step = "form"
        self.card_choice = ""
        await self._reload(info)

    @rx.event
    async def relang(self):
        """After a language switch: the page's data again in the new language. What is typed, asked or
        waiting for its code stays (its messages are kept in both languages and re-shown at once)."""
        info = await self._session()
        if info is None:
            return await self._gone()
        await self._reload(info)

    @rx.event
    def set_tab(self, tab: str):
        if tab in TABS:
            self.tab = tab

    @rx.event
    def set_card_choice(self, value: str):
        self.card_choice = value if value == "new" or value in {c["id"] for c in self.pay_cards} else "new"
        self._clear("pay")

    @rx.event
    def set_save_card(self, value: bool):
        self.save_card = bool(value)

    @rx.event
    def set_autopay_kind(self, value: str | list[str]):
        self.autopay_kind = "monthly" if value == "monthly" else "threshold"
        self._clear("autopay")

    @rx.event
    def set_autopay_card(self, value: str):
        self.autopay_card = value

    @rx.event
    def set_promise_amount(self, value: str):
        self.promise_amount = value
        self._clear("promise")
        try:
            self.promise_fee_text = format_rub(payments.promise_fee(parse_rub(value)), self._lang())
        except MoneyFormatError:
            self.promise_fee_text = ""

    @rx.event
    def close_confirm(self, open_: bool = False):
        """The confirmation was cancelled (Cancel, Escape): nothing was done, nothing is pending."""
        if open_ or self.busy:
            return
        self._pending, self.confirm = {}, ""

    # ---------------------------------------------------------------- top up

    @rx.event
    async def review_top_up(self, form: dict):
        """The top-up form (its button or Enter in a field): check the amount and the card, then ask.
        It never pays: only the confirmation's button does."""
        if self.busy:
            return
        info = await self._session()
        if info is None:
            return await self._gone()
        self._clear("pay")
        amount = self._amount(form.get("amount", ""), "topup-amount")
        if amount is not None:
            try:
                payments.check_topup_amount(amount)
            except DomainError as exc:
                self._error("pay", exc)
        choice, now, new_card = self.card_choice or "new", runtime.now(), None
        if choice == "new":
            typed = (str(form.get("number", "")), str(form.get("expiry", "")), str(form.get("cvc", "")))
            problems = payments.card_problems(*typed, now)
            for exc in problems:  # every field's problem at once
                self._error("pay", exc)
            # tokenized at once: the number and CVC go no further than this handler
            new_card = None if problems else payments.tokenize(payments.parse_card(*typed, now))
            label = new_card.label if new_card else ""
        else:
            label = next((c["label"] for c in self.pay_cards if c["id"] == choice), "")
            if not label:
                self._say("topup-card", both("money.choose_card"))
        if self._has_errors("pay"):
            return
        self._pending = {"action": "pay", "amount": amount, "choice": choice, "save": self.save_card,
                         "card": None if new_card is None else {
                             "brand": new_card.brand, "last4": new_card.last4, "exp_month": new_card.exp_month,
                             "exp_year": new_card.exp_year, "profile": new_card.profile}}
        text = both("money.pay_text", amount=rub(amount), card=label, msisdn=auth.format_msisdn(info.selected_msisdn))
        if choice == "new" and self.save_card:
            text = [f"{t} {n}" for t, n in zip(text, both("money.pay_save_note"), strict=True)]
        self._say("pay-question", text)
        self._say("pay-label", [f"{tr('money.pay_now', lang)} {format_rub(amount, lang)}" for lang in ("ru", "en")])
        self.confirm = "pay"

    @rx.event
    async def confirm_top_up(self):
        """The confirmation's button: pays once, whatever the number of clicks."""
        pending = self._pending
        if self.busy or self.confirm != "pay" or pending.get("action") != "pay":
            return  # a second click: the payment is running or done
        info = await self._session()
        if info is None:
            yield await self._gone()
            return
        key, msisdn, now = self._pay_key, info.selected_msisdn, runtime.now()
        amount, choice, save = pending["amount"], pending["choice"], pending["save"]
        new_card = payments.NewCard(**pending["card"]) if pending.get("card") else None

        def fn(s):
            if new_card is not None:
                return payments.top_up_by_new_card(s, info, msisdn, new_card, amount, key, now, save=save)
            return payments.top_up_by_card(s, info, msisdn, choice, amount, key, now)

        self.busy = "pay"
        yield
        try:
            res = await write(fn)
        except DomainError as exc:  # refused before anything was written: the key stays for the next try
            self._pending, self.confirm = {}, ""
            self._error("pay", exc)
            return
        finally:
            self.busy = ""
        # completed (paid or declined): the next payment is a new request
        self._pay_key, self._pending, self.confirm = uuid.uuid4().hex, {}, ""
        if res.status == "declined":  # the bank's reason says it was declined; a typed card was not kept
            note = both("money.card_not_saved") if new_card is not None and res.card_id is None else ["", ""]
            self._say("pay-error", [f"{res.reason_ru}. {note[0]}".strip(),
                                    f"{res.reason_en[:1].upper()}{res.reason_en[1:]}. {note[1]}".strip()])
        else:
            self._say("pay-result", [f"{tr('money.paid', lang)}: {format_rub(res.amount_kopecks, lang)}"
                                     for lang in ("ru", "en")])
            if res.card_id is not None:
                self.card_choice = str(res.card_id)
        await self._reload(info)
        if res.status != "declined":
            yield rx.toast.success(self.msg.get("pay-result", ""))

    @rx.event
    async def remove_card(self, card_id: str):
        if self.busy or str(card_id) not in {c["id"] for c in self.cards}:
            return  # a second click: already removed
        info = await self._session()
        if info is None:
            return await self._gone()
        try:
            await write(lambda s: payments.remove_card(s, info, card_id, runtime.now()))
        except DomainError as exc:
            return rx.toast.error(self._msg(exc))
        await self._reload(info)
        return rx.toast.success(self.t["money.card_removed"])

    # ---------------------------------------------------------------- credit

    @rx.event
    async def review_promise(self, form: dict | None = None):
        """«Подключить» (or Enter): check the amount, then say what it costs and until when."""
        if self.busy:
            return
        info = await self._session()
        if info is None:
            return await self._gone()
        self._clear("promise")
        amount = self._amount(self.promise_amount, "promise-amount")
        if amount is None:
            return
        msisdn, now = info.selected_msisdn, runtime.now()
        try:
            quote = await query(lambda s: payments.promise_quote(s, info, msisdn, amount, now))
        except DomainError as exc:
            self._error("promise", exc)
            return
        days = lambda lang: count_text(quote.days, lang, ("день", "дня", "дней"), ("day", "days"))  # noqa: E731
        fee = (lambda lang: tr("promise.fee_now", lang).format(fee=format_rub(quote.fee_kopecks, lang))) \
            if quote.fee_kopecks else (lambda lang: tr("promise.fee_free", lang))
        self._pending = {"action": "promise", "amount": amount}
        self._say("promise-question", both("promise.text", amount=rub(amount), days=days,
                                           due=fmt_datetime(quote.due_at), fee=fee))
        self.confirm = "promise"

    @rx.event
    async def confirm_promise(self):
        pending = self._pending
        if self.busy or self.confirm != "promise" or pending.get("action") != "promise":
            return
        info = await self._session()
        if info is None:
            yield await self._gone()
            return
        amount, msisdn = pending["amount"], info.selected_msisdn
        self.busy = "promise"
        yield
        try:
            await write(lambda s: payments.take_promise(s, info, msisdn, amount, runtime.now()))
        except DomainError as exc:
            self._error("promise", exc)
            return
        finally:
            self.busy = ""
            self._pending, self.confirm = {}, ""
        self.promise_amount = self.promise_fee_text = ""
        await self._reload(info)
        yield rx.toast.success(self.t["promise.done"])

    @rx.event
    async def toggle_full_trust(self, on: bool):
        if self.busy:
            return
        info = await self._session()
        if info is None:
            return await self._gone()
        msisdn, now = info.selected_msisdn, runtime.now()
        try:
            if on:
                await write(lambda s: cabinet.connect(s, info, msisdn, "full_trust", now))
            else:
                await write(lambda s: cabinet.disconnect(s, info, msisdn, "full_trust", now))
        except DomainError as exc:
            await self._reload(info)
            return rx.toast.error(self._msg(exc))
        await self._reload(info)
        return rx.toast.success(self.t["settings.saved"])

    # ---------------------------------------------------------------- autopay

    @rx.event
    async def review_autopay(self, form: dict):
        """The autopay form: check every field, then say what will be charged, from which card, when."""
        if self.busy:
            return
        info = await self._session()
        if info is None:
            return await self._gone()
        self._clear("autopay")
        kind, card = self.autopay_kind, self.autopay_card
        amount = self._amount(form.get("amount", ""), "autopay-amount")
        threshold = day = None
        if kind == "threshold":
            threshold = self._amount(form.get("threshold", ""), "autopay-threshold")
        else:
            text = str(form.get("day", "")).strip()
            day = int(text) if text.isascii() and text.isdigit() and len(text) <= 2 else None
            if day is None:
                self._say("autopay-day", both("autopay.err.day"))
        # the core's own checks of each field, so that every field's problem shows at once
        for value, check in ((amount, payments.check_topup_amount), (threshold, payments.check_threshold),
                             (day, payments.check_day)):
            if value is not None:
                try:
                    check(value)
                except DomainError as exc:
                    self._error("autopay", exc)
        if card not in {c["id"] for c in self.pay_cards}:
            self._say("autopay-card", both("money.choose_card"))
        if self._has_errors("autopay"):
            return
        msisdn, now = info.selected_msisdn, runtime.now()
        try:
            quote = await query(lambda s: payments.autopay_quote(s, info, msisdn, kind, card, amount, now,
                                                                 threshold_kopecks=threshold, day_of_month=day))
        except DomainError as exc:
            self._error("autopay", exc)
            return
        if kind == "threshold":
            text = both("autopay.text_threshold", threshold=rub(quote.threshold_kopecks), card=quote.card_label,
                        amount=rub(amount))
            notes = [both("autopay.text_below")] if quote.below_now else []
        else:
            text = both("autopay.text_monthly", day=quote.day_of_month, card=quote.card_label, amount=rub(amount),
                        first=quote.first_run.strftime("%d.%m.%Y"))
            notes = []
        if quote.replaces:
            notes.append(both("autopay.text_replaces"))
        for note in notes:
            text = [f"{t} {n}" for t, n in zip(text, note, strict=True)]
        self._pending = {"action": "autopay", "kind": kind, "card": card, "amount": amount, "threshold": threshold,
                         "day": day}
        self._say("autopay-question", text)
        self.confirm = "autopay"

    @rx.event
    async def confirm_autopay(self):
        p = self._pending
        if self.busy or self.confirm != "autopay" or p.get("action") != "autopay":
            return
        info = await self._session()
        if info is None:
            yield await self._gone()
            return
        msisdn = info.selected_msisdn
        self.busy = "autopay"
        yield
        try:
            await write(lambda s: payments.save_autopay(s, info, msisdn, p["kind"], p["card"], p["amount"],
                                                        runtime.now(), threshold_kopecks=p["threshold"],
                                                        day_of_month=p["day"]))
        except DomainError as exc:
            self._error("autopay", exc)
            return
        finally:
            self.busy = ""
            self._pending, self.confirm = {}, ""
        await self._reload(info)
        yield rx.toast.success(self.t["autopay.saved"])

    @rx.event
    async def cancel_autopay(self, rule_id: str):
        if self.busy or str(rule_id) not in {r["id"] for r in self.autopay_rules}:
            return  # a second click: already off
        info = await self._session()
        if info is None:
            return await self._gone()
        try:
            await write(lambda s: payments.cancel_autopay(s, info, rule_id))
        except DomainError as exc:
            return rx.toast.error(self._msg(exc))
        await self._reload(info)
        return rx.toast.success(self.t["autopay.cancelled"])

    # ---------------------------------------------------------------- transfer

    @rx.event
    async def request_transfer(self, form: dict):
        """«Получить код»: one pending transfer and one SMS per request, however many clicks."""
        if self.busy or self.transfer_step != "form":
            return
        info = await self._session()
        if info is None:
            yield await self._gone()
            return
        self._clear("transfer")
        to = str(form.get("to", "")).strip()
        if not to:
            self._say("transfer-to", both("transfer.err.to"))
        amount = self._amount(form.get("amount", ""), "transfer-amount")
        for value, check in ((to or None, payments.transfer_recipient), (amount, payments.check_transfer_amount)):
            if value is not None:
                try:
                    check(value)
                except DomainError as exc:
                    self._error("transfer", exc)
        if self._has_errors("transfer"):
            return
        client, key, msisdn = self._client(), self._transfer_key, info.selected_msisdn
        self.busy = "transfer"
        yield
        try:
            # a recipient who is not a subscriber counts against the sender's transfer-code guard: kept
            transfer, req = await write(lambda s: payments.request_transfer(s, info, msisdn, to, amount, client,
                                                                            runtime.now(), request_key=key),
                                        keep_on=KEEP_FAILURES)
        except DomainError as exc:
            self._error("transfer", exc)
            return
        finally:
            self.busy = ""
        self._transfer = (transfer.id, req.attempt_id)
        self._say("transfer-summary", [f"{format_rub(amount, lang)} → {auth.format_msisdn(auth.normalize_msisdn(to))}"
                                       for lang in ("ru", "en")])
        self.transfer_step = "code"

    @rx.event
    async def confirm_transfer(self, form: dict):
        if self.busy or not self._transfer or self.transfer_step != "code":
            return  # a second click: the transfer is running or done
        info = await self._session()
        if info is None:
            yield await self._gone()
            return
        self._clear("transfer")
        transfer_id, attempt = self._transfer
        code = auth.typed_code(form.get("code"))
        if code is None:
            # the rule of every code field (auth.typed_code): not a code, said so, not counted as a wrong try
            self._say("transfer-code", both("transfer.code_format"))
            return
        self.busy = "code"
        yield
        try:
            await write(lambda s: payments.confirm_transfer(s, info, transfer_id, attempt, code, runtime.now()),
                        keep_on=KEEP_FAILURES)
        except DomainError as exc:
            self._say("transfer-code" if exc.code == "unauthorized" else "transfer-error",
                      [exc.message("ru"), exc.message("en")])
            return
        finally:
            self.busy = ""
        # completed: the next transfer is a new request
        self._transfer, self._transfer_key, self.transfer_step = (), uuid.uuid4().hex, "form"
        await self._reload(info)
        yield rx.toast.success(self.t["transfer.done"] + ": " + self.msg.get("transfer-summary", ""))

    @rx.event
    async def cancel_transfer(self):
        if self.busy:
            return
        info = await self._session()
        if info is None:
            return await self._gone()
        if self._transfer:
            transfer_id = self._transfer[0]
            try:
                await write(lambda s: payments.cancel_transfer(s, info, transfer_id, runtime.now()))
            except DomainError:
                pass  # not ours or gone: nothing to cancel
        # completed (cancelled): the next transfer is a new request
        self._transfer, self._transfer_key, self.transfer_step = (), uuid.uuid4().hex, "form"
        self._clear("transfer")

    # ---------------------------------------------------------------- history

    @rx.event
    async def more_history(self):
        info = await self._session()
        if info is None:
            return await self._gone()
        ids = [int(o["id"]) for o in self.operations if int(o["id"]) > 0]
        if not ids:
            return
        before = min(ids)
        ops = await query(lambda s: payments.operations(s, info, info.selected_msisdn, before_id=before))
        self._set_operations(ops, append=True)
