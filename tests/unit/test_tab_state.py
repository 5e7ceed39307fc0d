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


def test_a_second_watcher_for_the_same_tab_is_a_no_op():
    async def go():
        started, stop = [], asyncio.Event()

        async def watcher(line_id):
            if not claim_watch("home", "tab-1", line_id):
                return "no-op"
            started.append(line_id)
            try:
                await stop.wait()
                return "ran"
            finally:
                release_watch("home", "tab-1")

        first = asyncio.create_task(watcher(5))
        await asyncio.sleep(0)
        again = [asyncio.create_task(watcher(5)) for _ in range(50)]
        assert await asyncio.gather(*again) == ["no-op"] * 50
        other = asyncio.create_task(watcher(6))  # the tab switched to another line: the new one takes over
        await asyncio.gather(first, return_exceptions=True)
        assert first.cancelled()
        stop.set()
        assert await other == "ran" and started == [5, 6]
        assert ("home", "tab-1") not in base._WATCHERS

    run(go())


def test_home_watch_claims_the_tab():
    import inspect

    source = inspect.getsource(HomeState.watch.fn)
    assert "claim_watch(" in source and "release_watch(" in source
