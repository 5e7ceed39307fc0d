"""No cross-account access: B, logged in, tries every action on A's objects.

Every try is refused (NotFound/Forbidden, indistinguishable from "does not exist")
and the store is unchanged. The API routes that take a session refuse too, and the
operator-only routes refuse without the token. A structural check makes sure every
event handler that touches the store validates the session first, so new handlers
cannot forget it.
"""

from __future__ import annotations

import ast
import hashlib
import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlmodel import SQLModel

from mts_portal.core import auth, cabinet
from mts_portal.core.db import read, transact
from mts_portal.core.errors import DomainError, Forbidden, NotFound
from mts_portal.core.models import Notification, SmsMessage
from tests.conftest import T0
from tests.helpers import make_line

A1, A2, B1 = "79180000001", "79180000002", "79180000003"
ROOT = Path(__file__).resolve().parents[2]


def fingerprint(engine) -> str:
    """A hash of every row of every table (except the append-only rate log and change feed)."""
    h = hashlib.sha256()
    with engine.connect() as c:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in ("rate_events", "change_log", "login_guards"):
                continue
            for row in c.execute(text(f'SELECT * FROM "{table.name}" ORDER BY 1')):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def session_for(store, msisdn: str) -> tuple[str, auth.SessionInfo]:
    req = transact(store, lambda s: auth.request_code(session=s, msisdn=msisdn, purpose="login", client="t", now=T0))
    code = read(store, lambda s: re.search(r"\d{6}", s.exec(select(SmsMessage.text).where(
        SmsMessage.to_msisdn == msisdn).order_by(SmsMessage.id.desc())).scalars().first()).group(0))
    grant = transact(store, lambda s: auth.login_with_code(session=s, attempt_id=req.attempt_id, msisdn=msisdn,
                                                           code=code, client="t", now=T0))
    res = transact(store, lambda s: auth.redeem_ticket(session=s, ticket=grant.ticket, client="t", now=T0))
    return res.token, res.info


@pytest.fixture
def world(store, tmp_path, monkeypatch):
    from mts_portal.core import family, payments, reports
    from mts_portal.core.settings import get_settings

    monkeypatch.setattr(get_settings(), "data_dir", tmp_path)
    a1 = make_line(store, A1, "my_mts", balance=1_000_000, now=T0, holder="Анна")
    account_a = read(store, lambda s: s.get(auth.Line, a1).account_id)
    make_line(store, A2, "minimum", balance=10_000, now=T0, account_id=account_a)
    make_line(store, B1, "smart", balance=100_000, now=T0, holder="Борис")
    token_a, info_a = session_for(store, A1)
    token_b, info_b = session_for(store, B1)
    note_a = read(store, lambda s: s.exec(select(Notification.id).join(auth.Line, auth.Line.id == Notification.line_id)
                                          .where(auth.Line.msisdn == A1)).scalars().first())
    card = transact(store, lambda s: payments.add_card(s, info_a, payments.parse_card("4111111111111111", "12/30", "123",
                                                                                      T0), T0))
    rule = transact(store, lambda s: payments.save_autopay(s, info_a, A1, "monthly", card.id, 50_000, T0,
                                                           day_of_month=5))
    transfer, treq = transact(store, lambda s: payments.request_transfer(s, info_a, A1, B1, 1_000, "c", T0))
    report = transact(store, lambda s: reports.make(s, info_a, A1, "csv", T0 - timedelta(days=1), T0, None, "ru",
                                                    T0))
    member = transact(store, lambda s: family.invite(s, info_a, A1, A2, T0))
    return {"store": store, "info_b": info_b, "token_b": token_b, "token_a": token_a, "note_a": note_a,
            "card": card.id, "rule": rule.id, "transfer": transfer.id, "transfer_attempt": treq.attempt_id,
            "report": report.report_id, "member": member.id}


def _money_and_more(w) -> dict:
    from mts_portal.core import bonus, family, payments, reports

    b, now = w["info_b"], T0
    return {
        "card lookup": lambda s: payments.get_card(s, b, w["card"]),
        "card remove": lambda s: payments.remove_card(s, b, w["card"], now),
        "pay B's line with A's card": lambda s: payments.top_up_by_card(s, b, B1, w["card"], 1_000, "k1", now),
        "pay A's line with A's card": lambda s: payments.top_up_by_card(s, b, A1, w["card"], 1_000, "k2", now),
        "promise on A": lambda s: payments.take_promise(s, b, A2, 5_000, now),
        "promise offer of A": lambda s: payments.promise_offer(s, b, A1, now),
        "autopay on A": lambda s: payments.save_autopay(s, b, A1, "monthly", w["card"], 1_000, now, day_of_month=1),
        "autopay view of A": lambda s: payments.autopay_view(s, b, A1),
        "cancel A's autopay": lambda s: payments.cancel_autopay(s, b, w["rule"]),
        "transfer from A": lambda s: payments.request_transfer(s, b, A1, B1, 1_000, "c", now),
        "confirm A's transfer": lambda s: payments.confirm_transfer(s, b, w["transfer"], w["transfer_attempt"],
                                                                    "000000", now),
        "A's operations": lambda s: payments.operations(s, b, A1),
        "A's spending": lambda s: payments.spending(s, b, A1, now),
        "A's report": lambda s: reports.get(s, b, w["report"], now),
        "report of A": lambda s: reports.make(s, b, A1, "csv", now - timedelta(days=1), now, None, "ru", now),
        "A's reports list": lambda s: reports.listed(s, b, A1, now),
        "invite into A's group": lambda s: family.invite(s, b, A1, B1, now),
        "quota in A's group": lambda s: family.set_quotas(s, b, A1, w["member"], "1", "", "", now),
        "remove from A's group": lambda s: family.remove_member(s, b, A1, w["member"], now),
        "cancel A's invitation": lambda s: family.cancel_invite(s, b, A1, w["member"], now),
        "accept A's invitation": lambda s: family.accept(s, b, w["member"], now),
        "decline A's invitation": lambda s: family.decline(s, b, w["member"], now),
        "A's family view": lambda s: family.view(s, b, A1, now),
        "leave for A": lambda s: family.leave(s, b, A2, now),
        "A's bonus history": lambda s: bonus.history(s, b, A1),
        "exchange A's points": lambda s: bonus.exchange(s, b, A1, "internet_1gb", now),
    }


def attempts(w) -> dict:
    """Every session-scoped action, aimed by B at A's objects."""
    b, tb, now = w["info_b"], w["token_b"], T0
    out = {}
    for m in (A1, A2):
        out |= {
            f"select_line {m}": lambda s, m=m: auth.select_line(session=s, token=tb, info=b, msisdn=m),
            f"remove_number {m}": lambda s, m=m: auth.remove_number(session=s, info=b, token=tb, msisdn=m, now=now),
            f"mark_lost {m}": lambda s, m=m: auth.mark_lost(session=s, info=b, msisdn=m, now=now),
            f"unblock_lost {m}": lambda s, m=m: auth.unblock_lost(session=s, info=b, msisdn=m, now=now),
            f"connect {m}": lambda s, m=m: cabinet.connect(s, b, m, "goodok", now),
            f"connect addon {m}": lambda s, m=m: cabinet.connect(s, b, m, "internet_1gb", now),
            f"disconnect {m}": lambda s, m=m: cabinet.disconnect(s, b, m, "sms_notify", now),
            f"block {m}": lambda s, m=m: cabinet.voluntary_block(s, b, m, True, now),
            f"forwarding {m}": lambda s, m=m: cabinet.set_call_forwarding(s, b, m, "79031234567", "always", now),
            f"notifications {m}": lambda s, m=m: cabinet.notifications(s, b, m, now),
            f"mark all read {m}": lambda s, m=m: cabinet.mark_all_read(s, b, m, now),
        }
    out["mark read A's notification"] = lambda s: cabinet.mark_notification_read(s, b, w["note_a"], now)
    out["mark read bad id"] = lambda s: cabinet.mark_notification_read(s, b, "1 OR 1=1", now)
    for extra in EXTRA_ATTEMPTS:
        out |= extra(w)
    return out


EXTRA_ATTEMPTS: list = [_money_and_more]


def test_b_cannot_touch_anything_of_a(world):
    store = world["store"]
    before = fingerprint(store)
    tried = attempts(world)
    assert len(tried) >= 45
    for name, fn in tried.items():
        with pytest.raises((NotFound, Forbidden)) as e:
            transact(store, fn)
        assert isinstance(e.value, DomainError), name
        assert fingerprint(store) == before, f"{name} changed the store"


def test_api_with_b_session_cannot_read_a(world, tmp_path, monkeypatch):
    from mts_portal.api import create_app
    from mts_portal.core import runtime

    monkeypatch.setattr(runtime, "engine", lambda: world["store"])
    monkeypatch.setattr(runtime, "now", lambda: T0)
    client = TestClient(create_app())
    client.cookies.set("mts_session", world["token_b"])
    assert client.get(f"/api/v1/lines/{B1}/summary").status_code == 200
    for m in (A1, A2):
        for path in (f"/api/v1/lines/{m}/summary", f"/api/v1/lines/{m}/records"):
            r = client.get(path)
            assert r.status_code == 404, (path, r.text)
    # the session is no operator: operator routes refuse with 401
    for method, path, body in (("post", "/api/v1/lines", {"msisdn": "79180000009", "tariff": "smart"}),
                               ("post", f"/api/v1/lines/{A1}/topups", {"amount_kopecks": 100, "idempotency_key": "x"}),
                               ("post", f"/api/v1/lines/{A1}/options", {"code": "goodok"}),
                               ("delete", f"/api/v1/lines/{A1}/options/goodok", None),
                               ("post", "/api/v1/events", {"events": []}),
                               ("post", "/api/v1/clock", {"now": "2030-01-01T00:00:00Z"})):
        r = client.request(method, path, json=body)
        assert r.status_code == 401, (path, r.status_code)
    r = client.get(f"/api/v1/reports/{world['report']}")
    assert r.status_code == 404, r.text  # A's report, B's cookie
    client.cookies.set("mts_session", world["token_a"])
    assert client.get(f"/api/v1/lines/{A2}/summary").status_code == 200  # A sees its own second number
    assert client.get(f"/api/v1/reports/{world['report']}").status_code == 200


# ---------------------------------------------------------------- structural check of the UI handlers

GUARDS = {"_session", "_begin", "_act", "_guarded"}
STORE = {"write", "query", "in_thread"}
ALLOWED = {"SessionState.logout": "only ends the caller's own token (a dead token stays dead)"}


def _handlers():
    for path in sorted((ROOT / "mts_portal/state").glob("*.py")):
        tree = ast.parse(path.read_text())
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
            bases = {getattr(b, "id", getattr(b, "attr", "")) for b in cls.bases}
            if bases & {"UiState"} and cls.name != "SessionState" or cls.name in ("LoginState", "PhoneState"):
                continue  # public pages: no session to check
            for fn in cls.body:
                if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and not fn.name.startswith("_"):
                    yield path.name, cls.name, fn


def test_every_store_touching_handler_checks_the_session_first():
    checked = 0
    for file, cls, fn in _handlers():
        calls = {getattr(n.func, "attr", getattr(n.func, "id", "")) for n in ast.walk(fn) if isinstance(n, ast.Call)}
        background = any("background" in ast.unparse(d) for d in fn.decorator_list)
        if calls & STORE and not background and f"{cls}.{fn.name}" not in ALLOWED:
            assert calls & GUARDS, f"{file}:{cls}.{fn.name} touches the store without validating the session"
            checked += 1
    assert checked >= 10


# ---------------------------------------------------------------- wrong attempts are always counted

COUNTED = {"set_password", "check_code", "confirm_add_number", "login_with_code", "login_with_password",
           "confirm_transfer", "request_transfer", "confirm_attach", "recover", "confirm_link"}


def test_every_handler_commits_the_wrong_attempts_it_causes():
    """The guard's failure count is written in the same transaction that then raises Unauthorized / Locked;
    a `write` that does not keep both rolls the count back, and guessing becomes unlimited."""
    from mts_portal.core.errors import Locked, Unauthorized
    from mts_portal.state.base import KEEP_FAILURES

    assert set(KEEP_FAILURES) >= {Unauthorized, Locked}
    found = 0
    for path in sorted((ROOT / "mts_portal/state").glob("*.py")):
        for call in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(call, ast.Call) and getattr(call.func, "id", "") == "write"):
                continue
            names = {getattr(n.func, "attr", getattr(n.func, "id", "")) for a in call.args for n in ast.walk(a)
                     if isinstance(n, ast.Call)}
            if names & COUNTED:
                found += 1
                keep = {k.arg: ast.unparse(k.value) for k in call.keywords}.get("keep_on", "")
                assert keep == "KEEP_FAILURES", f"{path.name}:{call.lineno} keeps {keep or 'nothing'}"
    assert found >= 4
