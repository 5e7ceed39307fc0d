"""The load tests' browser-less tab (loadtests/reflex_client.py) against the real production build: it
finds the app's names in the compiled frontend, logs in by code as a browser does, walks the pages with
their handlers, sees live updates — and fails loudly when the protocol is not what it expects."""

from __future__ import annotations

import http.server
import threading

import httpx
import pytest

from loadtests.reflex_client import (
    REQUIRED_STATES,
    AppMap,
    ProtocolError,
    Tab,
    demo_inbox_reader,
    login_by_code,
)
from tests.e2e.server import OPERATOR_TOKEN

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def app_map(portal) -> AppMap:
    return AppMap.discover(portal.url)


def test_the_compiled_frontend_names_every_state_the_load_test_uses(app_map):
    for short in REQUIRED_STATES:
        assert app_map.states[short].startswith("reflex___state____state.")
    assert app_map.event("home_state", "load").endswith("home____home_state.load")
    with pytest.raises(ProtocolError, match="no state"):
        app_map.event("no_such_state", "load")


def test_a_tab_logs_in_walks_the_pages_and_sees_live_updates(portal, app_map):
    msisdn = portal.line(balance_kopecks=50_000)
    with httpx.Client(timeout=30) as http:
        tab = Tab(portal.url, app_map, http)
        try:
            login_by_code(tab, msisdn, demo_inbox_reader(portal.url, OPERATOR_TOKEN))
            assert tab.path.split("?")[0] == "/" and "mts_session" in tab.cookies
            assert "₽" in tab.var("home_state", "balance_text")
            for path, state, var in (("/money", "money_state", "balance_text"), ("/tariffs", "tariffs_state", "current"),
                                     ("/detail", "detail_state", "totals")):
                assert tab.navigate(path) < 10
                assert tab.var(state, var), (path, tab.var(state, var))
            tab.navigate("/money")
            tab.call("money_state", "review_top_up", form={"amount": "150", "number": "4111 1111 1111 1111",
                                                           "expiry": "12/30", "cvc": "123"})
            assert tab.var("money_state", "confirm") == "pay"  # the question opened; nothing paid yet
            tab.call("money_state", "close_confirm")
            tab.navigate("/")
            before = tab.var("home_state", "balance_text")
            now = portal.now()
            results = portal.events([{"event_id": f"rc-{msisdn}", "msisdn": msisdn, "kind": "sms", "direction": "out",
                                      "peer": "79031234567", "zone": "TR", "started_at": now.isoformat()}])
            assert results[0]["status"] == "rated" and results[0]["charged_kopecks"] > 0, results
            import time

            deadline = time.monotonic() + 10
            while tab.var("home_state", "balance_text") == before and time.monotonic() < deadline:
                time.sleep(0.05)
            assert tab.var("home_state", "balance_text") != before  # pushed, no request of the tab's own
            assert not tab.errors and not tab.disconnected
        finally:
            tab.close()


def test_a_refused_login_code_is_an_error_not_a_silent_pass(portal, app_map):
    msisdn = portal.line()
    with httpx.Client(timeout=30) as http:
        tab = Tab(portal.url, app_map, http)
        try:
            with pytest.raises(PermissionError, match="login refused"):
                login_by_code(tab, msisdn, lambda _m: "000000")
        finally:
            tab.close()


def test_a_portal_whose_frontend_lacks_the_names_fails_loudly():
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # a page with an asset that names no Reflex state
            body = b'<html><script src="/assets/app.js"></script></html>' if self.path.startswith("/login") \
                else b"console.log('hello')"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(ProtocolError, match="hydrate_and_load"):
            AppMap.discover(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()


def test_one_change_is_pushed_once(portal, app_map):
    """A usage event wakes the watcher twice (the in-process publish after the commit and the change-log
    poller); the tab gets one home delta, not two (the watcher reads the line's version first)."""
    import time

    msisdn = portal.line(balance_kopecks=50_000)
    with httpx.Client(timeout=30) as http:
        tab = Tab(portal.url, app_map, http)
        try:
            login_by_code(tab, msisdn, demo_inbox_reader(portal.url, OPERATOR_TOKEN))
            home = app_map.states["home_state"]
            time.sleep(1.0)  # the page's own loading deltas are over
            seen = []
            tab.on_update = lambda u: seen.append(u) if home in u.delta else None
            results = portal.events([{"event_id": f"once-{msisdn}", "msisdn": msisdn, "kind": "sms",
                                      "direction": "out", "peer": "79031234567", "zone": "TR",
                                      "started_at": portal.now().isoformat()}])
            assert results[0]["status"] == "rated", results
            deadline = time.monotonic() + 10
            while not seen and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(2.0)  # the change-log poller (0.1 s here) has long woken the watcher a second time
            assert len(seen) == 1, [sorted(u.delta[home]) for u in seen]
        finally:
            tab.on_update = None
            tab.close()
