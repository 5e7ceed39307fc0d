"""A browser tab's Reflex state after logout / an ended session / a new login (no data carries over).

The state tree is built in-process (as Reflex does per tab) and driven through the real handlers;
the store behind them is a temp-file SQLite (the `sqlite_store` fixture)."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from reflex.istate.data import HeaderData
from reflex.state import State
from sqlalchemy import select

import mts_portal.mts_portal  # noqa: F401  (registers every page state)
from mts_portal.core import auth, runtime
from mts_portal.core.db import read, transact
from mts_portal.core.models import SmsMessage
from mts_portal.state import base
from mts_portal.state.base import SessionState, UiState, claim_watch, release_watch
from mts_portal.state.detail import DetailState
from mts_portal.state.home import HomeState
from mts_portal.state.login import LoginState
from mts_portal.state.messages import SupportState
from mts_portal.state.money import MoneyState
from tests.conftest import T0
from tests.helpers import make_line

A1, B1 = "79180000001", "79180000003"
SECRETS = ("1 234,56", "Перевод на +7 903", "79031112233", "anna@example.ru", "passport 4510", "Анна Иванова")


@pytest.fixture
def world(sqlite_store, monkeypatch):
    monkeypatch.setattr(runtime, "engine", lambda: sqlite_store)
    monkeypatch.setattr(runtime, "now", lambda: T0)
    make_line(sqlite_store, A1, "smart", balance=10_000, now=T0, holder="Анна Иванова")
    make_line(sqlite_store, B1, "smart", balance=10_000, now=T0, holder="Борис")
    return sqlite_store


def token_for(store, msisdn: str) -> str:
    req = transact(store, lambda s: auth.request_code(session=s, msisdn=msisdn, purpose="login", client="t", now=T0))
    code = read(store, lambda s: re.search(r"\d{6}", s.exec(select(SmsMessage.text).where(
        SmsMessage.to_msisdn == msisdn).order_by(SmsMessage.id.desc())).scalars().first()).group(0))
    grant = transact(store, lambda s: auth.login_with_code(session=s, attempt_id=req.attempt_id, msisdn=msisdn,
                                                           code=code, client="t", now=T0))
    return transact(store, lambda s: auth.redeem_ticket(session=s, ticket=grant.ticket, client="t", now=T0)).token


def tab(cookie: str = "") -> State:
    root = State(_reflex_internal_init=True)
    root.rx_router_headers = HeaderData(cookie=cookie)
    return root


async def fill_like_a_subscriber(root: State) -> None:
    """What A's pages leave in the tab (the same kind of values their load handlers assign)."""
    home = await root.get_state(HomeState)
    home.balance_text = "1 234,56 ₽"
    home._line_id = 1
    money = await root.get_state(MoneyState)
    money.operations = [{"id": "9", "what": "Перевод на +7 903 111-22-33", "amount": "-500 ₽"}]
    det = await root.get_state(DetailState)
    det.rows = [{"id": "7", "peer": "79031112233"}]
    det.email = "anna@example.ru"
    sup = await root.get_state(SupportState)
    sup.chat = [{"who": "me", "text": "my passport 4510 123456"}]
    sess = await root.get_state(SessionState)
    sess.holder = "Анна Иванова"
    sess.authed = True


def leaked(root: State) -> list[str]:
    flat = json.dumps(root.dict(), ensure_ascii=False, default=str)
    return [s for s in SECRETS if s in flat]


def run(coro):
    return asyncio.run(coro)


def test_logout_wipes_every_page_state_and_forgets_the_tab_token(world):
    async def go():
        root = tab(f"mts_session={token_for(world, A1)}")
        await fill_like_a_subscriber(root)
        assert leaked(root) == list(SECRETS)
        root.get_substate(UiState._get_substate_path()).lang = "en"
        sess = await root.get_state(SessionState)
        script = await SessionState.logout.fn(sess)
        assert leaked(root) == []
        assert (await root.get_state(DetailState)).email == ""
        assert (await root.get_state(SupportState)).chat == []
        assert (await root.get_state(HomeState))._line_id == 0
        assert (await root.get_state(UiState)).lang == "en"  # the language is the browser's, it stays
        js = json.dumps(script.to_spec() if hasattr(script, "to_spec") else str(script), default=str)
        assert "sessionStorage.removeItem" in js and "/api/v1/session/logout" in js

    run(go())


def test_an_ended_session_wipes_the_tab_before_leaving(world):
    async def go():
        token = token_for(world, A1)
        root = tab(f"mts_session={token}")
        await fill_like_a_subscriber(root)
        transact(world, lambda s: auth.end_session(session=s, token=token, now=T0))
        home = await root.get_state(HomeState)
        await HomeState.load.fn(home)  # the session is gone: the page leaves for /login
        assert leaked(root) == []

    run(go())


def test_the_login_page_wipes_what_an_earlier_subscriber_left(world):
    async def go():
        root = tab("")  # no session cookie (it was cleared), but the tab still holds A's state
        await fill_like_a_subscriber(root)
        login = await root.get_state(LoginState)
        await LoginState.load.fn(login)
        assert leaked(root) == []

    run(go())


def test_a_new_session_in_the_same_tab_never_sees_the_previous_ones_data(world):
    async def go():
        root = tab(f"mts_session={token_for(world, A1)}")
        sess = await root.get_state(SessionState)
        assert await sess._session() is not None
        await fill_like_a_subscriber(root)
        # B logs in in this tab without the tab state being cleared (say, the redirect never ran)
        root.rx_router_headers = HeaderData(cookie=f"mts_session={token_for(world, B1)}")
        info = await sess._session()
        assert info.login_msisdn == B1
        assert leaked(root) == []
        assert (await root.get_state(DetailState)).email == ""

    run(go())


def test_a_watcher_started_again_replaces_the_one_before():
    """A page loaded again (a language change re-running on_load, a reload, a double call) starts its
    watcher again: the newest wins and the tab keeps exactly one (a no-op rule lost the tab's only
    watcher when the old one was being cancelled by the superseding page load)."""
    async def go():
        started, stop = [], asyncio.Event()

        async def watcher(line_id):
            claim_watch("home", "tab-1", line_id)
            started.append(line_id)
            try:
                await stop.wait()
                return "ran"
            finally:
                release_watch("home", "tab-1")

        tasks = [asyncio.create_task(watcher(5))]
        for _ in range(50):
            await asyncio.sleep(0)
            tasks.append(asyncio.create_task(watcher(5)))
        other = asyncio.create_task(watcher(6))  # the tab switched to another line: the new one takes over
        await asyncio.sleep(0)
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        assert base._WATCHERS[("home", "tab-1")][0] is other
        stop.set()
        assert await other == "ran" and started[-1] == 6
        assert ("home", "tab-1") not in base._WATCHERS

    run(go())


def test_home_watch_claims_the_tab():
    import inspect

    source = inspect.getsource(HomeState.watch.fn)
    assert "claim_watch(" in source and "release_watch(" in source


def test_a_watcher_being_cancelled_gives_way_to_the_next_pages_one():
    """Leaving a page cancels its watchers; the next page's watcher must not take a cancelling one for
    a live one (it would return at once and leave the tab unwatched)."""

    async def go():
        stop = asyncio.Event()

        async def watcher():
            if not claim_watch("session", "tab-2", 0):
                return "no-op"
            try:
                await stop.wait()
                return "ran"
            finally:
                release_watch("session", "tab-2")

        old = asyncio.create_task(watcher())
        await asyncio.sleep(0)
        old.cancel()  # the navigation cancels the old page's chain; the task has not run its finally yet
        new = asyncio.create_task(watcher())
        await asyncio.sleep(0)
        assert base._WATCHERS[("session", "tab-2")][0] is new
        await asyncio.gather(old, return_exceptions=True)
        assert base._WATCHERS[("session", "tab-2")][0] is new  # the old one's release left the new one
        stop.set()
        assert await new == "ran"

    run(go())


def test_every_private_page_starts_the_session_watcher():
    import inspect

    from mts_portal.mts_portal import PRIVATE, PUBLIC, app

    source = inspect.getsource(SessionState.watch_session.fn)
    assert "claim_watch(" in source and "release_watch(" in source and "TABS.attach(" in source
    for route, *_ in PRIVATE:
        names = [getattr(e, "fn", e).__qualname__ for e in app._load_events[route.strip("/") or "index"]]
        assert "SessionState.watch_session" in names, route
    for route, *_ in PUBLIC:
        names = [getattr(e, "fn", e).__qualname__ for e in app._load_events[route.strip("/")]]
        assert "SessionState.watch_session" not in names, route


def test_the_session_watcher_leaves_once_the_session_ended(world, monkeypatch):
    """Idle on any private page: the process's sweeper notices on the server (one query for every open
    tab) and the page leaves for /login by itself; the watcher itself runs no timer."""
    from mts_portal.core.live import HUB, TABS

    async def go():
        token = token_for(world, A1)
        root = tab(f"mts_session={token}")
        sess = await root.get_state(SessionState)
        yielded = []

        class Proxy:  # what Reflex hands a background task: `async with self` around state access
            def __getattr__(self, name):
                return getattr(sess, name)

            async def __aenter__(self):
                return self

            async def __aexit__(self, *exc):
                return False

        gen = SessionState.watch_session.fn(Proxy())
        first = asyncio.ensure_future(gen.__anext__())
        await asyncio.sleep(0.1)
        assert not first.done()  # alive: the watcher waits
        assert TABS.sweep(world, T0) == []  # the session works: nothing ends
        transact(world, lambda s: auth.end_session(session=s, token=token, now=T0))
        ended = TABS.sweep(world, T0)
        assert [t.session_token for t in ended] == [token]
        TABS.apply_ended(ended, HUB)
        yielded.append(await asyncio.wait_for(first, 5))
        assert getattr(yielded[0], "fn", yielded[0]).__qualname__.endswith("session_ended")

    run(go())


def test_a_language_change_rebuilds_the_pages_data():
    from reflex.state import OnLoadInternalState

    from mts_portal.state.numbers import NumbersState
    from mts_portal.state.settings import SettingsState

    async def go():
        root = tab()
        ui = await root.get_state(UiState)  # a bare tab: the route is "/"
        events = UiState.toggle_lang.fn(ui)
        assert ui.lang == "en"
        assert events == [OnLoadInternalState.on_load_internal]  # the page's on_load again (home: "/")
        assert base.RELANG_EVENTS["/settings"] == (SettingsState.relang,)
        assert base.RELANG_EVENTS["/numbers"] == (NumbersState.relang,)
        assert base.RELANG_EVENTS["/login"] == (LoginState.relang,)

    run(go())


def test_letters_in_the_code_field_are_a_format_error_not_a_wrong_attempt(world, monkeypatch):
    from mts_portal.core.models import LoginGuard

    async def drive(gen):
        out = []
        async for item in gen:
            out.append(item)
        return out

    def failures() -> int:
        row = read(world, lambda s: s.get(LoginGuard, A1))
        return row.failures if row else 0

    def sms_count() -> int:
        return len(read(world, lambda s: s.exec(select(SmsMessage.id).where(SmsMessage.to_msisdn == A1)).all()))

    async def go():
        root = tab("mts_prelogin=" + "n" * 43)
        login = await root.get_state(LoginState)
        await drive(LoginState.request_code.fn(login, {"phone": A1}))
        assert login.step == "code" and login.resend_wait == 60 and sms_count() == 1
        await drive(LoginState.request_code.fn(login, {"phone": A1}))  # the double click's second submit
        assert sms_count() == 1
        for typed in ("12ab56", "12345", "１２３４５６", "abcdef"):
            await drive(LoginState.submit_code.fn(login, {"code": typed}))
            assert "6 цифр" in login.error and not login.locked, typed
        assert failures() == 0
        right = re.search(r"\d{6}", read(world, lambda s: s.exec(select(SmsMessage.text).where(
            SmsMessage.to_msisdn == A1)).scalars().first())).group(0)
        await drive(LoginState.submit_code.fn(login, {"code": "000000" if right != "000000" else "111111"}))
        assert "Осталось попыток: 2" in login.error
        assert failures() == 1
        login.lang = "en"
        await LoginState.relang.fn(login)
        assert "attempts left" in login.error

    run(go())


def test_the_resend_wait_respects_the_hourly_limit(world, monkeypatch):
    from datetime import timedelta

    from mts_portal.core.models import RateEvent
    from mts_portal.state.login import code_wait_s

    def sent(minutes_ago):
        transact(world, lambda s: s.add(RateEvent(key=f"sms:{A1}", at=T0 - timedelta(minutes=minutes_ago))))

    assert read(world, lambda s: code_wait_s(s, A1, T0)) == 0
    sent(0.5)
    assert read(world, lambda s: code_wait_s(s, A1, T0)) == 30  # a minute after the last one
    for m in (50, 40, 30, 20):
        sent(m)  # five in the hour: the next one when the oldest (50 min ago) leaves the hour
    assert read(world, lambda s: code_wait_s(s, A1, T0)) == 10 * 60


def test_bundles_last_through_their_last_day():
    from datetime import datetime

    from mts_portal.core.clock import MSK
    from mts_portal.state.views import until_text

    midnight = datetime(2027, 1, 1, 0, 0, tzinfo=MSK)
    assert until_text(midnight, "ru") == "по 31.12.2026"
    assert until_text(midnight, "en") == "until 31 Dec 2026"
    assert until_text(datetime(2026, 12, 2, 14, 35, tzinfo=MSK), "ru") == "до 02.12.2026 14:35"
    assert until_text(datetime(2026, 12, 2, 14, 35, tzinfo=MSK), "en") == "until 2 Dec 2026, 14:35"


def test_the_demo_login_list_names_tariffs_in_the_interface_language(sqlite_store):
    from mts_portal.core.catalog import default_catalog
    from mts_portal.state.login import demo_login_rows
    from simulator.population import seed

    seed(sqlite_store, lines=12, seed=7, now=T0, progress=False)
    ru = read(sqlite_store, lambda s: demo_login_rows(s, "ru"))
    en = read(sqlite_store, lambda s: demo_login_rows(s, "en"))
    assert ru and [r["msisdn"] for r in ru] == [r["msisdn"] for r in en]
    names = {t.name_ru: t.name_en for t in default_catalog().tariffs.values()}
    assert [names[r["tariff"]] for r in ru] == [r["tariff"] for r in en]
