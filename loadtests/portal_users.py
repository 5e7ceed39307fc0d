"""Locust users that use the portal as subscribers do: over its websocket (loadtests/reflex_client.py).

- `PortalSubscriber`: logs in for real (a code requested on the login page, read from the demo SMS
  inbox, the ticket redeemed over HTTP), holds the live home screen, and now and then walks home →
  money → detail → tariffs → family with a real handler on each (a top-up preview, a detail filter, a
  tariff comparison). Every connect, page load, handler round trip and error is a Locust request
  (type WS), so it appears in Locust's statistics, CSV and HTML report.
- Event-to-screen: `LiveProbe` users post one chargeable usage event (an SMS from Turkey, 19 ₽) for
  a line that a subscriber is watching, through the ingestion API, and the watching socket reports
  the time until its new balance arrived (request name `event→screen`).

Lines: provisioned at test start through the operator API (LOAD_PORTAL_LINES, default 300, 7997…),
each topped up. Target: a portal in demo mode (the code inbox route) whose code limit per client
is raised (MTS_SMS_PER_CLIENT_PER_HOUR), as `scripts/loadtest.sh` starts it.
"""

from __future__ import annotations

import os
import random
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
from locust import User, between, events, task

from loadtests.reflex_client import AppMap, ProtocolError, Tab, demo_inbox_reader, login_by_code

TOKEN = os.environ.get("MTS_OPERATOR_TOKEN", "demo-operator-token")
N_LINES = int(os.environ.get("LOAD_PORTAL_LINES", "300"))
JOURNEY_EVERY = float(os.environ.get("LOAD_JOURNEY_EVERY", "1"))  # weight of the walk next to holding home
PREFIX = f"7997{random.randrange(100):02d}"
EVENT_TO_SCREEN_TIMEOUT_S = 5.0

LINES: list[str] = []
APP: dict[str, AppMap] = {}
_next_line = 0
_lines_lock = threading.Lock()
CLOCK_OFFSET = [timedelta(0)]


def _portal_now(host: str) -> datetime:
    """The portal's clock now (read at each probe: a demo portal's simulated clock may run faster than the
    wall clock, and a probe timed by an offset taken at start lands before its line existed)."""
    try:
        return datetime.fromisoformat(httpx.get(host.rstrip("/") + "/api/v1/health", timeout=10).json()["now"])
    except (httpx.HTTPError, KeyError, ValueError):
        return datetime.now(UTC) + CLOCK_OFFSET[0]


class Watchers:
    """Home screens being held, by line; the probe waits on one of them."""

    def __init__(self) -> None:
        self._by_line: dict[str, set] = {}
        self._lock = threading.Lock()

    def add(self, msisdn: str, user) -> None:
        with self._lock:
            self._by_line.setdefault(msisdn, set()).add(user)

    def remove(self, msisdn: str, user) -> None:
        with self._lock:
            users = self._by_line.get(msisdn)
            if users:
                users.discard(user)
                if not users:
                    del self._by_line[msisdn]

    def pick(self):
        with self._lock:
            if not self._by_line:
                return None
            msisdn = random.choice(list(self._by_line))
            return msisdn, next(iter(self._by_line[msisdn]))


WATCHERS = Watchers()


def _fire(environment, name: str, seconds: float, exc: BaseException | None = None, length: int = 0) -> None:
    environment.events.request.fire(request_type="WS", name=name, response_time=seconds * 1000.0,
                                    response_length=length, exception=exc, context={})


# every handler round trip and event→screen time of the run, pooled (the gate's p95 is over all handlers
# together; Locust's CSV has one row per name), written at the end to LOAD_SAMPLES_OUT
# Samples taken while sessions are still logging in (Locust still spawning, or a login in flight) are the
# warm-up: kept apart ("warmup_*") so that the gates judge the portal holding its sessions, not the burst
# of logins at the start, which on a slow machine dominates a 30-s smoke's tail.
SAMPLES: dict[str, list[float]] = {"handlers": [], "e2s": [], "warmup_handlers": [], "warmup_e2s": []}
# ... and for WARM_TAIL_S after the last login ended: the portal is still busy with the burst's aftermath
# (its first on_loads and watchers), which in CI once put the first quarter after the logins at p95 340 ms
# while the rest ran at 31–66 ms
WARM_TAIL_S = 3.0
_WARM = {"spawned": False, "logging_in": 0, "last_login_at": -1e18}


@events.spawning_complete.add_listener
def _spawned(**_kw):
    _WARM["spawned"] = True


def _warming_up() -> bool:
    return (not _WARM["spawned"] or _WARM["logging_in"] > 0
            or time.monotonic() - _WARM["last_login_at"] < WARM_TAIL_S)


@events.request.add_listener
def _sample(name, response_time, exception, **_kw):
    if exception is not None:
        return
    prefix = "warmup_" if _warming_up() else ""
    if name == "event→screen":
        SAMPLES[prefix + "e2s"].append(response_time)
    elif name.startswith("page ") or ("State." in name and name[:1].isupper()):
        SAMPLES[prefix + "handlers"].append(response_time)


@events.test_stop.add_listener
def _write_samples(environment, **_kw):
    import json

    out = os.environ.get("LOAD_SAMPLES_OUT")
    if out:
        with open(out, "w") as f:
            json.dump(SAMPLES, f)


@events.test_start.add_listener
def provision(environment, **_kw):
    """The portal users' lines, once per Locust process, through the operator API."""
    if not any(getattr(c, "__name__", "") in ("PortalSubscriber", "LiveProbe") for c in environment.user_classes):
        return
    host = environment.host.rstrip("/")
    with httpx.Client(base_url=host, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as c:
        CLOCK_OFFSET[0] = datetime.fromisoformat(c.get("/api/v1/health").json()["now"]) - datetime.now(UTC)
        for i in range(N_LINES):
            msisdn = f"{PREFIX}{i:05d}"
            r = c.post("/api/v1/lines", json={"msisdn": msisdn, "tariff": "smart", "holder_name": f"Портал {i}"})
            if r.status_code in (200, 201, 409):
                c.post(f"/api/v1/lines/{msisdn}/topups",
                       json={"amount_kopecks": 1_000_000, "idempotency_key": f"portal-{msisdn}-seed"})
                LINES.append(msisdn)
    if not LINES:
        raise RuntimeError("could not provision any line for the portal users: check the host and the token")
    APP["map"] = AppMap.discover(host)


def _take_line() -> str:
    global _next_line
    with _lines_lock:
        msisdn = LINES[_next_line % len(LINES)]
        _next_line += 1
        return msisdn


class PortalSubscriber(User):
    """A subscriber with the portal open in a browser tab."""

    weight = int(os.environ.get("LOAD_WEIGHT_PORTAL", "3"))
    wait_time = between(3, 8)

    def on_start(self):
        self.tab: Tab | None = None
        self.msisdn = _take_line()
        self.expect_change: tuple[float, str] | None = None
        self._read_code = demo_inbox_reader(self.host.rstrip("/"), TOKEN)
        self.http = httpx.Client(timeout=30)
        tab = Tab(self.host.rstrip("/"), APP["map"], self.http, on_update=self._on_update)
        t0 = time.perf_counter()
        _WARM["logging_in"] += 1
        try:
            login_by_code(tab, self.msisdn, self._read_code)
        except (ProtocolError, PermissionError, TimeoutError, httpx.HTTPError) as exc:
            _fire(self.environment, "login (code) → home", time.perf_counter() - t0, exc)
            tab.close()
            raise
        finally:
            _WARM["logging_in"] -= 1
            _WARM["last_login_at"] = time.monotonic()
        _fire(self.environment, "login (code) → home", time.perf_counter() - t0)
        self.tab = tab
        self._watch()

    def on_stop(self):
        WATCHERS.remove(self.msisdn, self)
        if self.tab is not None:
            self.tab.close()
        self.http.close()

    def _watch(self) -> None:
        if self.tab is not None and self.tab.path.split("?")[0] == "/":
            WATCHERS.add(self.msisdn, self)

    # ---------------------------------------------------------------- live updates

    def _on_update(self, update) -> None:
        expect = self.expect_change
        if expect is None or self.tab is None:
            return
        t0, before = expect
        balance = self.tab.var("home_state", "balance_text")
        if balance and balance != before:
            self.expect_change = None
            _fire(self.environment, "event→screen", update.at - t0)

    def probe(self, environment) -> None:
        """Called by a LiveProbe: post one chargeable event for this line and wait for the new balance."""
        if self.tab is None or self.expect_change is not None:
            return
        before = self.tab.var("home_state", "balance_text") or ""
        now = _portal_now(self.host)
        ev = {"event_id": f"e2s-{self.msisdn}-{time.time_ns()}", "msisdn": self.msisdn, "kind": "sms",
              "direction": "out", "peer": "79031234567", "zone": "TR",
              "started_at": now.isoformat()}  # now: the line may have been connected a second ago
        t0 = time.perf_counter()
        self.expect_change = (t0, before)
        r = httpx.post(self.host.rstrip("/") + "/api/v1/events", json={"events": [ev]},
                       headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        if r.status_code != 200 or r.json()["results"][0]["status"] != "rated":
            self.expect_change = None
            _fire(environment, "event→screen", time.perf_counter() - t0,
                  RuntimeError(f"the probe event was not rated: {r.status_code} {r.text[:200]}"))
            return
        deadline = t0 + EVENT_TO_SCREEN_TIMEOUT_S
        while self.expect_change is not None and time.perf_counter() < deadline:
            time.sleep(0.02)
        if self.expect_change is not None:
            self.expect_change = None
            _fire(environment, "event→screen", time.perf_counter() - t0,
                  TimeoutError(f"no new balance within {EVENT_TO_SCREEN_TIMEOUT_S:.0f} s"))

    # ---------------------------------------------------------------- what a subscriber does

    def _step(self, name: str, fn) -> bool:
        t0 = time.perf_counter()
        try:
            fn()
        except (ProtocolError, TimeoutError, httpx.HTTPError) as exc:
            _fire(self.environment, name, time.perf_counter() - t0, exc)
            return False
        _fire(self.environment, name, time.perf_counter() - t0)
        return True

    @task(5)
    def hold_home(self):
        """The home screen stays open: live balance and bundles arrive by themselves."""
        if self.tab is None:
            return
        if self.tab.disconnected:
            _fire(self.environment, "disconnect", 0.0, ProtocolError("the server closed the websocket"))
            WATCHERS.remove(self.msisdn, self)
            self.tab = None
            return
        if self.tab.path.split("?")[0] != "/":
            self._step("page /", lambda: self.tab.navigate("/"))
        self._watch()

    @task(max(1, int(JOURNEY_EVERY)))
    def journey(self):
        """home → money (a top-up preview) → detail (7 days) → tariffs (a comparison) → family → home."""
        tab = self.tab
        if tab is None:
            return
        WATCHERS.remove(self.msisdn, self)
        ok = self._step("page /money", lambda: tab.navigate("/money"))
        ok = ok and self._step("MoneyState.review_top_up", lambda: tab.call(
            "money_state", "review_top_up", form={"amount": "150", "number": "4111 1111 1111 1111",
                                                  "expiry": "12/30", "cvc": "123"}))
        ok = ok and self._step("MoneyState.close_confirm", lambda: tab.call("money_state", "close_confirm"))
        ok = ok and self._step("page /detail", lambda: tab.navigate("/detail"))
        ok = ok and self._step("DetailState.set_preset", lambda: tab.call("detail_state", "set_preset", value="7"))
        ok = ok and self._step("page /tariffs", lambda: tab.navigate("/tariffs"))
        code = random.choice(("tarifische", "minimum"))
        ok = ok and self._step("TariffsState.open_preview", lambda: tab.call("tariffs_state", "open_preview",
                                                                            code=code))
        ok = ok and self._step("TariffsState.close_preview", lambda: tab.call("tariffs_state", "close_preview"))
        ok = ok and self._step("page /family", lambda: tab.navigate("/family"))
        self._step("page /", lambda: tab.navigate("/"))
        self._watch()


class LiveProbe(User):
    """An ingestion node that posts usage for lines being watched and times their screens."""

    weight = int(os.environ.get("LOAD_WEIGHT_PROBE", "1"))
    fixed_count = int(os.environ.get("LOAD_PROBES", "1"))
    wait_time = between(0.5, 1.5)

    @task
    def event_to_screen(self):
        picked = WATCHERS.pick()
        if picked is None:
            return
        _, user = picked
        user.probe(self.environment)
