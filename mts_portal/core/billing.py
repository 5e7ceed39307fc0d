"""Lines, periods, fees, top-ups, options, tariff switches (DESIGN §3, §4).

Services take a keyword-only session and a `now`, change the store through the
ORM in the caller's transaction, and return plain dataclasses. Every money
movement goes through `post_money` -> ledger.post. They raise a DomainError
before writing anything when the request is wrong.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from mts_portal.core import domain, ledger, notify
from mts_portal.core.catalog import (
    FAMILY_MEMBER_FEE,
    FULL_TRUST_CREDIT,
    Catalog,
    TariffInfo,
    default_catalog,
)
from mts_portal.core.clock import (
    Period,
    fmt_date,
    moscow_date,
    moscow_midnight,
    period_of,
    prorate_down,
    prorate_up,
)
from mts_portal.core.errors import Conflict, InsufficientFunds, Invalid
from mts_portal.core.events import is_msisdn
from mts_portal.core.lines import (  # noqa: F401  (re-exported: billing.get_line … are used everywhere)
    _insert,
    get_line,
    get_line_for_update,
    lock_lines,
    notify_line,
    recompute_status,
    touch,
)
from mts_portal.core.models import (
    Account,
    BonusEntry,
    Bucket,
    DailyFeeCharge,
    FamilyGroup,
    FamilyMember,
    LedgerEntry,
    Line,
    Notification,
    Payment,
    PromisedPayment,
    SmsMessage,
    Subscription,
    TariffChange,
)
from mts_portal.core.money import format_rub, rub
from mts_portal.core.words import phone

MAX_TOPUP_KOPECKS = rub(15000)
MIN_TOPUP_KOPECKS = rub(1)
UNITS = (("voice", "min"), ("sms", "sms"), ("data", "KB"))


# ---------------------------------------------------------------- lookups
# (get_line, get_line_for_update, lock_lines, recompute_status, touch, notify_line live in core/lines.py,
# below billing, auth and family alike; they are re-exported here for the callers that name them so)


def active_options(session: Session, line_id: int) -> set[str]:
    rows = session.exec(
        select(Subscription.code).where(Subscription.line_id == line_id, Subscription.active == True)  # noqa: E712
    ).scalars()
    return set(rows)


def base_credit_limit(options: set[str] | frozenset[str]) -> int:
    return FULL_TRUST_CREDIT if "full_trust" in options else 0


def promised_credit(session: Session, line_id: int, now: datetime) -> int:
    total = session.exec(
        select(func.coalesce(func.sum(PromisedPayment.amount_kopecks), 0)).where(
            PromisedPayment.line_id == line_id,
            PromisedPayment.status == "active",
            PromisedPayment.due_at > now,
        )
    ).scalar_one()
    return int(total)


def credit_limit(session: Session, line: Line, now: datetime, options: set[str] | None = None) -> int:
    if options is None:
        options = active_options(session, line.id)
    return base_credit_limit(options) + promised_credit(session, line.id, now)


def post_money(
    session: Session,
    line: Line,
    amount_kopecks: int,
    *,
    kind: str,
    category: str,
    cause_type: str,
    cause_ref: str,
    description: str,
    at: datetime,
    options: set[str] | None = None,
    description_en: str = "",
) -> dict:
    """Move money on a line through the ledger and insert every row it implies.
    `description` is Russian; `description_en` is what the English portal shows."""
    if options is None:
        options = active_options(session, line.id)
    posting = ledger.post(
        line, amount_kopecks, kind=kind, category=category, cause_type=cause_type, cause_ref=cause_ref,
        description=description, at=at, sms_notify="sms_notify" in options, description_en=description_en,
    )
    session.add(line)
    _insert(session, LedgerEntry, [posting.ledger])
    if posting.bonus:
        _insert(session, BonusEntry, [posting.bonus])
    _insert(session, Notification, posting.notifications)
    _insert(session, SmsMessage, posting.sms)
    return posting.ledger


# ---------------------------------------------------------------- fees and bundles


@dataclass
class FeeItem:
    amount_kopecks: int
    kind: str  # fee | service_fee | family_fee
    category: str
    cause_ref: str
    description: str
    description_en: str = ""  # (fee items owed before English descriptions existed have none)


@dataclass
class GrantSpec:
    """The tariff bundles a fee buys: `part`/`whole` of the tariff's bundle, until `until`."""

    tariff: str
    part: int
    whole: int
    until: str  # ISO datetime

    def until_dt(self) -> datetime:
        return datetime.fromisoformat(self.until)


def period_fee_items(session: Session, line: Line, tariff: TariffInfo, period: Period, catalog: Catalog,
                     *, part: int, whole: int) -> list[FeeItem]:
    """Fees due at a period start (or prorated at provisioning / switch)."""
    label, ru, en = period.label(), period.name("ru"), period.name("en")
    items: list[FeeItem] = []
    fee = prorate_up(tariff.fee_kopecks, part, whole)
    if fee:
        items.append(tariff_fee_item(tariff, period, fee))
    for sub in session.exec(
        select(Subscription).where(Subscription.line_id == line.id, Subscription.active == True)  # noqa: E712
    ).scalars():
        product = catalog.products.get(sub.code)
        if product is None or product.fee_unit != "month" or not product.fee_kopecks:
            continue
        if sub.paid_until is not None and sub.paid_until >= period.end:
            continue  # paid with bonus points for this period
        items.append(FeeItem(prorate_up(product.fee_kopecks, part, whole), "service_fee",
                             "content" if product.category == "content" else "service",
                             f"service:{sub.code}:{label}", f"«{product.name_ru}» за {ru}",
                             f"{product.name_en} for {en}"))
    if tariff.family_owner:
        for member_id, msisdn in _active_family_members(session, line.id):
            items.append(FeeItem(prorate_up(FAMILY_MEMBER_FEE, part, whole), "family_fee", "fee",
                                 f"family:{member_id}:{label}", f"Участник «МЫ МТС» {phone(msisdn)} за {ru}",
                                 f"MY MTS member {phone(msisdn)} for {en}"))
    return items


def tariff_fee_item(tariff: TariffInfo, period: Period, fee: int) -> FeeItem:
    return FeeItem(fee, "fee", "fee", f"tariff:{tariff.code}:{period.label()}",
                   f"Абонентская плата «{tariff.name_ru}» за {period.name('ru')}",
                   f"Monthly fee, {tariff.name_en}, for {period.name('en')}")


def _active_family_members(session: Session, owner_line_id: int) -> list[tuple[int, str]]:
    """(member row id, msisdn) of the group's active members."""
    rows = session.exec(
        select(FamilyMember.id, Line.msisdn)
        .join(FamilyGroup, FamilyGroup.id == FamilyMember.group_id)
        .join(Line, Line.id == FamilyMember.line_id)
        .where(FamilyGroup.owner_line_id == owner_line_id, FamilyMember.status == "active")
        .order_by(FamilyMember.id)
    ).all()
    return [(r[0], r[1]) for r in rows]


def grant_bundles(session: Session, line: Line, spec: GrantSpec, *, valid_from: datetime, catalog: Catalog) -> list[Bucket]:
    """Create the tariff's buckets for the period (prorated by spec). Family owners' buckets are pools."""
    tariff = catalog.tariffs[spec.tariff]
    until = spec.until_dt()
    created = []
    for kind, unit in UNITS:
        amount = prorate_down(tariff.bundle(kind), spec.part, spec.whole)
        if amount <= 0:
            continue
        bucket = Bucket(
            line_id=line.id, kind=kind, unit=unit, total=amount, used=0, valid_from=valid_from,
            valid_until=until, source="tariff", product_code=tariff.code, priority=1,
            pool_total=amount if tariff.family_owner else None,
        )
        session.add(bucket)
        created.append(bucket)
    if tariff.family_owner:
        session.flush()
        from mts_portal.core import family

        family.carve_shares_for_new_pool(session=session, owner=line, now=valid_from)
    return created


def end_tariff_buckets(session: Session, line: Line, at: datetime) -> None:
    """Old tariff bundles end at a switch (add-ons stay)."""
    session.execute(
        update(Bucket)
        .where(Bucket.line_id == line.id, Bucket.source == "tariff", Bucket.valid_until > at)
        .values(valid_until=at)
    )


def charge_or_suspend(session: Session, line: Line, items: list[FeeItem], spec: GrantSpec | None, *,
                      at: datetime, catalog: Catalog, options: set[str] | None = None,
                      limit: int | None = None) -> bool:
    """Charge all fee items and grant the bundles, or (if money + credit does not cover them)
    keep them owed and suspend the line. Returns True when paid."""
    total = sum(i.amount_kopecks for i in items)
    if options is None:
        options = active_options(session, line.id)
    if limit is None:
        limit = credit_limit(session, line, at, options)
    if total == 0 or line.balance_kopecks - total >= -limit:
        for i in items:
            post_money(session, line, -i.amount_kopecks, kind=i.kind, category=i.category, cause_type="fee",
                       cause_ref=i.cause_ref, description=i.description, at=at, options=options,
                       description_en=i.description_en)
        if spec is not None:
            grant_bundles(session, line, spec, valid_from=at, catalog=catalog)
        recompute_status(line)
        return True
    line.fees_owed_kopecks = total
    line.fees_owed_detail = json.dumps({"items": [asdict(i) for i in items],
                                        "grant": asdict(spec) if spec else None}, ensure_ascii=False)
    recompute_status(line)
    notify_line(session, line, notify.notification(
        line.id, "info",
        f"Недостаточно средств для оплаты {format_rub(total)}: номер приостановлен. "
        f"Пополните баланс — пакеты подключатся сразу после оплаты.",
        f"Not enough money to pay {format_rub(total, 'en')}: the number is suspended. "
        f"Top up and the bundles are granted as soon as the fees are paid.",
        at), also_sms=True)
    return False


def settle_owed(*, session: Session, line: Line, now: datetime, catalog: Catalog | None = None) -> bool:
    """Pay owed fees once money + credit cover them; grant their bundles; reactivate."""
    catalog = catalog or default_catalog()
    if line.fees_owed_kopecks <= 0:
        return False
    detail = json.loads(line.fees_owed_detail or "{}")
    items = [FeeItem(**i) for i in detail.get("items", [])]
    spec = GrantSpec(**detail["grant"]) if detail.get("grant") else None
    total = sum(i.amount_kopecks for i in items)
    options = active_options(session, line.id)
    if line.balance_kopecks - total < -credit_limit(session, line, now, options):
        return False
    for i in items:
        post_money(session, line, -i.amount_kopecks, kind=i.kind, category=i.category, cause_type="fee",
                   cause_ref=i.cause_ref, description=i.description, at=now, options=options,
                   description_en=i.description_en)
    line.fees_owed_kopecks = 0
    line.fees_owed_detail = "{}"
    if spec is not None and spec.until_dt() > now:
        grant_bundles(session, line, spec, valid_from=now, catalog=catalog)
    recompute_status(line)
    notify_line(session, line, notify.notification(
        line.id, "payment",
        f"Абонентская плата {format_rub(total)} списана, пакеты подключены. Номер снова активен.",
        f"Fees of {format_rub(total, 'en')} paid and bundles granted. The number is active again.", now))
    touch(session, line, now)
    return True


def rollover_line(*, session: Session, line: Line, now: datetime, catalog: Catalog | None = None) -> int:
    """Run every period start that falls at or before `now`. Returns how many ran."""
    catalog = catalog or default_catalog()
    ran = 0
    while line.period_end <= now:
        period = period_of(line.period_end)
        carried: list[FeeItem] = []
        if line.fees_owed_kopecks:
            # DESIGN §4: unpaid fees stay owed until a top-up pays them. They are carried into the new
            # period and paid first, together with its fees; the old period's bundles are gone.
            carried = [FeeItem(**i) for i in json.loads(line.fees_owed_detail or "{}").get("items", [])]
            notify_line(session, line, notify.notification(
                line.id, "info",
                f"Долг по абонентской плате за прошлый период — {format_rub(line.fees_owed_kopecks)}: "
                "он спишется вместе с платой за новый период, как только хватит средств.",
                f"Last period's unpaid fees of {format_rub(line.fees_owed_kopecks, 'en')} are still owed: "
                "they are paid together with the new period's fees as soon as there is enough money.",
                period.start))
            line.fees_owed_kopecks = 0
            line.fees_owed_detail = "{}"
        line.period_start, line.period_end = period.start, period.end
        line.nbg_prev_free_minutes_used = line.nbg_free_minutes_used
        line.nbg_free_minutes_used = 0
        tariff = catalog.tariffs[line.tariff_code]
        items = carried + period_fee_items(session, line, tariff, period, catalog, part=period.days,
                                           whole=period.days)
        spec = GrantSpec(tariff.code, period.days, period.days, period.end.isoformat())
        if charge_or_suspend(session, line, items, spec, at=period.start, catalog=catalog):
            _period_notice(session, line, period, sum(i.amount_kopecks for i in items), tariff)
        ran += 1
    if ran:
        touch(session, line, now)
    return ran


def _period_notice(session: Session, line: Line, period: Period, paid: int, tariff: TariffInfo) -> None:
    """One notice per line at each paid period start: what was charged and until when the bundles last."""
    last_day = fmt_date(period.end - timedelta(seconds=1))
    bundles = bool(tariff.minutes or tariff.sms or tariff.data_kb)
    ru = [f"Начался новый расчётный период: {period.name('ru')}."]
    en = [f"A new billing period has started: {period.name('en')}."]
    if paid:
        ru.append(f"Списано {format_rub(paid)}.")
        en.append(f"{format_rub(paid, 'en')} charged.")
    if bundles:
        ru.append(f"Пакеты обновлены по {last_day}.")
        en.append(f"Bundles renewed until {last_day}.")
    notify_line(session, line, notify.notification(line.id, "info", " ".join(ru), " ".join(en), period.start))


# ---------------------------------------------------------------- provisioning


def provision_line(
    *,
    session: Session,
    msisdn: str,
    tariff_code: str,
    now: datetime,
    holder_name: str | None = None,
    account_id: int | None = None,
    email: str | None = None,
    initial_balance_kopecks: int = 0,
    catalog: Catalog | None = None,
) -> Line:
    """A new line on a tariff: fee and bundles as at a period start, prorated by remaining days.

    `initial_balance_kopecks` (seeding only) is credited through the ledger before the fee.
    """
    catalog = catalog or default_catalog()
    if not is_msisdn(msisdn):
        raise Invalid("msisdn: must be 11 digits starting with 7", "Номер должен состоять из 11 цифр и начинаться с 7")
    tariff = catalog.tariffs.get(tariff_code)
    if tariff is None:
        raise Invalid(f"tariff: unknown tariff {tariff_code!r}", f"Неизвестный тариф {tariff_code!r}")
    if tariff.family_member:
        raise Invalid("tariff: my_mts_member is given by joining a family group",
                      "Тариф участника «МЫ МТС» подключается только приглашением в группу")
    if holder_name is not None and not (1 <= len(holder_name.strip()) <= 200):
        raise Invalid("holder_name: 1–200 characters", "Имя владельца: от 1 до 200 символов")
    if holder_name is not None and domain.has_control(holder_name):
        raise Invalid("holder_name: control characters are not allowed", "Имя владельца: недопустимые символы")
    if session.exec(select(Line.id).where(Line.msisdn == msisdn)).first() is not None:
        raise Conflict(f"msisdn {msisdn} already exists", f"Номер {msisdn} уже подключён")
    if account_id is not None:
        account = session.get(Account, account_id)
        if account is None:
            raise Invalid(f"account_id: no account {account_id}", f"Нет лицевого счёта {account_id}")
    else:
        account = Account(holder_name=(holder_name or "Абонент").strip(), email=email, created_at=now)
        session.add(account)
        session.flush()
    period = period_of(now)
    line = Line(
        msisdn=msisdn, account_id=account.id, tariff_code=tariff.code, status="active", balance_kopecks=0,
        period_start=period.start, period_end=period.end, created_at=now, version=0,
    )
    session.add(line)
    session.flush()
    record_tariff_change(session, line, None, tariff.code, at=now, reason="provision")
    if initial_balance_kopecks:
        post_money(session, line, initial_balance_kopecks, kind="topup", category="payment", cause_type="payment",
                   cause_ref=f"initial:{msisdn}", description="Начальный баланс", at=now, options=set(),
                   description_en="Opening balance")
    remaining, days = period.remaining_days(now), period.days
    # a new line has no services, family members or promised payments yet: just the tariff fee
    fee = prorate_up(tariff.fee_kopecks, remaining, days)
    items = [tariff_fee_item(tariff, period, fee)] if fee else []
    spec = GrantSpec(tariff.code, remaining, days, period.end.isoformat())
    charge_or_suspend(session, line, items, spec, at=now, catalog=catalog, options=set(), limit=0)
    touch(session, line, now, created=True)
    session.flush()
    return line


# ---------------------------------------------------------------- top-ups


@dataclass
class TopUpResult:
    payment_id: int
    msisdn: str
    amount_kopecks: int
    balance_kopecks: int
    status: str
    idempotency_key: str
    replayed: bool = False
    decline_reason: str | None = None


def validate_topup_amount(amount_kopecks) -> int:
    if isinstance(amount_kopecks, bool) or not isinstance(amount_kopecks, int):
        raise Invalid("amount_kopecks: must be an integer number of kopecks", "Сумма должна быть целым числом копеек")
    if amount_kopecks < MIN_TOPUP_KOPECKS:
        raise Invalid(f"amount_kopecks: at least {MIN_TOPUP_KOPECKS}", "Минимальная сумма пополнения — 1 ₽")
    if amount_kopecks > MAX_TOPUP_KOPECKS:
        raise Invalid(f"amount_kopecks: at most {MAX_TOPUP_KOPECKS}", "Максимальная сумма пополнения — 15 000 ₽")
    return amount_kopecks


def validate_key(key) -> str:
    if not isinstance(key, str) or not (1 <= len(key) <= 128) or not key.isprintable():
        raise Invalid("idempotency_key: 1–128 printable characters", "Ключ идемпотентности: от 1 до 128 символов")
    return key


def top_up(
    *,
    session: Session,
    msisdn: str,
    amount_kopecks: int,
    key: str,
    now: datetime,
    method: str = "gateway",
    card_id: int | None = None,
    description: str = "Пополнение баланса",
    description_en: str = "Top-up",
    catalog: Catalog | None = None,
) -> TopUpResult:
    """Credit a line once per idempotency key. The same key again returns the first answer;
    the same key with another amount or number is a Conflict."""
    validate_topup_amount(amount_kopecks)
    validate_key(key)
    line = get_line_for_update(session, msisdn)
    existing = session.exec(select(Payment).where(Payment.idempotency_key == key)).scalars().first()
    if existing is not None:
        return _replayed_topup(session, existing, line, amount_kopecks, msisdn)
    rollover_line(session=session, line=line, now=now, catalog=catalog)
    payment = Payment(idempotency_key=key, line_id=line.id, amount_kopecks=amount_kopecks, method=method,
                      card_id=card_id, status="succeeded", created_at=now)
    try:
        with session.begin_nested():  # the key is unique across lines: another line's top-up may hold it
            session.add(payment)
            session.flush()
    except IntegrityError:
        existing = session.exec(select(Payment).where(Payment.idempotency_key == key)
                                .execution_options(populate_existing=True)).scalars().first()
        if existing is None:
            raise
        return _replayed_topup(session, existing, line, amount_kopecks, msisdn)
    post_money(session, line, amount_kopecks, kind="topup", category="payment", cause_type="payment",
               cause_ref=key, description=description, at=now, description_en=description_en)
    notify_line(session, line, notify.notification(
        line.id, "payment", f"Баланс пополнен на {format_rub(amount_kopecks)}. Баланс {format_rub(line.balance_kopecks)}",
        f"Topped up {format_rub(amount_kopecks, 'en')}. Balance {format_rub(line.balance_kopecks, 'en')}", now))
    after_credit(session=session, line=line, now=now, catalog=catalog)
    payment.balance_after_kopecks = line.balance_kopecks  # after the owed fees this payment settled
    session.add(payment)
    touch(session, line, now)
    session.flush()
    return TopUpResult(payment.id, msisdn, amount_kopecks, payment.balance_after_kopecks, "succeeded", key)


def _replayed_topup(session: Session, existing: Payment, line: Line, amount_kopecks: int, msisdn: str) -> TopUpResult:
    """The first answer again: the balance the first request answered."""
    if existing.line_id != line.id or existing.amount_kopecks != amount_kopecks:
        raise Conflict(
            "idempotency_key was already used for another payment",
            "Этот ключ уже использован для другого платежа",
            first_amount_kopecks=existing.amount_kopecks,
        )
    balance_after = existing.balance_after_kopecks
    if balance_after is None:  # declined payments, and those made before the answer was kept
        balance_after = session.exec(select(LedgerEntry.balance_after).where(
            LedgerEntry.line_id == line.id, LedgerEntry.kind == "topup",
            LedgerEntry.cause_ref == existing.idempotency_key)).scalar()
    return TopUpResult(existing.id, msisdn, existing.amount_kopecks,
                       balance_after if balance_after is not None else line.balance_kopecks, existing.status,
                       existing.idempotency_key, replayed=True, decline_reason=existing.decline_reason)


def after_credit(*, session: Session, line: Line, now: datetime, catalog: Catalog | None = None) -> None:
    """What money arriving on a line unlocks: owed fees, repaid promised payments."""
    settle_owed(session=session, line=line, now=now, catalog=catalog)
    if line.balance_kopecks >= 0:
        for promise in session.exec(
            select(PromisedPayment).where(PromisedPayment.line_id == line.id, PromisedPayment.status == "active")
        ).scalars():
            promise.status = "repaid"
            promise.closed_at = now
            session.add(promise)
            notify_line(session, line, notify.notification(
                line.id, "payment", f"Обещанный платёж {format_rub(promise.amount_kopecks)} погашен.",
                f"Promised payment of {format_rub(promise.amount_kopecks, 'en')} repaid.", now))


# ---------------------------------------------------------------- options and services


@dataclass
class OptionResult:
    msisdn: str
    code: str
    connected: bool
    charged_kopecks: int
    balance_kopecks: int
    message_ru: str
    message_en: str
    bucket_id: int | None = None


ADDON_CATEGORY = "addon"


def _product(catalog: Catalog, code: str):
    product = catalog.products.get(code)
    if product is None:
        raise Invalid(f"code: unknown service or option {code!r}", f"Неизвестная услуга {code!r}")
    return product


def option_connect_price(session: Session, line: Line, product, now: datetime) -> int:
    """What connecting costs this line right now (before any bonus payment). A monthly service
    reconnected in a period it was already paid for, or a daily one on a day already paid, costs
    nothing more: that fee has been charged (and its unique ledger cause is taken)."""
    if product.category == ADDON_CATEGORY or product.fee_unit == "once":
        return product.fee_kopecks
    if product.fee_unit == "month" and product.fee_kopecks:
        if session.exec(select(LedgerEntry.id).where(
                LedgerEntry.line_id == line.id, LedgerEntry.kind == "service_fee",
                LedgerEntry.cause_ref == _service_ref(product.code, now))).first() is not None:
            return 0
        period = period_of(now)
        return prorate_up(product.fee_kopecks, period.remaining_days(now), period.days)
    if product.fee_unit == "day":
        if session.exec(select(DailyFeeCharge.id).where(
                DailyFeeCharge.line_id == line.id, DailyFeeCharge.code == product.code,
                DailyFeeCharge.day == moscow_date(now))).first() is not None:
            return 0
        return product.fee_kopecks
    return 0  # usage_day options charge when used


def _service_ref(code: str, at: datetime) -> str:
    """The ledger cause of a monthly service's fee for the period of `at` (as period_fee_items names it)."""
    return f"service:{code}:{period_of(at).label()}"


def connect_option(
    *,
    session: Session,
    line: Line,
    code: str,
    now: datetime,
    request_key: str | None = None,
    paid_with_points: bool = False,
    catalog: Catalog | None = None,
) -> OptionResult:
    """Connect a service/option or buy an add-on. Money first: it is refused if not covered."""
    catalog = catalog or default_catalog()
    product = _product(catalog, code)
    if not product.public:
        raise Invalid(f"code: {code} cannot be connected", f"Услугу {code} нельзя подключить")
    rollover_line(session=session, line=line, now=now, catalog=catalog)
    if line.status in ("lost", "blocked"):
        raise Conflict(f"line is {line.status}", "Номер заблокирован: подключение услуг недоступно")
    options = active_options(session, line.id)
    is_addon = product.category == ADDON_CATEGORY
    if not is_addon and code in options:
        raise Conflict(f"{code} is already connected", f"Услуга «{product.name_ru}» уже подключена")
    request_key = request_key or uuid.uuid4().hex
    price = 0 if paid_with_points else option_connect_price(session, line, product, now)
    if price:
        if line.status == "suspended":
            raise Conflict("line is suspended", "Номер приостановлен: сначала оплатите абонентскую плату")
        limit = credit_limit(session, line, now, options)
        if line.balance_kopecks - price < -limit:
            raise InsufficientFunds(
                f"not enough money: {price} kopecks needed, {line.balance_kopecks + limit} available",
                f"Недостаточно средств: нужно {format_rub(price)}, доступно {format_rub(line.balance_kopecks + limit)}",
            )
    if product.category in ("content", ADDON_CATEGORY):  # a child's number: the parent's limits (issue 17)
        from mts_portal.core import parental

        refusal = parental.purchase_refusal(session, line, product, price, now)
        if refusal is not None:
            raise refusal
    daily = product.fee_unit == "day"
    kind = "addon" if is_addon else ("daily_fee" if daily else "service_fee")
    category = "data" if is_addon else ("content" if product.category == "content" else "service")
    if is_addon:
        ref = f"addon:{code}:{request_key}"
        dup = session.exec(select(LedgerEntry.id).where(LedgerEntry.line_id == line.id,
                                                        LedgerEntry.cause_ref == ref)).first()
        if dup is not None:
            raise Conflict("this purchase was already made", "Эта покупка уже выполнена", code="duplicate_request")
    else:
        ref = f"{code}:{moscow_date(now).isoformat()}" if daily else _service_ref(code, now)
    if price:
        post_money(session, line, -price, kind=kind, category=category, cause_type="fee", cause_ref=ref,
                   description=f"«{product.name_ru}»", at=now, options=options, description_en=product.name_en)
        if daily:
            session.add(DailyFeeCharge(line_id=line.id, code=code, day=moscow_date(now), amount_kopecks=price,
                                       cause_ref=ref))
    bucket_id = None
    if is_addon:
        until = now + timedelta(hours=product.validity_hours) if product.validity_hours else line.period_end
        bucket = Bucket(line_id=line.id, kind="data", unit="KB", total=product.data_kb, used=0, valid_from=now,
                        valid_until=until, source="bonus" if paid_with_points else "addon", product_code=code,
                        priority=0)
        session.add(bucket)
        session.flush()
        bucket_id = bucket.id
    else:
        paid_until = None
        if product.fee_unit == "day":
            paid_until = moscow_midnight(moscow_date(now) + timedelta(days=1))
        if paid_with_points:
            paid_until = line.period_end
        session.add(Subscription(line_id=line.id, code=code, active=True, started_at=now, paid_until=paid_until,
                                 source="bonus" if paid_with_points else "money"))
        if code == "full_trust":
            session.flush()
            settle_owed(session=session, line=line, now=now, catalog=catalog)  # the new credit may pay owed fees
    recompute_status(line)
    touch(session, line, now)
    session.flush()
    verb_ru = "куплен" if is_addon else "подключена"
    return OptionResult(
        line.msisdn, code, True, price, line.balance_kopecks,
        f"«{product.name_ru}» {verb_ru}" + (f", списано {format_rub(price)}" if price else ""),
        f"{product.name_en} {'bought' if is_addon else 'connected'}" + (f", {format_rub(price, 'en')} charged" if price else ""),
        bucket_id,
    )


def disconnect_option(*, session: Session, line: Line, code: str, now: datetime,
                      catalog: Catalog | None = None) -> OptionResult:
    catalog = catalog or default_catalog()
    product = _product(catalog, code)
    if product.category == ADDON_CATEGORY:
        raise Conflict(f"{code} is a bought package and cannot be disconnected",
                       "Пакет уже куплен: он действует до конца срока")
    sub = session.exec(
        select(Subscription).where(Subscription.line_id == line.id, Subscription.code == code,
                                   Subscription.active == True)  # noqa: E712
    ).scalars().first()
    if sub is None:
        raise Conflict(f"{code} is not connected", f"Услуга «{product.name_ru}» не подключена")
    if code == "full_trust":
        limit_without = credit_limit(session, line, now, active_options(session, line.id) - {"full_trust"})
        if line.balance_kopecks < -limit_without:
            raise Conflict("repay the debt before leaving «Full trust»",
                           "Чтобы отключить «На полном доверии», сначала пополните баланс до нуля")
    if code == "number_management":
        from mts_portal.core.models import AccountLink

        if session.exec(select(AccountLink.id).where(AccountLink.account_id == line.account_id)).first():
            raise Conflict("remove the added numbers first", "Сначала удалите добавленные номера")
    if code == "parental_control":
        from mts_portal.core import parental

        parental.before_disconnect(session, line)
    sub.active = False
    sub.ended_at = now
    session.add(sub)
    touch(session, line, now)
    session.flush()
    return OptionResult(line.msisdn, code, False, 0, line.balance_kopecks,
                        f"«{product.name_ru}» отключена", f"{product.name_en} disconnected")


# ---------------------------------------------------------------- tariff switch


@dataclass
class SwitchPreview:
    msisdn: str
    from_tariff: str
    to_tariff: str
    fee_kopecks: int
    remaining_days: int
    period_days: int
    bundles: dict[str, int]
    balance_after_kopecks: int
    affordable: bool
    ends_old_bundles: bool = True


def preview_tariff_switch(*, session: Session, line: Line, new_code: str, now: datetime,
                          catalog: Catalog | None = None) -> SwitchPreview:
    catalog = catalog or default_catalog()
    tariff = catalog.tariffs.get(new_code)
    if tariff is None:
        raise Invalid(f"tariff: unknown tariff {new_code!r}", f"Неизвестный тариф {new_code!r}")
    if not tariff.public:
        raise Invalid(f"tariff: {new_code} is not available", "Этот тариф подключается только в семейной группе")
    if new_code == line.tariff_code:
        raise Conflict("this is already the line's tariff", "Этот тариф уже подключён")
    current = catalog.tariffs[line.tariff_code]
    if current.family_member:
        raise Conflict("a family member's tariff is managed by the group",
                       "Вы участник «МЫ МТС»: сначала выйдите из семейной группы")
    if current.family_owner and _active_family_members(session, line.id):
        raise Conflict("remove the family members first", "Сначала удалите участников семейной группы")
    if line.status in ("lost", "blocked"):
        raise Conflict(f"line is {line.status}", "Номер заблокирован: смена тарифа недоступна")
    if line.status == "suspended":
        raise Conflict("line is suspended", "Номер приостановлен: сначала оплатите абонентскую плату")
    period = period_of(now)
    part, whole = period.remaining_days(now), period.days
    fee = prorate_up(tariff.fee_kopecks, part, whole)
    limit = credit_limit(session, line, now)
    return SwitchPreview(
        line.msisdn, line.tariff_code, new_code, fee, part, whole,
        {kind: prorate_down(tariff.bundle(kind), part, whole) for kind, _ in UNITS},
        line.balance_kopecks - fee, line.balance_kopecks - fee >= -limit,
    )


def switch_tariff(*, session: Session, line: Line, new_code: str, now: datetime, request_key: str | None = None,
                  catalog: Catalog | None = None) -> SwitchPreview:
    """Switch now: the new fee prorated (rounded up), new bundles prorated (rounded down), old bundles end.
    `request_key` makes a repeated request (a double click) switch once."""
    catalog = catalog or default_catalog()
    request_key = request_key or uuid.uuid4().hex
    if session.exec(select(LedgerEntry.id).where(LedgerEntry.line_id == line.id,
                                                 LedgerEntry.cause_ref == f"switch:{request_key}")).first():
        raise Conflict("this switch was already made", "Тариф уже изменён по этому запросу", code="duplicate_request")
    rollover_line(session=session, line=line, now=now, catalog=catalog)
    preview = preview_tariff_switch(session=session, line=line, new_code=new_code, now=now, catalog=catalog)
    if not preview.affordable:
        raise InsufficientFunds(
            f"not enough money for the prorated fee of {preview.fee_kopecks} kopecks",
            f"Недостаточно средств: абонентская плата за остаток месяца {format_rub(preview.fee_kopecks)}",
        )
    period = period_of(now)
    old = catalog.tariffs[line.tariff_code]
    if old.family_owner and not catalog.tariffs[new_code].family_owner:
        from mts_portal.core import family

        family.close_group_invitations(session, line, now)  # the group has no members (checked above)
    end_tariff_buckets(session, line, now)
    change_tariff(session, line, new_code, now=now, reason="switch", fee_kopecks=preview.fee_kopecks)
    tariff = catalog.tariffs[new_code]
    if preview.fee_kopecks:
        post_money(session, line, -preview.fee_kopecks, kind="fee", category="fee", cause_type="fee",
                   cause_ref=f"switch:{request_key}",
                   description=f"Абонентская плата «{tariff.name_ru}» до конца месяца ({period.name('ru')})",
                   description_en=f"Monthly fee, {tariff.name_en}, for the rest of {period.name('en')}", at=now)
    grant_bundles(session, line, GrantSpec(new_code, preview.remaining_days, preview.period_days,
                                           period.end.isoformat()), valid_from=now, catalog=catalog)
    notify_line(session, line, notify.notification(
        line.id, "info", f"Тариф изменён: «{old.name_ru}» → «{tariff.name_ru}».",
        f"Tariff changed: {old.name_en} → {tariff.name_en}.", now))
    touch(session, line, now)
    session.flush()
    return preview


# ---------------------------------------------------------------- tariff history


def record_tariff_change(session: Session, line: Line, from_code: str | None, to_code: str, *, at: datetime,
                         reason: str, fee_kopecks: int = 0) -> None:
    """One row of the line's tariff history (a plain insert: provisioning thousands of lines stays fast)."""
    _insert(session, TariffChange, [{"line_id": line.id, "from_code": from_code, "to_code": to_code, "at": at,
                                     "reason": reason, "fee_kopecks": fee_kopecks}])


def change_tariff(session: Session, line: Line, new_code: str, *, now: datetime, reason: str,
                  fee_kopecks: int = 0) -> None:
    """The one place a line's tariff changes (a switch, joining or leaving «МЫ МТС»): sets it and records
    the change in the tariff history. Callers do the fees and bundles that go with it."""
    old = line.tariff_code
    if old == new_code:
        return
    line.tariff_code = new_code
    session.add(line)
    record_tariff_change(session, line, old, new_code, at=now, reason=reason, fee_kopecks=fee_kopecks)


def tariff_history(session: Session, line: Line, limit: int = 100) -> list[TariffChange]:
    """The line's tariff changes, newest first."""
    return list(session.exec(select(TariffChange).where(TariffChange.line_id == line.id)
                             .order_by(TariffChange.at.desc(), TariffChange.id.desc()).limit(limit)).scalars())


# ---------------------------------------------------------------- summary


@dataclass
class BucketView:
    id: int
    kind: str
    unit: str
    total: int
    used: int
    remaining: int
    valid_until: datetime
    source: str
    product_code: str | None
    shared_from: str | None = None  # msisdn of the family owner when drawn from their pool


@dataclass
class LineSummary:
    msisdn: str
    account_id: int
    holder_name: str
    status: str
    tariff: str
    tariff_name_ru: str
    tariff_name_en: str
    tariff_fee_kopecks: int
    balance_kopecks: int
    credit_limit_kopecks: int
    bonus_points: int
    fees_owed_kopecks: int
    period_end: datetime
    options: list[str]
    buckets: list[BucketView] = field(default_factory=list)
    version: int = 0

    def to_api(self) -> dict:
        return {
            "msisdn": self.msisdn,
            "balance_kopecks": self.balance_kopecks,
            "credit_limit_kopecks": self.credit_limit_kopecks,
            "status": self.status,
            "tariff": self.tariff,
            "tariff_fee_kopecks": self.tariff_fee_kopecks,
            "bonus_points": self.bonus_points,
            "fees_owed_kopecks": self.fees_owed_kopecks,
            "period_end": self.period_end.isoformat(),
            "options": self.options,
            "buckets": [
                {"id": b.id, "kind": b.kind, "unit": b.unit, "total": b.total, "used": b.used,
                 "remaining": b.remaining, "valid_until": b.valid_until.isoformat(), "source": b.source,
                 "product_code": b.product_code, "shared_from": b.shared_from}
                for b in self.buckets
            ],
        }


def current_buckets(session: Session, line: Line, now: datetime) -> list[BucketView]:
    """The buckets the line can draw from now: its own, plus a family pool it shares."""
    rows = session.exec(
        select(Bucket).where(Bucket.line_id == line.id, Bucket.valid_from <= now, Bucket.valid_until > now)
        .order_by(Bucket.priority, Bucket.valid_until, Bucket.id)
    ).scalars().all()
    views = [BucketView(b.id, b.kind, b.unit, b.total, b.used, b.total - b.used, b.valid_until, b.source,
                        b.product_code) for b in rows]
    from mts_portal.core import family

    views.extend(family.pool_views_for_member(session=session, line=line, now=now, own=rows))
    return views


def line_summary(*, session: Session, msisdn: str, now: datetime, catalog: Catalog | None = None) -> LineSummary:
    catalog = catalog or default_catalog()
    line = get_line(session, msisdn)
    account = session.get(Account, line.account_id)
    tariff = catalog.tariffs[line.tariff_code]
    options = active_options(session, line.id)
    return LineSummary(
        msisdn=line.msisdn, account_id=line.account_id, holder_name=account.holder_name if account else "",
        status=line.status, tariff=tariff.code, tariff_name_ru=tariff.name_ru, tariff_name_en=tariff.name_en,
        tariff_fee_kopecks=tariff.fee_kopecks, balance_kopecks=line.balance_kopecks,
        credit_limit_kopecks=credit_limit(session, line, now, options), bonus_points=line.bonus_points,
        fees_owed_kopecks=line.fees_owed_kopecks, period_end=line.period_end, options=sorted(options),
        buckets=current_buckets(session, line, now), version=line.version,
    )


# ---------------------------------------------------------------- invariants


def check_invariants(*, session: Session, line_ids: list[int] | None = None) -> list[str]:
    """DESIGN §5: balance = sum of ledger; no bucket below zero or over its total;
    a family pool adds up; bonus points = earned - spent; for the whole store also every home
    contract's balance = sum of its ledger (home.check_invariants). Returns the violations."""
    problems: list[str] = []
    sums = dict(session.exec(
        select(LedgerEntry.line_id, func.sum(LedgerEntry.amount_kopecks)).group_by(LedgerEntry.line_id)
    ).all())
    points = dict(session.exec(
        select(BonusEntry.line_id, func.sum(BonusEntry.points)).group_by(BonusEntry.line_id)
    ).all())
    charged_sums = dict(session.exec(
        select(LedgerEntry.line_id, -func.sum(LedgerEntry.amount_kopecks))
        .where(LedgerEntry.kind.in_(tuple(ledger.CHARGE_KINDS))).group_by(LedgerEntry.line_id)
    ).all())
    q = select(Line.id, Line.msisdn, Line.balance_kopecks, Line.bonus_points, Line.charged_total_kopecks)
    if line_ids is not None:
        q = q.where(Line.id.in_(line_ids))
    for line_id, msisdn, balance, bonus, charged in session.exec(q).all():
        ledger_sum = int(sums.get(line_id) or 0)
        if balance != ledger_sum:
            problems.append(f"{msisdn}: balance {balance} != ledger sum {ledger_sum}")
        if bonus != int(points.get(line_id) or 0):
            problems.append(f"{msisdn}: bonus points {bonus} != bonus ledger {points.get(line_id)}")
        if bonus < 0:
            problems.append(f"{msisdn}: negative bonus points")
        if charged != int(charged_sums.get(line_id) or 0):
            problems.append(f"{msisdn}: charged total {charged} != charges in the ledger")
    bq = select(Bucket.id, Bucket.line_id, Bucket.total, Bucket.used).where((Bucket.used < 0) | (Bucket.used > Bucket.total) | (Bucket.total < 0))
    for bucket_id, line_id, total, used in session.exec(bq).all():
        problems.append(f"bucket {bucket_id} of line {line_id}: used {used} of {total}")
    # family pools: owner's pool bucket total + carved shares == pool_total
    shares = dict(session.exec(
        select(Bucket.parent_bucket_id, func.sum(Bucket.total)).where(Bucket.parent_bucket_id.is_not(None))
        .group_by(Bucket.parent_bucket_id)
    ).all())
    for bucket_id, total, pool_total in session.exec(
        select(Bucket.id, Bucket.total, Bucket.pool_total).where(Bucket.pool_total.is_not(None))
    ).all():
        if total + int(shares.get(bucket_id) or 0) != pool_total:
            problems.append(f"pool {bucket_id}: {total} + shares {shares.get(bucket_id)} != {pool_total}")
    from mts_portal.core import family

    problems.extend(family.pool_check(session))
    # one daily fee per line, code and day is enforced by a unique constraint; count mismatches with the ledger
    fee_rows = session.exec(select(func.count()).select_from(DailyFeeCharge)).scalar_one()
    fee_ledger = session.exec(
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "daily_fee")
    ).scalar_one()
    if line_ids is None and fee_rows != fee_ledger:
        problems.append(f"daily fee charges {fee_rows} != daily fee ledger rows {fee_ledger}")
    if line_ids is None:  # the whole store: the home internet and TV contracts' ledgers too
        from mts_portal.core import home

        problems.extend(home.check_invariants(session=session))
    return problems
