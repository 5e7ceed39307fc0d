"""The HTTP API in-process (FastAPI TestClient) on a temp SQLite store."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from mts_portal.core import runtime
from mts_portal.core.db import dispose_engines
from mts_portal.core.settings import reset_settings_cache

OP = {"Authorization": "Bearer test-operator-token"}


@pytest.fixture
def api(tmp_path, monkeypatch):
    monkeypatch.setenv("MTS_DB_URL", f"sqlite:///{tmp_path / 'api.db'}")
    monkeypatch.setenv("MTS_SIM_CLOCK", "1")
    monkeypatch.setenv("MTS_OPERATOR_TOKEN", "test-operator-token")
    reset_settings_cache()
    runtime.reset()
    from mts_portal.api import create_app

    with TestClient(create_app()) as client:
        yield client
    dispose_engines()
    reset_settings_cache()
    runtime.reset()


def _line(api, msisdn="79161112233", tariff="smart", **kw):
    return api.post("/api/v1/lines", json={"msisdn": msisdn, "tariff": tariff, **kw}, headers=OP)


def test_health_and_openapi(api):
    r = api.get("/api/v1/health")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["revision"]
    spec = api.get("/api/v1/openapi.json").json()
    assert "/api/v1/events" in spec["paths"] and "/api/v1/lines/{msisdn}/summary" in spec["paths"]


def test_create_line_and_summary(api):
    r = _line(api, holder_name="Анна Смирнова")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["msisdn"] == "79161112233" and body["tariff"] == "smart"
    s = api.get("/api/v1/lines/79161112233/summary", headers=OP).json()
    assert s["balance_kopecks"] == 0 and s["status"] in ("active", "suspended")
    assert set(s) >= {"balance_kopecks", "credit_limit_kopecks", "status", "tariff", "buckets", "bonus_points"}


@pytest.mark.parametrize("payload,status,needle", [
    ({"msisdn": "12345", "tariff": "smart"}, 422, "msisdn"),
    ({"msisdn": "79161112299", "tariff": "platinum"}, 422, "tariff"),
    ({"msisdn": "79161112299"}, 422, "tariff"),
    ({"msisdn": "79161112299", "tariff": "smart", "account_id": 999}, 404, "account_id"),  # no such account
    ({"msisdn": "79161112299", "tariff": "smart", "colour": "red"}, 422, "colour"),
])
def test_create_line_rejects_bad_input(api, payload, status, needle):
    r = api.post("/api/v1/lines", json=payload, headers=OP)
    assert r.status_code == status and needle in r.json()["reason"]
    assert api.get("/api/v1/lines/79161112299/summary", headers=OP).status_code == 404


def test_duplicate_line_is_409_and_changes_nothing(api):
    assert _line(api).status_code == 201
    api.post("/api/v1/lines/79161112233/topups", json={"amount_kopecks": 100000, "idempotency_key": "t1"}, headers=OP)
    before = api.get("/api/v1/lines/79161112233/summary", headers=OP).json()
    r = _line(api, tariff="tarifische")
    assert r.status_code == 409 and "exists" in r.json()["reason"]
    assert api.get("/api/v1/lines/79161112233/summary", headers=OP).json() == before


def test_operator_routes_need_the_token(api):
    assert _line(api).status_code == 201
    assert api.post("/api/v1/lines", json={"msisdn": "79160000000", "tariff": "smart"}).status_code == 401
    bad = {"Authorization": "Bearer nope"}
    assert api.post("/api/v1/lines/79161112233/topups", json={"amount_kopecks": 1, "idempotency_key": "x"},
                    headers=bad).status_code == 401
    assert api.post("/api/v1/events", json={"events": []}).status_code == 401
    assert api.get("/api/v1/lines/79161112233/summary").status_code == 401
    assert api.post("/api/v1/clock", json={"now": "2030-01-01T00:00:00Z"}).status_code == 401


def test_topup_replay_credits_once_and_answers_the_same(api):
    _line(api, tariff="minimum")
    body = {"amount_kopecks": 25000, "idempotency_key": "pay-42"}
    a = api.post("/api/v1/lines/79161112233/topups", json=body, headers=OP)
    b = api.post("/api/v1/lines/79161112233/topups", json=body, headers=OP)
    assert a.status_code == b.status_code == 200 and a.json() == b.json()
    assert api.get("/api/v1/lines/79161112233/summary", headers=OP).json()["balance_kopecks"] == 25000
    c = api.post("/api/v1/lines/79161112233/topups", json={**body, "amount_kopecks": 100}, headers=OP)
    assert c.status_code == 409
    d = api.post("/api/v1/lines/79161112233/topups", json={"amount_kopecks": "100", "idempotency_key": "z"},
                 headers=OP)
    assert d.status_code == 422
    assert api.get("/api/v1/lines/79161112233/summary", headers=OP).json()["balance_kopecks"] == 25000


def test_options_connect_and_disconnect(api):
    _line(api, tariff="minimum")
    api.post("/api/v1/lines/79161112233/topups", json={"amount_kopecks": 100000, "idempotency_key": "t"}, headers=OP)
    r = api.post("/api/v1/lines/79161112233/options", json={"code": "goodok"}, headers=OP)
    assert r.status_code == 201 and r.json()["charged_kopecks"] > 0
    assert api.post("/api/v1/lines/79161112233/options", json={"code": "goodok"}, headers=OP).status_code == 409
    assert api.post("/api/v1/lines/79161112233/options", json={"code": "nope"}, headers=OP).status_code == 422
    assert "goodok" in api.get("/api/v1/lines/79161112233/summary", headers=OP).json()["options"]
    assert api.delete("/api/v1/lines/79161112233/options/goodok", headers=OP).status_code == 200
    assert api.delete("/api/v1/lines/79161112233/options/goodok", headers=OP).status_code == 409
    r = api.post("/api/v1/lines/79161112233/options", json={"code": "internet_1gb"}, headers=OP)
    assert r.status_code == 201
    kinds = [b["product_code"] for b in api.get("/api/v1/lines/79161112233/summary", headers=OP).json()["buckets"]]
    assert "internet_1gb" in kinds


def test_clock_moves_forward_only_and_runs_rollovers(api):
    _line(api, tariff="smart")
    api.post("/api/v1/lines/79161112233/topups", json={"amount_kopecks": 200000, "idempotency_key": "t"}, headers=OP)
    now = datetime.fromisoformat(api.get("/api/v1/health").json()["now"])
    back = api.post("/api/v1/clock", json={"now": (now - timedelta(hours=1)).isoformat()}, headers=OP)
    assert back.status_code == 409  # the state forbids it: a conflict, not a malformed value
    assert api.post("/api/v1/clock", json={"now": "2030-01-01T00:00:00"}, headers=OP).status_code == 422
    before = api.get("/api/v1/lines/79161112233/summary", headers=OP).json()["balance_kopecks"]
    target = now + timedelta(days=40)
    r = api.post("/api/v1/clock", json={"now": target.isoformat()}, headers=OP)
    assert r.status_code == 200 and r.json()["jobs"]["rollovers"] >= 1
    after = api.get("/api/v1/lines/79161112233/summary", headers=OP).json()["balance_kopecks"]
    assert before - after == 55000 * r.json()["jobs"]["rollovers"]


def test_clock_is_refused_with_a_real_clock(tmp_path, monkeypatch):
    monkeypatch.setenv("MTS_DB_URL", f"sqlite:///{tmp_path / 'real.db'}")
    monkeypatch.delenv("MTS_SIM_CLOCK", raising=False)
    monkeypatch.delenv("MTS_DEMO", raising=False)
    reset_settings_cache()
    runtime.reset()
    from mts_portal.api import create_app

    with TestClient(create_app()) as client:
        r = client.post("/api/v1/clock", json={"now": "2099-01-01T00:00:00Z"}, headers=OP)
        assert r.status_code == 403
    dispose_engines()
    reset_settings_cache()
    runtime.reset()


def test_events_envelope_errors(api):
    assert api.post("/api/v1/events", content=b"not json", headers=OP).status_code == 400
    assert api.post("/api/v1/events", json=[1, 2], headers=OP).status_code == 400
    assert api.post("/api/v1/events", json={"events": {}}, headers=OP).status_code == 400
    too_many = {"events": [{"event_id": str(i)} for i in range(1001)]}
    assert api.post("/api/v1/events", json=too_many, headers=OP).status_code == 413
    big = b'{"events": [' + b'{"event_id": "x"},' * 200_000 + b'{"event_id": "y"}]}'  # 3.6 MB
    assert api.post("/api/v1/events", content=big, headers=OP).status_code == 413

    def chunked():  # no Content-Length: the body is counted as it arrives
        for _ in range(40):
            yield b" " * 65_536

    r = api.post("/api/v1/events", content=chunked(), headers=OP)
    assert r.status_code == 413 and r.json()["error"] == "too_large"


def test_events_rate_reject_and_dedupe(api):
    _line(api, tariff="minimum")
    api.post("/api/v1/lines/79161112233/topups", json={"amount_kopecks": 10000, "idempotency_key": "t"}, headers=OP)
    now = datetime.fromisoformat(api.get("/api/v1/health").json()["now"])
    good = {"event_id": "a1", "msisdn": "79161112233", "kind": "voice", "direction": "out", "peer": "79030001122",
            "started_at": now.isoformat(), "duration_s": 61, "zone": "home"}
    bad = {**good, "event_id": "a2", "duration_s": -1}
    r = api.post("/api/v1/events", json={"events": [good, bad, good]}, headers=OP).json()["results"]
    assert [x["status"] for x in r] == ["rated", "rejected", "duplicate"]
    assert r[0]["charged_kopecks"] == 500 and "duration_s" in r[1]["reason"]
    again = api.post("/api/v1/events", json={"events": [good]}, headers=OP).json()["results"]
    # a replay charges nothing and says what the first delivery got
    assert again[0]["status"] == "duplicate" and again[0]["charged_kopecks"] == 0
    assert again[0]["original_status"] == "rated" and again[0]["original_charged_kopecks"] == 500
    assert r[2]["original_charged_kopecks"] == 500
    assert api.get("/api/v1/lines/79161112233/summary", headers=OP).json()["balance_kopecks"] == 9500
    recs = api.get("/api/v1/lines/79161112233/records", headers=OP).json()
    assert recs["totals"]["count"] == 1 and recs["records"][0]["charged_kopecks"] == 500
