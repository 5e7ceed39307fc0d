"""Home internet and TV under /api/v1/home-accounts (issue 17): provisioning and reading contracts, their
payments, ledger and usage; request statuses (the console's and the simulator's side in demo mode).
Errors as everywhere: 4xx with {"error", "reason"}. Routes hold no logic: core/home.py does the work."""


from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Query
from pydantic import BaseModel, Field, StrictInt
from sqlalchemy import select

from mts_portal.core import home, home_access, runtime
from mts_portal.core.clock import moscow_date
from mts_portal.core.db import read, transact
from mts_portal.core.errors import NotFound
from mts_portal.core.models import Account, HomeAccount, HomeLink, Line


class HomeAccountIn(BaseModel):
    holder_name: str = Field(min_length=1, max_length=120)
    address: str
    contact_msisdn: str
    tariff: str
    contract: str | None = None
    codes: list[str] = Field(default_factory=list, max_length=10, description="TV packages and options to connect")
    account_id: int | None = None
    link_msisdn: str | None = Field(default=None, description="link the contract to this line's account")
    opening_kopecks: StrictInt = Field(default=0, ge=0, le=1_500_000)


class HomePaymentIn(BaseModel):
    amount_kopecks: StrictInt
    idempotency_key: str


class HomeUsageIn(BaseModel):
    day: date
    sessions: StrictInt = Field(ge=0)
    bytes_down: StrictInt = Field(ge=0)
    bytes_up: StrictInt = Field(ge=0)
    tv_minutes: StrictInt = Field(default=0, ge=0)


class RequestStatusIn(BaseModel):
    status: Literal["in_work", "done"]


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
              tags=["home"], summary="Provision a home internet and TV contract")
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

    @api.get("/api/v1/home-accounts/{contract}", tags=["home"], summary="A contract's balance, tariff, services")
    def get_home(contract: str, caller: Annotated[Caller, Depends(operator_or_session)]):
        return read(runtime.engine(), lambda s: summary(s, _reach(s, caller, contract)))

    @api.post("/api/v1/home-accounts/{contract}/payments", dependencies=[Depends(require_operator)], tags=["home"],
              summary="Credit a payment (gateway callback); idempotent by key")
    def pay_home(contract: str, body: HomePaymentIn):
        now = runtime.now()

        def fn(s):
            acc = home.get_home(s, home.normalize_contract(contract))
            res = home.pay(session=s, home=acc, amount_kopecks=body.amount_kopecks, key=body.idempotency_key, now=now)
            return {"payment_id": res.payment_id, "contract": res.contract, "amount_kopecks": res.amount_kopecks,
                    "status": res.status, "balance_after_kopecks": res.balance_kopecks, "replayed": res.replayed}

        return transact(runtime.engine(), fn)

    @api.get("/api/v1/home-accounts/{contract}/ledger", tags=["home"], summary="Payments and charges")
    def home_ledger(contract: str, caller: Annotated[Caller, Depends(operator_or_session)],
                    limit: int = Query(100, ge=1, le=500)):
        def fn(s):
            acc = _reach(s, caller, contract)
            return {"contract": acc.contract, "entries": [
                {"at": e.created_at.isoformat(), "amount_kopecks": e.amount_kopecks, "kind": e.kind,
                 "category": e.category, "cause_ref": e.cause_ref, "description": e.description,
                 "balance_after": e.balance_after} for e in home.history(s, acc.id, limit)]}

        return read(runtime.engine(), fn)

    @api.get("/api/v1/home-accounts/{contract}/usage", tags=["home"], summary="Traffic and TV viewing by day")
    def home_usage(contract: str, caller: Annotated[Caller, Depends(operator_or_session)],
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
              summary="Add a day's sessions and TV viewing (the simulator)")
    def add_usage(contract: str, body: HomeUsageIn):
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
              summary="Move a request on: new → in_work → done (never back)")
    def move_request(number: str, body: RequestStatusIn):
        now = runtime.now()
        req = transact(runtime.engine(), lambda s: home.advance(session=s, number=number, to_status=body.status,
                                                                now=now))
        return {"number": req.number, "status": req.status}
