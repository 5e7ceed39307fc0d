"""Login by phone + one-time SMS code, or phone + password.

The attempt id that binds a code to this login attempt stays on the server
(a backend-only var). A proven login becomes a one-time ticket; the browser
takes it to /api/v1/session/establish, which sets the HttpOnly cookie.

Login CSRF: the ticket is bound to this browser's pre-login nonce, an HttpOnly
SameSite=Strict cookie from /api/v1/session/prelogin that this page's websocket
carries; establish redeems the ticket only with the same cookie. A page whose
websocket has no nonce goes through prelogin once (a full page load) first.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import reflex as rx
from sqlalchemy import select

from mts_portal.core import auth, runtime
from mts_portal.core.catalog import default_catalog
from mts_portal.core.clock import as_utc
from mts_portal.core.errors import DomainError, Locked
from mts_portal.core.models import Line, RateEvent, SmsMessage
from mts_portal.core.settings import get_settings
from mts_portal.i18n import add
from mts_portal.state.base import (
    KEEP_FAILURES,
    UiState,
    both,
    claim_watch,
    query,
    release_watch,
    wipe_tab,
    write,
)

RESEND_AFTER_S = 60  # a new code may be asked for a minute after the last one (and within the hourly limit)

add({
    "login.e.idle": ("Сеанс завершён из-за 20 минут бездействия. Войдите снова.",
                     "You were logged out after 20 minutes of inactivity. Please log in again."),
    "login.e.expired": ("Сеанс завершён. Войдите снова.", "Your session has ended. Please log in again."),
    "login.e.logout": ("Вы вышли из личного кабинета.", "You have logged out."),
    "login.e.lost": ("Номер заблокирован как утраченный: вход с него недоступен.",
                     "The number is blocked as lost: logging in with it is off."),
    "login.e.unauthorized": ("Ссылка для входа устарела. Войдите ещё раз.", "The login link expired. Log in again."),
    "login.e.line_lost": ("Номер заблокирован как утраченный. Войдите с другого номера этого счёта.",
                          "The number is blocked as lost. Log in with another number of the account."),
    "login.e.login_binding": ("Вход был начат не в этом браузере. Войдите ещё раз на этой странице.",
                              "The login was not started in this browser. Please log in again here."),
    "login.e.password": ("Пароль изменён, сеанс завершён. Войдите снова.",
                         "The password was changed and this session ended. Please log in again."),
    "login.no_cookies": ("Для входа браузер должен принимать cookies этого сайта.",
                         "To log in, the browser must accept this site's cookies."),
})


def code_wait_s(session, msisdn: str, now: datetime) -> int:
    """Seconds until the number may be sent another code: a minute after the last one, and later when the
    hourly limit (MTS_SMS_PER_NUMBER_PER_HOUR) is used up — until the oldest counted code leaves the hour.
    The same for known and unknown numbers (every request is counted, delivered or not)."""
    limit = get_settings().code_limit_per_number
    sent = list(session.exec(select(RateEvent.at).where(RateEvent.key == f"sms:{msisdn}",
                                                       RateEvent.at > now - auth.RATE_WINDOW)
                             .order_by(RateEvent.at)).scalars())
    wait = 0.0
    if sent:
        wait = RESEND_AFTER_S - (now - as_utc(sent[-1])).total_seconds()
    if len(sent) >= limit > 0:
        wait = max(wait, (as_utc(sent[-limit]) + auth.RATE_WINDOW - now).total_seconds())
    return max(0, int(wait + 0.999))


def demo_login_rows(session, lang: str) -> list[dict[str, str]]:
    """The demo numbers of the login page, their tariff named in the interface language."""
    from simulator.demo import demo_logins

    rows = demo_logins(session, limit=5)
    codes = dict(session.exec(select(Line.msisdn, Line.tariff_code)
                              .where(Line.msisdn.in_([r["msisdn"] for r in rows]))).all())
    tariffs = default_catalog().tariffs
    return [{**r, "tariff": tariffs[codes[r["msisdn"]]].name(lang) if codes.get(r["msisdn"]) in tariffs
             else r["tariff"]} for r in rows]


class LoginState(UiState):
    mode: str = "code"  # code | password
    step: str = "phone"  # phone | code
    phone: str = ""
    phone_label: str = ""
    phone_input: str = ""
    error: str = ""
    notice: str = ""
    locked: bool = False
    busy: bool = False
    resend_wait: int = 0  # seconds until «Отправить код ещё раз» works (counts down on screen)
    resend_text: str = ""  # the wait as shown: '0:42' or '56 мин'
    demo_logins: list[dict[str, str]] = []
    ready: bool = False  # this page's websocket carries the pre-login nonce: the forms may be used
    _attempt_id: str = ""
    _msisdn: str = ""
    _resend_at: float = 0.0  # when a new code may be asked for (a POSIX timestamp on the portal's clock)
    _error_pair: list[str] = []  # the shown error / notice in both languages (a language switch re-shows it)
    _notice_pair: list[str] = []

    def _show_error(self, pair: tuple[str, str] | list[str]) -> None:
        self._error_pair = list(pair)
        self.error = self._pick(pair)

    def _show_notice(self, pair: tuple[str, str] | list[str]) -> None:
        self._notice_pair = list(pair)
        self.notice = self._pick(pair)

    def _clear_error(self) -> None:
        self._error_pair = []
        self.error = ""

    def _to_prelogin(self):
        """A full page load through the route that gives the browser its pre-login nonce."""
        params = {k: v for k, v in self.router.url.query_parameters.items() if k == "e"}
        query_s = "&".join(f"{k}={v}" for k, v in params.items() if str(v).replace("_", "").isalnum())
        target = "/login?" + (query_s + "&" if query_s else "") + "pl=1"
        return rx.call_script(f"window.location.replace('/api/v1/session/prelogin?next=' + "
                              f"encodeURIComponent('{target}'))")

    @rx.event
    async def load(self):
        token = self._token()  # already logged in? go home
        if token:
            info = await query(lambda s: auth.validate_session(session=s, token=token, now=runtime.session_now(),
                                                               touch_it=False))
            if info is not None:
                return rx.redirect("/")
        await wipe_tab(self)  # nothing of an earlier subscriber stays in this tab
        reason = str(self.router.url.query_parameters.get("e", ""))
        self._show_notice(both(f"login.e.{reason}") if f"login.e.{reason}" in self.t else ())
        self._clear_error()
        self.busy = False
        self.locked = False
        if self._prelogin() is None:
            if self.router.url.query_parameters.get("pl", ""):  # been through prelogin: cookies are refused
                self._show_error(both("login.no_cookies"))
                return
            return self._to_prelogin()
        self.ready = True
        if get_settings().demo:
            lang = self._lang()
            self.demo_logins = await query(lambda s: demo_login_rows(s, lang))

    @rx.event
    async def relang(self):
        """After a language change: the shown notice, error and demo list in the new language."""
        self.error = self._pick(self._error_pair)
        self.notice = self._pick(self._notice_pair)
        self._set_resend_text()
        if self.demo_logins and get_settings().demo:
            lang = self._lang()
            self.demo_logins = await query(lambda s: demo_login_rows(s, lang))
        return PhoneState.relang

    @rx.event
    def set_mode(self, mode: str | list[str]):
        self.mode = "password" if mode == "password" else "code"
        self._clear_error()
        self.step = "phone"

    @rx.event
    def set_phone_input(self, value: str):
        self.phone_input = str(value)[:24]

    @rx.event
    def pick_demo(self, label: str):
        """Demo: a click on a demo number fills the phone field."""
        self.phone_input = str(label)[:24]
        self.step = "phone"
        self._clear_error()

    def _refused(self, exc: DomainError) -> None:
        self.busy = False
        self.locked = isinstance(exc, Locked)
        self._show_error(both(exc))

    async def _login(self, fn):
        """Run a credential check; a refusal is shown (and counted), a grant becomes a session.
        `fn(session, binding)`: the grant is bound to this browser's pre-login nonce."""
        binding = self._prelogin()
        if binding is None:
            self.busy = False
            return self._to_prelogin()
        try:
            grant = await write(lambda s: fn(s, binding), keep_on=KEEP_FAILURES)
        except DomainError as exc:
            self._refused(exc)
            return None
        return rx.call_script(f"window.location.assign('/api/v1/session/establish?ticket={grant.ticket}')")

    @rx.event
    def change_number(self):
        self.step = "phone"
        self._clear_error()
        self._attempt_id = ""

    def _set_resend_text(self) -> None:
        left = self.resend_wait
        if left > 90:
            self.resend_text = f"{(left + 59) // 60}\u00a0{'min' if self._lang() == 'en' else 'мин'}"
        else:
            self.resend_text = f"{left // 60}:{left % 60:02d}"

    async def _send_code(self, msisdn: str):
        """Send a login code to `msisdn` (the newer code voids the older); start the resend countdown."""
        client = self._client()
        now = runtime.now()

        def fn(s):
            req = auth.request_code(session=s, msisdn=msisdn, purpose="login", client=client, now=now)
            return req, code_wait_s(s, msisdn, now)

        req, wait = await write(fn)
        self._attempt_id = req.attempt_id
        self._msisdn = msisdn
        self.phone = msisdn
        self.phone_label = auth.format_msisdn(msisdn)
        self.step = "code"
        self.busy = False
        self._resend_at = now.timestamp() + wait
        self.resend_wait = wait
        self._set_resend_text()

    @rx.event
    async def request_code(self, form: dict):
        if self.busy:  # a double click: the first request is still under way
            return
        try:
            msisdn = auth.normalize_msisdn(str(form.get("phone", "")))
        except DomainError as exc:
            self._show_error(both(exc))
            return
        if self.step == "code" and msisdn == self._msisdn and self.resend_wait > 0:
            return  # a second submit of the phone form that was already answered (a double click): one SMS
        self._clear_error()
        if self._prelogin() is None:
            yield self._to_prelogin()
            return
        self.busy = True
        yield
        try:
            await self._send_code(msisdn)
        except DomainError as exc:
            self._refused(exc)
            return
        yield await self._after_send()

    async def _after_send(self) -> list:
        """The countdown, and in demo mode the phone panel showing the number's inbox."""
        events: list = [LoginState.count_down]
        if get_settings().demo:
            phone = await self.get_state(PhoneState)
            phone.number = self.phone_label
            events.append(PhoneState.refresh)
        return events

    @rx.event
    async def resend(self):
        """«Отправить код ещё раз»: only once the countdown is over (the server decides, not the link)."""
        if self.busy or self.step != "code" or not self._msisdn:
            return
        if runtime.now().timestamp() < self._resend_at:
            return
        self._clear_error()
        self.busy = True
        yield
        try:
            await self._send_code(self._msisdn)
        except DomainError as exc:
            self._refused(exc)
            return
        self._show_notice(both("login.resent"))
        yield await self._after_send()

    @rx.event(background=True)
    async def count_down(self):
        """The resend countdown on screen, on the portal's clock (the one the rate limit counts with): once
        a second (every 15 s while more than a minute and a half is left); one per tab, it stops when the
        wait is over or the tab left the code step."""
        async with self:
            client = self.router.session.client_token
            if not claim_watch("resend", client, 0):
                return
        try:
            while True:
                async with self:
                    if self.step != "code":
                        self.resend_wait = 0
                        return
                    left = max(0, int(self._resend_at - runtime.now().timestamp() + 0.999))
                    self.resend_wait = left
                    self._set_resend_text()
                if left <= 0:
                    return
                await asyncio.sleep(1.0 if left <= 90 else 15.0 if left > 105 else left - 90)
        finally:
            release_watch("resend", client)

    @rx.event
    async def submit_code(self, form: dict):
        self._clear_error()
        code = auth.typed_code(form.get("code"))
        if not self._attempt_id:
            self.step = "phone"
            return
        if code is None:
            # not a code at all (letters, too short): said so, and not counted as a wrong attempt
            self.locked = False
            self._show_error(both("login.code_format"))
            return
        if self.busy:
            return
        self.busy = True
        yield
        attempt, msisdn, client = self._attempt_id, self._msisdn, self._client()
        yield await self._login(lambda s, b: auth.login_with_code(session=s, attempt_id=attempt, msisdn=msisdn,
                                                                  code=code, client=client, now=runtime.now(),
                                                                  binding=b, session_now=runtime.session_now()))

    @rx.event
    async def submit_password(self, form: dict):
        self._clear_error()
        try:
            msisdn = auth.normalize_msisdn(str(form.get("phone", "")))
        except DomainError as exc:
            self._show_error(both(exc))
            return
        password = str(form.get("password", ""))
        if not password:
            # an empty password is not a wrong one: said at the field, nothing counted
            self._show_error(both("login.password_empty"))
            return
        self.busy = True
        yield
        client = self._client()
        yield await self._login(lambda s, b: auth.login_with_password(session=s, msisdn=msisdn,
                                                                      password=password, client=client,
                                                                      now=runtime.now(), binding=b,
                                                                      session_now=runtime.session_now()))

class PhoneState(UiState):
    """Demo mode only: the SMS inbox of any number, so a demo can log in by code."""

    number: str = ""
    messages: list[dict[str, str]] = []
    error: str = ""
    _error_pair: list[str] = []

    def _show_error(self, exc: DomainError | None) -> None:
        self._error_pair = list(both(exc)) if exc is not None else []
        self.error = self._pick(self._error_pair)

    @rx.event
    def relang(self):
        self.error = self._pick(self._error_pair)

    @rx.event
    def load(self):
        if not get_settings().demo:
            return rx.redirect("/login")
        number = self.router.url.query_parameters.get("n", "")
        if number:
            self.number = str(number)[:24]
            return PhoneState.refresh

    @rx.event
    def set_number(self, value: str):
        self.number = str(value)[:24]

    @rx.event
    async def reply(self, form: dict):
        """Demo: answer the service's SMS from this phone (e.g. «Да» to a family invitation)."""
        if not get_settings().demo:
            return
        try:
            msisdn = auth.normalize_msisdn(self.number)
        except DomainError as exc:
            self._show_error(exc)
            return
        text = str(form.get("text", ""))[:160]
        from mts_portal.core import family

        try:
            await write(lambda s: family.sms_reply(s, msisdn, text, runtime.now()))
        except DomainError as exc:
            self._show_error(exc)
            return
        return PhoneState.refresh

    @rx.event
    async def show(self, form: dict):
        self.number = str(form.get("number", ""))
        return PhoneState.refresh

    @rx.event
    async def refresh(self):
        if not get_settings().demo:  # the panel does not exist outside demo mode
            self.messages = []
            return
        try:
            msisdn = auth.normalize_msisdn(self.number)
        except DomainError as exc:
            self._show_error(exc)
            self.messages = []
            return
        self._show_error(None)

        def fn(s):
            rows = s.exec(select(SmsMessage).where(SmsMessage.to_msisdn == msisdn)
                          .order_by(SmsMessage.created_at.desc(), SmsMessage.id.desc()).limit(8)).scalars().all()
            from mts_portal.core.clock import fmt_datetime

            return [{"id": str(m.id), "from": m.sender, "text": m.text, "when": fmt_datetime(m.created_at)}
                    for m in rows]

        self.messages = await query(fn)
