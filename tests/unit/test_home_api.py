"""The home internet and TV routes of /api/v1 (issue 17): provisioning, reading, payments (idempotent),
usage, request statuses; errors as {"error", "reason"}; a session reaches only its contracts."""

from __future__ import annotations

from tests.unit.test_api import OP, _line, api  # noqa: F401  (the fixture)

BODY = {"holder_name": "Ирина", "address": "Москва, ул. Тверская, 1", "contact_msisdn": "79260001122",
        "tariff": "home_lite", "contract": "770000000123", "codes": ["antivirus"], "opening_kopecks": 100_000}


def test_provision_read_pay_usage(api):  # noqa: F811
    r = api.post("/api/v1/home-accounts", json=BODY, headers=OP)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["contract"] == "770000000123" and body["connected"] == ["antivirus"]
    assert body["cap_kb"] == 100 * 1024 * 1024 and body["status"] == "active"
    assert api.post("/api/v1/home-accounts", json=BODY, headers=OP).status_code == 409
    got = api.get("/api/v1/home-accounts/7700 0000 0123", headers=OP).json()
    assert got["balance_kopecks"] == body["balance_kopecks"]
    pay = {"amount_kopecks": 50_000, "idempotency_key": "gw-1"}
    a = api.post("/api/v1/home-accounts/770000000123/payments", json=pay, headers=OP).json()
    b = api.post("/api/v1/home-accounts/770000000123/payments", json=pay, headers=OP).json()
    assert b["replayed"] and a["balance_after_kopecks"] == b["balance_after_kopecks"] == got["balance_kopecks"] + 50_000
    r = api.post("/api/v1/home-accounts/770000000123/payments", json=pay | {"amount_kopecks": 50_100}, headers=OP)
    assert r.status_code == 409 and set(r.json()) >= {"error", "reason"}
    day = api.get("/api/v1/health").json()["now"][:10]
    r = api.post("/api/v1/home-accounts/770000000123/usage", headers=OP,
                 json={"day": day, "sessions": 3, "bytes_down": 2048, "bytes_up": 1, "tv_minutes": 0})
    assert r.status_code == 200 and r.json()["counted_kb"] == 3
    days = api.get("/api/v1/home-accounts/770000000123/usage", headers=OP).json()["days"]
    assert days[-1]["bytes_down"] == 2048
    ledger = api.get("/api/v1/home-accounts/770000000123/ledger", headers=OP).json()["entries"]
    assert {e["kind"] for e in ledger} == {"topup", "home_fee"}
    spec = api.get("/api/v1/openapi.json").json()
    assert "/api/v1/home-accounts/{contract}" in spec["paths"]


def test_bad_input_and_access(api):  # noqa: F811
    for bad in ({"tariff": "gold"}, {"contact_msisdn": "123"}, {"contract": "1"}, {"address": ""}):
        r = api.post("/api/v1/home-accounts", json=BODY | bad, headers=OP)
        assert 400 <= r.status_code < 500 and "reason" in r.json(), r.text
    assert api.get("/api/v1/home-accounts/770000000123").status_code == 401  # no session, no token
    assert api.post("/api/v1/home-accounts", json=BODY).status_code == 401
    assert api.get("/api/v1/home-accounts/770000000999", headers=OP).status_code == 404
    assert api.post("/api/v1/home-requests/CN-0000-000001/status", json={"status": "done"},
                    headers=OP).status_code == 404
    assert api.post("/api/v1/home-requests/CN-0000-000001/status", json={"status": "new"},
                    headers=OP).status_code in (400, 422)
    _line(api)
