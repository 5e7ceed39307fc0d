"""Paid content subscriptions: each has a provider, a daily or monthly fee, a start date and a history
of charges; cancelling stops the next charge and says when the last one was.

Fees are charged by the scheduler (core/jobs.py): daily ones each Moscow midnight (`_content_fees`),
monthly ones with the period's fees at each period start (billing.period_fee_items); the first day or
the rest of the month is charged when connecting (billing.connect_option). The ledger names every
charge (`<code>:<day>` or `service:<code>:<period>`), so a subscription's history is read from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlmodel import Session

from mts_portal.core import billing
from mts_portal.core.auth import SessionInfo, require_line
from mts_portal.core.catalog import default_catalog
from mts_portal.core.clock import as_utc
from mts_portal.core.errors import Conflict, Invalid
from mts_portal.core.models import LedgerEntry, Line, Subscription

# who provides each subscription (shown with it; the catalogue's codes are the keys)
PROVIDERS: dict[str, tuple[str, str]] = {
    "content_horoscope": ("ООО «Астро-Медиа»", "Astro-Media LLC"),
    "content_news": ("ООО «Медиа-Дайджест»", "Media Digest LLC"),
    "content_games": ("ООО «Гейм-Клаб»", "Game Club LLC"),
    "content_music": ("ООО «Звук и ритм»", "Zvuk i Ritm LLC"),
    "content_kino": ("ООО «Кинопоток»", "Kinopotok LLC"),
}
HISTORY_DAYS = 90  # ended subscriptions shown this long


def provider(code: str, lang: str = "ru") -> str:
    ru, en = PROVIDERS.get(code, ("", ""))
    return en if lang == "en" else ru


@dataclass
class Charge:
    at: datetime
    amount_kopecks: int
    description: str
    description_en: str


@dataclass
class SubscriptionView:
    id: int
    code: str
    name_ru: str
    name_en: str
    provider_ru: str
    provider_en: str
    fee_kopecks: int
    fee_unit: str  # day | month
    started_at: datetime
    active: bool
    ended_at: datetime | None
    charges: list[Charge] = field(default_factory=list)  # newest first
    next_charge_at: datetime | None = None  # active ones: when the scheduler charges next

    @property
    def last_charge(self) -> Charge | None:
        return self.charges[0] if self.charges else None

    @property
    def total_kopecks(self) -> int:
        return sum(c.amount_kopecks for c in self.charges)


def _charges(session: Session, line: Line, sub: Subscription, until: datetime | None) -> list[Charge]:
    q = select(LedgerEntry).where(
        LedgerEntry.line_id == line.id, LedgerEntry.amount_kopecks < 0, LedgerEntry.created_at >= sub.started_at,
        or_(LedgerEntry.cause_ref.startswith(f"{sub.code}:", autoescape=True),
            LedgerEntry.cause_ref.startswith(f"service:{sub.code}:", autoescape=True)))
    if until is not None:
        q = q.where(LedgerEntry.created_at <= until)
    return [Charge(as_utc(e.created_at), -e.amount_kopecks, e.description, e.description_en)
            for e in session.exec(q.order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())).scalars()]


def _view(session: Session, line: Line, sub: Subscription) -> SubscriptionView:
    p = default_catalog().products[sub.code]
    prov = PROVIDERS.get(sub.code, ("", ""))
    v = SubscriptionView(sub.id, sub.code, p.name_ru, p.name_en, prov[0], prov[1], p.fee_kopecks, p.fee_unit,
                         as_utc(sub.started_at), sub.active, as_utc(sub.ended_at) if sub.ended_at else None,
                         _charges(session, line, sub, sub.ended_at))
    if sub.active:
        if p.fee_unit == "day":
            v.next_charge_at = as_utc(sub.paid_until) if sub.paid_until else None
        elif p.fee_unit == "month":
            v.next_charge_at = as_utc(line.period_end)
    return v


def subscriptions(session: Session, info: SessionInfo, msisdn: str, now: datetime) -> list[SubscriptionView]:
    """The number's content subscriptions: the connected ones, then those ended in the last 90 days."""
    line = require_line(session, info, msisdn)
    codes = [p.code for p in default_catalog().products.values() if p.category == "content"]
    rows = session.exec(select(Subscription).where(
        Subscription.line_id == line.id, Subscription.code.in_(codes),
        or_(Subscription.active == True, Subscription.ended_at >= now - timedelta(days=HISTORY_DAYS)))  # noqa: E712
        .order_by(Subscription.active.desc(), Subscription.started_at.desc(), Subscription.id.desc())).scalars()
    return [_view(session, line, sub) for sub in rows]


def cancel(session: Session, info: SessionInfo, msisdn: str, code: str, now: datetime) -> SubscriptionView:
    """Cancel a content subscription: no further charge. Answers the ended subscription with its last
    charge (what the confirmation said beforehand)."""
    code = str(code or "")
    product = default_catalog().products.get(code)
    if product is None or product.category != "content":
        raise Invalid(f"code: {code!r} is not a content subscription", "Такой подписки нет")
    line = require_line(session, info, msisdn)
    sub = session.exec(select(Subscription).where(Subscription.line_id == line.id, Subscription.code == code,
                                                  Subscription.active == True)).scalars().first()  # noqa: E712
    if sub is None:
        raise Conflict(f"{code} is not connected", f"Подписка «{product.name_ru}» не подключена",
                       code="not_connected")
    locked = billing.get_line_for_update(session, line.msisdn)
    billing.disconnect_option(session=session, line=locked, code=code, now=now)
    session.refresh(sub)
    return _view(session, locked, sub)
