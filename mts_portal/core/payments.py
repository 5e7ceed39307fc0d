"""Money («Счёт»): cards and a simulated payment gateway, top-ups by card (idempotent
against double clicks), promised payment, autopay, transfers between subscribers
confirmed by a code, the operations history and spending aggregates.

The gateway is simulated like a card processor's test mode: a card's number decides
how the bank answers (…0002 insufficient funds, …0069 expired, …0119 bank not
answering; any other valid number is approved). A typed card is tokenized at once
(`tokenize`: brand, last four digits, expiry and the bank's answer; the number and
CVC go no further) and saved only once the bank approved a payment with it, so the
saved cards are cards that worked.

Errors about one input name it in `details["field"]` ("amount", "threshold", "day",
"card", "card_number", "card_expiry", "card_cvc", "to") so a form shows them there.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, func, select, update
from sqlmodel import Session

from mts_portal.core import auth, billing, ledger, notify
from mts_portal.core.auth import SessionInfo, require_line
from mts_portal.core.clock import fmt_datetime, moscow_date, period_of
from mts_portal.core.db import transact
from mts_portal.core.errors import Conflict, DomainError, Invalid, NotFound, Unauthorized, parse_id
from mts_portal.core.models import (
    AutopayRule,
    AutopayRun,
    Card,
    LedgerEntry,
    Line,
    OtpCode,
    Payment,
    PromisedPayment,
    Transfer,
)
from mts_portal.core.money import format_rub, rub

MAX_CARDS = 5
PROMISE_DAYS = 3
PROMISE_MIN = rub(50)
PROMISE_BASE_MAX = rub(500)
PROMISE_CAP = rub(1500)
PROMISE_BALANCE_BELOW = rub(300)  # offered when the balance is below this
TRANSFER_MIN, TRANSFER_MAX = rub(10), rub(5000)
AUTOPAY_RETRY = timedelta(hours=1)
AUTOPAY_THRESHOLD_MIN, AUTOPAY_THRESHOLD_MAX = rub(10), rub(3000)
AUTOPAY_DAY_MAX = 28  # a day every month has


def _on(field_name: str, exc: DomainError) -> DomainError:
    """Name the input an error is about (the form shows it at that field)."""
    exc.details.setdefault("field", field_name)
    return exc


def check_topup_amount(amount_kopecks, field_name: str = "amount") -> int:
    """A card top-up's (or an autopay's) amount: whole kopecks from 1 to 15,000 ₽."""
    if isinstance(amount_kopecks, bool) or not isinstance(amount_kopecks, int) \
            or not billing.MIN_TOPUP_KOPECKS <= amount_kopecks <= billing.MAX_TOPUP_KOPECKS:
        raise Invalid(f"Top-up amount: from {format_rub(billing.MIN_TOPUP_KOPECKS, 'en')} to "
                      f"{format_rub(billing.MAX_TOPUP_KOPECKS, 'en')}",
                      f"Сумма пополнения: от {format_rub(billing.MIN_TOPUP_KOPECKS)} до "
                      f"{format_rub(billing.MAX_TOPUP_KOPECKS)}", field=field_name)
    return amount_kopecks


def promise_fee(amount: int) -> int:
    """0 ₽ up to 100 ₽, 10 ₽ up to 300 ₽, 25 ₽ up to 500 ₽, 50 ₽ above."""
    if amount <= rub(100):
        return 0
    if amount <= rub(300):
        return rub(10)
    if amount <= rub(500):
        return rub(25)
    return rub(50)


# ---------------------------------------------------------------- cards and the gateway

DECLINES = {
    "insufficient": ("the bank declined: insufficient funds on the card", "Банк отклонил платёж: недостаточно средств на карте"),
    "expired": ("the bank declined: the card has expired", "Банк отклонил платёж: срок действия карты истёк"),
    "unavailable": ("the bank did not answer; no money was taken, try again later",
                    "Банк не ответил. Деньги не списаны, попробуйте позже"),
}


def luhn_ok(pan: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(pan)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_brand(pan: str) -> str:
    if pan[:4] in ("2200", "2201", "2202", "2203", "2204"):
        return "Мир"
    if pan[0] == "4":
        return "Visa"
    if pan[:2] in ("51", "52", "53", "54", "55") or "2221" <= pan[:4] <= "2720":
        return "Mastercard"
    return "Card"


@dataclass
class CardInput:
    pan: str
    exp_month: int
    exp_year: int
    cvc: str


@dataclass(frozen=True)
class NewCard:
    """A typed card once the gateway tokenized it: what may be kept (no number, no CVC)."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int
    profile: str  # the simulated bank's answer for this card

    @property
    def label(self) -> str:
        return f"{self.brand} •••• {self.last4}"


def _pan(number: str) -> str:
    return "".join(ch for ch in str(number or "") if ch.isdigit())


def _expiry(expiry: str) -> tuple[int, int] | None:
    m = str(expiry or "").replace(" ", "").replace("/", "")
    if len(m) not in (4, 6) or not m.isdigit():
        return None
    year = int(m[2:])
    return int(m[:2]), year + 2000 if year < 100 else year


def card_problems(number: str, expiry: str, cvc: str, now: datetime) -> list[Invalid]:
    """Everything wrong with a typed card, each field checked on its own (a form shows them all at once)."""
    out = []
    pan = _pan(number)
    if not 16 <= len(pan) <= 19 or not luhn_ok(pan):
        out.append(Invalid("Not a valid card number: check its 16–19 digits",
                           "Неверный номер карты: проверьте 16–19 цифр", field="card_number"))
    exp = _expiry(expiry)
    today = moscow_date(now)
    if exp is None:
        out.append(Invalid("Expiry: MM/YY, as on the card", "Срок действия: ММ/ГГ, как на карте",
                           field="card_expiry"))
    elif not 1 <= exp[0] <= 12:
        out.append(Invalid("Expiry: the month is 01–12", "Срок действия: месяц от 01 до 12", field="card_expiry"))
    elif (exp[1], exp[0]) < (today.year, today.month) or exp[1] > today.year + 20:
        out.append(Invalid("This card has expired", "Срок действия карты истёк", field="card_expiry"))
    c = str(cvc or "").strip()
    if len(c) != 3 or not c.isdigit():
        out.append(Invalid("CVC: the 3 digits on the back of the card", "CVC: три цифры на обороте карты",
                           field="card_cvc"))
    return out


def parse_card(number: str, expiry: str, cvc: str, now: datetime) -> CardInput:
    problems = card_problems(number, expiry, cvc, now)
    if problems:
        raise problems[0]
    month, year = _expiry(expiry)
    return CardInput(_pan(number), month, year, str(cvc).strip())


def _profile(pan: str) -> str:
    return {"0002": "insufficient", "0069": "expired", "0119": "unavailable"}.get(pan[-4:], "ok")


def tokenize(card: CardInput) -> NewCard:
    """The gateway's tokenization of a typed card: after it, the number and CVC are not needed."""
    return NewCard(card_brand(card.pan), card.pan[-4:], card.exp_month, card.exp_year, _profile(card.pan))


def _saved(session: Session, info: SessionInfo) -> list[Card]:
    return list(session.exec(select(Card).where(Card.account_id == info.account_id, Card.removed == False)  # noqa: E712
                             .order_by(Card.id)).scalars())


def _same_card(session: Session, info: SessionInfo, card: NewCard | CardInput) -> Card | None:
    last4 = card.pan[-4:] if isinstance(card, CardInput) else card.last4
    for existing in _saved(session, info):
        if existing.last4 == last4 and (existing.exp_month, existing.exp_year) == (card.exp_month, card.exp_year):
            return existing
    return None


def _check_room(session: Session, info: SessionInfo) -> None:
    if len(_saved(session, info)) >= MAX_CARDS:
        raise Conflict(f"At most {MAX_CARDS} cards can be saved: remove one, or pay without saving this one",
                       f"Можно сохранить не больше {MAX_CARDS} карт: удалите одну или оплатите без сохранения",
                       field="card")


def add_card(session: Session, info: SessionInfo, card: CardInput | NewCard, now: datetime) -> Card:
    """Keep a card (the same card twice is kept once). Top-ups save a typed card only once the bank
    approved a payment with it (`top_up_by_new_card`)."""
    existing = _same_card(session, info, card)
    if existing is not None:
        return existing
    _check_room(session, info)
    new = tokenize(card) if isinstance(card, CardInput) else card
    row = Card(account_id=info.account_id, brand=new.brand, last4=new.last4, exp_month=new.exp_month,
               exp_year=new.exp_year, token="tok_" + secrets.token_hex(16), gateway_profile=new.profile,
               created_at=now)
    session.add(row)
    session.flush()
    return row


def get_card(session: Session, info: SessionInfo, card_id) -> Card:
    try:
        card = session.get(Card, parse_id(card_id))
    except NotFound as exc:
        raise _on("card", exc) from None
    if card is None or card.account_id != info.account_id or card.removed:
        raise NotFound("Card not found", "Карта не найдена", field="card")
    return card


def remove_card(session: Session, info: SessionInfo, card_id, now: datetime) -> None:
    card = get_card(session, info, card_id)
    card.removed = True
    session.add(card)
    for rule in session.exec(select(AutopayRule).where(AutopayRule.card_id == card.id,
                                                       AutopayRule.active == True)).scalars():  # noqa: E712
        rule.active = False
        session.add(rule)


def card_expired(card: Card | NewCard, now: datetime) -> bool:
    today = moscow_date(now)
    return (card.exp_year, card.exp_month) < (today.year, today.month)


def card_label(card: Card | NewCard) -> str:
    return f"{card.brand} •••• {card.last4}"


def cards(session: Session, info: SessionInfo) -> list[Card]:
    """The account's saved cards that worked: a payment with them was approved (a card saved before
    declines stopped being saved, and never approved, is not offered)."""
    worked = set(session.exec(select(Payment.card_id).where(Payment.card_id.is_not(None),
                                                            Payment.status == "succeeded")
                              .join(Card, Card.id == Payment.card_id)
                              .where(Card.account_id == info.account_id)).scalars())
    return [c for c in _saved(session, info) if c.id in worked]


def usable_cards(session: Session, info: SessionInfo, now: datetime) -> list[Card]:
    """Saved cards that worked and have not expired since: what a payment or an autopay may use."""
    return [c for c in cards(session, info) if not card_expired(c, now)]


def gateway_charge(card: Card | NewCard, amount: int, now: datetime) -> str | None:
    """The simulated bank: None when approved, else the decline profile."""
    if card_expired(card, now):
        return "expired"
    profile = card.gateway_profile if isinstance(card, Card) else card.profile
    return None if profile == "ok" else profile


@dataclass
class CardTopUp:
    status: str  # succeeded | declined
    amount_kopecks: int
    balance_kopecks: int
    reason_en: str | None = None
    reason_ru: str | None = None
    replayed: bool = False
    card_id: int | None = None  # the saved card paid with (None: a typed card not saved)


def _replay(session: Session, existing: Payment, line: Line, amount_kopecks: int, card_id: int | None,
            check_card: bool) -> CardTopUp:
    if existing.line_id != line.id or existing.amount_kopecks != amount_kopecks \
            or (check_card and existing.card_id != card_id):
        raise Conflict("This payment was already made", "Этот платёж уже выполнен")
    reason = DECLINES.get(existing.decline_reason or "", (None, None))
    return CardTopUp(existing.status, existing.amount_kopecks, line.balance_kopecks, reason[0], reason[1],
                     replayed=True, card_id=existing.card_id)


def _decline(session: Session, line: Line, key: str, amount_kopecks: int, method: str, card_id: int | None,
             last4: str, declined: str, now: datetime) -> CardTopUp:
    session.add(Payment(idempotency_key=key, line_id=line.id, amount_kopecks=amount_kopecks, method=method,
                        card_id=card_id, status="declined", decline_reason=declined, created_at=now))
    billing.notify_line(session, line, notify.notification(
        line.id, "payment", f"Платёж {format_rub(amount_kopecks)} с карты *{last4} отклонён: "
        f"{DECLINES[declined][1]}", f"Payment of {format_rub(amount_kopecks, 'en')} from card *{last4} "
        f"declined: {DECLINES[declined][0]}", now))
    return CardTopUp("declined", amount_kopecks, line.balance_kopecks, *DECLINES[declined], card_id=card_id)


def _credit(session: Session, line: Line, key: str, amount_kopecks: int, method: str, card_id: int | None,
            brand: str, last4: str, now: datetime) -> CardTopUp:
    res = billing.top_up(session=session, msisdn=line.msisdn, amount_kopecks=amount_kopecks, key=key, now=now,
                         method=method, card_id=card_id,
                         description=f"Пополнение с карты {brand} *{last4}",
                         description_en=f"Top-up from card {brand} *{last4}")
    line = session.get(Line, line.id)
    return CardTopUp("succeeded", res.amount_kopecks, line.balance_kopecks, card_id=card_id)


def top_up_by_card(session: Session, info: SessionInfo, msisdn: str, card_id, amount_kopecks: int,
                   request_key: str, now: datetime, *, method: str = "card") -> CardTopUp:
    """Pay from a saved card. The request key makes a double click pay once (and answer the same)."""
    line = require_line(session, info, msisdn)
    card = get_card(session, info, card_id)
    check_topup_amount(amount_kopecks)
    key = f"{method}:{billing.validate_key(request_key)}"
    existing = session.exec(select(Payment).where(Payment.idempotency_key == key)).scalars().first()
    if existing is not None:
        return _replay(session, existing, line, amount_kopecks, card.id, check_card=True)
    declined = gateway_charge(card, amount_kopecks, now)
    if declined:
        return _decline(session, line, key, amount_kopecks, method, card.id, card.last4, declined, now)
    return _credit(session, line, key, amount_kopecks, method, card.id, card.brand, card.last4, now)


def top_up_by_new_card(session: Session, info: SessionInfo, msisdn: str, card: NewCard, amount_kopecks: int,
                       request_key: str, now: datetime, *, save: bool = True) -> CardTopUp:
    """Pay with a typed (tokenized) card. It is saved, when asked, only if the bank approves: a declined
    card is never saved. A card already saved is paid with as that saved card. Keyed like
    `top_up_by_card`: a double click pays once."""
    line = require_line(session, info, msisdn)
    check_topup_amount(amount_kopecks)
    key = f"card:{billing.validate_key(request_key)}"
    existing = session.exec(select(Payment).where(Payment.idempotency_key == key)).scalars().first()
    if existing is not None:
        return _replay(session, existing, line, amount_kopecks, None, check_card=False)
    saved = _same_card(session, info, card)
    if save and saved is None:
        _check_room(session, info)  # refused before the bank is asked
    declined = gateway_charge(card, amount_kopecks, now)
    if declined:
        return _decline(session, line, key, amount_kopecks, "card", saved.id if saved else None, card.last4,
                        declined, now)
    row = saved if saved is not None else (add_card(session, info, card, now) if save else None)
    return _credit(session, line, key, amount_kopecks, "card", row.id if row else None, card.brand, card.last4,
                   now)


# ---------------------------------------------------------------- promised payment


@dataclass
class PromiseOffer:
    available: bool
    reason_en: str
    reason_ru: str
    max_kopecks: int
    min_kopecks: int = PROMISE_MIN
    days: int = PROMISE_DAYS
    active: PromisedPayment | None = None
    fees: list[tuple[int, int]] = field(default_factory=lambda: [(rub(100), 0), (rub(300), rub(10)),
                                                                  (rub(500), rub(25)), (PROMISE_CAP, rub(50))])


def promise_offer(session: Session, info: SessionInfo, msisdn: str, now: datetime) -> PromiseOffer:
    line = require_line(session, info, msisdn)
    active = session.exec(select(PromisedPayment).where(PromisedPayment.line_id == line.id,
                                                        PromisedPayment.status == "active",
                                                        PromisedPayment.due_at > now)).scalars().first()
    charged_90 = -session.exec(select(func.coalesce(func.sum(LedgerEntry.amount_kopecks), 0)).where(
        LedgerEntry.line_id == line.id, LedgerEntry.kind.in_(tuple(ledger.CHARGE_KINDS)),
        LedgerEntry.created_at >= now - timedelta(days=90))).scalar_one()
    max_amount = max(PROMISE_BASE_MAX, min(PROMISE_CAP, charged_90 // 3 // 100 * 100))
    if active is not None:
        return PromiseOffer(False, "A promised payment is already on", "Обещанный платёж уже подключён",
                            max_amount, active=active)
    if line.status in ("lost", "blocked"):
        return PromiseOffer(False, "The number is blocked", "Номер заблокирован", max_amount)
    if line.balance_kopecks >= PROMISE_BALANCE_BELOW:
        return PromiseOffer(False, "Available when the balance is below 300 ₽",
                            "Доступен, когда на счёте меньше 300 ₽", max_amount)
    return PromiseOffer(True, "", "", max_amount)


@dataclass
class PromiseQuote:
    """What taking a promised payment of this amount means: shown before it is confirmed."""

    amount_kopecks: int
    fee_kopecks: int
    due_at: datetime
    days: int = PROMISE_DAYS


def promise_quote(session: Session, info: SessionInfo, msisdn: str, amount_kopecks: int,
                  now: datetime) -> PromiseQuote:
    """Check a promised payment as `take_promise` will (offer, amount rules) and say what it costs."""
    offer = promise_offer(session, info, msisdn, now)
    if not offer.available:
        raise Conflict(offer.reason_en, offer.reason_ru)
    if isinstance(amount_kopecks, bool) or not isinstance(amount_kopecks, int):
        raise Invalid("Enter an amount", "Укажите сумму", field="amount")
    if not PROMISE_MIN <= amount_kopecks <= offer.max_kopecks:
        raise Invalid(f"Promised payment: from {format_rub(PROMISE_MIN, 'en')} to "
                      f"{format_rub(offer.max_kopecks, 'en')}",
                      f"Сумма обещанного платежа: от {format_rub(PROMISE_MIN)} до {format_rub(offer.max_kopecks)}",
                      field="amount")
    return PromiseQuote(amount_kopecks, promise_fee(amount_kopecks), now + timedelta(days=PROMISE_DAYS))


def take_promise(session: Session, info: SessionInfo, msisdn: str, amount_kopecks: int, now: datetime) -> PromisedPayment:
    line = billing.get_line_for_update(session, require_line(session, info, msisdn).msisdn)
    promise_quote(session, info, msisdn, amount_kopecks, now)
    fee = promise_fee(amount_kopecks)
    promise = PromisedPayment(line_id=line.id, amount_kopecks=amount_kopecks, fee_kopecks=fee, created_at=now,
                              due_at=now + timedelta(days=PROMISE_DAYS), status="active")
    session.add(promise)
    session.flush()
    if fee:
        billing.post_money(session, line, -fee, kind="promised_fee", category="fee", cause_type="promised",
                           cause_ref=f"promised:{promise.id}", description="Плата за обещанный платёж", at=now,
                           description_en="Promised payment fee")
    billing.settle_owed(session=session, line=line, now=now)  # the new credit may pay owed fees
    billing.notify_line(session, line, notify.notification(
        line.id, "payment", f"Обещанный платёж {format_rub(amount_kopecks)} подключён до "
        f"{fmt_datetime(promise.due_at)}. Погасится автоматически из ближайшего пополнения.",
        f"Promised payment of {format_rub(amount_kopecks, 'en')} is on for {PROMISE_DAYS} days.", now), also_sms=True)
    billing.touch(session, line, now)
    return promise


# ---------------------------------------------------------------- autopay


@dataclass
class AutopayQuote:
    """What an autopay rule will do: shown before it is saved."""

    kind: str  # threshold | monthly
    amount_kopecks: int
    card_label: str
    threshold_kopecks: int | None = None
    day_of_month: int | None = None
    first_run: date | None = None  # monthly: the first day it charges (Moscow)
    below_now: bool = False  # threshold: the balance is already below it, so it charges within minutes
    replaces: bool = False  # an active rule of this kind is replaced


def check_threshold(threshold_kopecks) -> int:
    if isinstance(threshold_kopecks, bool) or not isinstance(threshold_kopecks, int) \
            or not AUTOPAY_THRESHOLD_MIN <= threshold_kopecks <= AUTOPAY_THRESHOLD_MAX:
        raise Invalid(f"Threshold: from {format_rub(AUTOPAY_THRESHOLD_MIN, 'en')} to "
                      f"{format_rub(AUTOPAY_THRESHOLD_MAX, 'en')}",
                      f"Порог: от {format_rub(AUTOPAY_THRESHOLD_MIN)} до {format_rub(AUTOPAY_THRESHOLD_MAX)}",
                      field="threshold")
    return threshold_kopecks


def check_day(day_of_month) -> int:
    if isinstance(day_of_month, bool) or not isinstance(day_of_month, int) \
            or not 1 <= day_of_month <= AUTOPAY_DAY_MAX:
        raise Invalid(f"Day of month: a whole number from 1 to {AUTOPAY_DAY_MAX} (a day every month has)",
                      f"День месяца: целое число от 1 до {AUTOPAY_DAY_MAX} (такой день есть в каждом месяце)",
                      field="day")
    return day_of_month


def _check_autopay(session: Session, info: SessionInfo, msisdn: str, kind: str, card_id, amount_kopecks,
                   now: datetime, threshold_kopecks, day_of_month) -> tuple[Line, Card, int | None, int | None]:
    line = require_line(session, info, msisdn)
    if kind not in ("threshold", "monthly"):
        raise Invalid("Choose threshold or monthly", "Выберите вид автоплатежа", field="kind")
    if kind == "threshold":
        check_threshold(threshold_kopecks)
        day_of_month = None
    else:
        check_day(day_of_month)
        threshold_kopecks = None
    check_topup_amount(amount_kopecks)
    card = get_card(session, info, card_id)
    if card_expired(card, now):
        raise Invalid("This card has expired: choose another one", "Срок действия этой карты истёк: выберите другую",
                      field="card")
    return line, card, threshold_kopecks, day_of_month


def monthly_first_run(day_of_month: int, saved_on: date) -> date:
    """A monthly rule charges on its day each month, from the first such day on or after it was saved."""
    if saved_on.day <= day_of_month:
        return saved_on.replace(day=day_of_month)
    year, month = (saved_on.year + 1, 1) if saved_on.month == 12 else (saved_on.year, saved_on.month + 1)
    return date(year, month, day_of_month)


def _monthly_due(day_of_month: int, created_at: datetime, last_run: datetime | None, today: date) -> bool:
    this_month = today.replace(day=1)
    if today.day < day_of_month or monthly_first_run(day_of_month, moscow_date(created_at)) > today:
        return False
    return last_run is None or moscow_date(last_run).replace(day=1) < this_month


def autopay_quote(session: Session, info: SessionInfo, msisdn: str, kind: str, card_id, amount_kopecks: int,
                  now: datetime, threshold_kopecks: int | None = None,
                  day_of_month: int | None = None) -> AutopayQuote:
    """Check a rule as `save_autopay` will and say what it will charge, and when."""
    line, card, threshold_kopecks, day_of_month = _check_autopay(session, info, msisdn, kind, card_id,
                                                                 amount_kopecks, now, threshold_kopecks,
                                                                 day_of_month)
    replaces = session.exec(select(func.count()).select_from(AutopayRule).where(
        AutopayRule.line_id == line.id, AutopayRule.kind == kind, AutopayRule.active == True)).scalar_one() > 0  # noqa: E712
    return AutopayQuote(kind, amount_kopecks, card_label(card), threshold_kopecks, day_of_month,
                        first_run=monthly_first_run(day_of_month, moscow_date(now)) if kind == "monthly" else None,
                        below_now=kind == "threshold" and line.balance_kopecks < threshold_kopecks,
                        replaces=replaces)


def save_autopay(session: Session, info: SessionInfo, msisdn: str, kind: str, card_id, amount_kopecks: int,
                 now: datetime, threshold_kopecks: int | None = None, day_of_month: int | None = None) -> AutopayRule:
    line, card, threshold_kopecks, day_of_month = _check_autopay(session, info, msisdn, kind, card_id,
                                                                 amount_kopecks, now, threshold_kopecks,
                                                                 day_of_month)
    for old in session.exec(select(AutopayRule).where(AutopayRule.line_id == line.id, AutopayRule.kind == kind,
                                                      AutopayRule.active == True)).scalars():  # noqa: E712
        old.active = False
        session.add(old)
    rule = AutopayRule(line_id=line.id, card_id=card.id, kind=kind, threshold_kopecks=threshold_kopecks,
                       amount_kopecks=amount_kopecks, day_of_month=day_of_month, active=True, created_at=now)
    session.add(rule)
    session.flush()
    return rule


def get_rule(session: Session, info: SessionInfo, rule_id) -> AutopayRule:
    rule = session.get(AutopayRule, parse_id(rule_id))
    if rule is None or not auth.can_access(session, info.account_id, session.get(Line, rule.line_id)):
        raise NotFound("Autopay not found", "Автоплатёж не найден")
    return rule


def cancel_autopay(session: Session, info: SessionInfo, rule_id) -> None:
    rule = get_rule(session, info, rule_id)
    if not rule.active:
        raise Conflict("Autopay is already off", "Автоплатёж уже отключён")
    rule.active = False
    session.add(rule)


def run_autopay(*, engine: Engine, now: datetime, report=None) -> int:
    """Threshold rules whose line is below the threshold, and monthly rules due today (Moscow).

    Each run keeps a reason code in AutopayRun.reason: "threshold" / "monthly" when it paid, a DECLINES
    key when the bank declined (`run_reason` words it in either language)."""
    with Session(engine) as s:
        rows = s.exec(select(AutopayRule.id, AutopayRule.kind, AutopayRule.threshold_kopecks, AutopayRule.day_of_month,
                             AutopayRule.last_run_at, AutopayRule.created_at, Line.balance_kopecks)
                      .join(Line, Line.id == AutopayRule.line_id).where(AutopayRule.active == True)).all()  # noqa: E712
    today = moscow_date(now)
    due = []
    for rule_id, kind, threshold, day, last_run, created_at, balance in rows:
        if kind == "threshold" and balance < threshold and (last_run is None or now - last_run >= AUTOPAY_RETRY):
            due.append(rule_id)
        elif kind == "monthly" and _monthly_due(day, created_at, last_run, today):
            due.append(rule_id)
    ran = 0
    for rule_id in due:
        ran += transact(engine, lambda s, rid=rule_id: _run_rule(s, rid, now), what="autopay")
        if report is not None:
            report.autopay_runs += 1
    return ran


def _run_rule(session: Session, rule_id: int, now: datetime) -> int:
    rule = session.get(AutopayRule, rule_id)
    if rule is None or not rule.active:
        return 0
    line = session.get(Line, rule.line_id)
    if rule.kind == "threshold" and line.balance_kopecks >= (rule.threshold_kopecks or 0):
        return 0
    card = session.get(Card, rule.card_id)
    rule.last_run_at = now
    session.add(rule)
    key = f"autopay:{rule.id}:{now.strftime('%Y%m%d%H%M%S')}"
    declined = gateway_charge(card, rule.amount_kopecks, now) if card and not card.removed else "unavailable"
    if declined:
        session.add(AutopayRun(rule_id=rule.id, line_id=line.id, amount_kopecks=rule.amount_kopecks,
                               status="declined", reason=declined, created_at=now))  # a DECLINES key
        session.add(Payment(idempotency_key=key, line_id=line.id, amount_kopecks=rule.amount_kopecks,
                            method="autopay", card_id=card.id if card else None, status="declined",
                            decline_reason=declined, created_at=now))
        billing.notify_line(session, line, notify.notification(
            line.id, "payment", f"Автоплатёж {format_rub(rule.amount_kopecks)} не прошёл: {DECLINES[declined][1]}",
            f"Autopay of {format_rub(rule.amount_kopecks, 'en')} failed: {DECLINES[declined][0]}", now),
            also_sms=True)
        billing.touch(session, line, now)
        return 1
    billing.top_up(session=session, msisdn=line.msisdn, amount_kopecks=rule.amount_kopecks, key=key, now=now,
                   method="autopay", card_id=card.id, description=f"Автоплатёж с карты *{card.last4}",
                   description_en=f"Autopay from card *{card.last4}")
    session.add(AutopayRun(rule_id=rule.id, line_id=line.id, amount_kopecks=rule.amount_kopecks, status="succeeded",
                           reason="threshold" if rule.kind == "threshold" else "monthly", created_at=now))
    return 1


def run_reason(reason: str, lang: str = "ru") -> str:
    """An autopay run's reason in words (runs before reason codes kept the Russian text itself)."""
    words = {"threshold": ("the balance fell below the threshold", "баланс ниже порога"),
             "monthly": ("monthly top-up", "ежемесячное пополнение"), **DECLINES}
    for en, ru in words.values():
        if reason == ru:  # an older run: the Russian text was stored
            return en if lang == "en" else ru
    en, ru = words.get(reason, (reason, reason))
    return en if lang == "en" else ru


def autopay_view(session: Session, info: SessionInfo, msisdn: str) -> tuple[list[AutopayRule], list[AutopayRun]]:
    line = require_line(session, info, msisdn)
    rules = list(session.exec(select(AutopayRule).where(AutopayRule.line_id == line.id,
                                                        AutopayRule.active == True)).scalars())  # noqa: E712
    runs = list(session.exec(select(AutopayRun).where(AutopayRun.line_id == line.id)
                             .order_by(AutopayRun.created_at.desc(), AutopayRun.id.desc()).limit(20)).scalars())
    return rules, runs


# ---------------------------------------------------------------- transfers


def check_transfer_amount(amount_kopecks) -> int:
    if isinstance(amount_kopecks, bool) or not isinstance(amount_kopecks, int) \
            or not TRANSFER_MIN <= amount_kopecks <= TRANSFER_MAX:
        raise Invalid(f"Transfer amount: from {format_rub(TRANSFER_MIN, 'en')} to {format_rub(TRANSFER_MAX, 'en')}",
                      f"Сумма перевода: от {format_rub(TRANSFER_MIN)} до {format_rub(TRANSFER_MAX)}", field="amount")
    return amount_kopecks


def transfer_recipient(to_text: str) -> str:
    """The recipient's number as typed -> msisdn (its form only: whether it is a subscriber is not said here)."""
    try:
        return auth.normalize_msisdn(to_text)
    except Invalid:
        raise Invalid("Enter the number as +7 9XX XXX-XX-XX", "Введите номер в формате +7 9XX XXX-XX-XX",
                      field="to") from None


class RecipientRefused(Unauthorized, Invalid):
    """An unknown, lost or blocked recipient. It is an invalid request (422) and, like a wrong code, a
    counted attempt: it adds a failure to the sender's transfer-code guard, which the caller commits
    although it raises (`transact(..., keep_on=(Unauthorized, Locked))`), so guessing who is a subscriber
    locks out after three misses like guessing a code."""

    http_status = 422
    code = "invalid"


def _transfer_code(session: Session, transfer: Transfer, msisdn: str, now: datetime) -> auth.CodeRequest | None:
    row = session.exec(select(OtpCode).where(
        OtpCode.msisdn == msisdn, OtpCode.purpose == "transfer", OtpCode.payload == json.dumps({"transfer": transfer.id}),
        OtpCode.used_at.is_(None), OtpCode.voided == False, OtpCode.expires_at > now)  # noqa: E712
        .order_by(OtpCode.id.desc())).scalars().first()
    return auth.CodeRequest(row.attempt_id, msisdn, row.expires_at) if row is not None else None


def request_transfer(session: Session, info: SessionInfo, from_msisdn: str, to_text: str, amount_kopecks: int,
                     client: str, now: datetime, *, request_key: str | None = None) -> tuple[Transfer, auth.CodeRequest]:
    """A transfer waits for a code sent to the sender's own number.

    Everything that does not depend on the recipient is checked first (amount, the sender's state and
    money, the sender's code limit and transfer-code guard), and an unknown, lost or blocked recipient
    gets one answer, counted against that guard (RecipientRefused): a start with a bad amount, or past
    the limit, tells nothing about whether the recipient exists, and guessing is bounded.

    `request_key` (the page's key for one request): the same key again answers with the same pending
    transfer and code, so a double click starts one transfer and sends one SMS."""
    source = require_line(session, info, from_msisdn)
    check_transfer_amount(amount_kopecks)
    to_msisdn = transfer_recipient(to_text)
    if to_msisdn == source.msisdn:
        raise Invalid("You cannot transfer to the same number", "Нельзя перевести деньги на этот же номер",
                      field="to")
    key = None
    if request_key is not None:
        key = "tr-" + billing.validate_key(str(request_key)[:120])
        existing = session.exec(select(Transfer).where(Transfer.idempotency_key == key)).scalars().first()
        if existing is not None:
            target = session.get(Line, existing.to_line_id)
            if existing.account_id != info.account_id or existing.from_line_id != source.id \
                    or existing.amount_kopecks != amount_kopecks or target.msisdn != to_msisdn:
                raise Conflict("This request was already used for another transfer", "Этот перевод уже начат")
            req = _transfer_code(session, existing, source.msisdn, now) if existing.status == "pending" else None
            if req is None:
                raise Conflict("This transfer is no longer waiting for its code: start again",
                               "Этот перевод уже не ждёт кода. Начните перевод заново")
            return existing, req
    if source.status != "active":
        raise Conflict("The number is not active: transfers are unavailable", "Номер не активен: перевод недоступен")
    if source.balance_kopecks - amount_kopecks < 0:
        raise Conflict("Not enough money: transfers use your own money, not credit",
                       "Недостаточно средств: переводить можно только свои деньги, без кредита", field="amount")
    auth.check_send_allowed(session=session, msisdn=source.msisdn, client=client, now=now)
    guard = auth._guard(session, auth._guard_key(source.msisdn, "transfer", info.account_id))
    auth._check_not_locked(guard, now)
    target = session.exec(select(Line).where(Line.msisdn == to_msisdn)).scalars().first()
    if target is None or target.status in ("lost", "blocked"):
        auth._fail(session, guard, now)
        auth._check_not_locked(guard, now)  # the third miss locks (and says so)
        raise RecipientRefused("The recipient is not an MTS subscriber", "Получатель не абонент МТС",
                               field="to")
    transfer = Transfer(from_line_id=source.id, to_line_id=target.id, amount_kopecks=amount_kopecks, status="pending",
                        idempotency_key=key or "tr-" + uuid.uuid4().hex, account_id=info.account_id, created_at=now)
    session.add(transfer)
    session.flush()
    req = auth.request_code(session=session, msisdn=source.msisdn, purpose="transfer", client=client, now=now,
                            account_id=info.account_id, payload=json.dumps({"transfer": transfer.id}),
                            text_args={"amount": format_rub(amount_kopecks), "to": auth.format_msisdn(to_msisdn)})
    return transfer, req


def cancel_transfer(session: Session, info: SessionInfo, transfer_id, now: datetime) -> None:
    """Drop a transfer still waiting for its code (its code stops working). Anything else: nothing to do."""
    transfer = session.get(Transfer, parse_id(transfer_id))
    if transfer is None or transfer.account_id != info.account_id:
        raise NotFound("Transfer not found", "Перевод не найден")
    if transfer.status != "pending":
        return
    transfer.status = "cancelled"
    session.add(transfer)
    session.execute(update(OtpCode).where(OtpCode.purpose == "transfer", OtpCode.used_at.is_(None),
                                          OtpCode.payload == json.dumps({"transfer": transfer.id}))
                    .values(voided=True))


def confirm_transfer(session: Session, info: SessionInfo, transfer_id, attempt_id: str, code: str,
                     now: datetime) -> Transfer:
    transfer = session.get(Transfer, parse_id(transfer_id))
    if transfer is None or transfer.account_id != info.account_id:
        raise NotFound("Transfer not found", "Перевод не найден")
    source = session.get(Line, transfer.from_line_id)
    if not auth.can_access(session, info.account_id, source):
        raise NotFound("Transfer not found", "Перевод не найден")
    if transfer.status != "pending":
        raise Conflict("This transfer is already " + ("done" if transfer.status == "done" else "cancelled"), "Перевод уже выполнен или отменён")
    row = auth.check_code(session=session, attempt_id=attempt_id, msisdn=source.msisdn, code=code,
                          purpose="transfer", now=now, account_id=info.account_id)
    if json.loads(row.payload or "{}").get("transfer") != transfer.id:
        raise Invalid("This code confirms another transfer", "Этот код подтверждает другой перевод")
    locked = billing.lock_lines(session, [transfer.from_line_id, transfer.to_line_id])
    source, target = locked[transfer.from_line_id], locked[transfer.to_line_id]
    if source.balance_kopecks - transfer.amount_kopecks < 0:
        raise Conflict("Not enough money for the transfer now", "Недостаточно средств для перевода")
    billing.post_money(session, source, -transfer.amount_kopecks, kind="transfer_out", category="transfer",
                       cause_type="transfer", cause_ref=transfer.idempotency_key,
                       description=f"Перевод на {auth.format_msisdn(target.msisdn)}", at=now,
                       description_en=f"Transfer to {auth.format_msisdn(target.msisdn)}")
    billing.post_money(session, target, transfer.amount_kopecks, kind="transfer_in", category="transfer",
                       cause_type="transfer", cause_ref=transfer.idempotency_key,
                       description=f"Перевод от {auth.format_msisdn(source.msisdn)}", at=now,
                       description_en=f"Transfer from {auth.format_msisdn(source.msisdn)}")
    transfer.status = "done"
    transfer.done_at = now
    session.add(transfer)
    billing.notify_line(session, target, notify.notification(
        target.id, "payment", f"Вам перевели {format_rub(transfer.amount_kopecks)} с номера "
        f"{auth.format_msisdn(source.msisdn)}.", f"{format_rub(transfer.amount_kopecks, 'en')} received from "
        f"{auth.format_msisdn(source.msisdn)}.", now), also_sms=True)
    billing.after_credit(session=session, line=target, now=now)
    billing.touch(session, source, now)
    billing.touch(session, target, now)
    return transfer


# ---------------------------------------------------------------- history and spending


@dataclass
class Operation:
    id: int
    at: datetime
    amount_kopecks: int
    kind: str
    category: str
    description: str
    balance_after: int | None
    status: str = "done"
    description_en: str = ""


def operations(session: Session, info: SessionInfo, msisdn: str, *, credits_only: bool = False,
               limit: int = 50, before_id: int | None = None) -> list[Operation]:
    """Money in and out (the ledger), plus declined card payments."""
    line = require_line(session, info, msisdn)
    q = select(LedgerEntry).where(LedgerEntry.line_id == line.id)
    if credits_only:
        q = q.where(LedgerEntry.amount_kopecks > 0)
    if before_id:
        q = q.where(LedgerEntry.id < before_id)
    rows = session.exec(q.order_by(LedgerEntry.id.desc()).limit(limit)).scalars().all()
    ops = [Operation(r.id, r.created_at, r.amount_kopecks, r.kind, r.category, r.description, r.balance_after,
                     description_en=r.description_en) for r in rows]
    if not before_id:
        for p in session.exec(select(Payment).where(Payment.line_id == line.id, Payment.status == "declined")
                              .order_by(Payment.id.desc()).limit(10)).scalars():
            en, ru = DECLINES.get(p.decline_reason or "", ("Declined", "Отклонён"))
            ops.append(Operation(-p.id, p.created_at, p.amount_kopecks, "declined", "payment", ru, None, "declined",
                                 description_en=en))
        ops.sort(key=lambda o: o.at, reverse=True)
    return ops


@dataclass
class Spending:
    by_category: dict[str, int]
    by_day: list[tuple[date, int]]
    total: int


def spending(session: Session, info: SessionInfo, msisdn: str, now: datetime, days: int = 30) -> Spending:
    line = require_line(session, info, msisdn)
    since = now - timedelta(days=days)
    rows = session.exec(select(LedgerEntry.created_at, LedgerEntry.amount_kopecks, LedgerEntry.category).where(
        LedgerEntry.line_id == line.id, LedgerEntry.amount_kopecks < 0,
        LedgerEntry.kind.in_(tuple(ledger.CHARGE_KINDS)), LedgerEntry.created_at >= since)).all()
    by_cat: dict[str, int] = defaultdict(int)
    by_day: dict[date, int] = defaultdict(int)
    for at, amount, category in rows:
        by_cat[category or "other"] += -amount
        by_day[moscow_date(at)] += -amount
    start = moscow_date(since)
    series = [(start + timedelta(days=i), by_day.get(start + timedelta(days=i), 0)) for i in range(days + 1)]
    return Spending(dict(by_cat), series, sum(by_cat.values()))


def period_label(now: datetime) -> str:
    return period_of(now).label()
