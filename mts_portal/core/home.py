"""Home internet and TV (issue 17): contracts, their own balance and ledger, fees, suspension, packages,
options, equipment, the «20 % возврата» promotion, traffic and TV viewing, connection requests and
problem reports.

Rules (docs/RATING.md "Home internet and TV" says the same):
- A home account (contract, 12 digits) has its own balance in kopecks; every movement is a
  `home_ledger_entries` row made by `ledger.post(..., owner="home_account_id")`.
- Fees are monthly, at the start of each calendar month (Europe/Moscow), run by the same scheduler as
  mobile fees (core/jobs.py): the tariff, every connected TV package and option. Anything connected
  mid-period costs its fee prorated by the remaining days (rounded up to the kopeck). A fee is charged
  once per contract, period and code (its cause reference is unique): connecting, disconnecting and
  connecting again in one period charges once; disconnecting refunds nothing and stops the next fee.
- Fees are charged even if they take the balance below zero (home contracts are paid after the fact);
  a balance below zero for `GRACE` (5 days) suspends the contract (internet and TV off, no fees at
  the next period starts). A payment that brings the balance to zero or above resumes it at once, and
  the current period's fees not charged while suspended are charged then, prorated.
- «20 % возврата»: a contract that joined gets back 20 % of the home fees charged for a period
  (those charged since it joined), rounded down to the kopeck, **to its balance**, at the start of the
  next period (one credit per period: kind `cashback`).
- Traffic is not charged per unit; a tariff with a cap counts KB = ceil(bytes / 1024) per day up to
  the cap; beyond it the speed falls to 1 Mbit/s and the rest is shown as throttled, not counted.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from mts_portal.core import ledger
from mts_portal.core.clock import Period, fmt_date, moscow_date, period_of, prorate_up
from mts_portal.core.errors import Conflict, Forbidden, Invalid, NotFound
from mts_portal.core.events import is_msisdn
from mts_portal.core.lines import _insert
from mts_portal.core.models import (
    Account,
    HomeAccount,
    HomeEquipment,
    HomeLedgerEntry,
    HomePayment,
    HomeProduct,
    HomeRequest,
    HomeSubscription,
    HomeTariff,
    HomeUsageDay,
    SmsMessage,
)
from mts_portal.core.money import ceil_div, format_rub

CONTRACT_DIGITS = 12
GRACE = timedelta(days=5)
CASHBACK_PERCENT = 20
THROTTLED_MBPS = 1
SENDER = "MTS"
REQUEST_STATUSES = ("new", "in_work", "done")
STATUS_WORDS = {"new": ("принята", "received"), "in_work": ("в работе", "in work"), "done": ("выполнена", "done")}
PROBLEM_SERVICES = ("internet", "tv", "equipment", "payment")
CONNECT_SERVICES = ("internet", "tv", "static_ip", "antivirus")
# demo mode: how long a request stays in a status before the scheduler moves it on (simulated time)
DEMO_STEP = {"new": timedelta(minutes=2), "in_work": timedelta(minutes=10)}
RENT_EQUIPMENT = {"router_rent": ("router", "MTS Wi-Fi 6 Router WR-600"),
                  "tv_box_rent": ("tv_box", "MTS 4K TV Box TB-400")}
MAX_TEXT = 500


# ---------------------------------------------------------------- look-ups and validation


def normalize_contract(text) -> str:
    """A contract number as typed (spaces and dashes allowed) → its 12 digits, or Invalid."""
    digits = "".join(ch for ch in str(text or "") if ch not in " -")
    if len(digits) != CONTRACT_DIGITS or not digits.isdigit():
        raise Invalid("contract number: 12 digits", "Номер договора — 12 цифр", field="contract")
    return digits


def format_contract(contract: str) -> str:
    """'770012345678' → '7700 1234 5678'."""
    return f"{contract[:4]} {contract[4:8]} {contract[8:]}"


def find_home(session: Session, contract: str) -> HomeAccount | None:
    return session.exec(select(HomeAccount).where(HomeAccount.contract == contract)).scalars().first()


def get_home(session: Session, contract: str) -> HomeAccount:
    home = find_home(session, contract)
    if home is None:
        raise NotFound("no such contract", "Такого договора нет")
    return home


def lock_home(session: Session, home_id: int) -> HomeAccount:
    return session.exec(select(HomeAccount).where(HomeAccount.id == home_id).with_for_update()
                        .execution_options(populate_existing=True)).scalars().one()


def _tariff(session: Session, code: str) -> HomeTariff:
    row = session.get(HomeTariff, str(code or "")[:32])
    if row is None or not row.public:
        raise Invalid(f"unknown home tariff {code!r}", "Такого тарифа домашнего интернета нет", field="tariff")
    return row


def _product(session: Session, code: str) -> HomeProduct:
    row = session.get(HomeProduct, str(code or "")[:32])
    if row is None or not row.public:
        raise NotFound(f"unknown package or option {code!r}", "Такого пакета или опции нет")
    return row


def tariffs(session: Session) -> list[HomeTariff]:
    return list(session.exec(select(HomeTariff).where(HomeTariff.public == True)  # noqa: E712
                             .order_by(HomeTariff.sort)).scalars())


def products(session: Session, kind: str | None = None) -> list[HomeProduct]:
    q = select(HomeProduct).where(HomeProduct.public == True)  # noqa: E712
    if kind:
        q = q.where(HomeProduct.kind == kind)
    return list(session.exec(q.order_by(HomeProduct.sort)).scalars())


def active_codes(session: Session, home_id: int) -> list[str]:
    return list(session.exec(select(HomeSubscription.code).where(
        HomeSubscription.home_account_id == home_id, HomeSubscription.active == True)  # noqa: E712
        .order_by(HomeSubscription.id)).scalars())


def _active(session: Session, home_id: int, code: str) -> HomeSubscription | None:
    return session.exec(select(HomeSubscription).where(
        HomeSubscription.home_account_id == home_id, HomeSubscription.code == code,
        HomeSubscription.active == True)).scalars().first()  # noqa: E712


def new_contract(session: Session) -> str:
    while True:
        contract = f"77{secrets.randbelow(10 ** 10):010d}"
        if find_home(session, contract) is None:
            return contract


# ---------------------------------------------------------------- money


def _sms(session: Session, home: HomeAccount, text: str, at: datetime) -> None:
    session.add(SmsMessage(to_msisdn=home.contact_msisdn, sender=SENDER, text=text, created_at=at))


def post(session: Session, home: HomeAccount, amount_kopecks: int, *, kind: str, category: str, cause_type: str,
         cause_ref: str, description: str, description_en: str, at: datetime) -> dict:
    """Move money on a home account through the one ledger function; what the balance now means
    (grace started, contract resumed) follows."""
    posting = ledger.post(home, amount_kopecks, kind=kind, category=category, cause_type=cause_type,
                          cause_ref=cause_ref, description=description, description_en=description_en, at=at,
                          owner="home_account_id")
    _insert(session, HomeLedgerEntry, [posting.ledger])
    home.version += 1
    session.add(home)
    _after_money(session, home, at)
    return posting.ledger


def _after_money(session: Session, home: HomeAccount, now: datetime) -> None:
    if home.balance_kopecks < 0:
        if home.negative_since is None:
            home.negative_since = now
            if home.status == "active":
                _sms(session, home, f"Баланс договора {home.contract}: {format_rub(home.balance_kopecks)}. "
                     f"Пополните его до {fmt_date(now + GRACE)}, иначе интернет и ТВ будут приостановлены.", now)
        return
    home.negative_since = None
    if home.status == "suspended":
        home.status = "active"
        home.suspended_at = None
        _sms(session, home, f"Услуги по договору {home.contract} возобновлены. Спасибо за оплату!", now)
        _charge_period_fees(session, home, Period(home.period_start, home.period_end), now, prorate=True)


def _fee_ref(home: HomeAccount, period: Period, code: str) -> str:
    return f"hfee:{home.contract}:{period.label()}:{code}"


def _fee_charged(session: Session, home: HomeAccount, ref: str) -> bool:
    return session.exec(select(HomeLedgerEntry.id).where(
        HomeLedgerEntry.home_account_id == home.id, HomeLedgerEntry.kind == "home_fee",
        HomeLedgerEntry.cause_ref == ref)).first() is not None


def fee_for(fee: int, period: Period, at: datetime, prorate: bool) -> int:
    return prorate_up(fee, period.remaining_days(at), period.days) if prorate else fee


def _charge(session: Session, home: HomeAccount, code: str, fee: int, category: str, name_ru: str, name_en: str,
            period: Period, at: datetime, prorate: bool) -> int:
    """The fee of `code` for `period` (prorated from `at` if asked), once per contract, period and code."""
    ref = _fee_ref(home, period, code)
    amount = fee_for(fee, period, at, prorate)
    if amount <= 0 or _fee_charged(session, home, ref):
        return 0
    part_ru = f" за {period.remaining_days(at)} дн." if prorate and amount != fee else ""
    part_en = f" for {period.remaining_days(at)} days" if prorate and amount != fee else ""
    post(session, home, -amount, kind="home_fee", category=category, cause_type="fee", cause_ref=ref,
         description=f"Абонентская плата «{name_ru}», {period.name('ru')}{part_ru}",
         description_en=f"Monthly fee “{name_en}”, {period.name('en')}{part_en}", at=at)
    return amount


def _charge_period_fees(session: Session, home: HomeAccount, period: Period, at: datetime, *, prorate: bool) -> int:
    tariff = session.get(HomeTariff, home.tariff_code)
    total = _charge(session, home, tariff.code, tariff.fee_kopecks, "tariff", tariff.name_ru, tariff.name_en,
                    period, at, prorate)
    for code in active_codes(session, home.id):
        product = session.get(HomeProduct, code)
        total += _charge(session, home, code, product.fee_kopecks, product.kind, product.name_ru, product.name_en,
                         period, at, prorate)
    return total


def monthly_total(session: Session, home: HomeAccount) -> int:
    """What a full month costs now: the tariff and every connected package and option."""
    total = session.get(HomeTariff, home.tariff_code).fee_kopecks
    for code in active_codes(session, home.id):
        total += session.get(HomeProduct, code).fee_kopecks
    return total


def cashback_for(session: Session, home: HomeAccount, period: Period) -> int:
    """«20 % возврата» for `period`: 20 % of the home fees charged for it since joining, rounded down."""
    if home.promo_since is None:
        return 0
    charged = -(session.exec(select(func.coalesce(func.sum(HomeLedgerEntry.amount_kopecks), 0)).where(
        HomeLedgerEntry.home_account_id == home.id, HomeLedgerEntry.kind == "home_fee",
        HomeLedgerEntry.cause_ref.like(f"hfee:{home.contract}:{period.label()}:%"),
        HomeLedgerEntry.created_at >= home.promo_since)).scalar_one())
    return int(charged) * CASHBACK_PERCENT // 100


def _cashback(session: Session, home: HomeAccount, period: Period, at: datetime) -> int:
    amount = cashback_for(session, home, period)
    ref = f"cashback:{home.contract}:{period.label()}"
    if amount <= 0 or session.exec(select(HomeLedgerEntry.id).where(
            HomeLedgerEntry.home_account_id == home.id, HomeLedgerEntry.cause_ref == ref)).first() is not None:
        return 0
    post(session, home, amount, kind="cashback", category="promo", cause_type="promo", cause_ref=ref,
         description=f"«20 % возврата» за {period.name('ru')}",
         description_en=f"“20 % back” for {period.name('en')}", at=at)
    return amount


def join_promo(*, session: Session, home: HomeAccount, now: datetime) -> HomeAccount:
    if home.promo_since is not None:
        raise Conflict("the contract already takes part in “20 % back”", "Вы уже участвуете в акции «20 % возврата»")
    home.promo_since = now
    home.version += 1
    session.add(home)
    return home


def check_grace(session: Session, home: HomeAccount, now: datetime) -> bool:
    """Suspend a contract whose balance has been below zero for the whole grace period."""
    if home.status != "active" or home.negative_since is None or home.balance_kopecks >= 0:
        return False
    if now < home.negative_since + GRACE:
        return False
    home.status = "suspended"
    home.suspended_at = now
    home.version += 1
    session.add(home)
    _sms(session, home, f"Интернет и ТВ по договору {home.contract} приостановлены: баланс "
         f"{format_rub(home.balance_kopecks)}. Пополните баланс — услуги возобновятся сразу.", now)
    return True


def rollover(*, session: Session, home: HomeAccount, now: datetime) -> int:
    """Period starts due by `now`: the ended period's «20 % возврата», then the new period's fees
    (not while suspended), then the grace check. Returns how many period starts were made."""
    n = 0
    while home.period_end <= now:
        ended = Period(home.period_start, home.period_end)
        new = period_of(home.period_end)
        _cashback(session, home, ended, new.start)
        home.period_start, home.period_end = new.start, new.end
        home.period_used_kb = 0
        home.version += 1
        session.add(home)
        check_grace(session, home, new.start)
        if home.status == "active":
            _charge_period_fees(session, home, new, new.start, prorate=False)
        n += 1
    check_grace(session, home, now)
    return n


# ---------------------------------------------------------------- provisioning


def provision(*, session: Session, account_id: int, address: str, contact_msisdn: str, tariff_code: str,
              now: datetime, contract: str | None = None, codes: tuple[str, ...] = (),
              owned: tuple[tuple[str, str], ...] = (), persona: str = "couple",
              opening_kopecks: int = 0) -> HomeAccount:
    """A new contract: the tariff's fee and the connected packages' and options' fees for the rest of the
    month (prorated), equipment rented with the rent options and the customer's own (`owned`: kind, model)."""
    if session.get(Account, account_id) is None:
        raise NotFound("no such account", "Такого клиента нет")
    address = str(address or "").strip()
    if not 5 <= len(address) <= 200:
        raise Invalid("address: 5–200 characters", "Адрес: от 5 до 200 символов", field="address")
    if not is_msisdn(str(contact_msisdn or "")):
        raise Invalid("contact number: 11 digits starting with 7", "Контактный номер: 11 цифр, начиная с 7",
                      field="contact_msisdn")
    tariff = _tariff(session, tariff_code)
    contract = normalize_contract(contract) if contract else new_contract(session)
    if find_home(session, contract) is not None:
        raise Conflict("this contract exists", "Такой договор уже есть")
    period = period_of(now)
    home = HomeAccount(contract=contract, account_id=account_id, address=address, contact_msisdn=contact_msisdn,
                       tariff_code=tariff.code, period_start=period.start, period_end=period.end,
                       persona=persona, created_at=now)
    session.add(home)
    session.flush()
    for kind, model in owned:
        session.add(HomeEquipment(home_account_id=home.id, kind=kind, model=model, serial=_serial(), ownership="owned",
                                  since=now))
    if opening_kopecks:
        post(session, home, opening_kopecks, kind="topup", category="payment", cause_type="payment",
             cause_ref=f"opening:{contract}", description="Первый платёж при подключении",
             description_en="First payment at connection", at=now)
    _charge(session, home, tariff.code, tariff.fee_kopecks, "tariff", tariff.name_ru, tariff.name_en, period, now,
            prorate=True)
    for code in codes:
        connect(session=session, home=home, code=code, now=now)
    return home


def _serial() -> str:
    return "MT" + "".join(secrets.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(10))


# ---------------------------------------------------------------- packages and options


@dataclass
class Quote:
    code: str
    name_ru: str
    name_en: str
    monthly_kopecks: int
    now_kopecks: int  # what connecting costs today (prorated; 0 if already paid for this period)
    remaining_days: int
    period_days: int


def _check_connectable(session: Session, home: HomeAccount, product: HomeProduct) -> None:
    if home.status == "suspended":
        raise Forbidden("the contract is suspended: pay the balance first",
                        "Договор приостановлен: сначала пополните баланс", code="suspended")
    if _active(session, home.id, product.code) is not None:
        raise Conflict("already connected", "Уже подключено")
    tariff = session.get(HomeTariff, home.tariff_code)
    if product.kind == "tv_package":
        if tariff.tv_package_code is None:
            raise Invalid("TV packages need a tariff with TV", "Пакеты каналов доступны на тарифах с ТВ",
                          code="no_tv")
        if tariff.tv_package_code == product.code:
            raise Conflict("this package is included in the tariff", "Этот пакет уже входит в тариф")


def quote(*, session: Session, home: HomeAccount, code: str, now: datetime) -> Quote:
    """The cost first: what connecting `code` costs today and every month after."""
    product = _product(session, code)
    _check_connectable(session, home, product)
    period = Period(home.period_start, home.period_end)
    today = 0 if _fee_charged(session, home, _fee_ref(home, period, product.code)) else \
        fee_for(product.fee_kopecks, period, now, prorate=True)
    return Quote(product.code, product.name_ru, product.name_en, product.fee_kopecks, today,
                 period.remaining_days(now), period.days)


def connect(*, session: Session, home: HomeAccount, code: str, now: datetime) -> Quote:
    q = quote(session=session, home=home, code=code, now=now)
    product = session.get(HomeProduct, q.code)
    session.add(HomeSubscription(home_account_id=home.id, code=product.code, started_at=now))
    if product.code in RENT_EQUIPMENT:
        kind, model = RENT_EQUIPMENT[product.code]
        session.add(HomeEquipment(home_account_id=home.id, kind=kind, model=model, serial=_serial(),
                                  ownership="rented", rent_kopecks=product.fee_kopecks, since=now))
    period = Period(home.period_start, home.period_end)
    _charge(session, home, product.code, product.fee_kopecks, product.kind, product.name_ru, product.name_en,
            period, now, prorate=True)
    home.version += 1
    session.add(home)
    session.flush()
    return q


def disconnect(*, session: Session, home: HomeAccount, code: str, now: datetime) -> None:
    """Stops the next fee; the period's fee already charged stays (nothing is refunded). A rented
    router or box goes back with its rent option."""
    sub = _active(session, home.id, str(code or "")[:32])
    if sub is None:
        raise NotFound("not connected", "Это не подключено")
    sub.active = False
    sub.ended_at = now
    session.add(sub)
    if sub.code in RENT_EQUIPMENT:
        kind, _model = RENT_EQUIPMENT[sub.code]
        for item in session.exec(select(HomeEquipment).where(
                HomeEquipment.home_account_id == home.id, HomeEquipment.kind == kind,
                HomeEquipment.ownership == "rented")).scalars():
            session.delete(item)
    home.version += 1
    session.add(home)
    session.flush()


def equipment(session: Session, home_id: int) -> list[HomeEquipment]:
    return list(session.exec(select(HomeEquipment).where(HomeEquipment.home_account_id == home_id)
                             .order_by(HomeEquipment.id)).scalars())


# ---------------------------------------------------------------- tariff switch


@dataclass
class SwitchPreview:
    code: str
    name_ru: str
    name_en: str
    monthly_kopecks: int
    now_kopecks: int
    remaining_days: int
    period_days: int
    drops: list[str] = field(default_factory=list)  # TV packages that the new tariff cannot carry


def preview_switch(*, session: Session, home: HomeAccount, new_code: str, now: datetime) -> SwitchPreview:
    tariff = _tariff(session, new_code)
    if tariff.code == home.tariff_code:
        raise Conflict("this is your tariff already", "Это ваш текущий тариф")
    if home.status == "suspended":
        raise Forbidden("the contract is suspended: pay the balance first",
                        "Договор приостановлен: сначала пополните баланс", code="suspended")
    period = Period(home.period_start, home.period_end)
    today = 0 if _fee_charged(session, home, _fee_ref(home, period, tariff.code)) else \
        fee_for(tariff.fee_kopecks, period, now, prorate=True)
    drops = []
    if tariff.tv_package_code is None:
        drops = [c for c in active_codes(session, home.id) if session.get(HomeProduct, c).kind == "tv_package"]
    return SwitchPreview(tariff.code, tariff.name_ru, tariff.name_en, tariff.fee_kopecks, today,
                         period.remaining_days(now), period.days, drops)


def switch_tariff(*, session: Session, home: HomeAccount, new_code: str, now: datetime) -> SwitchPreview:
    """The new tariff from today: its fee prorated by the remaining days (rounded up); the old tariff's fee
    for this period stays charged. TV packages go when the new tariff has no TV."""
    preview = preview_switch(session=session, home=home, new_code=new_code, now=now)
    tariff = session.get(HomeTariff, preview.code)
    for code in preview.drops:
        disconnect(session=session, home=home, code=code, now=now)
    home.tariff_code = tariff.code
    _charge(session, home, tariff.code, tariff.fee_kopecks, "tariff", tariff.name_ru, tariff.name_en,
            Period(home.period_start, home.period_end), now, prorate=True)
    home.version += 1
    session.add(home)
    session.flush()
    return preview


# ---------------------------------------------------------------- payments


@dataclass
class HomePayResult:
    payment_id: int
    contract: str
    amount_kopecks: int
    balance_kopecks: int
    status: str  # succeeded | declined
    replayed: bool = False
    decline_reason: str | None = None


def _replay_payment(existing: HomePayment, home: HomeAccount, amount_kopecks: int) -> HomePayResult:
    if existing.home_account_id != home.id or existing.amount_kopecks != amount_kopecks:
        raise Conflict("idempotency_key was already used for another payment",
                       "Этот ключ уже использован для другого платежа", first_amount_kopecks=existing.amount_kopecks)
    balance = existing.balance_after_kopecks if existing.balance_after_kopecks is not None else home.balance_kopecks
    return HomePayResult(existing.id, home.contract, existing.amount_kopecks, balance, existing.status,
                         replayed=True, decline_reason=existing.decline_reason)


def pay(*, session: Session, home: HomeAccount, amount_kopecks: int, key: str, now: datetime,
        method: str = "gateway", card_id: int | None = None, declined: str | None = None,
        what_ru: str = "Оплата", what_en: str = "Payment") -> HomePayResult:
    """Credit a home account once per key (a replay answers the same; another amount under the key: 409).
    `declined`: the card gateway refused (recorded, nothing credited)."""
    from mts_portal.core.billing import validate_key, validate_topup_amount

    validate_topup_amount(amount_kopecks)
    validate_key(key)
    home = lock_home(session, home.id)
    existing = session.exec(select(HomePayment).where(HomePayment.idempotency_key == key)).scalars().first()
    if existing is not None:
        return _replay_payment(existing, home, amount_kopecks)
    rollover(session=session, home=home, now=now)
    payment = HomePayment(idempotency_key=key, home_account_id=home.id, amount_kopecks=amount_kopecks, method=method,
                          card_id=card_id, status="declined" if declined else "succeeded", decline_reason=declined,
                          created_at=now)
    try:
        with session.begin_nested():
            session.add(payment)
            session.flush()
    except IntegrityError:
        existing = session.exec(select(HomePayment).where(HomePayment.idempotency_key == key)
                                .execution_options(populate_existing=True)).scalars().first()
        if existing is None:
            raise
        return _replay_payment(existing, home, amount_kopecks)
    if not declined:
        post(session, home, amount_kopecks, kind="topup", category="payment", cause_type="payment", cause_ref=key,
             description=what_ru, description_en=what_en, at=now)
    payment.balance_after_kopecks = home.balance_kopecks
    session.add(payment)
    session.flush()
    return HomePayResult(payment.id, home.contract, amount_kopecks, home.balance_kopecks, payment.status,
                         decline_reason=declined)


def history(session: Session, home_id: int, limit: int = 200) -> list[HomeLedgerEntry]:
    return list(session.exec(select(HomeLedgerEntry).where(HomeLedgerEntry.home_account_id == home_id)
                             .order_by(HomeLedgerEntry.created_at.desc(), HomeLedgerEntry.id.desc())
                             .limit(limit)).scalars())


def payments_of(session: Session, home_id: int, limit: int = 100) -> list[HomePayment]:
    return list(session.exec(select(HomePayment).where(HomePayment.home_account_id == home_id)
                             .order_by(HomePayment.id.desc()).limit(limit)).scalars())


def returns(session: Session, home_id: int) -> list[HomeLedgerEntry]:
    return list(session.exec(select(HomeLedgerEntry).where(HomeLedgerEntry.home_account_id == home_id,
                                                           HomeLedgerEntry.kind == "cashback")
                             .order_by(HomeLedgerEntry.created_at.desc())).scalars())


# ---------------------------------------------------------------- usage


@dataclass
class UsageResult:
    status: str  # recorded | suspended
    counted_kb: int = 0
    throttled_bytes: int = 0
    capped: bool = False


def is_capped(session: Session, home: HomeAccount) -> bool:
    cap = session.get(HomeTariff, home.tariff_code).cap_kb
    return cap is not None and home.period_used_kb >= cap


def record_usage(*, session: Session, home: HomeAccount, day: date, sessions: int, bytes_down: int, bytes_up: int,
                 tv_minutes: int, now: datetime) -> UsageResult:
    """Add a household's internet sessions and TV viewing to its day. Nothing is charged per unit; a
    capped tariff counts up to its cap and carries the rest at 1 Mbit/s (throttled, not counted)."""
    for name, value in (("sessions", sessions), ("bytes_down", bytes_down), ("bytes_up", bytes_up),
                        ("tv_minutes", tv_minutes)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise Invalid(f"{name}: a whole number ≥ 0", f"{name}: целое число ≥ 0", field=name)
    if home.status == "suspended":
        return UsageResult("suspended")
    rollover(session=session, home=home, now=now)
    if home.status == "suspended":
        return UsageResult("suspended")
    tariff = session.get(HomeTariff, home.tariff_code)
    total = bytes_down + bytes_up
    kb = ceil_div(total, 1024)
    throttled = 0
    if tariff.cap_kb is not None:
        room = max(0, tariff.cap_kb - home.period_used_kb)
        if kb > room:
            throttled = total - room * 1024
            kb = room
    if tariff.tv_package_code is None:
        tv_minutes = 0
    row = session.exec(select(HomeUsageDay).where(HomeUsageDay.home_account_id == home.id,
                                                  HomeUsageDay.day == day)).scalars().first()
    if row is None:
        row = HomeUsageDay(home_account_id=home.id, day=day)
    row.sessions += sessions
    row.bytes_down += bytes_down
    row.bytes_up += bytes_up
    row.throttled_bytes += max(0, throttled)
    row.tv_minutes += tv_minutes
    session.add(row)
    home.period_used_kb += kb
    home.version += 1
    session.add(home)
    session.flush()
    return UsageResult("recorded", kb, max(0, throttled), is_capped(session, home))


def usage_days(session: Session, home_id: int, since: date) -> list[HomeUsageDay]:
    return list(session.exec(select(HomeUsageDay).where(HomeUsageDay.home_account_id == home_id,
                                                        HomeUsageDay.day >= since)
                             .order_by(HomeUsageDay.day)).scalars())


# ---------------------------------------------------------------- requests


def _check_phone(value: str) -> str:
    from mts_portal.core.auth import normalize_msisdn

    try:
        number = normalize_msisdn(value)
    except Exception:
        number = ""
    if not is_msisdn(number):
        raise Invalid("contact number: +7 and 10 digits", "Контактный номер: +7 и 10 цифр", field="contact")
    return number


def _new_request(session: Session, kind: str, now: datetime, **values) -> HomeRequest:
    req = HomeRequest(number=secrets.token_hex(8), kind=kind, status="new", created_at=now, updated_at=now, **values)
    session.add(req)
    session.flush()
    d = moscow_date(now)
    req.number = f"{'CN' if kind == 'connect' else 'PR'}-{d:%y%m}-{req.id:06d}"
    session.add(req)
    session.flush()
    return req


def file_connect_request(*, session: Session, account_id: int, address: str, services: list[str], contact: str,
                         call_time: str, now: datetime, home_account_id: int | None = None) -> HomeRequest:
    """«Заявка на подключение»: the operator calls back in working hours."""
    address = str(address or "").strip()
    if not 5 <= len(address) <= 200:
        raise Invalid("address: 5–200 characters", "Адрес: от 5 до 200 символов", field="address")
    wanted = [s for s in dict.fromkeys(str(x) for x in (services or []))]
    if not wanted or any(s not in CONNECT_SERVICES for s in wanted):
        raise Invalid("choose the services you want", "Выберите, что подключить", field="services")
    number = _check_phone(contact)
    call_time = str(call_time or "").strip()[:64]
    if not call_time:
        raise Invalid("choose a time to call", "Выберите удобное время звонка", field="call_time")
    req = _new_request(session, "connect", now, account_id=account_id, home_account_id=home_account_id,
                       contact_msisdn=number, address=address, services=",".join(wanted), call_time=call_time)
    session.add(SmsMessage(to_msisdn=number, sender=SENDER, created_at=now,
                           text=f"Заявка на подключение {req.number} принята. Мы позвоним Вам в рабочее время "
                                f"({call_time})."))
    return req


def file_problem(*, session: Session, account_id: int, home: HomeAccount, service: str, text: str,
                 now: datetime) -> HomeRequest:
    """«Сообщить о проблеме» with a service of the contract."""
    if service not in PROBLEM_SERVICES:
        raise Invalid("choose the service", "Выберите услугу", field="service")
    text = str(text or "").strip()
    if not 5 <= len(text) <= MAX_TEXT:
        raise Invalid(f"describe the problem: 5–{MAX_TEXT} characters",
                      f"Опишите проблему: от 5 до {MAX_TEXT} символов", field="text")
    req = _new_request(session, "problem", now, account_id=account_id, home_account_id=home.id,
                       contact_msisdn=home.contact_msisdn, address=home.address, service=service, text=text)
    _sms(session, home, f"Обращение {req.number} принято. Мы сообщим, когда проблема будет решена.", now)
    return req


def requests_of(session: Session, *, account_id: int, home_account_id: int | None) -> list[HomeRequest]:
    q = select(HomeRequest).where(HomeRequest.account_id == account_id)
    if home_account_id is not None:
        q = select(HomeRequest).where((HomeRequest.account_id == account_id)
                                      | (HomeRequest.home_account_id == home_account_id))
    return list(session.exec(q.order_by(HomeRequest.id.desc()).limit(50)).scalars())


def status_word(status: str, lang: str = "ru") -> str:
    pair = STATUS_WORDS.get(status, (status, status))
    return pair[1] if lang == "en" else pair[0]


def advance(*, session: Session, number: str, to_status: str, now: datetime) -> HomeRequest:
    """Move a request on (new → in_work → done; never back). The contact number gets an SMS."""
    req = session.exec(select(HomeRequest).where(HomeRequest.number == str(number or "")[:16])
                       .with_for_update()).scalars().first()
    if req is None:
        raise NotFound("no such request", "Такой заявки нет")
    if to_status not in REQUEST_STATUSES:
        raise Invalid("status: new, in_work or done", "Статус: new, in_work или done", field="status")
    if REQUEST_STATUSES.index(to_status) <= REQUEST_STATUSES.index(req.status):
        raise Conflict(f"the request is {req.status} already", f"Заявка уже «{status_word(req.status)}»")
    req.status = to_status
    req.updated_at = now
    session.add(req)
    session.add(SmsMessage(to_msisdn=req.contact_msisdn, sender=SENDER, created_at=now,
                           text=f"{'Заявка' if req.kind == 'connect' else 'Обращение'} {req.number}: "
                                f"{status_word(to_status)}."))
    session.flush()
    return req


def advance_due(*, session: Session, now: datetime) -> int:
    """Demo mode: requests move on by themselves (2 minutes new, 10 minutes in work)."""
    n = 0
    for status, wait in DEMO_STEP.items():
        nxt = REQUEST_STATUSES[REQUEST_STATUSES.index(status) + 1]
        for number in list(session.exec(select(HomeRequest.number).where(
                HomeRequest.status == status, HomeRequest.updated_at <= now - wait).limit(200)).scalars()):
            advance(session=session, number=number, to_status=nxt, now=now)
            n += 1
    return n


STATUS_SMS_LIMIT = 5  # an hour, per account


def status_sms(*, session: Session, account_id: int, home: HomeAccount | None, to_msisdn: str,
               now: datetime) -> int:
    """«Запросить статус обращений»: one SMS to the contact number with every request's status."""
    from mts_portal.core.auth import RATE_WINDOW
    from mts_portal.core.errors import RateLimited
    from mts_portal.core.models import RateEvent

    key = f"hstatus:{account_id}"
    sent = session.exec(select(func.count()).select_from(RateEvent).where(
        RateEvent.key == key, RateEvent.at > now - RATE_WINDOW)).scalar_one()
    if sent >= STATUS_SMS_LIMIT:
        raise RateLimited("too many status requests; try again in an hour",
                          "Слишком много запросов статуса. Попробуйте через час")
    reqs = requests_of(session, account_id=account_id, home_account_id=home.id if home else None)
    if not reqs:
        raise NotFound("you have no requests yet", "У вас пока нет заявок и обращений")
    session.add(RateEvent(key=key, at=now))
    lines = [f"{r.number} — {status_word(r.status)}" for r in reqs[:8]]
    session.add(SmsMessage(to_msisdn=to_msisdn, sender=SENDER, created_at=now,
                           text="Статус обращений: " + "; ".join(lines) + "."))
    session.flush()
    return len(reqs)


# ---------------------------------------------------------------- invariants


def check_invariants(*, session: Session, home_ids: list[int] | None = None) -> list[str]:
    """balance = sum of its ledger rows, and the last row's balance_after is the balance."""
    problems: list[str] = []
    q = select(HomeAccount)
    if home_ids is not None:
        q = q.where(HomeAccount.id.in_(home_ids))
    sums = dict(session.exec(select(HomeLedgerEntry.home_account_id, func.sum(HomeLedgerEntry.amount_kopecks))
                             .group_by(HomeLedgerEntry.home_account_id)).all())
    for home in session.exec(q).scalars():
        total = int(sums.get(home.id) or 0)
        if total != home.balance_kopecks:
            problems.append(f"home {home.contract}: balance {home.balance_kopecks} != ledger sum {total}")
        last = session.exec(select(HomeLedgerEntry.balance_after).where(HomeLedgerEntry.home_account_id == home.id)
                            .order_by(HomeLedgerEntry.id.desc()).limit(1)).scalar()
        if last is not None and last != home.balance_kopecks:
            problems.append(f"home {home.contract}: last balance_after {last} != balance {home.balance_kopecks}")
        if home.status == "suspended" and home.balance_kopecks >= 0:
            problems.append(f"home {home.contract}: suspended with a balance ≥ 0")
    return problems


def due_ids(session: Session, now: datetime, limit: int = 200) -> list[int]:
    """Contracts with a period start or a grace end due."""
    return list(session.exec(select(HomeAccount.id).where(
        (HomeAccount.period_end <= now)
        | ((HomeAccount.status == "active") & (HomeAccount.negative_since.is_not(None))
           & (HomeAccount.negative_since <= now - GRACE))).order_by(HomeAccount.id).limit(limit)).scalars())

