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


def test_home_routes_are_under_the_contract(api):  # noqa: F811
    spec = api.get("/api/v1/openapi.json").json()
    ops = {op["operationId"]: (path, method, op) for path, item in spec["paths"].items()
           for method, op in item.items() if "/home-" in path}
    assert set(ops) == {"create_home", "home_summary", "pay_home", "home_ledger", "home_usage", "add_home_usage",
                        "move_home_request"}
    for name, (_path, method, op) in ops.items():
        codes = set(op["responses"])
        assert {"401", "500", "503"} <= codes and op["security"], name
        assert ({"400", "413", "415", "422"} <= codes) if method == "post" else ({"404", "422"} <= codes), name
        ok = op["responses"]["201" if name == "create_home" else "200"]
        assert ok["content"]["application/json"]["schema"]["$ref"].startswith("#/components/schemas/"), name
    assert {"404", "409"} <= set(ops["pay_home"][2]["responses"]) and "409" in ops["move_home_request"][2]["responses"]
    assert set(ops["create_home"][2]["responses"]["201"]["links"]) >= {"GetHome", "PayHome", "AddHomeUsage"}
    schemas = spec["components"]["schemas"]
    home_in = schemas["HomeAccountIn"]
    assert home_in["additionalProperties"] is False and "tv_kino" in home_in["then"]["properties"]["codes"]["items"]["not"]["enum"]
    assert home_in["properties"]["address"]["minLength"] == 5 and home_in["properties"]["address"]["maxLength"] == 200
    assert "home_lite" in home_in["properties"]["tariff"]["enum"]
    assert schemas["HomePaymentIn"]["properties"]["amount_kopecks"]["maximum"] == 1_500_000


def test_home_bodies_outside_their_domain_are_422_and_change_nothing(api):  # noqa: F811
    assert api.post("/api/v1/home-accounts", json=BODY, headers=OP).status_code == 201
    before = api.get("/api/v1/home-accounts/7700-0000-0123", headers=OP).json()
    for bad in ({"address": "  Москва  "}, {"address": "Москва,\nТверская 1"}, {"holder_name": "И\x00"},
                {"tariff": "home_100", "codes": ["tv_kino"], "contract": "770000000124"}, {"codes": ["gold"]},
                {"contract": "77000000012x"}, {"opening_kopecks": 1_500_001}, {"opening_kopecks": "100"},
                {"account_id": 0}, {"link_msisdn": "7916"}, {"extra": 1}):
        r = api.post("/api/v1/home-accounts", json=BODY | {"contract": "770000000125"} | bad, headers=OP)
        assert r.status_code == 422 and r.json()["error"] == "invalid", (bad, r.text)
    usage = {"day": "2026-12-01", "sessions": 1, "bytes_down": 1, "bytes_up": 1}
    for bad in ({"day": 20261201}, {"day": "2026-02-30"}, {"day": "1.12.2026"}, {"day": "1999-12-31"}, {"day": "2026-12-01\n"},
                {"sessions": 100_001},
                {"bytes_down": 10**13 + 1}, {"tv_minutes": 1441}, {"sessions": True}):
        r = api.post("/api/v1/home-accounts/770000000123/usage", json=usage | bad, headers=OP)
        assert r.status_code == 422, (bad, r.text)
    for bad in ({"amount_kopecks": 99, "idempotency_key": "k"}, {"amount_kopecks": 100, "idempotency_key": "a b"}):
        assert api.post("/api/v1/home-accounts/770000000123/payments", json=bad, headers=OP).status_code == 422
    assert api.get("/api/v1/home-accounts/77000000012", headers=OP).status_code == 422  # 11 digits
    assert api.post("/api/v1/home-requests/XX-1/status", json={"status": "done"}, headers=OP).status_code == 422
    assert api.get("/api/v1/home-accounts/770000000123", headers=OP).json() == before
    assert api.get("/api/v1/home-accounts/770000000124", headers=OP).status_code == 404
