"""Base states: the UI language, and the session every private page stands on.

The session token lives in an HttpOnly cookie the browser got from
/api/v1/session/establish; JavaScript cannot read it. The backend reads it from
the websocket's request headers and validates it against the store on every
event (idle and absolute limits are enforced there, on the server). Handler
arguments come from the browser and are untrusted: anything naming a number,
record, card or member is checked by the core against the session's account.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from typing import Any, TypeVar

import reflex as rx

from mts_portal.core import auth, runtime
from mts_portal.core.db import read, transact
from mts_portal.core.errors import DomainError, Locked, Unauthorized
from mts_portal.core.settings import get_settings
from mts_portal.i18n import TEXTS

log = logging.getLogger("mts_portal.ui")
SESSION_COOKIE = "mts_session"
T = TypeVar("T")


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Store work off the event loop (STYLE rule 5)."""
    return await asyncio.to_thread(fn, *args)


async def write(fn: Callable, keep_on: tuple = ()) -> Any:
    return await in_thread(lambda: transact(runtime.engine(), fn, keep_on=keep_on))


async def query(fn: Callable) -> Any:
    return await in_thread(lambda: read(runtime.engine(), fn))


class UiState(rx.State):
    """The interface language; kept in the browser so it survives logins."""

    lang: str = rx.LocalStorage("ru", name="mts_lang", sync=True)

    @rx.var
    def t(self) -> dict[str, str]:
        return TEXTS["en" if self.lang == "en" else "ru"]

    @rx.var
    def is_demo(self) -> bool:
        return get_settings().demo

    @rx.event
    def toggle_lang(self):
        self.lang = "en" if self.lang != "en" else "ru"

    def _lang(self) -> str:
        return "en" if self.lang == "en" else "ru"

    def _msg(self, exc: DomainError) -> str:
        return exc.message(self._lang())

    def _client(self) -> str:
        return (self.router.session.client_ip or "")[:64]

    def _token(self) -> str | None:
        raw = self.router.headers.cookie or ""
        try:
            jar = SimpleCookie()
            jar.load(raw)
        except CookieError:
            return None
        morsel = jar.get(SESSION_COOKIE)
        return morsel.value if morsel else None


class SessionState(UiState):
    """Who is logged in and which of the account's numbers is selected."""

    msisdn: str = ""
    msisdn_label: str = ""
    login_msisdn: str = ""
    holder: str = ""
    lines: list[dict[str, str]] = []
    has_password: bool = True
    authed: bool = False

    async def _session(self, touch: bool = True) -> auth.SessionInfo | None:
        token = self._token()
        if not token:
            return None
        return await write(lambda s: auth.validate_session(session=s, token=token, now=runtime.now(),
                                                           touch_it=touch))

    def _to_login(self, reason: str = "expired"):
        """Leave for the login page through the route that clears the cookie (a full page load)."""
        self.authed = False
        reason = reason if reason in ("logout", "idle", "expired", "lost") else "expired"
        return rx.call_script(f"window.location.replace('/api/v1/session/logout?reason={reason}')")

    async def _load_header(self, info: auth.SessionInfo) -> None:
        def fn(s):
            lines = auth.account_lines(s, info.account_id)
            return lines, auth.holder_name(s, info.account_id)

        lines, holder = await query(fn)
        self.msisdn = info.selected_msisdn
        self.msisdn_label = auth.format_msisdn(info.selected_msisdn)
        self.login_msisdn = info.login_msisdn
        self.holder = holder
        self.has_password = info.has_password
        self.lines = [{"msisdn": ln.msisdn, "label": auth.format_msisdn(ln.msisdn), "status": ln.status}
                      for ln in lines]
        self.authed = True

    async def _begin(self) -> auth.SessionInfo | None:
        """Validate the session and refresh the header; None means: redirect to login."""
        info = await self._session()
        if info is None:
            return None
        await self._load_header(info)
        return info

    async def _gone(self):
        """The redirect for a session that no longer works, with the reason shown on the login page."""
        token = self._token()
        reason = await query(lambda s: auth.ended_reason(session=s, token=token, now=runtime.now()))
        return self._to_login({"idle": "idle", "line_lost": "lost"}.get(reason, "expired"))

    @rx.event
    async def switch_line(self, msisdn: str):
        """Select another number of the account (untrusted argument: checked by the core)."""
        info = await self._session()
        if info is None:
            return self._to_login()
        token = self._token()
        try:
            info = await write(lambda s: auth.select_line(session=s, token=token, info=info, msisdn=str(msisdn)))
        except DomainError as exc:
            return rx.toast.error(self._msg(exc))
        await self._load_header(info)
        return rx.call_script("window.location.reload()")

    @rx.event
    async def logout(self):
        token = self._token()
        if token:
            await write(lambda s: auth.end_session(session=s, token=token, now=runtime.now()))
        self.authed = False
        return rx.call_script("window.location.assign('/api/v1/session/logout?reason=logout')")


KEEP_FAILURES = (Unauthorized, Locked)
