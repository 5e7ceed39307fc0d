"""Access to home internet and TV contracts (issue 17), on the same rules as mobile logins (core/auth.py):

- Login by contract number + password, or by a one-time code sent to the contract's contact mobile.
  Codes: 6 digits, 10 minutes, single use, the newer voids the older, at most 5 an hour per contract
  and the per-client limit of mobile codes.
- 3 wrong attempts (passwords and codes alike) lock the contract's login for 10 minutes: one guard per
  contract, keyed 'h' + 10 hex digits of SHA-256(contract), row-locked like the numbers' guards.
- Anti-enumeration: an unknown contract gets the same answers as a known one (the same code answer with
  nothing delivered, the same wrong-password work and message, the same lockout).
- Sessions are the mobile ones (20 minutes idle, 12 hours absolute, ticket bound to the browser's
  pre-login nonce); a home login's session has no line and reaches no line (auth.require_line).
- Recovery: a code valid 15 minutes to the contact mobile sets a new password and ends the contract's
  other sessions.
- Multi-account: a mobile login links a contract after a code sent to its contact mobile; the header
  then lists both kinds. A mobile session reaches only the contracts linked to its account; a home
  session only its own contract.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from mts_portal.core import auth, home
from mts_portal.core.errors import Conflict, Invalid, NotFound, Unauthorized
from mts_portal.core.models import (
    AuthSession,
    HomeAccount,
    HomeCredential,
    HomeLink,
    OtpCode,
    RateEvent,
    SmsMessage,
)

RECOVERY_TTL = timedelta(minutes=15)
TEXTS = {
    "home_login": "Код для входа в личный кабинет «Интернет и ТВ» (договор {contract}): {code}. Никому его не сообщайте.",
    "home_recover": "Код для восстановления пароля по договору {contract}: {code}. Действует 15 минут.",
    "home_link": "Договор {contract} просят добавить в мультиаккаунт номера {by}. Код: {code}. "
                 "Если это не вы — никому не сообщайте его.",
}
TTL = {"home_login": auth.CODE_TTL, "home_recover": RECOVERY_TTL, "home_link": auth.CODE_TTL}
BAD_LOGIN_EN = "wrong contract number or password"
BAD_LOGIN_RU = "Неверный номер договора или пароль"


def guard_key(contract: str) -> str:
    return "h" + hashlib.sha256(f"contract:{contract}".encode()).hexdigest()[:10]


def _guarded(purpose: str) -> bool:
    return purpose in ("home_login", "home_recover")


def send_code(*, session: Session, contract_text: str, purpose: str, client: str, now: datetime,
              account_id: int | None = None, by: str = "") -> auth.CodeRequest:
    """A code to the contract's contact mobile; an unknown contract gets the same answer, nothing is sent."""
    contract = home.normalize_contract(contract_text)
    key = f"h{contract}"
    auth.check_send_allowed(session=session, msisdn=key, client=client, now=now)
    if _guarded(purpose):
        auth._check_not_locked(auth._guard(session, guard_key(contract)), now)
    session.add(RateEvent(key=f"sms:{key}", at=now))
    if client:
        session.add(RateEvent(key=f"client:{client[:64]}", at=now))
    acc = home.find_home(session, contract)
    contact = acc.contact_msisdn if acc else ""
    session.execute(update(OtpCode).where(OtpCode.payload == contract, OtpCode.purpose == purpose,
                                          OtpCode.used_at.is_(None), OtpCode.voided == False)  # noqa: E712
                    .values(voided=True))
    attempt_id = secrets.token_urlsafe(24)
    code = auth.new_code()
    ttl = TTL[purpose]
    session.add(OtpCode(msisdn=contact, purpose=purpose, attempt_id=attempt_id,
                        code_hash=auth._code_hash(attempt_id, code), account_id=account_id, payload=contract,
                        client=client[:64], created_at=now, expires_at=now + ttl))
    if acc is not None:
        session.add(SmsMessage(to_msisdn=contact, sender="MTS", created_at=now,
                               text=TEXTS[purpose].format(contract=contract, code=code, by=by)))
    session.flush()
    return auth.CodeRequest(attempt_id, "", now + ttl)


def _check(session: Session, contract: str, attempt_id: str, code: str, purpose: str, now: datetime,
           account_id: int | None = None) -> HomeAccount:
    acc = home.find_home(session, contract)
    auth.check_code(session=session, attempt_id=attempt_id, msisdn=acc.contact_msisdn if acc else "",
                    code=code, purpose=purpose, now=now, account_id=account_id, deny=acc is None,
                    guard_key=guard_key(contract) if _guarded(purpose) else None, payload=contract)
    return acc


def login_with_code(*, session: Session, contract_text: str, attempt_id: str, code: str, now: datetime,
                    binding: str | None = None, session_now: datetime | None = None) -> auth.LoginGrant:
    contract = home.normalize_contract(contract_text)
    acc = _check(session, contract, attempt_id, code, "home_login", now)
    return auth.grant_home(session, acc.id, session_now or now, binding, via="code")


def login_with_password(*, session: Session, contract_text: str, password: str, now: datetime,
                        binding: str | None = None, session_now: datetime | None = None) -> auth.LoginGrant:
    contract = home.normalize_contract(contract_text)
    guard = auth._guard(session, guard_key(contract))
    auth._check_not_locked(guard, now)
    acc = home.find_home(session, contract)
    cred = session.get(HomeCredential, acc.id) if acc is not None else None
    try:
        auth._hasher.verify(cred.password_hash if cred else auth._DUMMY_HASH, str(password or ""))
        ok = cred is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok:
        auth._fail(session, guard, now)
        auth._check_not_locked(guard, now)
        left = max(0, auth.LOCK_AFTER_FAILURES - guard.failures)
        raise Unauthorized(f"{BAD_LOGIN_EN} ({left} attempts left)", f"{BAD_LOGIN_RU}. Осталось попыток: {left}",
                           attempts_left=left)
    auth._succeed(session, guard)
    return auth.grant_home(session, acc.id, session_now or now, binding, via="password")


def _store_password(session: Session, home_id: int, password: str, now: datetime, keep_session: int | None) -> None:
    cred = session.get(HomeCredential, home_id)
    if cred is None:
        session.add(HomeCredential(home_account_id=home_id, password_hash=auth._hasher.hash(password), updated_at=now))
    else:
        cred.password_hash = auth._hasher.hash(password)
        cred.updated_at = now
        session.add(cred)
    q = update(AuthSession).where(AuthSession.login_home_id == home_id, AuthSession.ended_at.is_(None))
    if keep_session is not None:
        q = q.where(AuthSession.id != keep_session)
    session.execute(q.values(ended_at=now, ended_reason="password"))


def recover(*, session: Session, contract_text: str, attempt_id: str, code: str, new_password: str,
            now: datetime) -> None:
    """Set a new password with the 15-minute recovery code; every session of the contract ends."""
    contract = home.normalize_contract(contract_text)
    auth.check_password_policy(new_password)
    acc = _check(session, contract, attempt_id, code, "home_recover", now)
    _store_password(session, acc.id, new_password, now, keep_session=None)
    home._sms(session, acc, f"Пароль для входа по договору {contract} изменён.", now)


def set_password(*, session: Session, info: auth.SessionInfo, new_password: str, now: datetime) -> None:
    """The first password right after a code login (within 15 minutes of it), as for mobile logins."""
    if not info.is_home:
        raise Invalid("not a home login", "Это не вход по договору")
    auth.check_password_policy(new_password)
    if session.get(HomeCredential, info.login_home_id) is not None:
        raise Conflict("the contract has a password; change it by a recovery code",
                       "Пароль уже задан: сменить его можно кодом восстановления")
    if now - info.created_at > timedelta(minutes=15):
        raise Invalid("log in by code again to set a password", "Войдите по коду ещё раз, чтобы задать пароль")
    _store_password(session, info.login_home_id, new_password, now, keep_session=info.session_id)


# ---------------------------------------------------------------- what a session reaches


def homes_of(session: Session, info: auth.SessionInfo) -> list[HomeAccount]:
    """The contracts a session may see: a home login its own; a mobile login the linked ones."""
    if info.is_home:
        return [session.get(HomeAccount, info.login_home_id)]
    linked = select(HomeLink.home_account_id).where(HomeLink.account_id == info.account_id)
    return list(session.exec(select(HomeAccount).where(HomeAccount.id.in_(linked))
                             .order_by(HomeAccount.id)).scalars())


def can_access(session: Session, info: auth.SessionInfo, acc: HomeAccount) -> bool:
    if info.is_home:
        return acc.id == info.login_home_id
    return session.exec(select(HomeLink.id).where(HomeLink.account_id == info.account_id,
                                                  HomeLink.home_account_id == acc.id)).first() is not None


def require_home(session: Session, info: auth.SessionInfo, contract_text: str) -> HomeAccount:
    """The contract a request names, if the session reaches it; otherwise NotFound (the same answer as
    for a contract that does not exist)."""
    try:
        contract = home.normalize_contract(contract_text)
    except Invalid:
        raise NotFound("no such contract in your cabinet", "Такого договора нет в вашем кабинете") from None
    acc = home.find_home(session, contract)
    if acc is None or not can_access(session, info, acc):
        raise NotFound("no such contract in your cabinet", "Такого договора нет в вашем кабинете")
    return acc


def current_home(session: Session, info: auth.SessionInfo) -> HomeAccount | None:
    """The contract the session shows: the selected one if it still reaches it, else its first."""
    homes = homes_of(session, info)
    for acc in homes:
        if acc.id == info.home_account_id:
            return acc
    return homes[0] if homes else None


def select_home(*, session: Session, token: str, info: auth.SessionInfo, contract: str) -> HomeAccount:
    acc = require_home(session, info, contract)
    row = session.exec(select(AuthSession).where(AuthSession.id == info.session_id)).scalars().one()
    row.home_account_id = acc.id
    session.add(row)
    info.home_account_id = acc.id
    return acc


def request_link(*, session: Session, info: auth.SessionInfo, contract_text: str, client: str,
                 now: datetime) -> auth.CodeRequest:
    """Multi-account, step 1: a code to the contract's contact mobile (an unknown contract: the same answer)."""
    if info.is_home:
        raise Invalid("log in with your mobile number to link a contract",
                      "Чтобы добавить договор, войдите по номеру телефона")
    return send_code(session=session, contract_text=contract_text, purpose="home_link", client=client, now=now,
                     account_id=info.account_id, by=auth.format_msisdn(info.login_msisdn))


def confirm_link(*, session: Session, info: auth.SessionInfo, contract_text: str, attempt_id: str, code: str,
                 now: datetime) -> HomeAccount:
    contract = home.normalize_contract(contract_text)
    acc = _check(session, contract, attempt_id, code, "home_link", now, account_id=info.account_id)
    if can_access(session, info, acc):
        raise Conflict("this contract is in your cabinet already", "Этот договор уже в вашем кабинете")
    try:
        with session.begin_nested():
            session.add(HomeLink(account_id=info.account_id, home_account_id=acc.id, created_at=now))
            session.flush()
    except IntegrityError:
        raise Conflict("this contract is in your cabinet already", "Этот договор уже в вашем кабинете") from None
    home._sms(session, acc, f"Договор {contract} добавлен в мультиаккаунт номера "
              f"{auth.format_msisdn(info.login_msisdn)}.", now)
    return acc


def unlink(*, session: Session, info: auth.SessionInfo, contract_text: str) -> None:
    acc = require_home(session, info, contract_text)
    if info.is_home:
        raise Invalid("a home login cannot unlink its own contract", "Свой договор отвязать нельзя")
    for link in session.exec(select(HomeLink).where(HomeLink.account_id == info.account_id,
                                                    HomeLink.home_account_id == acc.id)).scalars():
        session.delete(link)
