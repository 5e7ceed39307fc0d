"""Small builders for tests: lines with money, events."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from mts_portal.core import billing
from mts_portal.core.db import read, transact
from mts_portal.core.models import Bucket, Line

_ids = itertools.count(1)


def make_line(engine, msisdn: str, tariff: str = "smart", *, balance: int = 0, now: datetime,
              options: tuple[str, ...] = (), holder: str = "Тест Тестов", account_id: int | None = None) -> int:
    """Provision a line with `balance` kopecks left after its prorated fee; returns its id."""

    def fn(s: Session) -> int:
        fee_items = 0
        tariff_info = billing.default_catalog().tariffs[tariff]
        from mts_portal.core.clock import period_of, prorate_up

        p = period_of(now)
        fee_items = prorate_up(tariff_info.fee_kopecks, p.remaining_days(now), p.days)
        line = billing.provision_line(session=s, msisdn=msisdn, tariff_code=tariff, now=now, holder_name=holder,
                                      account_id=account_id, initial_balance_kopecks=balance + fee_items)
        for code in options:
            billing.connect_option(session=s, line=line, code=code, now=now)
        return line.id

    return transact(engine, fn)


def line_state(engine, msisdn: str) -> Line:
    return read(engine, lambda s: s.exec(select(Line).where(Line.msisdn == msisdn)).scalars().one())


def buckets(engine, msisdn: str) -> list[Bucket]:
    def fn(s):
        line = s.exec(select(Line).where(Line.msisdn == msisdn)).scalars().one()
        return list(s.exec(select(Bucket).where(Bucket.line_id == line.id).order_by(Bucket.id)).scalars())

    return read(engine, fn)


def ev(msisdn: str, kind: str, at: datetime, **kw) -> dict:
    e = {"event_id": kw.pop("event_id", f"ev-{next(_ids)}"), "msisdn": msisdn, "kind": kind,
         "started_at": at.isoformat(), "zone": kw.pop("zone", "home")}
    if kind in ("voice", "sms"):
        e["direction"] = kw.pop("direction", "out")
        e["peer"] = kw.pop("peer", "79990001122")
    if kind == "voice":
        e["duration_s"] = kw.pop("duration_s", 60)
    if kind == "data":
        e["bytes"] = kw.pop("bytes", 1024)
    e.update(kw)
    return e


def run(coro):
    return asyncio.run(coro)


async def call(handler, state, *args):
    """Run an event handler as Reflex would: a coroutine, or an async generator drained to its end."""
    out = handler.fn(state, *args)
    if hasattr(out, "__aiter__"):
        return [x async for x in out]
    return await out if asyncio.iscoroutine(out) else out
