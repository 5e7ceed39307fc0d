"""The browser's session routes: pre-login nonce, ticket binding (login CSRF), same-origin logout."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from mts_portal.core import auth, runtime
from mts_portal.core.db import read, transact
from mts_portal.core.models import SmsMessage
from tests.conftest import T0
from tests.helpers import make_line

A1, B1 = "79180000001", "79180000003"
BASE = "https://testserver"


@pytest.fixture
def app(sqlite_store, monkeypatch):
    from mts_portal.api import create_app

    monkeypatch.setattr(runtime, "engine", lambda: sqlite_store)
    monkeypatch.setattr(runtime, "now", lambda: T0)
    make_line(sqlite_store, A1, "smart", balance=10_000, now=T0)
    make_line(sqlite_store, B1, "smart", balance=10_000, now=T0)
    return create_app()


def browser(app) -> TestClient:
    return TestClient(app, base_url=BASE)


def nonce_of(client: TestClient) -> str:
    r = client.get("/api/v1/session/prelogin", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    return client.cookies.get("mts_prelogin")


def grant_for(store, msisdn: str, binding: str | None):
    """What the login page's state does for a browser whose websocket carries `binding`."""
    req = transact(store, lambda s: auth.request_code(session=s, msisdn=msisdn, purpose="login", client="x", now=T0))
    code = read(store, lambda s: re.search(r"\d{6}", s.exec(select(SmsMessage.text).where(
        SmsMessage.to_msisdn == msisdn).order_by(SmsMessage.id.desc())).scalars().first()).group(0))
    return transact(store, lambda s: auth.login_with_code(session=s, attempt_id=req.attempt_id, msisdn=msisdn,
                                                          code=code, client="x", now=T0, binding=binding))


def test_prelogin_sets_an_httponly_strict_random_nonce_once(app):
    client = browser(app)
    r = client.get("/api/v1/session/prelogin?next=/login%3Fe%3Didle", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?e=idle"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("mts_prelogin=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/" in cookie and "Secure" in cookie
    nonce = client.cookies.get("mts_prelogin")
    assert len(nonce) >= 43
    again = client.get("/api/v1/session/prelogin", follow_redirects=False)
    assert "set-cookie" not in again.headers  # one nonce per browser: every tab shares it
    assert browser(app).get("/api/v1/session/prelogin", follow_redirects=False).cookies.get("mts_prelogin") != nonce
    for evil in ("https://evil.example/", "//evil.example", "/\\evil", "/money"):
        r = client.get("/api/v1/session/prelogin", params={"next": evil}, follow_redirects=False)
        assert r.headers["location"] == "/login", evil


def test_a_ticket_earned_in_one_browser_does_not_log_in_another(app):
    """Login CSRF: the attacker logs in as himself and sends the victim's browser to his ticket."""
    store = runtime.engine()
    attacker, victim = browser(app), browser(app)
    grant = grant_for(store, B1, nonce_of(attacker))
    nonce_of(victim)
    r = victim.get(f"/api/v1/session/establish?ticket={grant.ticket}&next=/money", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?e=login_binding"
    assert "mts_session" not in victim.cookies
    assert victim.get(f"/api/v1/lines/{B1}/summary").status_code == 401
    # without any nonce (a browser that never opened our login page) it is refused too, and gets one
    fresh = browser(app)
    r = fresh.get(f"/api/v1/session/establish?ticket={grant.ticket}", follow_redirects=False)
    assert r.headers["location"] == "/login?e=login_binding" and fresh.cookies.get("mts_prelogin")
    # an unbound ticket (minted without a nonce) is refused by the browser route
    unbound = grant_for(store, A1, None)
    r = attacker.get(f"/api/v1/session/establish?ticket={unbound.ticket}", follow_redirects=False)
    assert r.headers["location"] == "/login?e=login_binding"
    # the browser that proved the login gets its session
    r = attacker.get(f"/api/v1/session/establish?ticket={grant.ticket}&next=/money", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/money"
    assert "HttpOnly" in r.headers["set-cookie"] and "SameSite=strict" in r.headers["set-cookie"]
    assert attacker.get(f"/api/v1/lines/{B1}/summary").status_code == 200


def logged_in(app) -> tuple[TestClient, str]:
    client = browser(app)
    grant = grant_for(runtime.engine(), A1, nonce_of(client))
    client.get(f"/api/v1/session/establish?ticket={grant.ticket}", follow_redirects=False)
    return client, client.cookies.get("mts_session")


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"},
    {"Sec-Fetch-Site": "same-site"},
    {"Referer": "https://evil.example/page"},
    {"Origin": "https://evil.example"},
])
def test_another_site_cannot_log_the_user_out(app, headers):
    client, token = logged_in(app)
    r = client.get("/api/v1/session/logout", headers=headers, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "set-cookie" not in r.headers  # the session cookie is not cleared
    assert transact(runtime.engine(), lambda s: auth.validate_session(session=s, token=token, now=T0)) is not None


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"},  # the logout button
    {"Sec-Fetch-Site": "none"},  # typed into the address bar
    {"Referer": f"{BASE}/settings"},
    {},
])
def test_our_own_pages_log_out(app, headers):
    client, token = logged_in(app)
    r = client.get("/api/v1/session/logout?reason=logout", headers=headers, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?e=logout"
    assert 'mts_session=""' in r.headers["set-cookie"] or "mts_session=;" in r.headers["set-cookie"]
    assert transact(runtime.engine(), lambda s: auth.validate_session(session=s, token=token, now=T0)) is None
