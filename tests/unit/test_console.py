"""The control room (/console): an operator session and nothing else gets in (lockout, one-time links,
idle and absolute limits); a subscriber's session reaches none of its handlers; what it changes is
audited; demo mode lets a presenter repeat every journey."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from reflex.istate.data import HeaderData
from reflex.state import State
from sqlalchemy import func, select

import mts_portal.mts_portal  # noqa: F401  (registers every page state)
from mts_portal.core import auth, console, runtime
from mts_portal.core.db import read, transact
from mts_portal.core.errors import Forbidden, Invalid, Locked, Unauthorized
from mts_portal.core.models import AuthSession, DemoControl, OperatorAudit, OperatorSession
from mts_portal.core.settings import get_settings
from mts_portal.state.console import ConsoleState
from tests.conftest import T0
from tests.helpers import call, make_line, run
from tests.unit.test_access_matrix import fingerprint, session_for

ROOT = Path(__file__).resolve().parents[2]
A = "79180000051"
NONCE = "n" * 43


@pytest.fixture
def demo(monkeypatch):
    monkeypatch.setattr(get_settings(), "demo", True)


def ticket_login(store, token="test-operator-token", now=T0, binding=NONCE):
    return transact(store, lambda s: console.login_with_token(session=s, token=token, client="c", now=now,
                                                              binding=binding), keep_on=(Unauthorized, Locked))


def test_the_operator_token_logs_in_three_wrong_tries_lock_it(store):
    with pytest.raises(Invalid):
        ticket_login(store, token="")
    for left in (2, 1):
        with pytest.raises(Unauthorized) as e:
            ticket_login(store, token="guess")
        assert e.value.details["attempts_left"] == left
    with pytest.raises(Locked):
        ticket_login(store, token="guess")
    with pytest.raises(Locked):  # locked for the right token too, for 10 minutes
        ticket_login(store)
    ticket = ticket_login(store, now=T0 + timedelta(minutes=11))
    with pytest.raises(Unauthorized, match="another browser|not started"):
        transact(store, lambda s: console.redeem(session=s, ticket=ticket, client="c", now=T0, binding="x" * 43))
    token = transact(store, lambda s: console.redeem(session=s, ticket=ticket, client="c",
                                                     now=T0 + timedelta(minutes=11), binding=NONCE))
    with pytest.raises(Unauthorized):  # a ticket works once
        transact(store, lambda s: console.redeem(session=s, ticket=ticket, client="c", now=T0, binding=NONCE))
    later = T0 + timedelta(minutes=12)
    assert read(store, lambda s: console.check(session=s, token=token, now=later)) is not None
    idle = later + auth.IDLE_DEADLINE + timedelta(seconds=1)
    assert transact(store, lambda s: console.validate(session=s, token=token, now=idle)) is None
    assert read(store, lambda s: s.exec(select(OperatorSession.ended_reason)).scalars().one()) == "idle"


def test_one_time_links_exist_in_demo_mode_only_and_work_once(store, demo, monkeypatch):
    link = transact(store, lambda s: console.create_link(session=s, now=T0))
    token = transact(store, lambda s: console.redeem(session=s, ticket=link, client="c", now=T0))
    with pytest.raises(Unauthorized):
        transact(store, lambda s: console.redeem(session=s, ticket=link, client="c", now=T0))
    info = read(store, lambda s: console.check(session=s, token=token, now=T0 + timedelta(minutes=10)))
    assert info is not None and info.via == "link"
    for q in range(1, 48):  # kept busy every quarter of an hour, it still ends 12 hours after it began
        assert transact(store, lambda s, q=q: console.validate(session=s, token=token,
                                                               now=T0 + timedelta(minutes=15 * q))) is not None
    assert read(store, lambda s: console.check(session=s, token=token, now=T0 + timedelta(hours=12, seconds=1))) is None
    monkeypatch.setattr(get_settings(), "demo", False)
    with pytest.raises(Forbidden):
        transact(store, lambda s: console.create_link(session=s, now=T0))


def test_traffic_settings_are_bounded_and_audited(store):
    with pytest.raises(Invalid, match="rate"):
        transact(store, lambda s: console.set_traffic(session=s, operator_session_id=None, now=T0, rate_per_s=5000))
    with pytest.raises(Invalid, match="duplicates"):
        transact(store, lambda s: console.set_traffic(session=s, operator_session_id=None, now=T0, duplicates=0.9))
    with pytest.raises(Invalid):
        transact(store, lambda s: console.set_traffic(session=s, operator_session_id=None, now=T0, rate_per_s="nan"))
    assert read(store, lambda s: s.get(DemoControl, 1)) is None  # nothing changed
    t = transact(store, lambda s: console.set_traffic(session=s, operator_session_id=None, now=T0, rate_per_s=200,
                                                      duplicates=0.05, focus=False))
    assert (t.rate_per_s, t.duplicates, t.focus) == (200, 0.05, False)
    assert read(store, lambda s: s.exec(select(OperatorAudit.action)).scalars().all()) == ["traffic"]


def test_a_cabinet_opened_from_the_room_is_a_demo_login_in_the_audit_trail(store, demo):
    make_line(store, A, now=T0)
    ticket = transact(store, lambda s: console.open_cabinet(session=s, operator_session_id=None, msisdn=A,
                                                            binding=NONCE, now=T0))
    res = transact(store, lambda s: auth.redeem_ticket(session=s, ticket=ticket, client="c", now=T0, binding=NONCE,
                                                       require_binding=True))
    assert res.info.selected_msisdn == A
    assert read(store, lambda s: s.exec(select(AuthSession.via)).scalars().all()) == ["console"]
    audit = read(store, lambda s: s.exec(select(OperatorAudit)).scalars().all())
    assert [(a.action, a.target) for a in audit] == [("open_cabinet", A)]


# ---------------------------------------------------------------- the page's handlers


@pytest.fixture
def room(sqlite_store, monkeypatch, tmp_path):
    monkeypatch.setattr(get_settings(), "data_dir", tmp_path)
    monkeypatch.setattr(get_settings(), "demo", True)
    monkeypatch.setattr(runtime, "engine", lambda: sqlite_store)
    monkeypatch.setattr(runtime, "now", lambda: T0)
    monkeypatch.setattr(runtime, "session_now", lambda: T0)
    make_line(sqlite_store, A, "smart", balance=100_000, now=T0 - timedelta(days=1))
    return sqlite_store


async def console_state(cookie: str) -> ConsoleState:
    root = State(_reflex_internal_init=True)
    root.rx_router_headers = HeaderData(cookie=cookie)
    return await root.get_state(ConsoleState)


HANDLERS = [("save_traffic", ({"rate": "100"},)), ("set_speed", ("x60",)), ("jump", ("day",)),
            ("search", ({"q": "7918"},)), ("select_line", (A,)), ("open_cabinet", (A,)),
            ("start_scenario", ("turkey_trip",)), ("stop_scenario", ()),
            ("advance_home_request", ("CN-2611-000001", "done"))]


def test_a_subscribers_session_reaches_none_of_the_rooms_handlers(room):
    token, _ = session_for(room, A)
    before = fingerprint(room)

    async def go():
        st = await console_state(f"mts_session={token}; mts_prelogin={NONCE}")
        await call(ConsoleState.load, st)
        assert not st.authed
        for name, args in HANDLERS:
            out = await call(getattr(ConsoleState, name), st, *args)
            assert not st.authed and "call_script" not in repr(out), name
        return st

    st = run(go())
    assert st.hits == [] and st.selected == {} and st.run == {}
    assert fingerprint(room) == before
    assert read(room, lambda s: s.exec(select(func.count()).select_from(AuthSession)).scalar_one()) == 1


def test_every_room_handler_checks_the_operator_session_first():
    """Static guard over state/console.py: a handler that touches the store or the clock first asks
    `_operator()` (load, login, logout, relang and the local speed choice excepted)."""
    tree = ast.parse((ROOT / "mts_portal/state/console.py").read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ConsoleState")
    exempt = {"load", "login", "logout", "relang", "set_run_speed", "watch"}
    checked = 0
    for fn in cls.body:
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and not fn.name.startswith("_") \
                and fn.name not in exempt:
            body = [n for n in fn.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
            assert "self._operator()" in ast.unparse(body[0]), f"ConsoleState.{fn.name} does not check it first"
            checked += 1
    assert checked == len(HANDLERS)


def test_with_the_operator_session_the_room_works(room):
    ticket = ticket_login(room)
    token = transact(room, lambda s: console.redeem(session=s, ticket=ticket, client="c", now=T0, binding=NONCE))

    async def go():
        st = await console_state(f"{console.OPERATOR_COOKIE}={token}; mts_prelogin={NONCE}")
        await call(ConsoleState.load, st)
        assert st.authed and len(st.scenarios) >= 6
        await call(ConsoleState.save_traffic, st, {"rate": "5000"})
        assert "2000" in st.traffic_error  # refused beside the form, nothing changed
        await call(ConsoleState.search, st, {"q": A[-4:]})
        assert [h["msisdn"] for h in st.hits] == [A]
        out = await call(ConsoleState.open_cabinet, st, A)
        assert "session/establish?ticket=" in repr(out)
        return st

    run(go())
    assert read(room, lambda s: s.get(DemoControl, 1)) is None
    assert read(room, lambda s: s.exec(select(OperatorAudit.action).order_by(OperatorAudit.id)).scalars().all()) \
        == ["login", "open_cabinet"]


# ---------------------------------------------------------------- a presenter repeats journeys


def _login_code(store, msisdn, client, now):
    return transact(store, lambda s: auth.request_code(session=s, msisdn=msisdn, purpose="login", client=client,
                                                       now=now))


def test_demo_mode_lets_a_presenter_repeat_journeys_ten_times_an_hour(store, monkeypatch):
    from mts_portal.core.errors import RateLimited

    make_line(store, A, now=T0)
    settings = get_settings()
    monkeypatch.setattr(settings, "demo", True)
    for i in range(20):  # ten logins by code and ten transfer codes, one hour, one browser
        _login_code(store, A, "presenter", T0 + timedelta(minutes=2 * i))
    monkeypatch.setattr(settings, "demo", False)
    later = T0 + timedelta(hours=2)
    for i in range(5):
        _login_code(store, A, "user", later + timedelta(minutes=2 * i))
    with pytest.raises(RateLimited):  # outside demo mode the limits are as before: 5 a number an hour
        _login_code(store, A, "user", later + timedelta(minutes=11))
