"""Settings: password, SMS notices of debits, call forwarding, language."""

from __future__ import annotations

import time

import reflex as rx
from sqlalchemy import select

from mts_portal.core import auth, cabinet, runtime
from mts_portal.core.errors import DomainError
from mts_portal.core.models import Subscription
from mts_portal.i18n import add
from mts_portal.state.base import KEEP_FAILURES, SessionState, both, query, write

add({
    "settings.title": ("Настройки", "Settings"),
    "settings.password": ("Пароль для входа", "Login password"),
    "settings.password_set": ("Пароль установлен. Чтобы сменить его, укажите текущий пароль или код из SMS.",
                              "A password is set. To change it, give the current password or a code from SMS."),
    "settings.password_none": ("Пароля нет: вы входите по коду из SMS. Установите пароль, подтвердив его кодом.",
                               "No password yet: you log in with SMS codes. Set one, confirmed by a code."),
    "settings.get_code": ("Получить код", "Get a code"),
    "settings.code": ("Код из SMS", "Code from SMS"),
    "settings.code_sent": ("Код отправлен на", "Code sent to"),
    "settings.code_format": ("Код — это 6 цифр из SMS. Попытка не засчитана.",
                             "The code is the 6 digits from the SMS. This try was not counted."),
    "settings.notify": ("SMS о списаниях", "SMS about debits"),
    "settings.notify_hint": ("SMS и уведомление о каждом списании со счёта. Бесплатно.",
                             "An SMS and a notice for every debit. Free."),
    "settings.need_current": ("Введите текущий пароль или код из SMS", "Enter the current password or a code from SMS"),
    "settings.forward_empty": ("Введите номер для переадресации (выключить — кнопкой «Выключить»)",
                               "Enter the number to forward to (to stop forwarding, press Turn off)"),
    "settings.forward": ("Переадресация вызовов", "Call forwarding"),
    "settings.forward_to": ("Номер для переадресации", "Forward to"),
    "settings.forward_mode": ("Когда", "When"),
    "settings.forward_off": ("Выключить", "Turn off"),
    "settings.forward_on": ("Переадресация на", "Forwarding to"),
    "settings.forward_none": ("Переадресация выключена", "Forwarding is off"),
    "forward.always": ("Всегда", "Always"),
    "forward.busy": ("Если занято", "When busy"),
    "forward.no_answer": ("Если не отвечаю", "When I don't answer"),
    "forward.unreachable": ("Если недоступен", "When unreachable"),
    "settings.language": ("Язык интерфейса", "Interface language"),
    "settings.saved": ("Сохранено", "Saved"),
})


CODE_AGAIN_AFTER_S = 10  # a second «Получить код» within this is a double click: one SMS
PASSWORD_FORM_RESET = "document.getElementById('password-form')?.reset()"


class SettingsState(SessionState):
    code_sent_to: str = ""
    pwd_error: str = ""
    pwd_field: str = ""  # the field the password error is about: current | code | new | repeat | "" (none)
    sms_notify: bool = False
    forward_input: str = ""  # the number field (filled with the saved number)
    forward_mode: str = "always"  # the mode picker
    forward_label: str = ""  # the saved number, as shown in the status line ("" = forwarding off)
    forward_saved_mode: str = ""  # the saved mode, as shown in the status line
    forward_error: str = ""
    _code_attempt: str = ""
    _code_sent_at: float = 0.0
    _pwd_error_pair: list[str] = []
    _forward_error_pair: list[str] = []

    def _pwd_fail(self, field: str, pair: tuple[str, str] | list[str]) -> None:
        """Show a password-form error at its field; the form keeps what was typed."""
        self.pwd_field = field
        self._pwd_error_pair = list(pair)
        self.pwd_error = self._pick(pair)

    def _pwd_ok(self) -> None:
        self.pwd_field = ""
        self._pwd_error_pair = []
        self.pwd_error = ""

    def _forward_fail(self, pair: tuple[str, str] | list[str]) -> None:
        self._forward_error_pair = list(pair)
        self.forward_error = self._pick(pair)

    async def _reload(self, info: auth.SessionInfo) -> None:
        def fn(s):
            line = cabinet.selected_line(s, info)
            notify_on = s.exec(select(Subscription.id).where(
                Subscription.line_id == line.id, Subscription.code == "sms_notify",
                Subscription.active == True)).first() is not None  # noqa: E712
            return notify_on, line.call_forward_to, line.call_forward_mode

        self.sms_notify, to, mode = await query(fn)
        mode = mode if mode in cabinet.FORWARD_MODES else "always"
        self.forward_label = auth.format_msisdn(to) if to else ""
        self.forward_saved_mode = mode if to else ""
        self.forward_input = self.forward_label
        self.forward_mode = mode

    @rx.event
    async def load(self):
        info = await self._begin()
        if info is None:
            return await self._gone()
        self.code_sent_to = ""
        self._pwd_ok()
        self._forward_fail(())
        await self._reload(info)

    @rx.event
    def relang(self):
        """After a language change: the shown errors in the new language (what was typed stays)."""
        self.pwd_error = self._pick(self._pwd_error_pair)
        self.forward_error = self._pick(self._forward_error_pair)

    @rx.event
    async def send_code(self):
        info = await self._session()
        if info is None:
            return await self._gone()
        if self.code_sent_to and time.monotonic() - self._code_sent_at < CODE_AGAIN_AFTER_S:
            return  # a double click: the code just sent stands
        client = self._client()
        try:
            req = await write(lambda s: auth.request_code(session=s, msisdn=info.login_msisdn, purpose="password",
                                                          client=client, now=runtime.now()))
        except DomainError as exc:
            self._pwd_fail("code", both(exc))
            return
        self._code_attempt = req.attempt_id
        self._code_sent_at = time.monotonic()
        self.code_sent_to = auth.format_msisdn(info.login_msisdn)
        if self.pwd_field == "code":
            self._pwd_ok()

    @rx.event
    async def change_password(self, form: dict):
        """Set a new password with the current one or a code from SMS. An error is shown at the field it
        is about, and every field keeps what was typed; a success empties the form."""
        info = await self._session()
        if info is None:
            return await self._gone()
        new, repeat = str(form.get("new_password", "")), str(form.get("repeat_password", ""))
        self._forward_fail(())  # the forwarding card's old error goes
        current = str(form.get("current_password", "") or "") or None
        raw_code = "".join(ch for ch in str(form.get("code", "") or "") if ch not in " -\u00a0")
        try:
            auth.check_password_policy(new, info.login_msisdn)  # pure: before anything is counted
        except DomainError as exc:
            self._pwd_fail("new", both(exc))
            return
        if new != repeat:
            self._pwd_fail("repeat", both("pwd.mismatch"))
            return
        if not current and not raw_code and self.has_password:
            # nothing to prove it is you: said at the field, before anything is asked or counted
            self._pwd_fail("current", both("settings.need_current"))
            return
        if not current and raw_code and auth.typed_code(raw_code) is None:
            self._pwd_fail("code", both("settings.code_format"))  # not a code: not counted as a wrong one
            return
        code = raw_code or None
        attempt = self._code_attempt if code else None
        try:
            await write(lambda s: auth.set_password(session=s, info=info, new_password=new, now=runtime.now(),
                                                    current_password=current, code_attempt_id=attempt, code=code),
                        keep_on=KEEP_FAILURES)
        except DomainError as exc:
            self._pwd_fail("current" if current or (self.has_password and not code) else "code", both(exc))
            return
        self._pwd_ok()
        self.code_sent_to = ""
        self._code_attempt = ""
        self.has_password = True
        return [rx.call_script(PASSWORD_FORM_RESET), rx.toast.success(self.t["pwd.saved"])]

    @rx.event
    async def toggle_notify(self, on: bool):
        info = await self._session()
        if info is None:
            return await self._gone()
        msisdn = info.selected_msisdn
        self._pwd_ok()  # working in another card: the other cards' old errors go
        self._forward_fail(())
        try:
            if on:
                await write(lambda s: cabinet.connect(s, info, msisdn, "sms_notify", runtime.now()))
            else:
                await write(lambda s: cabinet.disconnect(s, info, msisdn, "sms_notify", runtime.now()))
        except DomainError as exc:
            return rx.toast.error(self._msg(exc))
        await self._reload(info)
        return rx.toast.success(self.t["settings.saved"])

    @rx.event
    def set_forward_mode(self, mode: str):
        self.forward_mode = mode if mode in cabinet.FORWARD_MODES else "always"

    @rx.event
    def set_forward_input(self, value: str):
        self.forward_input = str(value)[:24]

    @rx.event
    async def save_forwarding(self, form: dict):
        info = await self._session()
        if info is None:
            return await self._gone()
        to, mode = str(form.get("forward_to", "")).strip()[:24], self.forward_mode
        self.forward_input = to
        self._pwd_ok()  # working in another card: the password card's old error goes
        if not to:
            self._forward_fail(both("settings.forward_empty"))
            return
        try:
            await write(lambda s: cabinet.set_call_forwarding(s, info, info.selected_msisdn, to, mode,
                                                              runtime.now()))
        except DomainError as exc:
            self._forward_fail(both(exc))  # the field keeps the number typed
            return
        self._forward_fail(())
        await self._reload(info)
        return rx.toast.success(self.t["settings.saved"])

    @rx.event
    async def forwarding_off(self):
        info = await self._session()
        if info is None:
            return await self._gone()
        await write(lambda s: cabinet.set_call_forwarding(s, info, info.selected_msisdn, None, None, runtime.now()))
        self._forward_fail(())
        self._pwd_ok()
        await self._reload(info)
        return rx.toast.success(self.t["settings.saved"])

    @rx.event
    async def set_language(self, lang: str | list[str]):
        info = await self._session()
        if info is None:
            return await self._gone()
        try:
            await write(lambda s: cabinet.set_language(s, info, str(lang)))
        except DomainError as exc:
            return rx.toast.error(self._msg(exc))
        self.lang = "en" if lang == "en" else "ru"
        return self._relang_events()
