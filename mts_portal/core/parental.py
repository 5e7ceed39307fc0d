"""«Родительский контроль» (`parental_control`): a child's number attached to a parent's, with limits.

A parent line with the service connected attaches a child's number: one of its own account at once,
or any other number of the network once a code sent to that number is confirmed (like adding a number
in core/auth.py). The parent then sets limits, which are honoured where money is spent:

- spending per calendar month (SPENT_KINDS: usage, roaming and content daily fees, content
  subscriptions, internet packages): the rater (core/rating.py) refuses a usage event whose money
  would take the month over the limit; connecting paid content or buying a package that would is
  refused; a daily content fee that would is not charged and the subscription stops;
- night-time data off (23:00–07:00 Moscow time): the rater refuses data sessions then;
- blocked content subscriptions (chosen ones, or all): they cannot be connected on the child's
  number, and those already connected stop at once (the day or month already paid stays paid).

A refused event is `blocked` with the reason; nothing is drawn or charged. The tariff's and services'
monthly fees are not limited (they are the contract). The parent sees the child's spending this month
and the events the limits refused; the child's number is told about the control and its limits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlmodel import Session

from mts_portal.core import auth, billing, notify
from mts_portal.core.auth import SessionInfo, format_msisdn, require_line
from mts_portal.core.catalog import default_catalog
from mts_portal.core.clock import Period, period_of
from mts_portal.core.errors import Conflict, DomainError, Invalid, NotFound, parse_id
from mts_portal.core.models import LedgerEntry, Line, ParentalLink, Subscription, UsageRecord
from mts_portal.core.money import MoneyFormatError, format_rub, parse_rub, rub

SERVICE = "parental_control"
MAX_CHILDREN = 5
MAX_LIMIT_KOPECKS = rub(100_000)
ALL_CONTENT = "*"
# what counts against the monthly spending limit (the same rule in SQL for the charging hot path)
SPENT_KINDS = ("usage", "daily_fee", "addon")
SPENT_SQL = "(kind IN ('usage', 'daily_fee', 'addon') OR category = 'content') AND amount_kopecks < 0"


def _spent_clause():
    return (or_(LedgerEntry.kind.in_(SPENT_KINDS), LedgerEntry.category == "content")) & (LedgerEntry.amount_kopecks < 0)


def content_codes() -> list[str]:
    return [p.code for p in sorted(default_catalog().products.values(), key=lambda p: p.sort)
            if p.category == "content" and p.public]


# ---------------------------------------------------------------- reading links


def active_link_of_child(session: Session, child_line_id: int) -> ParentalLink | None:
    return session.exec(select(ParentalLink).where(ParentalLink.child_line_id == child_line_id,
                                                   ParentalLink.status == "active")).scalars().first()


def links_of_parent(session: Session, parent_line_id: int) -> list[ParentalLink]:
    return list(session.exec(select(ParentalLink).where(ParentalLink.parent_line_id == parent_line_id,
                                                        ParentalLink.status == "active")
                             .order_by(ParentalLink.id)).scalars())


def blocked_codes(link: ParentalLink) -> list[str]:
    try:
        codes = json.loads(link.blocked_content or "[]")
    except ValueError:
        return []
    return [str(c) for c in codes] if isinstance(codes, list) else []


def is_blocked(link: ParentalLink, code: str) -> bool:
    codes = blocked_codes(link)
    return ALL_CONTENT in codes or code in codes


def spent(session: Session, line_id: int, period: Period) -> int:
    """Money counted against the parental limit in `period` (kopecks, positive)."""
    return -int(session.exec(select(func.coalesce(func.sum(LedgerEntry.amount_kopecks), 0)).where(
        LedgerEntry.line_id == line_id, LedgerEntry.created_at >= period.start, LedgerEntry.created_at < period.end,
        _spent_clause())).scalar_one())


# ---------------------------------------------------------------- where money is spent


def purchase_refusal(session: Session, line: Line, product, price_kopecks: int, at: datetime) -> DomainError | None:
    """Why a parent's limits refuse this content subscription / internet package (or its daily fee)
    on a child's line, or None. Used by billing.connect_option and the content-fee job."""
    if product.category not in ("content", "addon"):
        return None
    link = active_link_of_child(session, line.id)
    if link is None:
        return None
    if product.category == "content" and is_blocked(link, product.code):
        return Conflict(f"{product.code} is blocked by parental control",
                        f"Подписка «{product.name_ru}» запрещена родительским контролем", code="parental_blocked")
    if price_kopecks and link.spend_limit_kopecks is not None:
        used = spent(session, line.id, period_of(at))
        if used + price_kopecks > link.spend_limit_kopecks:
            return Conflict(
                "the monthly spending limit set by parental control would be exceeded",
                f"Превышен лимит расходов, установленный родителем: {format_rub(link.spend_limit_kopecks)} в месяц, "
                f"уже потрачено {format_rub(used)}", code="parental_limit")
    return None


# ---------------------------------------------------------------- attaching a child


def _parent(session: Session, info: SessionInfo, msisdn: str) -> Line:
    line = require_line(session, info, msisdn)
    if session.exec(select(Subscription.id).where(Subscription.line_id == line.id, Subscription.code == SERVICE,
                                                  Subscription.active == True)).first() is None:  # noqa: E712
        raise Conflict("connect «Parental control» first", "Сначала подключите услугу «Родительский контроль»")
    return line


def own_candidates(session: Session, info: SessionInfo, parent_msisdn: str) -> list[Line]:
    """Numbers of the parent's account that can be attached at once (not already under control)."""
    parent = require_line(session, info, parent_msisdn)
    taken = set(session.exec(select(ParentalLink.child_line_id).where(ParentalLink.status == "active")
                             .where(ParentalLink.child_line_id.in_(
                                 [ln.id for ln in auth.account_lines(session, info.account_id)]))).scalars())
    return [ln for ln in auth.account_lines(session, info.account_id)
            if ln.id != parent.id and ln.id not in taken and not ln.is_lost]


def _link(session: Session, parent: Line, child: Line, via: str, now: datetime) -> ParentalLink:
    locked = billing.lock_lines(session, [parent.id, child.id])
    parent, child = locked[parent.id], locked[child.id]
    if child.id == parent.id:
        raise Invalid("a number cannot control itself", "Нельзя подключить контроль к собственному номеру",
                      field="child")
    if child.is_lost:
        raise Conflict("the number is blocked as lost", "Номер заблокирован как утраченный", field="child")
    if active_link_of_child(session, child.id) is not None:
        raise Conflict("this number is already under parental control",
                       "Этот номер уже под родительским контролем", field="child")
    if links_of_parent(session, child.id):
        raise Conflict("this number controls other numbers itself",
                       "Этот номер сам управляет родительским контролем других номеров", field="child")
    if len(links_of_parent(session, parent.id)) >= MAX_CHILDREN:
        raise Conflict(f"at most {MAX_CHILDREN} children", f"Можно подключить не больше {MAX_CHILDREN} номеров",
                       field="child")
    link = ParentalLink(parent_line_id=parent.id, child_line_id=child.id, status="active", via=via,
                        spend_limit_kopecks=None, night_data_off=False, blocked_content="[]", created_at=now,
                        updated_at=now)
    session.add(link)
    session.flush()
    billing.notify_line(session, child, notify.notification(
        child.id, "info",
        f"Номер подключён к «Родительскому контролю» номера {format_msisdn(parent.msisdn)}: родитель видит "
        "расходы этого номера и может ограничить траты, платные подписки и ночной интернет.",
        f"This number is now under the Parental control of {format_msisdn(parent.msisdn)}: the parent sees "
        "its spending and may limit it, paid subscriptions and night-time data.", now), also_sms=True)
    billing.touch(session, child, now)
    return link


def attach_own(session: Session, info: SessionInfo, parent_msisdn: str, child_msisdn: str,
               now: datetime) -> ParentalLink:
    """Attach a number of the parent's own account (no code needed: the account holds both)."""
    parent = _parent(session, info, parent_msisdn)
    child = require_line(session, info, str(child_msisdn or ""))
    return _link(session, parent, child, "account", now)


def request_attach(session: Session, info: SessionInfo, parent_msisdn: str, child_text: str, client: str,
                   now: datetime) -> auth.CodeRequest:
    """Send a confirmation code to another number (the same answer whether or not it is ours)."""
    parent = _parent(session, info, parent_msisdn)
    try:
        msisdn = auth.normalize_msisdn(child_text)
    except Invalid as exc:
        raise Invalid(exc.message_en, exc.message_ru, field="child") from None
    if msisdn == parent.msisdn:
        raise Invalid("a number cannot control itself", "Нельзя подключить контроль к собственному номеру",
                      field="child")
    if any(ln.msisdn == msisdn for ln in auth.account_lines(session, info.account_id)):
        raise Conflict("this number is in your account: choose it in the list",
                       "Этот номер есть в вашем кабинете: выберите его в списке выше — код не нужен", field="child")
    return auth.request_code(session=session, msisdn=msisdn, purpose="parental", client=client, now=now,
                             account_id=info.account_id, payload=parent.msisdn,
                             text_args={"by": format_msisdn(parent.msisdn)})


def confirm_attach(session: Session, info: SessionInfo, parent_msisdn: str, attempt_id: str, child_msisdn: str,
                   code: str, now: datetime) -> ParentalLink:
    """Check the code sent to the child's number, then attach it. A wrong code counts as a failed attempt
    (three lock code entry for 10 minutes); an unknown or lost number is refused like a wrong code."""
    parent = _parent(session, info, parent_msisdn)
    msisdn = auth.normalize_msisdn(child_msisdn)
    child = session.exec(select(Line).where(Line.msisdn == msisdn)).scalars().first()
    row = auth.check_code(session=session, attempt_id=attempt_id, msisdn=msisdn, code=code, purpose="parental",
                          now=now, account_id=info.account_id, deny=child is None or child.is_lost)
    if row.payload != parent.msisdn:
        raise Invalid("the code was asked for another number", "Код запрошен для другого номера: запросите новый")
    return _link(session, parent, child, "code", now)


# ---------------------------------------------------------------- limits


def _parent_link(session: Session, info: SessionInfo, parent_msisdn: str, link_id) -> tuple[Line, ParentalLink]:
    parent = require_line(session, info, parent_msisdn)
    link = session.get(ParentalLink, parse_id(link_id))
    if link is None or link.parent_line_id != parent.id or link.status != "active":
        raise NotFound("no such child number", "Номер ребёнка не найден")
    return parent, link


def parse_limit(text) -> int | None:
    """The monthly spending limit as typed: empty for none, else roubles (0 allowed: nothing paid)."""
    text = str(text or "").strip()
    if not text:
        return None
    try:
        amount = parse_rub(text)
    except MoneyFormatError:
        raise Invalid("limit: an amount in roubles, e.g. 500 or 350,50",
                      "Введите сумму в рублях, например 500 или 350,50", field="limit") from None
    if amount > MAX_LIMIT_KOPECKS:
        raise Invalid("limit: at most 100,000 ₽", "Лимит — не больше 100 000 ₽ в месяц", field="limit")
    return amount


def set_limits(session: Session, info: SessionInfo, parent_msisdn: str, link_id, limit_text, night_data_off: bool,
               blocked: list[str], now: datetime) -> ParentalLink:
    """Save the child's limits. Subscriptions the parent now blocks stop at once (the day or month already
    paid stays paid; no further charge)."""
    limit = parse_limit(limit_text)
    codes = [str(c) for c in (blocked or [])]
    allowed = set(content_codes()) | {ALL_CONTENT}
    bad = [c for c in codes if c not in allowed]
    if bad:
        raise Invalid(f"blocked: unknown subscriptions {bad}", "Неизвестная подписка в списке запретов",
                      field="blocked")
    parent, link = _parent_link(session, info, parent_msisdn, link_id)
    child = billing.lock_lines(session, [link.child_line_id])[link.child_line_id]
    link.spend_limit_kopecks = limit
    link.night_data_off = bool(night_data_off)
    link.blocked_content = json.dumps(sorted(set(codes)))
    link.updated_at = now
    session.add(link)
    stopped = []
    for sub in session.exec(select(Subscription).where(Subscription.line_id == child.id,
                                                       Subscription.active == True)).scalars():  # noqa: E712
        product = default_catalog().products.get(sub.code)
        if product is not None and product.category == "content" and is_blocked(link, sub.code):
            sub.active = False
            sub.ended_at = now
            session.add(sub)
            stopped.append(product)
    parts_ru = [f"лимит расходов {format_rub(limit)} в месяц" if limit is not None else "без лимита расходов",
                "ночной интернет отключён (23:00–07:00)" if link.night_data_off else "интернет круглосуточно"]
    parts_en = [f"a spending limit of {format_rub(limit, 'en')} a month" if limit is not None else "no spending limit",
                "no mobile data 23:00–07:00" if link.night_data_off else "mobile data all day"]
    if stopped:
        parts_ru.append("отключены подписки: " + ", ".join(f"«{p.name_ru}»" for p in stopped))
        parts_en.append("subscriptions stopped: " + ", ".join(p.name_en for p in stopped))
    billing.notify_line(session, child, notify.notification(
        child.id, "info", f"Родитель ({format_msisdn(parent.msisdn)}) изменил ограничения: " + "; ".join(parts_ru) + ".",
        f"Your parent ({format_msisdn(parent.msisdn)}) changed the limits: " + "; ".join(parts_en) + ".", now),
        also_sms=True)
    billing.touch(session, child, now)  # the rater's cached snapshot of the child is out of date now
    session.flush()
    return link


def detach(session: Session, info: SessionInfo, parent_msisdn: str, link_id, now: datetime) -> None:
    parent, link = _parent_link(session, info, parent_msisdn, link_id)
    child = billing.lock_lines(session, [link.child_line_id])[link.child_line_id]
    link.status = "ended"
    link.ended_at = now
    link.updated_at = now
    session.add(link)
    billing.notify_line(session, child, notify.notification(
        child.id, "info", f"«Родительский контроль» номера {format_msisdn(parent.msisdn)} отключён: ограничений больше нет.",
        f"Parental control by {format_msisdn(parent.msisdn)} is off: no more limits.", now), also_sms=True)
    billing.touch(session, child, now)
    session.flush()


def before_disconnect(session: Session, line: Line) -> None:
    """billing.disconnect_option of the service: refused while children are attached (their limits would
    otherwise stay without a paying parent)."""
    if links_of_parent(session, line.id):
        raise Conflict("detach the children's numbers first",
                       "Сначала отключите контроль у номеров детей в разделе «Родительский контроль»")


# ---------------------------------------------------------------- what the parent sees


@dataclass
class ChildView:
    link_id: int
    msisdn: str
    via: str
    since: datetime
    spend_limit_kopecks: int | None
    night_data_off: bool
    blocked: list[str]
    spent_kopecks: int
    by_category: dict[str, int] = field(default_factory=dict)  # voice | sms | data | roaming | content
    refused_count: int = 0
    refused: list[UsageRecord] = field(default_factory=list)  # the latest events the limits refused
    subscriptions: list[str] = field(default_factory=list)  # content codes active on the child's number

    @property
    def left_kopecks(self) -> int | None:
        return None if self.spend_limit_kopecks is None else max(0, self.spend_limit_kopecks - self.spent_kopecks)


def children(session: Session, info: SessionInfo, parent_msisdn: str, now: datetime) -> list[ChildView]:
    parent = require_line(session, info, parent_msisdn)
    period = period_of(now)
    out = []
    for link in links_of_parent(session, parent.id):
        child = session.get(Line, link.child_line_id)
        by_cat: dict[str, int] = {}
        for category, amount in session.exec(
                select(LedgerEntry.category, func.sum(LedgerEntry.amount_kopecks)).where(
                    LedgerEntry.line_id == child.id, LedgerEntry.created_at >= period.start,
                    LedgerEntry.created_at < period.end, _spent_clause()).group_by(LedgerEntry.category)).all():
            by_cat[category] = -int(amount)
        refused_q = select(UsageRecord).where(
            UsageRecord.line_id == child.id, UsageRecord.status == "blocked", UsageRecord.started_at >= period.start,
            UsageRecord.ingested_at >= link.created_at, UsageRecord.explanation.like('%"blocked":"parental_%'))
        refused_n = session.exec(select(func.count()).select_from(refused_q.subquery())).scalar_one()
        refused = list(session.exec(refused_q.order_by(UsageRecord.started_at.desc()).limit(5)).scalars())
        subs = [s for s in session.exec(select(Subscription.code).where(
            Subscription.line_id == child.id, Subscription.active == True)).scalars()  # noqa: E712
            if s in set(content_codes())]
        out.append(ChildView(link.id, child.msisdn, link.via, link.created_at, link.spend_limit_kopecks,
                             link.night_data_off, blocked_codes(link), sum(by_cat.values()), by_cat, int(refused_n),
                             refused, subs))
    return out


@dataclass
class ControlledView:
    """What a child's own number is told: who controls it and how."""

    parent_msisdn: str
    spend_limit_kopecks: int | None
    night_data_off: bool
    blocked: list[str]
    spent_kopecks: int


def controlled(session: Session, info: SessionInfo, msisdn: str, now: datetime) -> ControlledView | None:
    line = require_line(session, info, msisdn)
    link = active_link_of_child(session, line.id)
    if link is None:
        return None
    parent = session.get(Line, link.parent_line_id)
    return ControlledView(parent.msisdn, link.spend_limit_kopecks, link.night_data_off, blocked_codes(link),
                          spent(session, line.id, period_of(now)))


def load_limits(fx, line_ids: list[int], now: datetime) -> dict[int, tuple[int | None, bool, dict[datetime, int]]]:
    """For the charging hot path (raw SQL on its connection): the limits of the lines of a batch that are
    children under control — one indexed look-up, and the spending sums only for lines with a limit."""
    rows = fx.select_in("SELECT child_line_id, spend_limit_kopecks, night_data_off FROM parental_links "
                        "WHERE child_line_id IN ({in}) AND status = 'active'", line_ids)
    if not rows:
        return {}
    current = period_of(now)
    previous = period_of(current.start - timedelta(seconds=1))
    out = {lid: (limit, bool(night), {}) for lid, limit, night in rows}
    limited = sorted(lid for lid, limit, _ in rows if limit is not None)
    for period in (current, previous):
        for lid, total in fx.select_in(
                "SELECT line_id, SUM(amount_kopecks) FROM ledger_entries WHERE line_id IN ({in}) "
                "AND created_at >= {ph} AND created_at < {ph} AND " + SPENT_SQL + " GROUP BY line_id",
                limited, (fx.dt(period.start), fx.dt(period.end))):
            out[lid][2][period.start] = -int(total or 0)
    return out
