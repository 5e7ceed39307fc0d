"""Settings: password, SMS notices of debits, call forwarding, language."""

from __future__ import annotations

import reflex as rx
from sqlalchemy import select

from mts_portal.core import auth, cabinet, runtime
from mts_portal.core.errors import DomainError
from mts_portal.core.models import Subscription
from mts_portal.i18n import add
from mts_portal.state.base import KEEP_FAILURES, SessionState, query, write

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
    "settings.notify": ("SMS о списаниях", "SMS about debits"),
    "settings.notify_hint": ("SMS и уведомление о каждом списании со счёта. Бесплатно.",
                             "An SMS and a notice for every debit. Free."),
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


class SettingsState(SessionState):
    code_sent_to: str = ""
    pwd_error: str = ""
    sms_notify: bool = False
    forward_to: str = ""
    forward_mode: str = "always"
    forward_label: str = ""
    forward_error: str = ""
    _code_attempt: str = ""

    async def _reload(self, info: auth.SessionInfo) -> None:
        def fn(s):
            line = cabinet.selected_line(s, info)
            notify_on = s.exec(select(Subscription.id).where(
                Subscription.line_id == line.id, Subscription.code == "sms_notify",
                Subscription.active == True)).first() is not None  # noqa: E712
            return notify_on, line.call_forward_to, line.call_forward_mode

        self.sms_notify, to, mode = await query(fn)
        self.forward_to = to or ""
        self.forward_mode = mode or "always"
        self.forward_label = auth.format_msisdn(to) if to else ""

    @rx.event
    async def load(self):
        info = await self._begin()
        if info is None:
            return await self._gone()
        self.code_sent_to = ""
        self.pwd_error = ""
        self.forward_error = ""
        await self._reload(info)

    @rx.event
    async def send_code(self):
        info = await self._session()
        if info is None:
            return await self._gone()
        client = self._client()
        try:
            req = await write(lambda s: auth.request_code(session=s, msisdn=info.login_msisdn, purpose="password",
                                                          client=client, now=runtime.now()))
        except DomainError as exc:
            self.pwd_error = self._msg(exc)
            return
        self._code_attempt = req.attempt_id
        self.code_sent_to = auth.format_msisdn(info.login_msisdn)
        self.pwd_error = ""

    @rx.event
    async def change_password(self, form: dict):
        info = await self._session()
        if info is None:
            return await self._gone()
        new, repeat = str(form.get("new_password", "")), str(form.get("repeat_password", ""))
        if new != repeat:
            self.pwd_error = self.t["pwd.mismatch"]
            return
        current = str(form.get("current_password", "") or "") or None
        code = "".join(ch for ch in str(form.get("code", "") or "") if ch.isdigit()) or None
        attempt = self._code_attempt if code else None
        try:
            await write(lambda s: auth.set_password(session=s, info=info, new_password=new, now=runtime.now(),
                                                    current_password=current, code_attempt_id=attempt, code=code),
                        keep_on=KEEP_FAILURES)
        except DomainError as exc:
            self.pwd_error = self._msg(exc)
            return
        self.pwd_error = ""
        self.code_sent_to = ""
        self._code_attempt = ""
        self.has_password = True
        return rx.toast.success(self.t["pwd.saved"])

    @rx.event
    async def toggle_notify(self, on: bool):
        info = await self._session()
        if info is None:
            return await self._gone()
        msisdn = info.selected_msisdn
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
    async def save_forwarding(self, form: dict):
        info = await self._session()
        if info is None:
            return await self._gone()
        to, mode = str(form.get("forward_to", "")).strip(), self.forward_mode
        try:
            await write(lambda s: cabinet.set_call_forwarding(s, info, info.selected_msisdn, to, mode,
                                                              runtime.now()))
        except DomainError as exc:
            self.forward_error = self._msg(exc)
            return
        self.forward_error = ""
        await self._reload(info)
        return rx.toast.success(self.t["settings.saved"])

    @rx.event
    async def forwarding_off(self):
        info = await self._session()
        if info is None:
            return await self._gone()
        await write(lambda s: cabinet.set_call_forwarding(s, info, info.selected_msisdn, None, None, runtime.now()))
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


