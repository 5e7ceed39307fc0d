"""«Мои номера»: the account's numbers — add one by a code sent to it, switch, remove,
«Аппарат утрачен» and unblocking from another number."""

from __future__ import annotations

import time

import reflex as rx

from mts_portal.core import auth, runtime
from mts_portal.core.errors import DomainError
from mts_portal.i18n import add, tr
from mts_portal.state.base import KEEP_FAILURES, SessionState, both, query, write

add({
    "numbers.title": ("Мои номера", "My numbers"),
    "numbers.hint": ("Управляйте несколькими номерами из одного личного кабинета.",
                     "Manage several numbers from one account."),
    "numbers.own": ("ваш договор №", "your contract no."),
    "numbers.added": ("добавлен, договор №", "added, contract no."),
    "numbers.current": ("выбран", "selected"),
    "numbers.select": ("Выбрать", "Select"),
    "numbers.remove": ("Удалить", "Remove"),
    "numbers.remove_q": ("Удалить номер из личного кабинета?", "Remove this number from the account?"),
    "numbers.remove_d": ("Номер останется у владельца, но исчезнет из вашего кабинета.",
                         "The number stays with its holder but leaves your account."),
    "numbers.lost": ("Аппарат утрачен", "Device lost"),
    "numbers.lost_q": ("Заблокировать номер как утраченный?", "Block the number as lost?"),
    "numbers.lost_d": ("Звонки, SMS, интернет и вход в кабинет с этого номера будут недоступны, пока вы не "
                       "разблокируете его с другого номера его счёта. Из других кабинетов номер будет удалён.",
                       "Calls, SMS, data and logging in with it stop until you unblock it from another number "
                       "of its own account. Other accounts it was added to lose it."),
    "numbers.unblock": ("Разблокировать", "Unblock"),
    "numbers.add": ("Добавить номер", "Add a number"),
    "numbers.add_hint": ("На добавляемый номер придёт SMS с кодом подтверждения.",
                         "A confirmation code will be sent by SMS to the number you add."),
    "numbers.send_code": ("Получить код", "Get a code"),
    "numbers.confirm": ("Подтвердить", "Confirm"),
    "numbers.added_ok": ("Номер добавлен", "Number added"),
    "numbers.removed_ok": ("Номер удалён из кабинета", "Number removed"),
    "numbers.lost_ok": ("Номер заблокирован", "Number blocked"),
    "numbers.unblocked_ok": ("Номер разблокирован", "Number unblocked"),
    "numbers.code_format": ("Код — это 6 цифр из SMS. Попытка не засчитана.",
                            "The code is the 6 digits from the SMS. This try was not counted."),
})

SEND_AGAIN_AFTER_S = 10  # a second «Получить код» for the same number within this is a double click


class NumbersState(SessionState):
    rows: list[dict[str, str]] = []
    add_step: str = "phone"
    add_label: str = ""
    add_error: str = ""
    _add_attempt: str = ""
    _add_msisdn: str = ""
    _add_sent_at: float = 0.0
    _add_error_pair: list[str] = []

    def _add_fail(self, pair: tuple[str, str] | list[str]) -> None:
        self._add_error_pair = list(pair)
        self.add_error = self._pick(pair)

    async def _reload(self, info: auth.SessionInfo) -> None:
        lang = self._lang()

        def fn(s):
            out = []
            for ln in auth.account_lines(s, info.account_id):
                out.append({
                    "msisdn": ln.msisdn, "label": auth.format_msisdn(ln.msisdn), "status": ln.status,
                    "status_text": tr(f"status.{ln.status}", lang),
                    "own": "1" if ln.account_id == info.account_id else "0",
                    "contract": auth.contract_number(ln.account_id),
                    "selected": "1" if ln.msisdn == info.selected_msisdn else "0",
                    "login": "1" if ln.id == info.login_line_id else "0",
                })
            return out

        self.rows = await query(fn)

    @rx.event
    async def load(self):
        info = await self._begin()
        if info is None:
            return await self._gone()
        self.add_step = "phone"
        self._add_fail(())
        await self._reload(info)

    @rx.event
    async def relang(self):
        """After a language change: the list's statuses and the shown error in the new language (a code
        step under way stays)."""
        info = await self._session()
        if info is None:
            return await self._gone()
        self.add_error = self._pick(self._add_error_pair)
        await self._reload(info)

    async def _act(self, fn, ok_key: str, keep_on: tuple = ()):
        info = await self._session()
        if info is None:
            return await self._gone()
        try:
            await write(lambda s: fn(s, info), keep_on=keep_on)
        except DomainError as exc:
            return rx.toast.error(self._msg(exc))
        info = await self._session()
        await self._load_header(info)
        await self._reload(info)
        return rx.toast.success(self.t[ok_key])

    @rx.event
    async def request_add(self, form: dict):
        info = await self._session()
        if info is None:
            return await self._gone()
        client = self._client()
        try:
            msisdn = auth.normalize_msisdn(str(form.get("msisdn", "")))
            if self.add_step == "code" and msisdn == self._add_msisdn \
                    and time.monotonic() - self._add_sent_at < SEND_AGAIN_AFTER_S:
                return  # a double click on «Получить код»: one SMS
            req = await write(lambda s: auth.request_add_number(session=s, info=info, msisdn=msisdn, client=client,
                                                                now=runtime.now()))
        except DomainError as exc:
            self._add_fail(both(exc))
            return
        self._add_attempt, self._add_msisdn = req.attempt_id, msisdn
        self._add_sent_at = time.monotonic()
        self.add_label = auth.format_msisdn(msisdn)
        self._add_fail(())
        self.add_step = "code"

    @rx.event
    async def confirm_add(self, form: dict):
        attempt, msisdn = self._add_attempt, self._add_msisdn
        code = auth.typed_code(form.get("code"))
        info = await self._session()
        if info is None:
            return await self._gone()
        if code is None:
            self._add_fail(both("numbers.code_format"))  # not a code: not counted as a wrong attempt
            return
        try:
            await write(lambda s: auth.confirm_add_number(session=s, info=info, attempt_id=attempt, msisdn=msisdn,
                                                          code=code, now=runtime.now()), keep_on=KEEP_FAILURES)
        except DomainError as exc:
            self._add_fail(both(exc))
            return
        self.add_step = "phone"
        self._add_fail(())
        await self._load_header(info)
        await self._reload(info)
        return rx.toast.success(self.t["numbers.added_ok"])

    @rx.event
    def cancel_add(self):
        self.add_step = "phone"
        self._add_fail(())

    @rx.event
    async def remove(self, msisdn: str):
        token = self._token()
        return await self._act(lambda s, info: auth.remove_number(session=s, info=info, token=token,
                                                                  msisdn=str(msisdn), now=runtime.now()),
                               "numbers.removed_ok")

    @rx.event
    async def mark_lost(self, msisdn: str):
        info = await self._session()
        if info is not None and str(msisdn) == info.login_msisdn:
            result = await self._act(lambda s, i: auth.mark_lost(session=s, info=i, msisdn=str(msisdn),
                                                                 now=runtime.now()), "numbers.lost_ok")
            return [result, await self._to_login("lost")]  # this very session belonged to the lost number
        return await self._act(lambda s, i: auth.mark_lost(session=s, info=i, msisdn=str(msisdn), now=runtime.now()),
                               "numbers.lost_ok")

    @rx.event
    async def unblock(self, msisdn: str):
        return await self._act(lambda s, info: auth.unblock_lost(session=s, info=info, msisdn=str(msisdn),
                                                                 now=runtime.now()), "numbers.unblocked_ok")
