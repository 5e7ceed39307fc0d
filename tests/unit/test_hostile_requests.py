"""Every hostile request is a 4xx of the one error shape, and the store is unchanged afterwards (a fingerprint
of every table, as the access-matrix test takes) — on SQLite and on PostgreSQL when reachable (the
classes of issue 15: non-finite numbers, integers past the stores' ranges, dates at the ends of the
calendar, control characters, parse errors, unknown routes and wrong methods, size caps, bodies before
authentication, far clock moves, replays)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from mts_portal.core import runtime
from mts_portal.core.db import dispose_engines
from mts_portal.core.settings import reset_settings_cache
from tests.conftest import _reset_pg, pg_url
from tests.unit.test_access_matrix import fingerprint

OP = {"Authorization": "Bearer test-operator-token"}
MSISDN = "79161112233"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api(request, tmp_path, monkeypatch):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'api.db'}"
    else:
        _reset_pg(request.getfixturevalue("pg_engine_session"))
        url = pg_url()
    monkeypatch.setenv("MTS_DB_URL", url)
    monkeypatch.setenv("MTS_SIM_CLOCK", "1")
    monkeypatch.setenv("MTS_OPERATOR_TOKEN", "test-operator-token")
    reset_settings_cache()
    runtime.reset()
    from mts_portal.api import create_app
    from mts_portal.core.charging import forget_snapshots

    forget_snapshots()
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        r = client.post("/api/v1/lines", json={"msisdn": MSISDN, "tariff": "minimum", "holder_name": "Анна"},
                        headers=OP)
        assert r.status_code == 201, r.text
        assert client.post(f"/api/v1/lines/{MSISDN}/topups", json={"amount_kopecks": 100000, "idempotency_key": "k0"},
                           headers=OP).status_code == 200
        yield client
    dispose_engines()
    reset_settings_cache()
    runtime.reset()


def _shape(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) >= {"error", "reason"} and body["reason"], body
    assert "detail" not in body or isinstance(body["detail"], list)
    if code:
        assert body["error"] == code, body
    return body


def _now(api) -> datetime:
    return datetime.fromisoformat(api.get("/api/v1/health").json()["now"])


HOSTILE = [
    # non-finite numbers: refused by the strict JSON reader before any route sees them
    ("post", "/api/v1/lines", b'{"msisdn": "79160000001", "tariff": "smart", "account_id": NaN}', 400, "malformed"),
    ("post", f"/api/v1/lines/{MSISDN}/topups", b'{"amount_kopecks": Infinity, "idempotency_key": "x"}', 400,
     "malformed"),
    ("post", f"/api/v1/lines/{MSISDN}/topups", b'{"amount_kopecks": 1e400, "idempotency_key": "x"}', 400, "malformed"),
    ("post", "/api/v1/clock", b'{"now": -Infinity}', 400, "malformed"),
    # integers past the stores' ranges (2^63 on SQLite, 2^31 on PostgreSQL)
    ("post", "/api/v1/lines", {"msisdn": "79160000001", "tariff": "smart", "account_id": 2**63}, 422, "invalid"),
    ("post", "/api/v1/lines", {"msisdn": "79160000001", "tariff": "smart", "account_id": 2**31}, 422, "invalid"),
    ("post", f"/api/v1/lines/{MSISDN}/topups", {"amount_kopecks": 2**64, "idempotency_key": "x"}, 422, "invalid"),
    ("post", f"/api/v1/lines/{MSISDN}/topups", {"amount_kopecks": 500.5, "idempotency_key": "x"}, 422, "invalid"),
    ("post", f"/api/v1/lines/{MSISDN}/topups", {"amount_kopecks": "500", "idempotency_key": "x"}, 422, "invalid"),
    ("get", f"/api/v1/scenarios/runs/{2**63}", None, 422, "invalid"),
    ("get", f"/api/v1/lines/{MSISDN}/records?page_size={2**63}", None, 422, "invalid"),
    # dates at the ends of the calendar, and numbers where a date is wanted
    ("get", f"/api/v1/lines/{MSISDN}/records?from=0001-01-01T00:00:00Z", None, 422, "invalid"),
    ("get", f"/api/v1/lines/{MSISDN}/records?to=9999-12-31T23:59:59%2B14:00", None, 422, "invalid"),
    ("get", f"/api/v1/lines/{MSISDN}/records?from=1700000000", None, 422, "invalid"),
    ("get", f"/api/v1/lines/{MSISDN}/records?from=2030-02-30T00:00:00Z", None, 422, "invalid"),
    ("post", "/api/v1/clock", {"now": 1900000000}, 422, "invalid"),
    ("post", "/api/v1/clock", {"now": "9999-12-31T23:59:59Z"}, 422, "invalid"),
    ("post", "/api/v1/clock", {"now": "2030-01-01T00:00:00"}, 422, "invalid"),  # no offset
    ("get", f"/api/v1/lines/{MSISDN}/records?cursor=AAAA", None, 404, "invalid_cursor"),
    # control characters in text
    ("post", "/api/v1/lines", {"msisdn": "79160000001", "tariff": "smart", "holder_name": "Ан\u0000на"}, 422, "invalid"),
    ("post", "/api/v1/lines", {"msisdn": "79160000001", "tariff": "smart", "holder_name": "a\u001bb"}, 422, "invalid"),
    ("post", f"/api/v1/lines/{MSISDN}/topups", {"amount_kopecks": 500, "idempotency_key": "k\u0000"}, 422, "invalid"),
    ("post", "/api/v1/sms/inbound", {"from": MSISDN, "text": "Да\u0000"}, 422, "invalid"),
    # codes by enum, msisdn by pattern
    ("post", "/api/v1/lines", {"msisdn": "89160000001", "tariff": "smart"}, 422, "invalid"),
    ("post", "/api/v1/lines", {"msisdn": "79160000001", "tariff": "my_mts_member"}, 422, "invalid"),
    ("post", f"/api/v1/lines/{MSISDN}/options", {"code": "платинум"}, 422, "invalid"),
    ("get", "/api/v1/lines/7916111223%00/summary", None, 422, "invalid"),
    # parse errors, one answer on every route
    ("post", "/api/v1/lines", b'{"msisdn": ', 400, "malformed"),
    ("post", "/api/v1/events", b'{"events": ', 400, "malformed"),
    ("post", f"/api/v1/lines/{MSISDN}/topups", b'\xff\xfe{"amount_kopecks": 1}', 400, "malformed"),
    ("post", "/api/v1/lines", b'{"msisdn": "\\ud800"}', 400, "malformed"),  # a lone surrogate
    ("post", "/api/v1/lines", b'{"a": 1} {"b": 2}', 400, "malformed"),
    # unknown routes and wrong methods
    ("get", "/api/v1/nope", None, 404, "not_found"),
    ("post", "/api/v1/lines/79161112233/nope", b"{}", 404, "not_found"),
    ("put", "/api/v1/health", b"{}", 405, "method_not_allowed"),
    ("delete", "/api/v1/lines", None, 405, "method_not_allowed"),
    ("patch", "/api/v1/live", None, 405, "method_not_allowed"),
    # size caps on every route
    ("post", "/api/v1/lines", b'{"msisdn": "79160000001", "tariff": "smart", "holder_name": "' + b"a" * 70_000 + b'"}',
     413, "too_large"),
    ("post", f"/api/v1/lines/{MSISDN}/options", b'{"code": "goodok"' + b" " * 70_000 + b"}", 413, "too_large"),
]


@pytest.mark.parametrize("method,path,body,status,code", HOSTILE,
                         ids=[f"{m} {p[:48]} {s}" for m, p, _, s, _ in HOSTILE])
def test_hostile_requests_are_4xx_of_one_shape_and_change_nothing(api, method, path, body, status, code):
    before = fingerprint(runtime.engine())
    kwargs = {"content": body, "headers": {**OP, "content-type": "application/json"}} if isinstance(body, bytes) \
        else {"json": body, "headers": OP} if body is not None else {"headers": OP}
    r = api.request(method.upper(), path, **kwargs)
    body = _shape(r, status, code)
    assert "Traceback" not in r.text and "sqlalchemy" not in r.text.lower()
    if status == 405:
        assert r.headers.get("allow"), "a 405 says which methods the route takes"
    assert body.get("reason_ru"), "the Russian reason is there for the UI"
    assert fingerprint(runtime.engine()) == before


def test_a_bad_event_in_a_batch_is_rejected_and_the_rest_is_rated(api):
    before = fingerprint(runtime.engine())
    now = _now(api)
    good = {"event_id": "ok-1", "msisdn": MSISDN, "kind": "sms", "direction": "out", "peer": "79030001122",
            "started_at": now.isoformat(), "zone": "home"}
    bad = [
        {**good, "event_id": "nul\u0000id"},  # PostgreSQL would fail the whole transaction on a NUL
        {**good, "event_id": "big", "kind": "voice", "duration_s": 2**70},
        {**good, "event_id": "big-bytes", "kind": "data", "bytes": 2**64, "direction": None, "peer": None},
        {**good, "event_id": "float", "kind": "voice", "duration_s": 1.5e300},
        {**good, "event_id": "far", "started_at": "9999-12-31T23:59:59+00:00"},
        {**good, "event_id": "old", "started_at": "0001-01-01T00:00:00+00:00"},
        {**good, "event_id": "ctl", "peer": "7903\u0000"},
        "not an object",
        None,
    ]
    r = api.post("/api/v1/events", json={"events": [*bad, good]}, headers=OP)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["rejected"] * len(bad) + ["rated"]
    assert all(x["reason"] and x["charged_kopecks"] == 0 for x in results[:-1])
    assert results[-1]["charged_kopecks"] == 200  # «Минимум»: 2 ₽ an SMS
    assert fingerprint(runtime.engine()) != before  # the good one was rated


def test_a_replayed_event_answers_the_first_outcome(api):
    now = _now(api)
    call = {"event_id": "call-1", "msisdn": MSISDN, "kind": "voice", "direction": "out", "peer": "79030001122",
            "started_at": now.isoformat(), "duration_s": 125, "zone": "home"}
    first = api.post("/api/v1/events", json={"events": [call]}, headers=OP).json()["results"][0]
    assert first["status"] == "rated" and first["charged_kopecks"] == 750  # 3 min × 2.50 ₽
    balance = api.get(f"/api/v1/lines/{MSISDN}/summary", headers=OP).json()["balance_kopecks"]
    before = fingerprint(runtime.engine())
    again = api.post("/api/v1/events", json={"events": [call, call]}, headers=OP).json()["results"]
    for x in again:
        assert x["status"] == "duplicate" and x["charged_kopecks"] == 0 and x["drawn"] == []  # nothing again
        assert x["original_status"] == "rated" and x["original_charged_kopecks"] == 750
        assert x["original_drawn"] == first["drawn"]
    assert api.get(f"/api/v1/lines/{MSISDN}/summary", headers=OP).json()["balance_kopecks"] == balance
    assert fingerprint(runtime.engine()) == before
    # a blocked event: its replay says blocked, in the batch that blocked it and later
    huge = {**call, "event_id": "call-2", "duration_s": 86_400}  # 1440 min × 2.50 ₽ > the balance
    res = api.post("/api/v1/events", json={"events": [huge, huge]}, headers=OP).json()["results"]
    assert res[0]["status"] == "blocked" and res[0]["charged_kopecks"] == 0
    assert res[1]["status"] == "duplicate" and res[1]["original_status"] == "blocked"
    assert res[1]["original_charged_kopecks"] == 0
    later = api.post("/api/v1/events", json={"events": [huge]}, headers=OP).json()["results"][0]
    assert later["status"] == "duplicate" and later["original_status"] == "blocked"


def test_a_far_clock_move_is_refused_quickly_and_the_node_keeps_working(api):
    now = _now(api)
    before = fingerprint(runtime.engine())
    for target in ("2099-12-31T23:59:59Z", (now + timedelta(days=62, minutes=1)).isoformat()):
        t0 = time.monotonic()
        r = api.post("/api/v1/clock", json={"now": target}, headers=OP)
        assert time.monotonic() - t0 < 1.0
        _shape(r, 409, "conflict")
    assert abs((_now(api) - now).total_seconds()) < 60 and fingerprint(runtime.engine()) == before
    # the node keeps working: a top-up and a clock move within the step
    assert api.post(f"/api/v1/lines/{MSISDN}/topups", json={"amount_kopecks": 500, "idempotency_key": "after"},
                    headers=OP).status_code == 200
    r = api.post("/api/v1/clock", json={"now": (now + timedelta(days=40)).isoformat()}, headers=OP)
    assert r.status_code == 200, r.text
    assert _now(api) >= now + timedelta(days=40)


def test_a_clock_move_whose_due_work_fails_leaves_the_clock_where_it_was(api, monkeypatch):
    from mts_portal.core import jobs

    now = _now(api)

    def broken(*_a, **_k):
        raise RuntimeError("a job failed half way")

    monkeypatch.setattr(jobs, "run_due", broken)
    r = api.post("/api/v1/clock", json={"now": (now + timedelta(days=20)).isoformat()}, headers=OP)
    body = _shape(r, 500, "internal")
    assert body["correlation_id"] in body["reason"] and "RuntimeError" not in r.text
    runtime.clock()._loaded_at = -1e18  # read the stored clock again
    assert abs((_now(api) - now).total_seconds()) < 60


def test_an_unexpected_error_is_a_500_of_the_same_shape_and_the_next_request_works(api, monkeypatch):
    from mts_portal.core import billing

    monkeypatch.setattr(billing, "line_summary", lambda **_k: 1 / 0)
    r = api.get(f"/api/v1/lines/{MSISDN}/summary", headers=OP)
    body = _shape(r, 500, "internal")
    assert r.headers["x-correlation-id"] == body["correlation_id"] and "ZeroDivision" not in r.text
    monkeypatch.undo()
    assert api.get(f"/api/v1/lines/{MSISDN}/summary", headers=OP).status_code == 200


def test_the_openapi_document_is_the_contract(api):
    spec = api.get("/api/v1/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["operatorToken"] == {"type": "http", "scheme": "bearer", "description": "MTS_OPERATOR_TOKEN"}
    assert "UsageEvent" in spec["components"]["schemas"] and "ErrorOut" in spec["components"]["schemas"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            params = [p["name"].lower() for p in op.get("parameters", [])]
            assert "authorization" not in params, f"{method} {path}: the token is a security scheme"
            responses = op["responses"]
            assert "500" in responses, f"{method} {path}"
            for code, resp in responses.items():
                if code.startswith(("4", "5")) and not (path.endswith("/health") and code == "503"):
                    ref = resp["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorOut"), f"{method} {path} {code}"
            if path != "/api/v1/health":
                assert op.get("security"), f"{method} {path} documents who may call it"
                assert "401" in responses
    events = spec["paths"]["/api/v1/events"]["post"]
    assert events["requestBody"]["content"]["application/json"]["schema"]["properties"]["events"]["maxItems"] == 1000
    assert {"400", "401", "413", "503"} <= set(events["responses"])
    line_in = spec["components"]["schemas"]["LineIn"]["properties"]
    assert line_in["msisdn"]["pattern"] == "^7[0-9]{10}$" and "smart" in line_in["tariff"]["enum"]
    topup = spec["components"]["schemas"]["TopUpIn"]["properties"]["amount_kopecks"]
    assert topup["minimum"] == 100 and topup["maximum"] == 1_500_000
    assert "links" in spec["paths"]["/api/v1/lines"]["post"]["responses"]["201"]


def test_security_headers_on_api_answers_and_errors(api):
    for r in (api.get("/api/v1/health"), api.get("/api/v1/nope"), api.post("/api/v1/lines", json={})):
        h = r.headers
        assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY"
        assert h["referrer-policy"] == "same-origin"
        csp = h["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp and "default-src 'self'" in csp


# ---------------------------------------------------------------- the edge middleware at the ASGI level


def _asgi_call(app, method: str, path: str, headers: list[tuple[bytes, bytes]], chunks: list[bytes]):
    """Drive an ASGI app by hand; returns (status, headers, body, how many body chunks it pulled)."""
    pulled = 0
    sent: list[dict] = []

    async def receive():
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            return {"type": "http.request", "body": chunks[pulled - 1], "more_body": pulled < len(chunks)}
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": headers, "http_version": "1.1", "scheme": "http", "server": ("t", 80), "client": ("c", 1),
             "root_path": "", "app": app}
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 10))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body, pulled


def test_callers_are_authenticated_before_their_body_is_read():
    from mts_portal.api.edge import EdgeMiddleware

    reached = []

    async def inner(scope, receive, send):
        reached.append(scope["path"])

    routes = [_FakeRoute("/api/v1/lines", "POST")]
    app = EdgeMiddleware(inner, is_operator=lambda h: h == "Bearer good", routes=lambda: routes)
    thirty_mb = [b"x" * 1_048_576] * 30
    status, _, body, pulled = _asgi_call(app, "POST", "/api/v1/lines",
                                         [(b"content-length", str(30 * 1_048_576).encode())], thirty_mb)
    assert status == 401 and pulled == 0 and not reached and b'"unauthorized"' in body
    # with the token: the declared size is refused before reading, and so is a chunked body past the cap
    status, _, _, pulled = _asgi_call(app, "POST", "/api/v1/lines",
                                      [(b"authorization", b"Bearer good"),
                                       (b"content-length", str(30 * 1_048_576).encode())], thirty_mb)
    assert status == 413 and pulled == 0 and not reached
    status, _, _, pulled = _asgi_call(app, "POST", "/api/v1/lines",
                                      [(b"authorization", b"Bearer good"), (b"transfer-encoding", b"chunked")],
                                      thirty_mb)
    assert status == 413 and pulled == 1 and not reached  # stopped at the first chunk past 64 KiB
    # a portal route: no POST on pages; Reflex's socket.io polling is bounded too
    status, headers, body, pulled = _asgi_call(app, "POST", "/money", [(b"content-length", b"5")], [b"hello"])
    assert status == 405 and pulled == 0 and b'"method_not_allowed"' in body and b"content-security-policy" in headers


class _FakeRoute:
    def __init__(self, path, method):
        self.path, self.method = path, method

    def matches(self, scope):
        from starlette.routing import Match

        return (Match.FULL if scope["path"] == self.path and scope["method"] == self.method else Match.NONE), {}


def test_portal_pages_get_the_security_headers_through_the_api_app():
    """In the portal the API app wraps Reflex's backend (api_transformer mounts it at ""): pages pass the
    same middleware."""
    from starlette.responses import HTMLResponse

    from mts_portal.api import create_app

    api = create_app()

    async def page(scope, receive, send):
        await HTMLResponse("<html>page</html>")(scope, receive, send)

    api.mount("", page)
    with TestClient(api) as client:
        r = client.get("/money")
        assert r.status_code == 200 and "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
        r = client.get("/api/v1/unknown")  # not Reflex's page: the API's error shape
        assert r.status_code == 404 and r.json()["error"] == "not_found"
        r = client.post("/money", content=b"x")
        assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"


def test_a_node_that_cannot_open_its_store_says_which_path_and_why(tmp_path, monkeypatch):
    missing = tmp_path / "no-such-dir" / "store.db"
    monkeypatch.setenv("MTS_DB_URL", f"sqlite:///{missing}")
    reset_settings_cache()
    runtime.reset()
    from mts_portal.api import create_app

    try:
        with pytest.raises(RuntimeError) as exc, TestClient(create_app()):
            pass
        assert str(missing) in str(exc.value) and "unable to open database file" in str(exc.value)
    finally:
        dispose_engines()
        reset_settings_cache()
        runtime.reset()
