"""Home internet and TV under /api/v1/home-accounts (issue 17): provisioning and reading contracts, their
payments, ledger and usage; request statuses (the console's and the simulator's side in demo mode).
Errors as everywhere: 4xx with {"error", "reason"}. Routes hold no logic: core/home.py does the work."""


from datetime import timedelta
from typing import Annotated

from fastapi import Depends, FastAPI, Path, Query
from sqlalchemy import select

from mts_portal.api import schemas
from mts_portal.core import home, home_access, runtime
from mts_portal.core.clock import moscow_date
from mts_portal.core.db import read, transact
from mts_portal.core.errors import NotFound
from mts_portal.core.models import Account, HomeAccount, HomeLink, Line

# the request and response schemas are in api/schemas.py (the contract of every route)
HomeAccountIn, HomePaymentIn, HomeUsageIn = schemas.HomeAccountIn, schemas.HomePaymentIn, schemas.HomeUsageIn
RequestStatusIn = schemas.RequestStatusIn
Contract = Annotated[str, Path(pattern=schemas.CONTRACT_PATTERN, max_length=40, examples=["770012345678"],
                               description="12 digits (spaces and dashes between them are ignored)")]
RequestNumber = Annotated[str, Path(pattern=schemas.REQUEST_NUMBER_PATTERN, examples=["CN-2611-000042"],
                                    description="a connection request (CN-…) or a problem report (PR-…)")]
_errors, OPERATOR, OPERATOR_OR_SESSION = schemas.error_responses, schemas.OPERATOR, schemas.OPERATOR_OR_SESSION
WRITE = (400, 401, 413, 415, 422)
READ = (401, 404, 422)


def _home_links() -> dict:
    contract = {"contract": "$response.body#/contract"}
    return {"GetHome": {"operationId": "home_summary", "parameters": contract},
            "PayHome": {"operationId": "pay_home", "parameters": contract},
            "HomeLedger": {"operationId": "home_ledger", "parameters": contract},
            "HomeUsage": {"operationId": "home_usage", "parameters": contract},
            "AddHomeUsage": {"operationId": "add_home_usage", "parameters": contract}}


def summary(s, acc: HomeAccount) -> dict:
    tariff = s.get(home.HomeTariff, acc.tariff_code)
    return {
        "contract": acc.contract, "address": acc.address, "contact_msisdn": acc.contact_msisdn,
        "status": acc.status, "balance_kopecks": acc.balance_kopecks, "tariff": tariff.code,
        "down_mbps": tariff.down_mbps, "up_mbps": tariff.up_mbps, "tv_package": tariff.tv_package_code,
        "monthly_kopecks": home.monthly_total(s, acc), "connected": home.active_codes(s, acc.id),
        "period_used_kb": acc.period_used_kb, "cap_kb": tariff.cap_kb, "capped": home.is_capped(s, acc),
        "promo_since": acc.promo_since.isoformat() if acc.promo_since else None,
        "equipment": [{"kind": e.kind, "model": e.model, "ownership": e.ownership, "rent_kopecks": e.rent_kopecks}
                      for e in home.equipment(s, acc.id)],
    }


def register(api: FastAPI, require_operator, operator_or_session, caller_type) -> None:
    Caller = caller_type

    def _reach(s, caller, contract: str) -> HomeAccount:
        if caller.operator:
            return home.get_home(s, home.normalize_contract(contract))
        return home_access.require_home(s, caller.session, contract)

    @api.post("/api/v1/home-accounts", status_code=201, dependencies=[Depends(require_operator)],
              tags=["home"], summary="Provision a home internet and TV contract", operation_id="create_home",
              response_model=schemas.NewHomeOut, openapi_extra={"security": OPERATOR},
              responses={**_errors(*WRITE, 404, 409, unavailable=True),
                         201: {"links": _home_links(), "description": "the new contract"}})
    def create_home(body: HomeAccountIn):
        now = runtime.now()

        def fn(s):
            account_id = body.account_id
            link_account = None
            if body.link_msisdn:
                line = s.exec(select(Line).where(Line.msisdn == body.link_msisdn)).scalars().first()
                if line is None:
                    raise NotFound("no such line to link", "Такого номера нет")
                link_account = line.account_id
                account_id = account_id or line.account_id
            if account_id is None:
                acc = Account(holder_name=body.holder_name, created_at=now)
                s.add(acc)
                s.flush()
                account_id = acc.id
            h = home.provision(session=s, account_id=account_id, address=body.address,
                               contact_msisdn=body.contact_msisdn, tariff_code=body.tariff, now=now,
                               contract=body.contract, codes=tuple(body.codes), opening_kopecks=body.opening_kopecks)
            if link_account is not None:
                s.add(HomeLink(account_id=link_account, home_account_id=h.id, created_at=now))
            s.flush()
            return summary(s, h) | {"account_id": account_id}

        return transact(runtime.engine(), fn)

    @api.get("/api/v1/home-accounts/{contract}", tags=["home"], summary="A contract's balance, tariff, services",
             operation_id="home_summary", response_model=schemas.HomeOut,
             openapi_extra={"security": OPERATOR_OR_SESSION}, responses=_errors(*READ, unavailable=True))
    def get_home(contract: Contract, caller: Annotated[Caller, Depends(operator_or_session)]):
        return read(runtime.engine(), lambda s: summary(s, _reach(s, caller, contract)))

    @api.post("/api/v1/home-accounts/{contract}/payments", dependencies=[Depends(require_operator)], tags=["home"],
              summary="Credit a payment (gateway callback); idempotent by key", operation_id="pay_home",
              response_model=schemas.HomePaymentOut, openapi_extra={"security": OPERATOR},
              responses=_errors(*WRITE, 404, 409, unavailable=True))
    def pay_home(contract: Contract, body: HomePaymentIn):
        now = runtime.now()

        def fn(s):
            acc = home.get_home(s, home.normalize_contract(contract))
            res = home.pay(session=s, home=acc, amount_kopecks=body.amount_kopecks, key=body.idempotency_key, now=now)
            return {"payment_id": res.payment_id, "contract": res.contract, "amount_kopecks": res.amount_kopecks,
                    "status": res.status, "balance_after_kopecks": res.balance_kopecks, "replayed": res.replayed}

        return transact(runtime.engine(), fn)

    @api.get("/api/v1/home-accounts/{contract}/ledger", tags=["home"], summary="Payments and charges",
             operation_id="home_ledger", response_model=schemas.HomeLedgerOut,
             openapi_extra={"security": OPERATOR_OR_SESSION}, responses=_errors(*READ, unavailable=True))
    def home_ledger(contract: Contract, caller: Annotated[Caller, Depends(operator_or_session)],
                    limit: int = Query(100, ge=1, le=500)):
        def fn(s):
            acc = _reach(s, caller, contract)
            return {"contract": acc.contract, "entries": [
                {"at": e.created_at.isoformat(), "amount_kopecks": e.amount_kopecks, "kind": e.kind,
                 "category": e.category, "cause_ref": e.cause_ref, "description": e.description,
                 "balance_after": e.balance_after} for e in home.history(s, acc.id, limit)]}

        return read(runtime.engine(), fn)

    @api.get("/api/v1/home-accounts/{contract}/usage", tags=["home"], summary="Traffic and TV viewing by day",
             operation_id="home_usage", response_model=schemas.HomeUsageOut,
             openapi_extra={"security": OPERATOR_OR_SESSION}, responses=_errors(*READ, unavailable=True))
    def home_usage(contract: Contract, caller: Annotated[Caller, Depends(operator_or_session)],
                   days: int = Query(30, ge=1, le=90)):
        since = moscow_date(runtime.now()) - timedelta(days=days - 1)

        def fn(s):
            acc = _reach(s, caller, contract)
            return {"contract": acc.contract, "days": [
                {"day": d.day.isoformat(), "sessions": d.sessions, "bytes_down": d.bytes_down, "bytes_up": d.bytes_up,
                 "throttled_bytes": d.throttled_bytes, "tv_minutes": d.tv_minutes}
                for d in home.usage_days(s, acc.id, since)]}

        return read(runtime.engine(), fn)

    @api.post("/api/v1/home-accounts/{contract}/usage", dependencies=[Depends(require_operator)], tags=["home"],
              summary="Add a day's sessions and TV viewing (the simulator)", operation_id="add_home_usage",
              response_model=schemas.HomeUsageResultOut, openapi_extra={"security": OPERATOR},
              responses=_errors(*WRITE, 404, unavailable=True))
    def add_usage(contract: Contract, body: HomeUsageIn):
        now = runtime.now()

        def fn(s):
            acc = home.lock_home(s, home.get_home(s, home.normalize_contract(contract)).id)
            r = home.record_usage(session=s, home=acc, day=body.day, sessions=body.sessions,
                                  bytes_down=body.bytes_down, bytes_up=body.bytes_up, tv_minutes=body.tv_minutes,
                                  now=now)
            return {"status": r.status, "counted_kb": r.counted_kb, "throttled_bytes": r.throttled_bytes,
                    "capped": r.capped}

        return transact(runtime.engine(), fn)

    @api.post("/api/v1/home-requests/{number}/status", dependencies=[Depends(require_operator)], tags=["home"],
              summary="Move a request on: new → in_work → done (never back)", operation_id="move_home_request",
              response_model=schemas.RequestStatusOut, openapi_extra={"security": OPERATOR},
              responses=_errors(*WRITE, 404, 409, unavailable=True))
    def move_request(number: RequestNumber, body: RequestStatusIn):
        now = runtime.now()
        req = transact(runtime.engine(), lambda s: home.advance(session=s, number=number, to_status=body.status,
                                                                now=now))
        return {"number": req.number, "status": req.status}
