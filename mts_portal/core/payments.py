"""Money («Счёт»): cards and a simulated payment gateway, top-ups by card (idempotent
against double clicks), promised payment, autopay, transfers between subscribers
confirmed by a code, the operations history and spending aggregates.

The gateway is simulated like a card processor's test mode: a card's number decides
how the bank answers (…0002 insufficient funds, …0069 expired, …0119 bank not
answering; any other valid number is approved). Only a token and the last four
digits are stored.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from mts_portal.core import auth, billing, ledger, notify
from mts_portal.core.auth import SessionInfo, require_line
from mts_portal.core.clock import fmt_datetime, moscow_date, period_of
from mts_portal.core.db import transact
from mts_portal.core.errors import Conflict, Invalid, NotFound, parse_id
from mts_portal.core.models import (
    AutopayRule,
    AutopayRun,
    Card,
    LedgerEntry,
    Line,
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


def parse_card(number: str, expiry: str, cvc: str, now: datetime) -> CardInput:
    pan = "".join(ch for ch in str(number or "") if ch.isdigit())
    if not 16 <= len(pan) <= 19 or not luhn_ok(pan):
        raise Invalid("card number: not a valid card number", "Неверный номер карты")
    m = str(expiry or "").replace(" ", "").replace("/", "")
    if len(m) not in (4, 6) or not m.isdigit():
        raise Invalid("expiry: MM/YY", "Срок действия: ММ/ГГ")
    month, year = int(m[:2]), int(m[2:])
    year = year + 2000 if year < 100 else year
    if not 1 <= month <= 12:
        raise Invalid("expiry: month 01–12", "Срок действия: месяц от 01 до 12")
    today = moscow_date(now)
    if (year, month) < (today.year, today.month) or year > today.year + 20:
        raise Invalid("expiry: the card has expired", "Срок действия карты истёк")
    c = str(cvc or "").strip()
    if len(c) != 3 or not c.isdigit():
        raise Invalid("cvc: 3 digits", "CVC: три цифры")
    return CardInput(pan, month, year, c)


def _profile(pan: str) -> str:
    return {"0002": "insufficient", "0069": "expired", "0119": "unavailable"}.get(pan[-4:], "ok")


def add_card(session: Session, info: SessionInfo, card: CardInput, now: datetime) -> Card:
    count = session.exec(select(func.count()).select_from(Card).where(
        Card.account_id == info.account_id, Card.removed == False)).scalar_one()  # noqa: E712
    if count >= MAX_CARDS:
        raise Conflict(f"at most {MAX_CARDS} saved cards", f"Можно сохранить не больше {MAX_CARDS} карт")
    for existing in session.exec(select(Card).where(Card.account_id == info.account_id,
                                                    Card.removed == False)).scalars():  # noqa: E712
        if existing.last4 == card.pan[-4:] and (existing.exp_month, existing.exp_year) == (card.exp_month,
                                                                                            card.exp_year):
            return existing
    row = Card(account_id=info.account_id, brand=card_brand(card.pan), last4=card.pan[-4:], exp_month=card.exp_month,
               exp_year=card.exp_year, token="tok_" + secrets.token_hex(16), gateway_profile=_profile(card.pan),
               created_at=now)
    session.add(row)
    session.flush()
    return row


def get_card(session: Session, info: SessionInfo, card_id) -> Card:
    card = session.get(Card, parse_id(card_id))
    if card is None or card.account_id != info.account_id or card.removed:
        raise NotFound("no such card", "Карта не найдена")
    return card


def remove_card(session: Session, info: SessionInfo, card_id, now: datetime) -> None:
    card = get_card(session, info, card_id)
    card.removed = True
    session.add(card)
    for rule in session.exec(select(AutopayRule).where(AutopayRule.card_id == card.id,
                                                       AutopayRule.active == True)).scalars():  # noqa: E712
        rule.active = False
        session.add(rule)


def cards(session: Session, info: SessionInfo) -> list[Card]:
    return list(session.exec(select(Card).where(Card.account_id == info.account_id, Card.removed == False)  # noqa: E712
                             .order_by(Card.id)).scalars())


def gateway_charge(card: Card, amount: int, now: datetime) -> str | None:
    """The simulated bank: None when approved, else the decline profile."""
    today = moscow_date(now)
    if (card.exp_year, card.exp_month) < (today.year, today.month):
        return "expired"
    return None if card.gateway_profile == "ok" else card.gateway_profile


@dataclass
class CardTopUp:
    status: str  # succeeded | declined
    amount_kopecks: int
    balance_kopecks: int
    reason_en: str | None = None
    reason_ru: str | None = None
    replayed: bool = False


def top_up_by_card(session: Session, info: SessionInfo, msisdn: str, card_id, amount_kopecks: int,
                   request_key: str, now: datetime, *, method: str = "card") -> CardTopUp:
    """Pay from a saved card. The request key makes a double click pay once (and answer the same)."""
    line = require_line(session, info, msisdn)
    card = get_card(session, info, card_id)
    billing.validate_topup_amount(amount_kopecks)
    key = f"{method}:{billing.validate_key(request_key)}"
    existing = session.exec(select(Payment).where(Payment.idempotency_key == key)).scalars().first()
    if existing is not None:
        if existing.line_id != line.id or existing.amount_kopecks != amount_kopecks or existing.card_id != card.id:
            raise Conflict("this request was already used for another payment", "Этот платёж уже выполнен")
        reason = DECLINES.get(existing.decline_reason or "", (None, None))
        return CardTopUp(existing.status, existing.amount_kopecks, line.balance_kopecks, reason[0], reason[1],
                         replayed=True)
    declined = gateway_charge(card, amount_kopecks, now)
    if declined:
        session.add(Payment(idempotency_key=key, line_id=line.id, amount_kopecks=amount_kopecks, method=method,
                            card_id=card.id, status="declined", decline_reason=declined, created_at=now))
        billing.notify_line(session, line, notify.notification(
            line.id, "payment", f"Платёж {format_rub(amount_kopecks)} с карты *{card.last4} отклонён: "
            f"{DECLINES[declined][1]}", f"Payment of {format_rub(amount_kopecks, 'en')} from card *{card.last4} "
            f"declined: {DECLINES[declined][0]}", now))
        return CardTopUp("declined", amount_kopecks, line.balance_kopecks, *DECLINES[declined])
    res = billing.top_up(session=session, msisdn=line.msisdn, amount_kopecks=amount_kopecks, key=key, now=now,
                         method=method, card_id=card.id,
                         description=f"Пополнение с карты {card.brand} *{card.last4}",
                         description_en=f"Top-up from card {card.brand} *{card.last4}")
    line = session.get(Line, line.id)
    return CardTopUp("succeeded", res.amount_kopecks, line.balance_kopecks)


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
        return PromiseOffer(False, "a promised payment is already active", "Обещанный платёж уже подключён",
                            max_amount, active=active)
    if line.status in ("lost", "blocked"):
        return PromiseOffer(False, f"the number is {line.status}", "Номер заблокирован", max_amount)
    if line.balance_kopecks >= PROMISE_BALANCE_BELOW:
        return PromiseOffer(False, "available when the balance is below 300 ₽",
                            "Доступен, когда на счёте меньше 300 ₽", max_amount)
    return PromiseOffer(True, "", "", max_amount)


def take_promise(session: Session, info: SessionInfo, msisdn: str, amount_kopecks: int, now: datetime) -> PromisedPayment:
    line = billing.get_line_for_update(session, require_line(session, info, msisdn).msisdn)
    offer = promise_offer(session, info, msisdn, now)
    if not offer.available:
        raise Conflict(offer.reason_en, offer.reason_ru)
    if isinstance(amount_kopecks, bool) or not isinstance(amount_kopecks, int):
        raise Invalid("amount: whole kopecks", "Укажите сумму")
    if not PROMISE_MIN <= amount_kopecks <= offer.max_kopecks:
        raise Invalid(f"amount: {PROMISE_MIN // 100}–{offer.max_kopecks // 100} ₽",
                      f"Сумма обещанного платежа: от {format_rub(PROMISE_MIN)} до {format_rub(offer.max_kopecks)}")
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


def save_autopay(session: Session, info: SessionInfo, msisdn: str, kind: str, card_id, amount_kopecks: int,
                 now: datetime, threshold_kopecks: int | None = None, day_of_month: int | None = None) -> AutopayRule:
    line = require_line(session, info, msisdn)
    card = get_card(session, info, card_id)
    billing.validate_topup_amount(amount_kopecks)
    if kind == "threshold":
        if isinstance(threshold_kopecks, bool) or not isinstance(threshold_kopecks, int) \
                or not rub(10) <= threshold_kopecks <= rub(3000):
            raise Invalid("threshold: 10–3,000 ₽", "Порог: от 10 до 3 000 ₽")
        day_of_month = None
    elif kind == "monthly":
        if not isinstance(day_of_month, int) or not 1 <= day_of_month <= 28:
            raise Invalid("day: 1–28", "День месяца: от 1 до 28")
        threshold_kopecks = None
    else:
        raise Invalid("kind: threshold or monthly", "Выберите вид автоплатежа")
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
        raise NotFound("no such autopay", "Автоплатёж не найден")
    return rule


def cancel_autopay(session: Session, info: SessionInfo, rule_id) -> None:
    rule = get_rule(session, info, rule_id)
    if not rule.active:
        raise Conflict("already off", "Автоплатёж уже отключён")
    rule.active = False
    session.add(rule)


def run_autopay(*, engine: Engine, now: datetime, report=None) -> int:
    """Threshold rules whose line is below the threshold, and monthly rules due today (Moscow)."""
    with Session(engine) as s:
        rows = s.exec(select(AutopayRule.id, AutopayRule.kind, AutopayRule.threshold_kopecks, AutopayRule.day_of_month,
                             AutopayRule.last_run_at, Line.balance_kopecks)
                      .join(Line, Line.id == AutopayRule.line_id).where(AutopayRule.active == True)).all()  # noqa: E712
    today = moscow_date(now)
    due = []
    for rule_id, kind, threshold, day, last_run, balance in rows:
        if kind == "threshold" and balance < threshold and (last_run is None or now - last_run >= AUTOPAY_RETRY):
            due.append(rule_id)
        elif kind == "monthly" and today.day >= day and (last_run is None or moscow_date(last_run).replace(day=1)
                                                         < today.replace(day=1)):
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
                               status="declined", reason=DECLINES[declined][1], created_at=now))
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


def autopay_view(session: Session, info: SessionInfo, msisdn: str) -> tuple[list[AutopayRule], list[AutopayRun]]:
    line = require_line(session, info, msisdn)
    rules = list(session.exec(select(AutopayRule).where(AutopayRule.line_id == line.id,
                                                        AutopayRule.active == True)).scalars())  # noqa: E712
    runs = list(session.exec(select(AutopayRun).where(AutopayRun.line_id == line.id)
                             .order_by(AutopayRun.created_at.desc(), AutopayRun.id.desc()).limit(20)).scalars())
    return rules, runs


# ---------------------------------------------------------------- transfers


def request_transfer(session: Session, info: SessionInfo, from_msisdn: str, to_text: str, amount_kopecks: int,
                     client: str, now: datetime) -> tuple[Transfer, auth.CodeRequest]:
    """A transfer waits for a code sent to the sender's own number.

    Everything that does not depend on the recipient is checked first (amount, the sender's state and
    money, the sender's code limit), and an unknown, lost or blocked recipient gets one answer: a start
    with a bad amount, or past the limit, tells nothing about whether the recipient exists."""
    source = require_line(session, info, from_msisdn)
    if isinstance(amount_kopecks, bool) or not isinstance(amount_kopecks, int) \
            or not TRANSFER_MIN <= amount_kopecks <= TRANSFER_MAX:
        raise Invalid("amount: 10–5,000 ₽", "Сумма перевода: от 10 до 5 000 ₽")
    to_msisdn = auth.normalize_msisdn(to_text)
    if to_msisdn == source.msisdn:
        raise Invalid("cannot transfer to the same number", "Нельзя перевести деньги на этот же номер")
    if source.status != "active":
        raise Conflict("the number is not active", "Номер не активен: перевод недоступен")
    if source.balance_kopecks - amount_kopecks < 0:
        raise Conflict("not enough money (transfers cannot use credit)",
                       "Недостаточно средств: переводить можно только свои деньги, без кредита")
    auth.check_send_allowed(session=session, msisdn=source.msisdn, client=client, now=now)
    target = session.exec(select(Line).where(Line.msisdn == to_msisdn)).scalars().first()
    if target is None or target.status in ("lost", "blocked"):
        raise Invalid("the recipient is not a subscriber of our network", "Получатель не абонент МТС")
    transfer = Transfer(from_line_id=source.id, to_line_id=target.id, amount_kopecks=amount_kopecks, status="pending",
                        idempotency_key="tr-" + uuid.uuid4().hex, account_id=info.account_id, created_at=now)
    session.add(transfer)
    session.flush()
    req = auth.request_code(session=session, msisdn=source.msisdn, purpose="transfer", client=client, now=now,
                            account_id=info.account_id, payload=json.dumps({"transfer": transfer.id}),
                            text_args={"amount": format_rub(amount_kopecks), "to": auth.format_msisdn(to_msisdn)})
    return transfer, req


def confirm_transfer(session: Session, info: SessionInfo, transfer_id, attempt_id: str, code: str,
                     now: datetime) -> Transfer:
    transfer = session.get(Transfer, parse_id(transfer_id))
    if transfer is None or transfer.account_id != info.account_id:
        raise NotFound("no such transfer", "Перевод не найден")
    source = session.get(Line, transfer.from_line_id)
    if not auth.can_access(session, info.account_id, source):
        raise NotFound("no such transfer", "Перевод не найден")
    if transfer.status != "pending":
        raise Conflict("this transfer is already " + transfer.status, "Перевод уже выполнен или отменён")
    row = auth.check_code(session=session, attempt_id=attempt_id, msisdn=source.msisdn, code=code,
                          purpose="transfer", now=now, account_id=info.account_id)
    if json.loads(row.payload or "{}").get("transfer") != transfer.id:
        raise Invalid("this code confirms another transfer", "Этот код подтверждает другой перевод")
    locked = billing.lock_lines(session, [transfer.from_line_id, transfer.to_line_id])
    source, target = locked[transfer.from_line_id], locked[transfer.to_line_id]
    if source.balance_kopecks - transfer.amount_kopecks < 0:
        raise Conflict("not enough money now", "Недостаточно средств для перевода")
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
