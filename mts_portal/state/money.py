"""Money («Счёт»): top up by card, promised payment, «На полном доверии», autopay,
transfers, operations history and spending charts."""

from __future__ import annotations

import uuid

import reflex as rx

from mts_portal.core import auth, billing, cabinet, payments, runtime
from mts_portal.core.clock import fmt_datetime
from mts_portal.core.errors import DomainError
from mts_portal.core.money import MoneyFormatError, format_rub, parse_rub
from mts_portal.core.words import pick
from mts_portal.i18n import add, tr
from mts_portal.state.base import KEEP_FAILURES, SessionState, query, write

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
    "money.paid": ("Баланс пополнен", "Topped up"),
    "money.declined": ("Платёж отклонён", "Payment declined"),
    "money.saved_cards": ("Сохранённые карты", "Saved cards"),
    "money.no_cards": ("Карт пока нет: добавьте карту при пополнении.", "No cards yet: add one when you top up."),
    "money.remove_card": ("Удалить", "Remove"),
    "money.card_removed": ("Карта удалена", "Card removed"),
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
    "promise.fee": ("Плата", "Fee"),
    "promise.done": ("Обещанный платёж подключён", "Promised payment turned on"),
    "autopay.hint": ("Пополняйте счёт автоматически: когда баланс ниже порога, или раз в месяц.",
                     "Top up automatically: when the balance drops below a threshold, or once a month."),
    "autopay.threshold": ("При балансе ниже порога", "Below a threshold"),
    "autopay.monthly": ("Раз в месяц", "Monthly"),
    "autopay.threshold_value": ("Порог, ₽", "Threshold, ₽"),
    "autopay.day": ("День месяца", "Day of month"),
    "autopay.save": ("Подключить автоплатёж", "Turn on autopay"),
    "autopay.saved": ("Автоплатёж подключён", "Autopay is on"),
    "autopay.cancel": ("Отключить", "Turn off"),
    "autopay.cancelled": ("Автоплатёж отключён", "Autopay is off"),
    "autopay.active": ("Действующие автоплатежи", "Active autopays"),
    "autopay.none": ("Автоплатежей нет", "No autopay"),
    "autopay.history": ("Что сделал автоплатёж", "What autopay did"),
    "autopay.no_history": ("Автоплатёж ещё не срабатывал", "Autopay has not run yet"),
    "autopay.need_card": ("Сначала сохраните карту (вкладка «Пополнить»).", "Save a card first (Top up tab)."),
    "transfer.hint": ("Перевод с баланса на номер МТС. Подтверждается кодом из SMS. Только свои деньги, без кредита.",
                      "From your balance to another MTS number, confirmed by an SMS code. Own money only."),
    "transfer.to": ("Номер получателя", "Recipient's number"),
    "transfer.send": ("Получить код", "Get a code"),
    "transfer.confirm": ("Перевести", "Transfer"),
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


class MoneyState(SessionState):
    tab: str = "topup"
    balance_text: str = ""
    available_text: str = ""
    credit_text: str = ""
    full_trust: bool = False
    cards: list[dict[str, str]] = []
    card_choice: str = "new"
    save_card: bool = True
    pay_error: str = ""
    pay_result: str = ""
    pending_amount: str = ""
    promise_available: bool = False
    promise_reason: str = ""
    promise_max_text: str = ""
    promise_active_text: str = ""
    promise_amount: str = ""
    promise_fee_text: str = ""
    promise_error: str = ""
    autopay_rules: list[dict[str, str]] = []
    autopay_runs: list[dict[str, str]] = []
    autopay_kind: str = "threshold"
    autopay_card: str = ""
    autopay_error: str = ""
    transfer_step: str = "form"
    transfer_error: str = ""
    transfer_summary: str = ""
    operations: list[dict[str, str]] = []
    more_operations: bool = False
    by_category: list[dict[str, str | int]] = []
    by_day: list[dict[str, str | int]] = []
    spending_total: str = ""
    _pay_key: str = ""
    _transfer: tuple = ()

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
        self.cards = [{"id": str(c.id), "label": f"{c.brand} •••• {c.last4}",
                       "exp": f"{c.exp_month:02d}/{c.exp_year % 100:02d}"} for c in cards]
        if self.card_choice != "new" and self.card_choice not in {c["id"] for c in self.cards}:
            self.card_choice = self.cards[0]["id"] if self.cards else "new"
        if not self.autopay_card and self.cards:
            self.autopay_card = self.cards[0]["id"]
        self.promise_available = offer.available
        self.promise_reason = offer.reason_en if lang == "en" else offer.reason_ru
        self.promise_max_text = format_rub(offer.max_kopecks, lang)
        self.promise_active_text = (
            f"{format_rub(offer.active.amount_kopecks, lang)} {tr('promise.until', lang)} "
            f"{fmt_datetime(offer.active.due_at)}" if offer.active else "")
        self.autopay_rules = [{
            "id": str(r.id), "kind": r.kind,
            "what": (f"{tr('autopay.threshold', lang)} {format_rub(r.threshold_kopecks, lang)}" if r.kind == "threshold"
                     else f"{tr('autopay.monthly', lang)}, {r.day_of_month}"),
            "amount": format_rub(r.amount_kopecks, lang),
            "card": next((c["label"] for c in self.cards if c["id"] == str(r.card_id)), "—"),
        } for r in rules]
        self.autopay_runs = [{"id": str(r.id), "when": fmt_datetime(r.created_at), "amount": format_rub(
            r.amount_kopecks, lang), "status": r.status, "reason": r.reason} for r in runs]
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
        if tab in ("topup", "promise", "autopay", "transfer", "history", "spending"):
            self.tab = tab
        self._pay_key = uuid.uuid4().hex
        self.pay_error = self.pay_result = self.promise_error = self.autopay_error = self.transfer_error = ""
        self.transfer_step = "form"
        await self._reload(info)

    @rx.event
    def new_payment(self):
        """Opening the confirmation starts a new payment request: every click inside that one
        dialog (a double click included) carries the same key, so it pays once."""
        self._pay_key = uuid.uuid4().hex
        self.pay_error = self.pay_result = ""

    @rx.event
    def set_tab(self, tab: str):
        self.tab = tab

    @rx.event
    def set_card_choice(self, value: str):
        self.card_choice = value

    @rx.event
    def set_save_card(self, value: bool):
        self.save_card = bool(value)

    @rx.event
    def set_autopay_kind(self, value: str | list[str]):
        self.autopay_kind = "monthly" if value == "monthly" else "threshold"

    @rx.event
    def set_autopay_card(self, value: str):
        self.autopay_card = value

    @rx.event
    def set_promise_amount(self, value: str):
        self.promise_amount = value
        try:
            self.promise_fee_text = format_rub(payments.promise_fee(parse_rub(value)), self._lang())
        except MoneyFormatError:
            self.promise_fee_text = ""

    # ---------------------------------------------------------------- top up

    @rx.event
    async def top_up(self, form: dict):
        """Confirmed in the dialog; the request key makes a double click pay once."""
        info = await self._session()
        if info is None:
            return await self._gone()
        self.pay_error = self.pay_result = ""
        try:
            amount = parse_rub(str(form.get("amount", "")))
        except MoneyFormatError:
            self.pay_error = tr("money.amount", self._lang()) + ": " + ("введите сумму в рублях"
                                                                         if self._lang() == "ru" else "rubles")
            return
        key, msisdn, now, choice, keep = self._pay_key, info.selected_msisdn, runtime.now(), self.card_choice, \
            self.save_card
        number, expiry, cvc = str(form.get("number", "")), str(form.get("expiry", "")), str(form.get("cvc", ""))

        def fn(s):
            if choice == "new":
                card = payments.add_card(s, info, payments.parse_card(number, expiry, cvc, now), now)
            else:
                card = payments.get_card(s, info, choice)
            res = payments.top_up_by_card(s, info, msisdn, card.id, amount, key, now)
            if choice == "new" and not keep:
                payments.remove_card(s, info, card.id, now)
            return res, card.id

        try:
            res, card_id = await write(fn)
        except DomainError as exc:
            self.pay_error = self._msg(exc)
            return
        lang = self._lang()
        if res.status == "declined":
            self.pay_error = f"{tr('money.declined', lang)}: {res.reason_en if lang == 'en' else res.reason_ru}"
        else:
            self.pay_result = f"{tr('money.paid', lang)}: {format_rub(res.amount_kopecks, lang)}"
            if choice == "new" and keep:
                self.card_choice = str(card_id)
        await self._reload(info)
        if res.status != "declined":
            return rx.toast.success(self.pay_result)

    @rx.event
    async def remove_card(self, card_id: str):
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
    async def take_promise(self):
        info = await self._session()
        if info is None:
            return await self._gone()
        try:
            amount = parse_rub(self.promise_amount)
        except MoneyFormatError:
            self.promise_error = "Введите сумму" if self._lang() == "ru" else "Enter an amount"
            return
        try:
            await write(lambda s: payments.take_promise(s, info, info.selected_msisdn, amount, runtime.now()))
        except DomainError as exc:
            self.promise_error = self._msg(exc)
            return
        self.promise_error = ""
        self.promise_amount = ""
        await self._reload(info)
        return rx.toast.success(self.t["promise.done"])

    @rx.event
    async def toggle_full_trust(self, on: bool):
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
    async def save_autopay(self, form: dict):
        info = await self._session()
        if info is None:
            return await self._gone()
        kind, card = self.autopay_kind, self.autopay_card
        try:
            amount = parse_rub(str(form.get("amount", "")))
            threshold = parse_rub(str(form.get("threshold", "0") or "0")) if kind == "threshold" else None
            day = int(form.get("day") or 0) if kind == "monthly" else None
        except (MoneyFormatError, ValueError):
            self.autopay_error = "Проверьте суммы" if self._lang() == "ru" else "Check the amounts"
            return
        try:
            await write(lambda s: payments.save_autopay(s, info, info.selected_msisdn, kind, card, amount,
                                                        runtime.now(), threshold_kopecks=threshold, day_of_month=day))
        except DomainError as exc:
            self.autopay_error = self._msg(exc)
            return
        self.autopay_error = ""
        await self._reload(info)
        return rx.toast.success(self.t["autopay.saved"])

    @rx.event
    async def cancel_autopay(self, rule_id: str):
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
        info = await self._session()
        if info is None:
            return await self._gone()
        try:
            amount = parse_rub(str(form.get("amount", "")))
        except MoneyFormatError:
            self.transfer_error = "Введите сумму" if self._lang() == "ru" else "Enter an amount"
            return
        to, client = str(form.get("to", "")), self._client()
        try:
            transfer, req = await write(lambda s: payments.request_transfer(s, info, info.selected_msisdn, to, amount,
                                                                            client, runtime.now()))
        except DomainError as exc:
            self.transfer_error = self._msg(exc)
            return
        self._transfer = (transfer.id, req.attempt_id)
        self.transfer_summary = f"{format_rub(amount, self._lang())} → {auth.format_msisdn(auth.normalize_msisdn(to))}"
        self.transfer_error = ""
        self.transfer_step = "code"

    @rx.event
    async def confirm_transfer(self, form: dict):
        info = await self._session()
        if info is None:
            return await self._gone()
        if not self._transfer:
            self.transfer_step = "form"
            return
        transfer_id, attempt = self._transfer
        code = "".join(ch for ch in str(form.get("code", "")) if ch.isdigit())
        try:
            await write(lambda s: payments.confirm_transfer(s, info, transfer_id, attempt, code, runtime.now()),
                        keep_on=KEEP_FAILURES)
        except DomainError as exc:
            self.transfer_error = self._msg(exc)
            return
        self._transfer = ()
        self.transfer_step = "form"
        self.transfer_error = ""
        await self._reload(info)
        return rx.toast.success(self.t["transfer.done"] + ": " + self.transfer_summary)

    @rx.event
    def cancel_transfer(self):
        self._transfer = ()
        self.transfer_step = "form"
        self.transfer_error = ""

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


