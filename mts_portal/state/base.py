"""Base states: the UI language, and the session every private page stands on.

The session token lives in an HttpOnly cookie the browser got from
/api/v1/session/establish; JavaScript cannot read it. The backend reads it from
the websocket's request headers and validates it against the store on every
event (idle and absolute limits are enforced there, on the server). Handler
arguments come from the browser and are untrusted: anything naming a number,
record, card or member is checked by the core against the session's account.

A browser tab's Reflex state outlives a login: on logout, on an ended session,
when the login page loads and whenever a tab's state meets a session other than
the one it was filled for, every page state is reset (`wipe_tab`), and the tab's
Reflex token is dropped before leaving so the next login starts on a fresh state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from typing import Any, TypeVar

import reflex as rx
from reflex.state import OnLoadInternalState

from mts_portal.core import auth, runtime
from mts_portal.core.db import read, transact
from mts_portal.core.errors import DomainError, Locked, Unauthorized
from mts_portal.core.live import TABS
from mts_portal.core.settings import get_settings
from mts_portal.i18n import TEXTS, tr

log = logging.getLogger("mts_portal.ui")
SESSION_COOKIE = "mts_session"
PRELOGIN_COOKIE = "mts_prelogin"  # set by /api/v1/session/prelogin; login tickets are bound to it
# JavaScript run before leaving for the login page: forget this tab's Reflex token (sessionStorage "token"),
# so the page that follows gets a new, empty state instead of the previous subscriber's
FORGET_TAB = "try { window.sessionStorage.removeItem('token'); } catch (e) {}"
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
    # echoed by `probe`: a browser-less client (loadtests/reflex_client.py) queues a probe after a handler;
    # the tab's events are processed in order, so the echo marks the handler's last delta
    rx_probe: str = ""

    @rx.var
    def t(self) -> dict[str, str]:
        return TEXTS["en" if self.lang == "en" else "ru"]

    @rx.var
    def is_demo(self) -> bool:
        return get_settings().demo

    @rx.event
    def probe(self, n: str):
        """Nothing but an echo (at most 40 characters): see `rx_probe`."""
        self.rx_probe = str(n)[:40]

    @rx.event
    def toggle_lang(self):
        """Switch the language; the page's server-formatted data (amounts, units, statuses, tariff
        names, messages) is rebuilt in the new language at once (see `relang_events`)."""
        self.lang = "en" if self.lang != "en" else "ru"
        return self._relang_events()

    @rx.event
    def set_lang(self, lang: str):
        """Set the language the button chose (idempotent, unlike a toggle: the browser has already kept
        the choice in localStorage, so a page loaded before this event arrives reads the same one)."""
        lang = "en" if lang == "en" else "ru"
        if lang == self.lang:
            return None
        self.lang = lang
        return self._relang_events()

    def _route(self) -> str:
        """The current page's route ('/settings'), without the trailing slash a static build adds."""
        path = str(getattr(self.router.url, "path", "") or "/")
        return path.rstrip("/") or "/"

    def _relang_events(self) -> list:
        """What rebuilds the current page's data after a language change: the page's own relang events
        where the app registered some (pages holding a half-done form: login, settings, numbers),
        otherwise the page's on_load handlers again, as a navigation runs them (a superseding chain:
        the page's live watchers are replaced by new ones, which read the new language)."""
        events = RELANG_EVENTS.get(self._route())
        return list(events) if events is not None else [OnLoadInternalState.on_load_internal]

    def _lang(self) -> str:
        return "en" if self.lang == "en" else "ru"

    def _msg(self, exc: DomainError) -> str:
        return exc.message(self._lang())

    def _pick(self, pair: tuple[str, str] | list[str] | None) -> str:
        """A (ru, en) pair (see `both`) in the interface language."""
        if not pair:
            return ""
        return pair[1] if self._lang() == "en" else pair[0]

    def _client(self) -> str:
        return (self.router.session.client_ip or "")[:64]

    def _cookie(self, name: str) -> str | None:
        """A cookie of the websocket's upgrade request (HttpOnly cookies included; fixed per connection)."""
        raw = self.router.headers.cookie or ""
        try:
            jar = SimpleCookie()
            jar.load(raw)
        except CookieError:
            return None
        morsel = jar.get(name)
        return morsel.value if morsel else None

    def _token(self) -> str | None:
        return self._cookie(SESSION_COOKIE)

    def _prelogin(self) -> str | None:
        """The browser's pre-login nonce (see api/app.py `prelogin`), if it looks like one of ours."""
        value = self._cookie(PRELOGIN_COOKIE) or ""
        if 32 <= len(value) <= auth.NONCE_MAX and all(ch.isalnum() or ch in "-_" for ch in value):
            return value
        return None


def _page_states() -> list[type[rx.State]]:
    """Every state below UiState: the login page's, the demo panels' and all private pages'."""
    out, todo = [], list(UiState.get_substates())
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo.extend(cls.get_substates())
    return out


def both(source: DomainError | str, **fmt) -> list[str]:
    """A message in [Russian, English]: kept beside a shown message so a language change re-shows it
    in the other language. `source`: a domain error, or a text key whose {placeholders} are filled
    from `fmt` per language (a value may itself be a function of the language)."""
    if isinstance(source, DomainError):
        return [source.message("ru"), source.message("en")]
    if not fmt:
        return [tr(source, "ru"), tr(source, "en")]
    return [tr(source, lang).format(**{k: v(lang) if callable(v) else v for k, v in fmt.items()})
            for lang in ("ru", "en")]


# route -> the events that rebuild that page's server-formatted data after a language change, for pages
# that must not simply load again (filled by the app assembly, mts_portal.py; see `_relang_events`)
RELANG_EVENTS: dict[str, tuple] = {}


async def wipe_tab(state: rx.State) -> None:
    """Reset every page state of this browser tab to its defaults: nothing of the previous subscriber
    (balance, records, e-mail, support chat, header) stays in the tab or in the snapshot the next page
    load receives. The interface language (UiState) stays."""
    for cls in _page_states():
        (await state.get_state(cls)).reset()


# live watchers (background events), one per (kind, browser tab): the newest start wins — a watcher started
# again (a page loaded again, a language change re-running on_load, a reload) replaces the one before, so a
# tab always has exactly one watcher of each kind and none is left over by a race between the two
_WATCHERS: dict[tuple[str, str], tuple[asyncio.Task, int]] = {}
SESSION_CHECK_S = 5.0  # how often the process's sweeper checks every open tab's session (services.py)


def claim_watch(name: str, client_token: str, line_id: int) -> bool:
    """Call at the start of a background watcher: this task becomes the tab's watcher of this kind (the
    one before is cancelled). Returns True (kept for callers that test it)."""
    task = asyncio.current_task()
    key = (name, str(client_token))
    current = _WATCHERS.get(key)
    if current is not None and current[0] is not task and not current[0].done():
        current[0].cancel()
    _WATCHERS[key] = (task, line_id)
    return True


def release_watch(name: str, client_token: str) -> None:
    """Call when a watcher ends (in `finally`)."""
    key = (name, str(client_token))
    current = _WATCHERS.get(key)
    if current is not None and current[0] is asyncio.current_task():
        del _WATCHERS[key]


def watcher_count() -> int:
    return len(_WATCHERS)


class SessionState(UiState):
    """Who is logged in and which of the account's numbers is selected."""

    msisdn: str = ""
    msisdn_label: str = ""
    login_msisdn: str = ""
    holder: str = ""
    lines: list[dict[str, str]] = []
    # home internet and TV contracts the session reaches (issue 17): the switcher lists them after the lines,
    # their value 'home:<contract>'; a home login (contract number) has no lines at all
    homes: list[dict[str, str]] = []
    is_home: bool = False
    has_password: bool = True
    authed: bool = False
    _session_id: int = 0  # the session this tab's state was filled for
    _selected_line_id: int = 0  # the line this tab shows (live.TABS: the demo traffic follows the audience)

    async def _session(self, touch: bool = True) -> auth.SessionInfo | None:
        token = self._token()
        if not token:
            return None
        info = await write(lambda s: auth.validate_session(session=s, token=token, now=runtime.session_now(),
                                                           touch_it=touch))
        if info is not None and info.session_id != self._session_id:
            # a new login in this tab: nothing filled for an earlier session may show
            await wipe_tab(self)
            self._session_id = info.session_id
        return info

    async def _to_login(self, reason: str = "expired"):
        """Leave for the login page through the route that clears the cookie (a full page load),
        with this tab's state wiped and its Reflex token forgotten."""
        await wipe_tab(self)
        reason = reason if reason in ("logout", "idle", "expired", "lost", "password", "none") else "expired"
        return rx.call_script(f"{FORGET_TAB} window.location.replace('/api/v1/session/logout?reason={reason}')")

    async def _load_header(self, info: auth.SessionInfo) -> None:
        from mts_portal.core import home, home_access

        def fn(s):
            lines = [] if info.is_home else auth.account_lines(s, info.account_id)
            homes = [(h.contract, home.format_contract(h.contract)) for h in home_access.homes_of(s, info)]
            return lines, auth.holder_name(s, info.account_id), homes

        lines, holder, homes = await query(fn)
        self.homes = [{"value": "home:" + c, "label": label} for c, label in homes]  # 12 digits: never a number
        self.is_home = info.is_home
        self.msisdn = info.selected_msisdn
        self._selected_line_id = info.selected_line_id
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
        if info is None or info.is_home:  # a home login has no line: the mobile pages send it home (_gone)
            return None
        await self._load_header(info)
        return info

    async def _gone(self):
        """The redirect for a session that no longer works, with the reason shown on the login page (a home
        login that opened a mobile page goes to the home section instead)."""
        token = self._token()
        if not token:
            # never logged in (no session cookie at all): nothing has ended, so the login page says nothing
            return await self._to_login("none")
        info = await query(lambda s: auth.validate_session(session=s, token=token, now=runtime.session_now(),
                                                           touch_it=False))
        if info is not None and info.is_home:
            return rx.redirect("/internet-tv")
        reason = await query(lambda s: auth.ended_reason(session=s, token=token, now=runtime.session_now()))
        return await self._to_login({"idle": "idle", "line_lost": "lost", "password": "password"}
                                    .get(reason, "expired"))

    @rx.event
    async def switch_line(self, msisdn: str):
        """Select another number of the account (untrusted argument: checked by the core); a value
        'home:<contract>' selects a linked home contract and opens the home section."""
        info = await self._session()
        if info is None:
            return await self._gone()
        token = self._token()
        if str(msisdn).startswith("home:"):
            from mts_portal.core import home_access

            contract = str(msisdn)[5:]
            try:
                await write(lambda s: home_access.select_home(session=s, token=token, info=info, contract=contract))
            except DomainError as exc:
                return rx.toast.error(self._msg(exc))
            return rx.call_script("window.location.assign('/internet-tv')")
        if info.is_home:
            return rx.toast.error(self._msg(auth.NotFound("no such number in your account",
                                                          "Такого номера нет в вашем личном кабинете")))
        try:
            info = await write(lambda s: auth.select_line(session=s, token=token, info=info, msisdn=str(msisdn)))
        except DomainError as exc:
            return rx.toast.error(self._msg(exc))
        await self._load_header(info)
        return rx.call_script("window.location.reload()")

    @rx.event
    async def load_if_logged_in(self):
        """Public pages that show the cabinet's header to a logged-in visitor (the 404 page): the header
        is filled when the session works; nothing happens otherwise (no redirect)."""
        info = await self._session()
        if info is None:
            self.authed = False
            return None
        await self._load_header(info)
        return SessionState.watch_session

    @rx.event(background=True)
    async def watch_session(self):
        """The session watcher of a private page (started by every private page's on_load; one per
        browser tab). It costs nothing while it waits: the process's sweeper checks every open tab's
        session in one query (services.py) and sets this tab's `ended` when the session has ended (idle,
        absolute limit, logout elsewhere, password changed, number lost); the page then leaves for the
        login page by itself, so no private data stays on screen."""
        async with self:
            client, token, line_id = self.router.session.client_token, self._token(), self._selected_line_id
        if not token:
            return
        claim_watch("session", client, 0)
        tab = TABS.attach(str(client), token, line_id)
        try:
            await tab.ended.wait()
            yield SessionState.session_ended
        finally:
            release_watch("session", client)
            TABS.detach(str(client))

    @rx.event
    async def session_ended(self):
        return await self._gone()

    @rx.event
    async def logout(self):
        token = self._token()
        if token:
            await write(lambda s: auth.end_session(session=s, token=token, now=runtime.session_now()))
        await wipe_tab(self)
        return rx.call_script(f"{FORGET_TAB} window.location.assign('/api/v1/session/logout?reason=logout')")


KEEP_FAILURES = (Unauthorized, Locked)
