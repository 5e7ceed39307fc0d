"""«МТС Бонус»: points earned from charges (ledger.post), their history, the catalogue
of DESIGN §3 and exchanging points for services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from mts_portal.core import billing, notify
from mts_portal.core.auth import SessionInfo, require_line
from mts_portal.core.catalog import default_catalog
from mts_portal.core.errors import Conflict, Invalid
from mts_portal.core.models import BonusEntry, Subscription


@dataclass
class Offer:
    code: str
    name_ru: str
    name_en: str
    points: int
    what_ru: str
    what_en: str


def offers() -> list[Offer]:
    cat = default_catalog()
    out = []
    for p in sorted(cat.products.values(), key=lambda p: (p.bonus_price_points or 0)):
        if not p.bonus_price_points:
            continue
        if p.category == "addon":
            what = ("Пакет до конца расчётного периода", "A package to the end of the period")
        elif p.fee_unit == "usage_day":
            what = ("Подключение без суточной платы до конца периода", "No daily fee to the end of the period")
        else:
            what = ("Подключение без абонентской платы до конца периода", "No monthly fee to the end of the period")
        out.append(Offer(p.code, p.name_ru, p.name_en, p.bonus_price_points, *what))
    return out


def history(session: Session, info: SessionInfo, msisdn: str, limit: int = 50) -> list[BonusEntry]:
    line = require_line(session, info, msisdn)
    return list(session.exec(select(BonusEntry).where(BonusEntry.line_id == line.id)
                             .order_by(BonusEntry.created_at.desc(), BonusEntry.id.desc()).limit(limit)).scalars())


def exchange(session: Session, info: SessionInfo, msisdn: str, code: str, now: datetime,
             request_key: str | None = None) -> billing.OptionResult:
    """Spend points on a catalogue item: the service is connected with its fees paid by points
    to the end of the period (an add-on is bought). `request_key` makes a repeated request (a double
    click) spend once: the repeat is a Conflict with code duplicate_request, checked under the line lock."""
    line = billing.get_line_for_update(session, require_line(session, info, msisdn).msisdn)
    offer = next((o for o in offers() if o.code == str(code)), None)
    if offer is None:
        raise Invalid("code: not in the bonus catalogue", "Этого нет в каталоге МТС Бонус")
    cause = f"bonus:{offer.code}"
    if request_key is not None:
        cause = f"{cause}:{billing.validate_key(request_key)}"
        if session.exec(select(BonusEntry.id).where(BonusEntry.line_id == line.id,
                                                    BonusEntry.cause_ref == cause)).first() is not None:
            raise Conflict("this exchange was already made", "Этот обмен уже выполнен", code="duplicate_request")
    if line.bonus_points < offer.points:
        raise Conflict(f"not enough points: {offer.points} needed, {line.bonus_points} available",
                       f"Недостаточно баллов: нужно {offer.points}, у вас {line.bonus_points}")
    product = default_catalog().products[offer.code]
    if product.category != "addon":
        sub = session.exec(select(Subscription).where(Subscription.line_id == line.id, Subscription.code == offer.code,
                                                      Subscription.active == True)).scalars().first()  # noqa: E712
        if sub is not None:
            if sub.paid_until is not None and sub.paid_until >= line.period_end:
                raise Conflict("already paid to the end of the period", "Уже оплачено до конца периода")
            sub.paid_until = line.period_end  # connected already: points pay the rest of the period
            sub.source = "bonus"
            session.add(sub)
            result = billing.OptionResult(line.msisdn, offer.code, True, 0, line.balance_kopecks,
                                          f"«{offer.name_ru}» оплачена баллами до конца периода",
                                          f"{offer.name_en} paid with points to the end of the period")
        else:
            result = billing.connect_option(session=session, line=line, code=offer.code, now=now,
                                            request_key=request_key, paid_with_points=True)
    else:
        result = billing.connect_option(session=session, line=line, code=offer.code, now=now,
                                        request_key=request_key, paid_with_points=True)
    line.bonus_points -= offer.points
    session.add(BonusEntry(line_id=line.id, points=-offer.points, reason="exchange",
                           description=f"Обмен на «{offer.name_ru}»", description_en=f"Exchanged for {offer.name_en}",
                           cause_ref=cause, created_at=now))
    billing.notify_line(session, line, notify.notification(
        line.id, "info", f"Списано {offer.points} баллов: «{offer.name_ru}».",
        f"{offer.points} points spent: {offer.name_en}.", now))
    billing.touch(session, line, now)
    return result
