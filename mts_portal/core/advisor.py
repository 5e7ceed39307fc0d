"""The tariff advisor: re-rate the line's real last 30 days under each public tariff
with the same rating engine, and say which would have been cheapest and by how much.

Each tariff gets a month's bundles (a 30-day window is about one period) and the
line's current options; money is never short in the replay (the question is the
price, not the balance). The usage records are turned back into events and rated
in time order by `rating.rate`, so every rule (roaming, family calls, rounding)
applies exactly as it did for real.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from mts_portal.core import billing
from mts_portal.core.auth import SessionInfo, require_line
from mts_portal.core.catalog import Catalog, default_catalog
from mts_portal.core.events import Event
from mts_portal.core.models import LedgerEntry, UsageRecord
from mts_portal.core.rating import BucketState, LineSnapshot, apply, rate

WINDOW = timedelta(days=30)
UNITS = (("voice", "min"), ("sms", "sms"), ("data", "KB"))
MAX_RECORDS = 200_000


@dataclass
class TariffEstimate:
    code: str
    name_ru: str
    name_en: str
    fee_kopecks: int
    usage_kopecks: int
    total_kopecks: int
    current: bool
    cheapest: bool = False
    saving_kopecks: int = 0  # against the current tariff (positive: cheaper)


@dataclass
class Advice:
    msisdn: str
    since: datetime
    until: datetime
    records: int
    actual_usage_kopecks: int
    estimates: list[TariffEstimate]

    @property
    def best(self) -> TariffEstimate | None:
        return next((e for e in self.estimates if e.cheapest), None)


def _events(rows) -> list[Event]:
    return [Event(r.event_id, "", r.kind, r.direction, r.peer, r.started_at, r.duration_s, r.bytes, r.zone)
            for r in rows]


def estimate(session: Session, line, tariff_code: str, events: list[Event], since: datetime, until: datetime,
             options: frozenset[str], family_peers: frozenset[str], catalog: Catalog) -> int:
    """Money the usage would have cost under `tariff_code` (without the fee); calls to today's family
    group count as inside it."""
    tariff = catalog.tariffs[tariff_code]
    buckets: dict[str, list[BucketState]] = {"voice": [], "sms": [], "data": []}
    for i, (kind, unit) in enumerate(UNITS):
        total = tariff.bundle(kind)
        if total:
            buckets[kind].append(BucketState(-(i + 1), line.id, kind, unit, total, 0, since, until + timedelta(days=1),
                                             1, "tariff"))
    snap = LineSnapshot(id=line.id, msisdn=line.msisdn, status="active", tariff=tariff, balance_kopecks=10**15,
                        credit_limit_kopecks=0, options=options, buckets=buckets,
                        family_peers=dict.fromkeys(family_peers))
    money = 0
    for ev in events:
        d = rate(ev, snap, catalog, ev.started_at)
        apply(d, snap)
        for c in d.charges:
            money += c.amount_kopecks
    return money


def advise(session: Session, info: SessionInfo, msisdn: str, now: datetime, catalog: Catalog | None = None) -> Advice:
    catalog = catalog or default_catalog()
    line = require_line(session, info, msisdn)
    since = now - WINDOW
    rows = session.exec(select(UsageRecord).where(
        UsageRecord.line_id == line.id, UsageRecord.started_at >= since, UsageRecord.started_at < now,
        UsageRecord.status == "rated").order_by(UsageRecord.started_at, UsageRecord.id).limit(MAX_RECORDS)).scalars().all()
    events = _events(rows)
    options = frozenset(billing.active_options(session, line.id))
    from mts_portal.core import family

    peers = frozenset(family.group_msisdns(session, line.id)) - {line.msisdn}
    actual = -sum(session.exec(select(LedgerEntry.amount_kopecks).where(
        LedgerEntry.line_id == line.id, LedgerEntry.cause_type == "event", LedgerEntry.created_at >= since,
        LedgerEntry.created_at < now)).scalars())
    estimates = []
    for t in sorted((t for t in catalog.tariffs.values() if t.public), key=lambda t: t.sort):
        usage = estimate(session, line, t.code, events, since, now, options, peers, catalog)
        estimates.append(TariffEstimate(t.code, t.name_ru, t.name_en, t.fee_kopecks, usage, t.fee_kopecks + usage,
                                        current=t.code == line.tariff_code))
    current = next((e for e in estimates if e.current), None)
    best = min(estimates, key=lambda e: (e.total_kopecks, e.fee_kopecks))
    best.cheapest = True
    if current is not None:
        for e in estimates:
            e.saving_kopecks = current.total_kopecks - e.total_kopecks
    return Advice(line.msisdn, since, now, len(rows), actual, estimates)
