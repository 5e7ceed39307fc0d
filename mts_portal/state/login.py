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

import reflex as rx
from sqlalchemy import select

from mts_portal.core import auth, runtime
from mts_portal.core.errors import DomainError, Locked
from mts_portal.core.models import SmsMessage
from mts_portal.core.settings import get_settings
from mts_portal.i18n import add
from mts_portal.state.base import KEEP_FAILURES, UiState, query, wipe_tab, write

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
    demo_logins: list[dict[str, str]] = []
    ready: bool = False  # this page's websocket carries the pre-login nonce: the forms may be used
    _attempt_id: str = ""
    _msisdn: str = ""

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
            info = await query(lambda s: auth.validate_session(session=s, token=token, now=runtime.now(),
                                                               touch_it=False))
            if info is not None:
                return rx.redirect("/")
        await wipe_tab(self)  # nothing of an earlier subscriber stays in this tab
        reason = self.router.url.query_parameters.get("e", "")
        self.notice = self.t.get(f"login.e.{reason}", "") if reason else ""
        self.error = ""
        self.busy = False
        self.locked = False
        if self._prelogin() is None:
            if self.router.url.query_parameters.get("pl", ""):  # been through prelogin: cookies are refused
                self.error = self.t["login.no_cookies"]
                return
            return self._to_prelogin()
        self.ready = True
        if get_settings().demo:
            from simulator.demo import demo_logins

            self.demo_logins = await query(lambda s: demo_logins(s, limit=4))

    @rx.event
    def set_mode(self, mode: str | list[str]):
        self.mode = "password" if mode == "password" else "code"
        self.error = ""
        self.step = "phone"

    @rx.event
    def set_phone_input(self, value: str):
        self.phone_input = str(value)[:24]

    @rx.event
    def pick_demo(self, label: str):
        """Demo: a click on a demo number fills the phone field."""
        self.phone_input = str(label)[:24]
        self.step = "phone"
        self.error = ""

    def _refused(self, exc: DomainError) -> None:
        self.busy = False
        self.locked = isinstance(exc, Locked)
        self.error = self._msg(exc)

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
        self.error = ""
        self._attempt_id = ""

    @rx.event
    async def request_code(self, form: dict):
        self.error = ""
        try:
            msisdn = auth.normalize_msisdn(str(form.get("phone", "")))
        except DomainError as exc:
            self.error = self._msg(exc)
            return
        if self._prelogin() is None:
            yield self._to_prelogin()
            return
        self.busy = True
        yield
        client = self._client()
        try:
            req = await write(lambda s: auth.request_code(session=s, msisdn=msisdn, purpose="login", client=client,
                                                          now=runtime.now()))
        except DomainError as exc:
            self._refused(exc)
            return
        self._attempt_id = req.attempt_id
        self._msisdn = msisdn
        self.phone = msisdn
        self.phone_label = auth.format_msisdn(msisdn)
        self.step = "code"
        self.busy = False
        if get_settings().demo:
            phone = await self.get_state(PhoneState)
            phone.number = auth.format_msisdn(msisdn)
            yield PhoneState.refresh

    @rx.event
    async def submit_code(self, form: dict):
        self.error = ""
        code = "".join(ch for ch in str(form.get("code", "")) if ch.isdigit())
        if not self._attempt_id:
            self.step = "phone"
            return
        self.busy = True
        yield
        attempt, msisdn, client = self._attempt_id, self._msisdn, self._client()
        yield await self._login(lambda s, b: auth.login_with_code(session=s, attempt_id=attempt, msisdn=msisdn,
                                                                  code=code, client=client, now=runtime.now(),
                                                                  binding=b))

    @rx.event
    async def submit_password(self, form: dict):
        self.error = ""
        try:
            msisdn = auth.normalize_msisdn(str(form.get("phone", "")))
        except DomainError as exc:
            self.error = self._msg(exc)
            return
        password = str(form.get("password", ""))
        self.busy = True
        yield
        client = self._client()
        yield await self._login(lambda s, b: auth.login_with_password(session=s, msisdn=msisdn,
                                                                      password=password, client=client,
                                                                      now=runtime.now(), binding=b))

class PhoneState(UiState):
    """Demo mode only: the SMS inbox of any number, so a demo can log in by code."""

    number: str = ""
    messages: list[dict[str, str]] = []
    error: str = ""

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
            self.error = self._msg(exc)
            return
        text = str(form.get("text", ""))[:160]
        from mts_portal.core import family

        try:
            await write(lambda s: family.sms_reply(s, msisdn, text, runtime.now()))
        except DomainError as exc:
            self.error = self._msg(exc)
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
            self.error = self._msg(exc)
            self.messages = []
            return
        self.error = ""

        def fn(s):
            rows = s.exec(select(SmsMessage).where(SmsMessage.to_msisdn == msisdn)
                          .order_by(SmsMessage.created_at.desc(), SmsMessage.id.desc()).limit(8)).scalars().all()
            from mts_portal.core.clock import fmt_datetime

            return [{"id": str(m.id), "from": m.sender, "text": m.text, "when": fmt_datetime(m.created_at)}
                    for m in rows]

        self.messages = await query(fn)
