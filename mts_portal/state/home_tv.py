"""The home internet and TV section (issue 17): the contract login on /login, and /internet-tv.

Thin: every handler calls core/home.py or core/home_access.py in one transaction, with the session
checked first; arguments from the browser (contract numbers, codes, amounts, package codes) are
untrusted and checked by the core against the session.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import reflex as rx

from mts_portal.core import auth, home, home_access, payments, runtime
from mts_portal.core.clock import fmt_date, fmt_datetime, moscow_date
from mts_portal.core.errors import DomainError, Invalid
from mts_portal.core.models import HomeAccount
from mts_portal.core.money import format_data, format_rub, parse_rub
from mts_portal.i18n import add, tr
from mts_portal.state.base import KEEP_FAILURES, SessionState, UiState, query, write

add({
    "nav.home_tv": ("Интернет и ТВ", "Internet & TV"),
    "title.home_tv": ("Интернет и ТВ — Мой МТС", "Internet & TV — My MTS"),
    "login.kind_mobile": ("Мобильная связь", "Mobile"),
    "login.kind_home": ("Интернет и ТВ", "Internet & TV"),
    "hlogin.contract": ("Номер договора (лицевой счёт)", "Contract (account) number"),
    "hlogin.get_code": ("Получить код на контактный номер", "Get a code on the contact number"),
    "hlogin.code_sent": ("Если договор есть, код отправлен на его контактный номер.",
                         "If the contract exists, a code was sent to its contact number."),
    "hlogin.recover": ("Забыли пароль?", "Forgot the password?"),
    "hlogin.recover_send": ("Получить код восстановления", "Get a recovery code"),
    "hlogin.recover_hint": ("Код действует 15 минут.", "The code is valid for 15 minutes."),
    "hlogin.new_password": ("Новый пароль", "New password"),
    "hlogin.recovered": ("Пароль изменён. Войдите с новым паролем.", "Password changed. Log in with it."),
    "htv.title": ("Домашний интернет и ТВ", "Home internet & TV"),
    "htv.contract": ("Договор", "Contract"),
    "htv.balance": ("Баланс договора", "Contract balance"),
    "htv.pay": ("Оплатить", "Pay"),
    "htv.amount": ("Сумма, ₽", "Amount, ₽"),
    "htv.card": ("Номер карты", "Card number"),
    "htv.expiry": ("ММ/ГГ", "MM/YY"),
    "htv.paid": ("Оплата {amount} зачислена", "Payment of {amount} credited"),
    "htv.suspended": ("Услуги приостановлены: пополните баланс — они возобновятся сразу.",
                       "Services are suspended: pay the balance and they resume at once."),
    "htv.tariff": ("Тариф", "Tariff"),
    "htv.monthly": ("В месяц", "A month"),
    "htv.switch": ("Перейти", "Switch"),
    "htv.switch_preview": ("Сегодня спишется {now} (за {days} дн. из {all}), затем {monthly} в месяц.",
                            "Today {now} ({days} of {all} days), then {monthly} a month."),
    "htv.drops": ("Пакеты каналов будут отключены: тариф без ТВ.",
                   "TV packages will be disconnected: the tariff has no TV."),
    "htv.packages": ("Пакеты каналов", "TV channel packages"),
    "htv.options": ("Опции", "Options"),
    "htv.connect": ("Подключить", "Connect"),
    "htv.disconnect": ("Отключить", "Disconnect"),
    "htv.quote": ("Подключение сегодня: {now} (за {days} дн.), затем {monthly} в месяц.",
                   "Connecting today: {now} ({days} days), then {monthly} a month."),
    "htv.connected": ("Подключено: {name}. Списано {now}.", "Connected: {name}. Charged {now}."),
    "htv.disconnected": ("Отключено. Следующего списания не будет.", "Disconnected. No further fee."),
    "htv.equipment": ("Оборудование", "Equipment"),
    "htv.rented": ("в аренде", "rented"),
    "htv.owned": ("собственное", "owned"),
    "htv.traffic": ("Трафик и просмотр ТВ за 14 дней", "Traffic and TV viewing, 14 days"),
    "htv.capped": ("Лимит трафика исчерпан: скорость 1 Мбит/с до конца месяца.",
                    "Traffic cap reached: 1 Mbit/s to the end of the month."),
    "htv.used": ("Трафик за месяц", "Traffic this month"),
    "htv.no_usage": ("Данных пока нет: они появятся после первого дня работы.",
                     "No data yet: it appears after the first day of use."),
    "htv.no_equipment": ("Своё оборудование не указано, в аренде ничего нет.", "No equipment rented or listed."),
    "htv.history": ("История платежей и списаний", "Payments and charges"),
    "htv.promo": ("Акция «20 % возврата»", "“20 % back”"),
    "htv.promo_text": ("Каждый месяц на баланс возвращается 20 % абонентской платы за прошлый месяц.",
                        "Every month 20 % of last month's fees come back to the balance."),
    "htv.promo_join": ("Участвовать", "Take part"),
    "htv.promo_in": ("Вы участвуете с {since}. Ожидаемый возврат за этот месяц: {expected}.",
                      "Taking part since {since}. Expected return for this month: {expected}."),
    "htv.requests": ("Заявки и обращения", "Requests"),
    "htv.connect_request": ("Заявка на подключение", "Connection request"),
    "htv.address": ("Адрес", "Address"),
    "htv.contact": ("Контактный номер", "Contact number"),
    "htv.call_time": ("Удобное время звонка", "A time to call"),
    "htv.send": ("Отправить", "Send"),
    "htv.request_sent": ("Заявка {number} принята. Мы позвоним Вам в рабочее время.",
                          "Request {number} received. We will call you in working hours."),
    "htv.problem": ("Сообщить о проблеме", "Report a problem"),
    "htv.problem_text": ("Что случилось", "What is wrong"),
    "htv.problem_sent": ("Обращение {number} принято.", "Report {number} received."),
    "htv.status_sms": ("Запросить статус обращений", "Get the statuses by SMS"),
    "htv.status_sent": ("Статусы отправлены SMS на номер {phone}.", "Statuses sent by SMS to {phone}."),
    "htv.link_title": ("Добавить договор «Интернет и ТВ»", "Add an Internet & TV contract"),
    "htv.link_hint": ("Код придёт на контактный номер договора.", "The code goes to the contract's contact number."),
    "htv.link_code": ("Код из SMS", "Code from the SMS"),
    "htv.linked": ("Договор добавлен. Переключайтесь в шапке.", "Contract added. Switch in the header."),
    "htv.svc.internet": ("Интернет", "Internet"),
    "htv.svc.tv": ("ТВ", "TV"),
    "htv.svc.equipment": ("Оборудование", "Equipment"),
    "htv.svc.payment": ("Оплата", "Payment"),
    "htv.svc.static_ip": ("Статический IP", "Static IP"),
    "htv.svc.antivirus": ("Антивирус", "Antivirus"),
    "htv.status.active": ("Услуги работают", "Services on"),
    "htv.status.suspended": ("Приостановлено", "Suspended"),
})


class HomeLoginState(UiState):
    """The «Интернет и ТВ» side of /login: contract + code or password, and recovery by a 15-minute code."""

    kind: str = "mobile"  # mobile | home
    step: str = "contract"  # contract | code | recover | recover_code
    contract_input: str = ""
    error: str = ""
    notice: str = ""
    busy: bool = False
    _attempt_id: str = ""
    _contract: str = ""

    @rx.event
    def set_kind(self, kind: str | list[str]):
        self.kind = "home" if kind == "home" else "mobile"
        self.error = self.notice = ""
        self.step = "contract"

    @rx.event
    def set_contract_input(self, value: str):
        self.contract_input = str(value)[:20]

    @rx.event
    def to_recover(self):
        self.step, self.error, self.notice = "recover", "", ""

    @rx.event
    def to_start(self):
        self.step, self.error = "contract", ""

    def _fail(self, exc: DomainError) -> None:
        self.busy = False
        self.error = self._msg(exc)

    async def _send(self, form: dict, purpose: str, next_step: str):
        contract_text, client, now = str(form.get("contract", "")), self._client(), runtime.now()
        self.error = ""
        try:
            req = await write(lambda s: home_access.send_code(session=s, contract_text=contract_text,
                                                              purpose=purpose, client=client, now=now),
                              keep_on=KEEP_FAILURES)
        except DomainError as exc:
            return self._fail(exc)
        self._attempt_id, self._contract = req.attempt_id, home.normalize_contract(contract_text)
        self.step = next_step
        self.notice = self.t["hlogin.code_sent"]

    @rx.event
    async def request_code(self, form: dict):
        await self._send(form, "home_login", "code")

    @rx.event
    async def request_recovery(self, form: dict):
        await self._send(form, "home_recover", "recover_code")

    async def _grant(self, fn):
        binding = self._prelogin()
        if binding is None:
            return rx.call_script("window.location.replace('/api/v1/session/prelogin?next=%2Flogin')")
        try:
            grant = await write(lambda s: fn(s, binding), keep_on=KEEP_FAILURES)
        except DomainError as exc:
            return self._fail(exc)
        return rx.call_script(f"window.location.assign('/api/v1/session/establish?ticket={grant.ticket}"
                              f"&next=%2Finternet-tv')")

    @rx.event
    async def submit_code(self, form: dict):
        code = "".join(ch for ch in str(form.get("code", "")) if ch.isdigit())
        attempt, contract = self._attempt_id, self._contract
        return await self._grant(lambda s, b: home_access.login_with_code(
            session=s, contract_text=contract, attempt_id=attempt, code=code, now=runtime.now(), binding=b,
            session_now=runtime.session_now()))

    @rx.event
    async def submit_password(self, form: dict):
        contract_text, password = str(form.get("contract", "")), str(form.get("password", ""))
        return await self._grant(lambda s, b: home_access.login_with_password(
            session=s, contract_text=contract_text, password=password, now=runtime.now(), binding=b,
            session_now=runtime.session_now()))

    @rx.event
    async def submit_recovery(self, form: dict):
        code = "".join(ch for ch in str(form.get("code", "")) if ch.isdigit())
        password, attempt, contract = str(form.get("password", "")), self._attempt_id, self._contract
        try:
            await write(lambda s: home_access.recover(session=s, contract_text=contract, attempt_id=attempt,
                                                      code=code, new_password=password, now=runtime.now()),
                        keep_on=KEEP_FAILURES)
        except DomainError as exc:
            return self._fail(exc)
        self.step, self.error, self.notice = "contract", "", self.t["hlogin.recovered"]


class HomeTvState(SessionState):
    """/internet-tv: the contract the session shows (a home login's own, or a linked one)."""

    loaded: bool = False
    has_home: bool = False
    contract: str = ""
    contract_label: str = ""
    address: str = ""
    status: str = ""
    status_label: str = ""
    balance: str = ""
    negative: bool = False
    tariff_code: str = ""
    tariff: str = ""
    tariff_speed: str = ""
    monthly: str = ""
    capped: bool = False
    used: str = ""
    contact_label: str = ""
    tariffs: list[dict[str, str]] = []
    packages: list[dict[str, str]] = []
    options: list[dict[str, str]] = []
    equipment: list[dict[str, str]] = []
    usage: list[dict[str, str]] = []
    history: list[dict[str, str]] = []
    requests: list[dict[str, str]] = []
    promo_in: bool = False
    promo_text: str = ""
    returns: list[dict[str, str]] = []
    # the cost first: a quote or preview waiting for its confirmation
    pending_code: str = ""
    pending_kind: str = ""  # connect | switch
    pending_text: str = ""
    message: str = ""
    error: str = ""
    pay_error: str = ""
    request_error: str = ""
    problem_error: str = ""
    link_step: str = "contract"  # contract | code
    link_error: str = ""
    _link_attempt: str = ""
    _link_contract: str = ""
    _pay_key: str = ""

    def _fmt(self, kopecks: int) -> str:
        return format_rub(kopecks, self._lang())

    @rx.event
    async def load(self):
        info = await self._session()
        if info is None:
            return await self._gone()
        await self._load_header(info)
        lang = self._lang()

        def fn(s):
            acc = home_access.current_home(s, info)
            return None if acc is None else self._collect(s, acc, lang)

        data = await query(fn)
        self.has_home = data is not None
        if data:
            for k, v in data.items():
                setattr(self, k, v)
            self.msisdn = "home:" + self.contract
            self.msisdn_label = self.contract_label
        self.loaded = True

    def _collect(self, s, acc: HomeAccount, lang: str) -> dict:
        en = lang == "en"
        now = runtime.now()
        tariff = s.get(home.HomeTariff, acc.tariff_code)
        active = set(home.active_codes(s, acc.id))

        def product_rows(kind):
            return [{"code": p.code, "name": p.name_en if en else p.name_ru,
                     "desc": p.description_en if en else p.description_ru, "fee": self._fmt(p.fee_kopecks),
                     "on": "1" if p.code in active else "0",
                     "included": "1" if p.code == tariff.tv_package_code else "0"}
                    for p in home.products(s, kind)]

        days = home.usage_days(s, acc.id, moscow_date(now) - timedelta(days=13))
        peak = max([d.bytes_down + d.bytes_up for d in days] + [1])
        peak_tv = max([d.tv_minutes for d in days] + [1])
        period = home.Period(acc.period_start, acc.period_end)
        return dict(
            contract=acc.contract, contract_label=home.format_contract(acc.contract), address=acc.address,
            status=acc.status, status_label=tr(f"htv.status.{acc.status}", lang),
            balance=self._fmt(acc.balance_kopecks), negative=acc.balance_kopecks < 0, tariff_code=tariff.code,
            tariff=tariff.name_en if en else tariff.name_ru,
            tariff_speed=f"{tariff.down_mbps}/{tariff.up_mbps} {'Mbit/s' if en else 'Мбит/с'}",
            monthly=self._fmt(home.monthly_total(s, acc)), capped=home.is_capped(s, acc),
            used=tr("htv.used", lang) + ": " + format_data(acc.period_used_kb, lang) + (f" / {format_data(tariff.cap_kb, lang)}" if tariff.cap_kb
                                                          else ""),
            contact_label=auth.format_msisdn(acc.contact_msisdn),
            tariffs=[{"code": t.code, "name": t.name_en if en else t.name_ru, "fee": self._fmt(t.fee_kopecks),
                      "desc": t.description_en if en else t.description_ru,
                      "current": "1" if t.code == acc.tariff_code else "0"} for t in home.tariffs(s)],
            packages=product_rows("tv_package"), options=product_rows("option"),
            equipment=[{"label": " · ".join(x for x in (
                ("Router" if e.kind == "router" else "TV box") if en else ("Роутер" if e.kind == "router" else
                                                                           "ТВ-приставка"),
                e.model, tr("htv.rented" if e.ownership == "rented" else "htv.owned", lang),
                self._fmt(e.rent_kopecks) if e.rent_kopecks else "") if x)}
                       for e in home.equipment(s, acc.id)],
            usage=[{"day": d.day.strftime("%d.%m"), "data": format_data(ceil_kb(d.bytes_down + d.bytes_up), lang),
                    "pct": str(max(2, (d.bytes_down + d.bytes_up) * 100 // peak)),
                    "tv": f"{d.tv_minutes // 60}:{d.tv_minutes % 60:02d}",
                    "tv_pct": str(max(0, d.tv_minutes * 100 // peak_tv))} for d in days],
            history=[{"when": fmt_datetime(e.created_at), "what": e.description_en if en else e.description,
                      "amount": format_rub(e.amount_kopecks, lang, sign=True),
                      "kind": e.kind} for e in home.history(s, acc.id, 50)],
            requests=[{"number": r.number, "kind": (r.kind if en else ("подключение" if r.kind == "connect"
                                                                     else "проблема")),
                       "status": r.status, "status_label": home.status_word(r.status, lang),
                       "when": fmt_date(r.created_at)}
                      for r in home.requests_of(s, account_id=acc.account_id, home_account_id=acc.id)],
            promo_in=acc.promo_since is not None,
            promo_text=tr("htv.promo_in", lang).format(
                since=fmt_date(acc.promo_since), expected=self._fmt(home.cashback_for(s, acc, period)))
            if acc.promo_since else "",
            returns=[{"when": fmt_date(e.created_at), "what": e.description_en if en else e.description,
                      "amount": format_rub(e.amount_kopecks, lang, sign=True)} for e in home.returns(s, acc.id)],
        )

    async def _act(self, fn, error_var: str = "error"):
        """Run fn(session, info, contract-row) on the shown contract; a refusal shows next to the form."""
        info = await self._session()
        if info is None:
            return await self._gone(), None
        contract = self.contract
        setattr(self, error_var, "")
        self.message = ""

        def run(s):
            acc = home_access.require_home(s, info, contract)
            acc = home.lock_home(s, acc.id)
            return fn(s, info, acc)

        try:
            return None, await write(run, keep_on=KEEP_FAILURES)
        except DomainError as exc:
            setattr(self, error_var, self._msg(exc))
            return None, None

    @rx.event
    async def ask_connect(self, code: str):
        code = str(code)
        redirect, q = await self._act(lambda s, info, acc: home.quote(session=s, home=acc, code=code,
                                                                       now=runtime.now()))
        if redirect is not None:
            return redirect
        if q is not None:
            self.pending_code, self.pending_kind = q.code, "connect"
            self.pending_text = (q.name_en if self._lang() == "en" else q.name_ru) + ". " + self.t["htv.quote"].format(
                now=self._fmt(q.now_kopecks), days=q.remaining_days, monthly=self._fmt(q.monthly_kopecks))

    @rx.event
    async def ask_switch(self, code: str):
        code = str(code)
        redirect, p = await self._act(lambda s, info, acc: home.preview_switch(session=s, home=acc, new_code=code,
                                                                                now=runtime.now()))
        if redirect is not None:
            return redirect
        if p is not None:
            self.pending_code, self.pending_kind = p.code, "switch"
            self.pending_text = (p.name_en if self._lang() == "en" else p.name_ru) + ". " + \
                self.t["htv.switch_preview"].format(now=self._fmt(p.now_kopecks), days=p.remaining_days,
                                                     all=p.period_days, monthly=self._fmt(p.monthly_kopecks)) + \
                (" " + self.t["htv.drops"] if p.drops else "")

    @rx.event
    def cancel_pending(self):
        self.pending_code = self.pending_kind = self.pending_text = ""

    @rx.event
    async def confirm_pending(self):
        code, kind = self.pending_code, self.pending_kind
        if not code:
            return
        if kind == "switch":
            fn = lambda s, info, acc: home.switch_tariff(session=s, home=acc, new_code=code, now=runtime.now())  # noqa: E731
        else:
            fn = lambda s, info, acc: home.connect(session=s, home=acc, code=code, now=runtime.now())  # noqa: E731
        redirect, res = await self._act(fn)
        if redirect is not None:
            return redirect
        self.pending_code = self.pending_kind = self.pending_text = ""
        if res is not None:
            self.message = self.t["htv.connected"].format(name=res.name_en if self._lang() == "en" else res.name_ru,
                                                           now=self._fmt(res.now_kopecks))
            return HomeTvState.load

    @rx.event
    async def disconnect(self, code: str):
        code = str(code)
        redirect, _ = await self._act(lambda s, info, acc: home.disconnect(session=s, home=acc, code=code,
                                                                           now=runtime.now()) or True)
        if redirect is not None:
            return redirect
        if not self.error:
            self.message = self.t["htv.disconnected"]
            return HomeTvState.load

    @rx.event
    async def pay(self, form: dict):
        self.pay_error = ""
        try:
            amount = parse_rub(str(form.get("amount", "")))
            card = payments.parse_card(str(form.get("card", "")), str(form.get("expiry", "")),
                                       str(form.get("cvc", "")), runtime.now())
        except (DomainError, ValueError) as exc:
            self.pay_error = self._msg(exc) if isinstance(exc, DomainError) else \
                self._msg(Invalid("amount: a sum in roubles, e.g. 500", "Сумма в рублях, например 500"))
            return
        token = payments.tokenize(card)
        key = self._pay_key = self._pay_key or secrets.token_urlsafe(12)

        def fn(s, info, acc):
            declined = payments.gateway_charge(token, amount, runtime.now())
            return home.pay(session=s, home=acc, amount_kopecks=amount, key=f"home-card:{key}", now=runtime.now(),
                            method="card", declined=declined, what_ru=f"Оплата картой {token.brand} *{token.last4}",
                            what_en=f"Card payment {token.brand} *{token.last4}")

        redirect, res = await self._act(fn, "pay_error")
        if redirect is not None:
            return redirect
        self._pay_key = ""
        if res is None:
            return
        if res.status == "declined":
            reason = payments.DECLINES.get(res.decline_reason or "", ("declined", "Платёж отклонён"))
            self.pay_error = reason[0] if self._lang() == "en" else reason[1]
            return
        self.message = self.t["htv.paid"].format(amount=self._fmt(res.amount_kopecks))
        return HomeTvState.load

    @rx.event
    async def join_promo(self):
        redirect, _ = await self._act(lambda s, info, acc: home.join_promo(session=s, home=acc, now=runtime.now()))
        if redirect is not None:
            return redirect
        return HomeTvState.load

    @rx.event
    async def file_request(self, form: dict):
        services = [k for k in home.CONNECT_SERVICES if form.get(f"svc_{k}")]
        address, contact, call_time = (str(form.get("address", "")), str(form.get("contact", "")),
                                       str(form.get("call_time", "")))

        def fn(s, info, acc):
            return home.file_connect_request(session=s, account_id=acc.account_id, address=address, services=services,
                                             contact=contact, call_time=call_time, now=runtime.now(),
                                             home_account_id=acc.id)

        redirect, req = await self._act(fn, "request_error")
        if redirect is not None:
            return redirect
        if req is not None:
            self.message = self.t["htv.request_sent"].format(number=req.number)
            return HomeTvState.load

    @rx.event
    async def report_problem(self, form: dict):
        service, text = str(form.get("service", "")), str(form.get("text", ""))
        redirect, req = await self._act(lambda s, info, acc: home.file_problem(
            session=s, account_id=acc.account_id, home=acc, service=service, text=text, now=runtime.now()),
            "problem_error")
        if redirect is not None:
            return redirect
        if req is not None:
            self.message = self.t["htv.problem_sent"].format(number=req.number)
            return HomeTvState.load

    @rx.event
    async def status_sms(self):
        redirect, n = await self._act(lambda s, info, acc: home.status_sms(
            session=s, account_id=acc.account_id, home=acc, to_msisdn=acc.contact_msisdn, now=runtime.now()))
        if redirect is not None:
            return redirect
        if n:
            self.message = self.t["htv.status_sent"].format(phone=self.contact_label)

    @rx.event
    async def link_request(self, form: dict):
        info = await self._session()
        if info is None:
            return await self._gone()
        contract_text, client, now = str(form.get("contract", "")), self._client(), runtime.now()
        self.link_error = ""
        try:
            req = await write(lambda s: home_access.request_link(session=s, info=info, contract_text=contract_text,
                                                                 client=client, now=now), keep_on=KEEP_FAILURES)
        except DomainError as exc:
            self.link_error = self._msg(exc)
            return
        self._link_attempt, self._link_contract, self.link_step = req.attempt_id, contract_text, "code"

    @rx.event
    async def link_confirm(self, form: dict):
        info = await self._session()
        if info is None:
            return await self._gone()
        code = "".join(ch for ch in str(form.get("code", "")) if ch.isdigit())
        attempt, contract = self._link_attempt, self._link_contract
        try:
            await write(lambda s: home_access.confirm_link(session=s, info=info, contract_text=contract,
                                                           attempt_id=attempt, code=code, now=runtime.now()),
                        keep_on=KEEP_FAILURES)
        except DomainError as exc:
            self.link_error = self._msg(exc)
            return
        self.link_step, self.link_error = "contract", ""
        self.message = self.t["htv.linked"]
        token = self._token()
        await write(lambda s: home_access.select_home(session=s, token=token, info=info, contract=contract))
        return HomeTvState.load


def ceil_kb(n: int) -> int:
    return -(-n // 1024)

