"""A browser tab of the portal without a browser: Reflex's own protocol over socket.io.

Reflex 0.10 pages live on one websocket (socket.io namespace `/_event`, path `/_event`). The tab
connects with its Reflex token in the query string, the browser's cookies and an Origin header; the
socket.io CONNECT packet carries the first event (`<root state>.hydrate_and_load`) as the browser's
frontend does. The server answers with `event` messages `{"delta": {state path: {var_rx_state_: v}},
"events": [...]}`: deltas are merged into `Tab.state`; returned events are what the browser would do
next — backend events are sent back at once (a page's on_load handlers, watchers), frontend ones are
played: `_redirect` navigates, `_call_script` with `window.location.assign/replace(url)` is a page
load (a login ticket redeemed over HTTP, then a new websocket, as the browser does), `_toast` is noted.

Everything this depends on is read from the portal itself and checked (`AppMap.discover`): the root
state and hydrate event names and the state paths, from the compiled frontend the portal serves. A
Reflex upgrade that changes them fails here with a ProtocolError saying what is missing, instead of
measuring nothing.

Messages are merged one at a time in the order they arrive, as a page does (python-engineio's default
runs each in a thread of its own). A page load is over when the server sets `is_hydrated` again: Reflex
chains the page's on_load handlers on the backend after the hydrate snapshot.

A handler's round trip is measured with a probe: `UiState.probe(n)` is queued right after the handler
(events of one tab are processed in order) and sets `rx_probe`; when its value comes back, every
delta of the handler — and of the events it made the tab send — has arrived.
"""

from __future__ import annotations

import collections
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import engineio
import httpx
import socketio

ROOT = "reflex___state____state"
HYDRATE = f"{ROOT}.hydrate_and_load"
ON_LOAD = f"{ROOT}.reflex___state____on_load_internal_state.on_load_internal"
NAMESPACE = "/_event"
SUFFIX = "_rx_state_"
REQUIRED_STATES = ("ui_state", "session_state", "login_state", "home_state", "money_state", "detail_state",
                   "tariffs_state", "family_state")
_ASSET = re.compile(r'(?:href|src)="(/assets/[^"]+\.js)"')
_STATE = re.compile(r"reflex___state____state(?:\.[a-z0-9_]+)+")
_LOCATION = re.compile(r"window\.location\.(?:assign|replace)\('([^']+)'(?:\s*\+\s*encodeURIComponent\('([^']*)'\))?")


class _InOrderEngineIO(engineio.Client):
    """Messages are handled one after the other in the order they arrive, on the socket's reading thread, as a
    browser's page does. python-engineio hands each message to a thread of its own: under load the hydrate
    snapshot (~100 kB to decode) was merged after the smaller deltas that followed it — the home screen's
    data, overwritten with the page's initial values (test_tab_leak, 1 tab in ~600 with 25 connecting)."""

    def _trigger_event(self, event, *args, **kwargs):
        if event == "message":
            kwargs["run_async"] = False
        return super()._trigger_event(event, *args, **kwargs)


class _InOrderClient(socketio.Client):
    def _engineio_client_class(self):
        return _InOrderEngineIO


class ProtocolError(RuntimeError):
    """The portal does not speak the protocol this client was written for (a Reflex upgrade?)."""


@dataclass
class AppMap:
    """Names of the compiled app: short state name (home_state) → full state path."""

    states: dict[str, str]
    schema: str | None = None

    @classmethod
    def discover(cls, base_url: str, client: httpx.Client | None = None) -> AppMap:
        own = client is None
        client = client or httpx.Client(timeout=30)
        try:
            page = client.get(base_url.rstrip("/") + "/login", follow_redirects=True)
            if page.status_code != 200:
                raise ProtocolError(f"GET /login answered {page.status_code}: is {base_url} a portal?")
            assets = list(dict.fromkeys(_ASSET.findall(page.text)))
            if not assets:
                raise ProtocolError("the login page links no /assets/*.js: not a Reflex production build?")
            names: set[str] = set()
            schema = None
            hydrate = False
            for path in assets:
                js = client.get(base_url.rstrip("/") + path).text
                names.update(_STATE.findall(js))
                hydrate = hydrate or "hydrate_and_load" in js
                m = re.search(r'stateSchema\s*=\s*"([0-9a-f]{16,64})"', js)
                schema = schema or (m.group(1) if m else None)
        finally:
            if own:
                client.close()
        if not hydrate:
            raise ProtocolError(f"the compiled frontend has no {HYDRATE!r}: Reflex's connect event changed")
        states: dict[str, str] = {}
        for name in names:
            parts = name.split(".")
            for i in range(1, len(parts)):
                path = ".".join(parts[: i + 1])
                short = parts[i].split("____")[-1]
                if not short.endswith(SUFFIX) and short not in states:
                    states[short] = path
        missing = [s for s in REQUIRED_STATES if s not in states]
        if missing:
            raise ProtocolError(f"the compiled frontend names no state {missing}: the app or Reflex's state "
                                f"naming changed (found {sorted(states)[:12]}…)")
        return cls(states, schema)

    def event(self, state: str, handler: str) -> str:
        try:
            return f"{self.states[state]}.{handler}"
        except KeyError:
            raise ProtocolError(f"no state {state!r} in the compiled frontend") from None


@dataclass
class Update:
    at: float
    delta: dict
    events: list


@dataclass
class Tab:
    """One browser tab: its Reflex token, cookies, the page it shows and the state it has received."""

    base_url: str
    app: AppMap
    http: httpx.Client
    token: str = field(default_factory=lambda: str(uuid.uuid4()))
    path: str = "/login"
    state: dict[str, dict] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    toasts: list[dict] = field(default_factory=list)
    on_update: Callable[[Update], None] | None = None
    connect_timeout: float = 20.0

    def __post_init__(self) -> None:
        # the browser's cookies, kept here: a browser keeps `Secure` cookies of http://127.0.0.1 (a secure
        # context), httpx's jar does not send them over http
        self.cookies: dict[str, str] = {}
        self.sio: socketio.Client | None = None
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._probe = itertools.count(1)
        self._navigations: list[str] = []
        self.updates = 0
        self.disconnected = False
        # the last messages both ways, for the message of a failure: (seconds since the tab began, what)
        self.trace: collections.deque[tuple[float, str]] = collections.deque(maxlen=40)
        self._t0 = time.perf_counter()

    def _note(self, what: str) -> None:
        self.trace.append((round(time.perf_counter() - self._t0, 3), what))

    def describe(self) -> str:
        """What this tab saw, for an assertion message: its path, token, hydration and last messages."""
        return (f"tab {self.token[:8]} on {self.path}: {self.updates} messages, is_hydrated={self.hydrated()}, "
                f"disconnected={self.disconnected}, errors={self.errors[-3:]}, last messages: {list(self.trace)}")

    # ---------------------------------------------------------------- connection

    def _cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def _absorb(self, response: httpx.Response) -> None:
        from http.cookies import SimpleCookie

        for header in response.headers.get_list("set-cookie"):
            jar = SimpleCookie()
            try:
                jar.load(header)
            except Exception:
                continue
            for name, morsel in jar.items():
                gone = morsel["max-age"] == "0" or (morsel["expires"] and "1970" in morsel["expires"])
                if gone or morsel.value in ("", '""'):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        self.http.cookies.clear()

    def get(self, url: str, max_redirects: int = 10) -> httpx.Response:
        """A page load as the browser does it: cookies sent and kept, redirects followed."""
        url = urljoin(self.base_url + "/", url)
        for _ in range(max_redirects):
            r = self.http.get(url, headers={"Cookie": self._cookie_header()}, follow_redirects=False)
            self._absorb(r)
            if r.status_code in (301, 302, 303, 307, 308) and "location" in r.headers:
                url = urljoin(url, r.headers["location"])
                continue
            return r
        raise ProtocolError(f"too many redirects from {url}")

    def connect(self, path: str | None = None) -> float:
        """A page load of `path`: a new websocket whose CONNECT carries hydrate_and_load. Returns seconds
        until the page's state (and its on_load's) arrived."""
        self.close()
        self.path = path or self.path
        self.disconnected = False
        sio = _InOrderClient(reconnection=False)
        sio.on("event", self._on_event, namespace=NAMESPACE)
        sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)
        sio.on("new_token", self._on_new_token, namespace=NAMESPACE)
        boot = {"name": HYDRATE, "payload": {}, "router_data": self._router()}
        auth = {"event": boot}
        if self.app.schema:
            auth["state_schema"] = self.app.schema
        with self._cond:  # a page load starts from the page's initial state, as a browser's does
            self.state = {ROOT: {"is_hydrated": False}}
        t0 = time.perf_counter()
        # the tab's socket before connect() returns: hydrate's delta, with the on_load events the tab must send
        # back, can arrive on the receive thread first, and an emit then found no socket — the on_load was
        # lost and the page never loaded (test_tab_leak, once in a CI run with 25 tabs connecting at a time)
        self.sio = sio
        try:
            # (websocket-client sends the Origin of the URL itself, as the page's origin would be)
            sio.connect(f"{self.base_url}?token={self.token}", headers={
                "Cookie": self._cookie_header(), "User-Agent": "mts-portal-locust"},
                auth=auth, transports=["websocket"], namespaces=[NAMESPACE], socketio_path="_event",
                wait_timeout=self.connect_timeout)
        except socketio.exceptions.ConnectionError as exc:
            self.sio = None
            raise ProtocolError(f"the websocket refused the connection: {exc}") from exc
        self.settle(max(15.0, self.connect_timeout))
        return time.perf_counter() - t0

    def close(self) -> None:
        if self.sio is not None:
            try:
                self.sio.disconnect()
            except Exception:
                pass
            self.sio = None

    def _router(self) -> dict:
        path = self.path.split("?")[0] or "/"
        return {"pathname": path, "asPath": self.path}

    def _on_disconnect(self, *args) -> None:
        self._note(f"disconnect {args}")
        self.disconnected = True
        with self._cond:
            self._cond.notify_all()

    def _on_new_token(self, token) -> None:
        self._note("new_token")
        self.token = str(token)

    # ---------------------------------------------------------------- messages

    def _on_event(self, update) -> None:
        if isinstance(update, str):
            update = json.loads(update)
        delta = update.get("delta") or {}
        events = update.get("events") or []
        root = delta.get(ROOT)
        self._note(f"<- {sorted(k.rsplit('.', 1)[-1].rsplit('____', 1)[-1] for k in delta)}"
                   + (f" root={root}" if isinstance(root, dict) and len(root) <= 4 else "")
                   + (f" events={[str(e.get('name', ''))[-40:] for e in events]}" if events else ""))
        # the events a message carries are played before the message counts as received: an event it makes
        # the tab send then leaves before any probe sent after the message was seen
        for ev in events:
            self._play(ev)
        with self._cond:
            for path, values in delta.items():
                if not isinstance(values, dict):
                    continue
                st = self.state.setdefault(path, {})
                for k, v in values.items():
                    st[k.removesuffix(SUFFIX)] = v
            self.updates += 1
            self._cond.notify_all()
        if self.on_update is not None:
            self.on_update(Update(time.perf_counter(), delta, events))

    def _play(self, ev: dict) -> None:
        name = str(ev.get("name", ""))
        payload = ev.get("payload") or {}
        if not name.startswith("_"):  # a backend event the browser sends back (on_load, watchers)
            self._emit(name, payload)
        elif name == "_redirect":
            with self._cond:
                self._navigations.append(str(payload.get("path", "/")))
                self._cond.notify_all()
        elif name == "_call_script":
            m = _LOCATION.search(str(payload.get("javascript_code", payload.get("script", ""))))
            if "sessionStorage.removeItem('token')" in str(payload):
                self.token = str(uuid.uuid4())  # the page forgot its Reflex token before leaving
            if m:
                from urllib.parse import quote

                with self._cond:
                    self._navigations.append(m.group(1) + (quote(m.group(2), safe="") if m.group(2) else ""))
                    self._cond.notify_all()
        elif name == "_toast":
            self.toasts.append(payload)

    def _emit(self, name: str, payload: dict) -> None:
        if self.sio is None:
            raise ProtocolError("the tab is not connected")
        self._note(f"-> {name.rsplit('.', 1)[-1]}")
        self.sio.emit("event", {"name": name, "payload": payload, "router_data": self._router()},
                      namespace=NAMESPACE)

    # ---------------------------------------------------------------- requests

    def var(self, state: str, name: str, default=None):
        with self._lock:
            return self.state.get(self.app.states[state], {}).get(name, default)

    def hydrated(self) -> bool | None:
        with self._lock:
            return self.state.get(ROOT, {}).get("is_hydrated")

    def settle(self, timeout: float = 15.0) -> None:
        """Wait until every event sent so far (and what it made the tab send) has been processed."""
        self._roundtrip(None, None, timeout)

    def _wait_hydrated(self, deadline: float, what: str | None) -> None:
        """A page load is over when the server sets `is_hydrated` again: Reflex chains a page's on_load
        handlers on the backend (hydrate_and_load → on_load_internal → the handlers → set_is_hydrated(True)),
        so a probe sent meanwhile can be answered between two links of that chain, before the page's data."""
        with self._cond:
            while self.state.get(ROOT, {}).get("is_hydrated") is False:
                if self.disconnected:
                    raise ProtocolError("the server closed the websocket")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"the page {self.path} did not finish loading (is_hydrated stayed false) "
                                       f"after {what or 'the connect'}; " + self.describe())
                self._cond.wait(min(left, 0.5))

    def _roundtrip(self, name: str | None, payload: dict | None, timeout: float) -> None:
        probe_state = self.app.states["ui_state"]
        deadline = time.monotonic() + timeout
        if name is not None:
            self._emit(name, payload or {})
        while True:
            n = f"{self.token[:8]}-{next(self._probe)}"
            before = self.updates
            self._emit(f"{probe_state}.probe", {"n": n})
            with self._cond:
                while self.state.get(probe_state, {}).get("rx_probe") != n:
                    if self.disconnected:
                        raise ProtocolError("the server closed the websocket")
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError(f"no answer to {name or 'the connect'} within {timeout:.0f} s; "
                                           + self.describe())
                    self._cond.wait(min(left, 0.5))
                more = self.updates - before > 1  # something besides the probe arrived: maybe more to come
            if self.hydrated() is False:  # a page load still running: wait for its end, then probe again
                self._wait_hydrated(deadline, name)
                continue
            if not more:
                return

    def call(self, state: str, handler: str, timeout: float = 15.0, **payload) -> float:
        """Run a handler and wait for all it causes; seconds from sending to its last delta."""
        t0 = time.perf_counter()
        self._roundtrip(self.app.event(state, handler), payload, timeout)
        return time.perf_counter() - t0

    def take_navigation(self) -> str | None:
        with self._lock:
            return self._navigations.pop(0) if self._navigations else None

    def navigate(self, path: str) -> float:
        """A client-side navigation (the SPA's links): on_load_internal for `path`."""
        self.path = path
        t0 = time.perf_counter()
        self._roundtrip(ON_LOAD, {}, 15.0)
        return time.perf_counter() - t0

    def follow(self) -> str | None:
        """Play a page load the server asked for (a full navigation): HTTP redirects, then a new websocket."""
        target = self.take_navigation()
        if target is None:
            return None
        r = self.get(target)
        final = urlsplit(str(r.url))
        self.connect(final.path + (f"?{final.query}" if final.query else ""))
        return self.path


def prelogin(tab: Tab) -> None:
    """The browser's pre-login nonce (login tickets are bound to it)."""
    r = tab.get("/api/v1/session/prelogin?next=/login")
    if "mts_prelogin" not in tab.cookies:
        raise ProtocolError(f"/api/v1/session/prelogin answered {r.status_code} without the nonce cookie")


def login_by_code(tab: Tab, msisdn: str, read_code: Callable[[str], str]) -> None:
    """The real login: the code form, the code read from the demo inbox, the ticket redeemed over HTTP."""
    prelogin(tab)
    tab.connect("/login")
    tab.call("login_state", "request_code", form={"phone": msisdn})
    if tab.var("login_state", "step") != "code":
        raise PermissionError(f"login code refused: {tab.var('login_state', 'error')!r}")
    code = read_code(msisdn)
    tab.call("login_state", "submit_code", form={"code": code})
    if tab.follow() is None:
        raise PermissionError(f"login refused: {tab.var('login_state', 'error')!r}")
    if "mts_session" not in tab.cookies:
        raise PermissionError("no session cookie after the login ticket")


def login_by_password(tab: Tab, msisdn: str, password: str) -> None:
    prelogin(tab)
    tab.connect("/login")
    tab.call("login_state", "set_mode", mode="password")
    tab.call("login_state", "submit_password", form={"phone": msisdn, "password": password})
    if tab.follow() is None:
        raise PermissionError(f"login refused: {tab.var('login_state', 'error')!r}")


def demo_inbox_reader(base_url: str, operator_token: str) -> Callable[[str], str]:
    """Read the newest login code of a number from the demo SMS inbox (operator route, demo mode only)."""
    client = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {operator_token}"}, timeout=30)

    def read(msisdn: str) -> str:
        for _ in range(20):
            r = client.get(f"/api/v1/demo/sms/{msisdn}")
            if r.status_code == 404:
                raise ProtocolError("the portal has no demo SMS inbox (not in demo mode?)")
            r.raise_for_status()
            for m in r.json()["messages"]:
                found = re.search(r"\b(\d{6})\b", m["text"])
                if found and "код" in m["text"].lower():
                    return found.group(1)
            time.sleep(0.1)
        raise PermissionError(f"no login code reached {msisdn}")

    return read
