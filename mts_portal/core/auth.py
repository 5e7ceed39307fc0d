"""Access (DESIGN §2 "Access"; issue: SMS-code login, passwords, lockout, sessions).

- One-time codes: 6 digits from `secrets`, stored only as HMAC-SHA256(server
  secret, attempt_id:code), valid 10 minutes, single use, bound to the attempt
  they were sent for; a newer code voids the older ones; sending is limited per
  number (5 an hour) and per client.
- 3 wrong attempts (login codes, passwords, the current password in Settings)
  lock a number's login for 10 minutes; add-number and transfer codes have a
  guard per number + purpose + account. Guards are row-locked, so parallel
  guesses are counted one by one (PostgreSQL too). Known and unknown numbers
  get the same answers.
- «Аппарат утрачен»: no code of any purpose reaches a lost number, it cannot be
  added to an account, and only another number of its own account unblocks it.
- Passwords: argon2id (argon2-cffi), at least 8 characters; a change ends the
  account's other sessions.
- Sessions: server-side; the browser holds a 256-bit random token, the store
  only its SHA-256; 20 minutes idle (+ the 15 s write granularity, never
  early), 12 hours absolute; logout ends it. Login tickets are bound to the
  browser's pre-login nonce (login CSRF).
- Authorization: every number a request names must belong to the session's
  account (owned, or added by code through «Управление номерами»).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from mts_portal.core import notify, phones
from mts_portal.core.errors import (
    Conflict,
    Forbidden,
    Invalid,
    Locked,
    NotFound,
    RateLimited,
    Unauthorized,
)
from mts_portal.core.events import is_msisdn
from mts_portal.core.lines import get_line, notify_line, recompute_status, touch
from mts_portal.core.models import (
    Account,
    AccountLink,
    AuthSession,
    Credential,
    Line,
    LoginGuard,
    LoginTicket,
    OtpCode,
    RateEvent,
    SmsMessage,
    Subscription,
)
from mts_portal.core.settings import get_settings, secret_key

CODE_TTL = timedelta(minutes=10)
LOCK_AFTER_FAILURES = 3
LOCK_FOR = timedelta(minutes=10)
IDLE_TIMEOUT = timedelta(minutes=20)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
RATE_WINDOW = timedelta(hours=1)
MIN_PASSWORD = 8
MAX_PASSWORD = 128
TOUCH_EVERY = timedelta(seconds=15)  # last_seen_at is written at most this often
# last_seen_at can lag the real last activity by up to TOUCH_EVERY, so the idle deadline adds it:
# a user active at t is never logged out before t + 20 min, and always by t + 20 min + 15 s
IDLE_DEADLINE = IDLE_TIMEOUT + TOUCH_EVERY
TICKET_TTL = timedelta(seconds=60)
NONCE_MAX = 128  # the pre-login nonce cookie (login CSRF binding): secrets.token_urlsafe(32) is 43 characters
# code purposes whose wrong attempts count against the number's LOGIN guard (the number's holder enters
# them); the others (add_number, transfer) get a guard per number + purpose + account, so a stranger's
# wrong add-number codes cannot lock the owner out of their own login
LOGIN_GUARDED = frozenset({"login", "password"})

# OWASP's argon2id baseline (m=19 MiB, t=2, p=1): ~30 ms here, fine for logins
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))



def hash_password(password: str) -> str:
    return _hasher.hash(password)


GENERIC_BAD_CREDENTIALS_RU = "Неверный номер, пароль или код"
GENERIC_BAD_CREDENTIALS_EN = "Wrong number, password or code"


# ---------------------------------------------------------------- helpers


def normalize_msisdn(text: str) -> str:
    """A number a person typed -> '79161234567' (a Russian mobile number; see core/phones.py, which
    parses it with libphonenumber); raises Invalid with the reason."""
    return phones.normalize_mobile(text)


def format_msisdn(msisdn: str) -> str:
    """'79161234567' -> '+7 916 123-45-67'."""
    return phones.format_number(msisdn)


def contract_number(account_id: int) -> str:
    """The subscriber contract (personal account) a line belongs to, as printed on «Мои номера» and in
    documents: the account's id in the operator's 12-digit form with its region prefix (77: Moscow),
    '77' + 10 digits -> '770000001234'."""
    return f"77{int(account_id):010d}"


def _code_hash(attempt_id: str, code: str) -> str:
    return hmac.new(secret_key(), f"{attempt_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def typed_code(text: str | None) -> str | None:
    """The one rule of every one-time-code field (login, adding a number, transfers, password change,
    parental control): spaces and dashes are ignored; what is left must be exactly 6 ASCII digits.
    Anything else (letters, too short, empty) is not a code: None, said as a format error and never
    counted as a wrong attempt."""
    code = "".join(ch for ch in str(text or "") if ch not in " -\u00a0")
    return code if len(code) == 6 and code.isascii() and code.isdigit() else None


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _serialize(session: Session, key: str) -> None:
    """Serialise the transactions that count and then add to one rate key (PostgreSQL: a transaction-scoped
    advisory lock; SQLite: the write transaction is already exclusive, BEGIN IMMEDIATE)."""
    if _dialect(session) == "postgresql":
        lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_id})


def _rate_limited(session: Session, key: str, limit: int, now: datetime) -> bool:
    count = session.exec(
        select(func.count()).select_from(RateEvent).where(RateEvent.key == key, RateEvent.at > now - RATE_WINDOW)
    ).scalar_one()
    return count >= limit


def check_send_allowed(*, session: Session, msisdn: str, client: str, now: datetime) -> None:
    """Raise RateLimited when no more codes may go to `msisdn` or be asked for by `client` this hour.
    Takes the rate keys' locks first (in this order: number, client), so counting and adding are atomic."""
    settings = get_settings()
    _serialize(session, f"sms:{msisdn}")
    if client:
        _serialize(session, f"client:{client[:64]}")
    if _rate_limited(session, f"sms:{msisdn}", settings.code_limit_per_number, now):
        raise RateLimited("too many codes for this number; try again in an hour",
                          "Слишком много запросов кода на этот номер. Попробуйте через час")
    if client and _rate_limited(session, f"client:{client[:64]}", settings.code_limit_per_client, now):
        raise RateLimited("too many codes requested from this device; try again later",
                          "Слишком много запросов кода. Попробуйте позже")


def _guard_key(msisdn: str, purpose: str = "login", account_id: int | None = None) -> str:
    """The login guard of a number is keyed by the number itself. Other code purposes get their own key:
    'g' + 10 hex digits of SHA-256(number:purpose:account) — never all digits, so it cannot meet a number,
    and short enough for the guard table's 11-character key."""
    if purpose in LOGIN_GUARDED:
        return msisdn
    return "g" + hashlib.sha256(f"{msisdn}:{purpose}:{account_id}".encode()).hexdigest()[:10]


def _guard(session: Session, key: str) -> LoginGuard:
    """The guard row of `key`, created if missing (race-free) and locked for this transaction (PostgreSQL:
    FOR UPDATE; SQLite: the write transaction is exclusive). Concurrent attempts on one key therefore run one
    after another, each seeing the failures the previous one committed."""
    dialect = _dialect(session)
    if dialect == "postgresql":
        session.execute(pg_insert(LoginGuard).values(msisdn=key, failures=0)
                        .on_conflict_do_nothing(index_elements=["msisdn"]))
    elif dialect == "sqlite":
        session.execute(sqlite_insert(LoginGuard).values(msisdn=key, failures=0)
                        .on_conflict_do_nothing(index_elements=["msisdn"]))
    elif session.get(LoginGuard, key) is None:
        session.add(LoginGuard(msisdn=key, failures=0))
        session.flush()
    return session.exec(
        select(LoginGuard).where(LoginGuard.msisdn == key).with_for_update()
        .execution_options(populate_existing=True)
    ).scalars().one()


def _check_not_locked(guard: LoginGuard, now: datetime) -> None:
    if guard.locked_until is not None and now < guard.locked_until:
        left = guard.locked_until - now
        minutes, seconds = divmod(int(left.total_seconds()) + (1 if left.microseconds else 0), 60)
        if guard.msisdn.isdigit() or guard.msisdn.startswith("h"):  # a number's or a contract's login guard
            en, ru = "login locked", "Вход заблокирован"
        else:  # the guard of an add-number / transfer code
            en, ru = "code entry locked", "Ввод кода заблокирован"
        raise Locked(
            f"too many wrong attempts: {en} for {minutes} min {seconds:02d} s",
            f"Слишком много неверных попыток. {ru} ещё на {minutes} мин {seconds:02d} с",
            locked_until=guard.locked_until.isoformat(), seconds_left=minutes * 60 + seconds,
        )


def _fail(session: Session, guard: LoginGuard, now: datetime) -> None:
    """Count a wrong attempt; the third one locks. The caller commits this even though it raises
    (transact(..., keep_on=(Unauthorized, Locked)))."""
    if guard.locked_until is not None and now >= guard.locked_until:
        guard.failures = 0
        guard.locked_until = None
    guard.failures += 1
    if guard.failures >= LOCK_AFTER_FAILURES:
        guard.locked_until = now + LOCK_FOR
    session.add(guard)
    session.flush()


def _succeed(session: Session, guard: LoginGuard) -> None:
    guard.failures = 0
    guard.locked_until = None
    session.add(guard)


# ---------------------------------------------------------------- one-time codes


@dataclass
class CodeRequest:
    attempt_id: str
    msisdn: str
    expires_at: datetime


PURPOSE_TEXT = {
    "login": ("Код для входа в Мой МТС: {code}. Никому его не сообщайте.", "MTS login code: {code}."),
    "add_number": ("Этот номер просят добавить в другой личный кабинет ({by}). Код для добавления номера: "
                   "{code}. Никому не сообщайте его, даже сотрудникам МТС. Если номер добавляете не вы — "
                   "ничего не делайте.",
                   "Someone ({by}) asks to add this number to another account. Code: {code}. "
                   "Do not share it with anyone. If this is not you, ignore this SMS."),
    "transfer": ("Код подтверждения перевода {amount} на номер {to}: {code}.", "Transfer confirmation code: {code}."),
    "password": ("Код для смены пароля: {code}.", "Password change code: {code}."),
    "parental": ("Номер {by} просит подключить ваш номер к «Родительскому контролю»: родитель будет видеть "
                 "расходы и сможет ограничить траты, подписки и ночной интернет. Код: {code}. Если вы не "
                 "согласны — никому его не сообщайте.",
                 "{by} asks to put this number under Parental control. Code: {code}. If you do not agree, "
                 "do not share it."),
}


def request_code(
    *,
    session: Session,
    msisdn: str,
    purpose: str,
    client: str,
    now: datetime,
    account_id: int | None = None,
    payload: str | None = None,
    text_args: dict | None = None,
) -> CodeRequest:
    """Send a one-time code to a number's SMS inbox. The same answer whether or not the number is ours:
    no code of any purpose is delivered to an unknown number or to one marked «Аппарат утрачен»."""
    if purpose not in PURPOSE_TEXT:
        raise Invalid(f"unknown code purpose {purpose!r}")
    check_send_allowed(session=session, msisdn=msisdn, client=client, now=now)
    if purpose == "login":
        _check_not_locked(_guard(session, msisdn), now)
    session.add(RateEvent(key=f"sms:{msisdn}", at=now))
    if client:
        session.add(RateEvent(key=f"client:{client[:64]}", at=now))
    # a newer code voids the older ones of the same purpose
    session.execute(
        update(OtpCode).where(OtpCode.msisdn == msisdn, OtpCode.purpose == purpose, OtpCode.used_at.is_(None),
                              OtpCode.voided == False).values(voided=True)  # noqa: E712
    )
    attempt_id = secrets.token_urlsafe(24)
    code = new_code()
    line = session.exec(select(Line).where(Line.msisdn == msisdn)).scalars().first()
    session.add(OtpCode(
        msisdn=msisdn, purpose=purpose, attempt_id=attempt_id, code_hash=_code_hash(attempt_id, code),
        account_id=account_id, payload=payload, client=client[:64], created_at=now, expires_at=now + CODE_TTL,
    ))
    if line is not None and not line.is_lost:  # whoever holds a lost device gets no code of any kind
        text_ru = PURPOSE_TEXT[purpose][0].format(code=code, **(text_args or {}))
        session.add(SmsMessage(to_msisdn=msisdn, sender="MTS", text=text_ru, created_at=now))
    session.flush()
    return CodeRequest(attempt_id, msisdn, now + CODE_TTL)


def check_code(*, session: Session, attempt_id: str, msisdn: str, code: str, purpose: str, now: datetime,
               account_id: int | None = None, deny: bool = False, guard_key: str | None = None,
               payload: str | None = None) -> OtpCode:
    """Consume a code. Wrong / expired / reused / voided codes count as a failed attempt (so does any
    code when `deny`: the caller refuses this attempt whatever the code, with the same answer).

    The guard row is locked first, so concurrent guesses are compared one at a time and the third wrong
    one locks the rest out; the code row is locked and marked used with a conditional UPDATE, so a code
    is accepted once even when presented twice at the same moment."""
    key = guard_key or _guard_key(msisdn, purpose, account_id)  # a home login: the contract's guard
    guard = _guard(session, key)
    _check_not_locked(guard, now)
    row = session.exec(
        select(OtpCode).where(OtpCode.attempt_id == str(attempt_id or "")[:64]).with_for_update()
        .execution_options(populate_existing=True)
    ).scalars().first()
    code = str(code or "").strip()
    ok = (
        not deny
        and row is not None
        and row.msisdn == msisdn
        and row.purpose == purpose
        and (account_id is None or row.account_id == account_id)
        and (payload is None or row.payload == payload)
        and row.used_at is None
        and not row.voided
        and now < row.expires_at
        and len(code) == 6
        and code.isdigit()
        and hmac.compare_digest(row.code_hash, _code_hash(row.attempt_id, code))
    )
    if ok:  # single use, also against a concurrent consumer
        ok = session.execute(
            update(OtpCode).where(OtpCode.id == row.id, OtpCode.used_at.is_(None)).values(used_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount == 1
    if not ok:
        _fail(session, guard, now)
        left = max(0, LOCK_AFTER_FAILURES - guard.failures)
        _check_not_locked(guard, now)
        raise Unauthorized(
            f"wrong or expired code ({left} attempts left)",
            f"Неверный или устаревший код. Осталось попыток: {left}",
            attempts_left=left,
        )
    set_committed_value(row, "used_at", now)
    _succeed(session, guard)
    return row


# ---------------------------------------------------------------- sessions


@dataclass
class SessionInfo:
    session_id: int
    account_id: int
    login_line_id: int
    selected_line_id: int
    login_msisdn: str
    selected_msisdn: str
    created_at: datetime
    last_seen_at: datetime
    has_password: bool
    login_home_id: int | None = None  # a home login (contract number): no line at all (issue 17)
    home_account_id: int | None = None  # the home account the home section shows

    @property
    def is_home(self) -> bool:
        return self.login_home_id is not None


@dataclass
class LoginResult:
    token: str
    info: SessionInfo
    first_login: bool  # no password yet: offer to set one


@dataclass
class LoginGrant:
    """Credentials were right: this one-time ticket becomes a session at /api/v1/session/establish."""

    ticket: str
    msisdn: str


def binding_hash(nonce: str | None) -> str | None:
    """SHA-256 of a browser's pre-login nonce (the HttpOnly cookie set by /api/v1/session/prelogin)."""
    nonce = str(nonce or "")
    if not nonce or len(nonce) > NONCE_MAX:
        return None
    return hashlib.sha256(nonce.encode()).hexdigest()


def _grant(session: Session, line: Line, now: datetime, binding: str | None = None, via: str = "") -> LoginGrant:
    """A one-time ticket for `line`; `via` (code | password | console) is kept on the session it becomes."""
    ticket = secrets.token_urlsafe(32)
    session.add(LoginTicket(ticket_hash=_token_hash(ticket), line_id=line.id, binding_hash=binding_hash(binding),
                            created_at=now, expires_at=now + TICKET_TTL, via=via[:16]))
    session.flush()
    return LoginGrant(ticket, line.msisdn)


def grant_home(session: Session, home_account_id: int, now: datetime, binding: str | None = None,
               via: str = "") -> LoginGrant:
    """A one-time ticket for a home login (contract number); it becomes a session without a line."""
    ticket = secrets.token_urlsafe(32)
    session.add(LoginTicket(ticket_hash=_token_hash(ticket), line_id=None, home_account_id=home_account_id,
                            binding_hash=binding_hash(binding), created_at=now, expires_at=now + TICKET_TTL,
                            via=via[:16]))
    session.flush()
    return LoginGrant(ticket, "")


def redeem_ticket(*, session: Session, ticket: str, client: str, now: datetime, binding: str | None = None,
                  require_binding: bool = False) -> LoginResult:
    """Turn a login ticket into a new session (a new random token at every login).

    A ticket issued to a browser with a pre-login nonce is redeemed only with that nonce (login CSRF:
    a ticket the attacker earned with his own credentials does not work in the victim's browser);
    `require_binding` (the browser route) refuses unbound tickets too."""
    row = session.exec(select(LoginTicket).where(LoginTicket.ticket_hash == _token_hash(str(ticket or "")))
                       .with_for_update().execution_options(populate_existing=True)).scalars().first()
    if row is None or row.used_at is not None or now >= row.expires_at:
        raise Unauthorized("this login link is no longer valid; log in again",
                           "Ссылка для входа устарела. Войдите ещё раз")
    given = binding_hash(binding)
    if (row.binding_hash is None and require_binding) or (
            row.binding_hash is not None and (given is None or not hmac.compare_digest(row.binding_hash, given))):
        raise Unauthorized("this login was not started in this browser; log in again here",
                           "Вход начат не в этом браузере. Войдите ещё раз на этой странице",
                           code="login_binding")
    if session.execute(update(LoginTicket).where(LoginTicket.id == row.id, LoginTicket.used_at.is_(None))
                       .values(used_at=now).execution_options(synchronize_session=False)).rowcount != 1:
        raise Unauthorized("this login link is no longer valid; log in again",
                           "Ссылка для входа устарела. Войдите ещё раз")
    if row.line_id is None:
        return _start_home_session(session, row.home_account_id, client, now, via=row.via)
    line = session.get(Line, row.line_id)
    _refuse_lost(line)
    return _start_session(session, line, client, now, via=row.via)


def _start_home_session(session: Session, home_id: int, client: str, now: datetime, via: str = "") -> LoginResult:
    from mts_portal.core.models import HomeAccount, HomeCredential

    home = session.get(HomeAccount, home_id)
    token = secrets.token_urlsafe(32)
    row = AuthSession(token_hash=_token_hash(token), account_id=home.account_id, login_line_id=None,
                      selected_line_id=None, login_home_id=home.id, home_account_id=home.id, created_at=now,
                      last_seen_at=now, client=client[:64], via=via)
    session.add(row)
    session.flush()
    has_password = session.get(HomeCredential, home.id) is not None
    info = SessionInfo(row.id, home.account_id, 0, 0, "", "", now, now, has_password, home.id, home.id)
    return LoginResult(token, info, first_login=not has_password)


def _start_session(session: Session, line: Line, client: str, now: datetime, via: str = "") -> LoginResult:
    token = secrets.token_urlsafe(32)  # 256 bits
    row = AuthSession(token_hash=_token_hash(token), account_id=line.account_id, login_line_id=line.id,
                      selected_line_id=line.id, created_at=now, last_seen_at=now, client=client[:64], via=via)
    session.add(row)
    session.flush()
    has_password = session.get(Credential, line.id) is not None
    info = SessionInfo(row.id, line.account_id, line.id, line.id, line.msisdn, line.msisdn, now, now, has_password)
    return LoginResult(token, info, first_login=not has_password)


def login_with_code(*, session: Session, attempt_id: str, msisdn: str, code: str, client: str,
                    now: datetime, binding: str | None = None, session_now: datetime | None = None) -> LoginGrant:
    """A right code becomes a one-time ticket, bound to the browser's pre-login nonce `binding`."""
    check_code(session=session, attempt_id=attempt_id, msisdn=msisdn, code=code, purpose="login", now=now)
    line = session.exec(select(Line).where(Line.msisdn == msisdn)).scalars().first()
    if line is None:  # cannot happen: no code is delivered to unknown numbers
        raise Unauthorized(GENERIC_BAD_CREDENTIALS_EN, GENERIC_BAD_CREDENTIALS_RU)
    _refuse_lost(line)
    return _grant(session, line, session_now or now, binding, via="code")


def login_with_password(*, session: Session, msisdn: str, password: str, client: str, now: datetime,
                        binding: str | None = None, session_now: datetime | None = None) -> LoginGrant:
    guard = _guard(session, msisdn)
    _check_not_locked(guard, now)
    line = session.exec(select(Line).where(Line.msisdn == msisdn)).scalars().first()
    cred = session.get(Credential, line.id) if line is not None else None
    password = str(password or "")
    try:
        _hasher.verify(cred.password_hash if cred else _DUMMY_HASH, password)  # same work for unknown numbers
        ok = cred is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok:
        _fail(session, guard, now)
        _check_not_locked(guard, now)
        left = max(0, LOCK_AFTER_FAILURES - guard.failures)
        raise Unauthorized(
            f"{GENERIC_BAD_CREDENTIALS_EN} ({left} attempts left)",
            f"{GENERIC_BAD_CREDENTIALS_RU}. Осталось попыток: {left}",
            attempts_left=left,
        )
    _succeed(session, guard)
    _refuse_lost(line)
    if _hasher.check_needs_rehash(cred.password_hash):
        cred.password_hash = _hasher.hash(password)
        session.add(cred)
    return _grant(session, line, session_now or now, binding, via="password")


def _refuse_lost(line: Line) -> None:
    if line.is_lost:
        raise Forbidden(
            "this number is marked as lost: log in with another number of the account to unblock it",
            "Номер заблокирован как утраченный. Войдите с другого номера этого счёта, чтобы разблокировать его",
            code="line_lost",
        )


def validate_session(*, session: Session, token: str | None, now: datetime, touch_it: bool = True) -> SessionInfo | None:
    """The live session for a browser token, or None (unknown, ended, idle 20 min, older than 12 h)."""
    if not token or not isinstance(token, str) or len(token) > 200:
        return None
    row = session.exec(select(AuthSession).where(AuthSession.token_hash == _token_hash(token))).scalars().first()
    if row is None or row.ended_at is not None:
        return None
    reason = None
    if now >= row.created_at + ABSOLUTE_TIMEOUT:
        reason = "expired"
    elif now >= row.last_seen_at + IDLE_DEADLINE:
        reason = "idle"
    login_line = session.get(Line, row.login_line_id) if row.login_line_id is not None else None
    if reason is None and row.login_home_id is None and (login_line is None or login_line.is_lost):
        reason = "line_lost"
    if reason:
        row.ended_at = now
        row.ended_reason = reason
        session.add(row)
        return None
    if touch_it and now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
    if row.login_home_id is not None:  # a home login: no line
        from mts_portal.core.models import HomeCredential

        return SessionInfo(row.id, row.account_id, 0, 0, "", "", row.created_at, row.last_seen_at,
                           session.get(HomeCredential, row.login_home_id) is not None, row.login_home_id,
                           row.home_account_id)
    selected = session.get(Line, row.selected_line_id)
    return SessionInfo(row.id, row.account_id, row.login_line_id, row.selected_line_id, login_line.msisdn,
                       selected.msisdn if selected else login_line.msisdn, row.created_at, row.last_seen_at,
                       session.get(Credential, row.login_line_id) is not None, None, row.home_account_id)


def ended_sessions(engine, tokens: list[str], now: datetime) -> set[str]:
    """Of these session tokens, the ones that no longer work (ended, idle, too old, login number lost),
    for the sweeper of open tabs: one read-only query for all of them; only when some have just
    expired is a write made (their end and its reason recorded, as `validate_session` would)."""
    from mts_portal.core.db import read, transact

    by_hash = {_token_hash(t): t for t in tokens if t and isinstance(t, str) and len(t) <= 200}
    hashes = list(by_hash)
    if not hashes:
        return set()

    def fn(session: Session):
        rows = []
        for i in range(0, len(hashes), 900):
            rows += session.exec(
                select(AuthSession.token_hash, AuthSession.ended_at, AuthSession.created_at,
                       AuthSession.last_seen_at, Line.is_lost, AuthSession.login_home_id)
                .join(Line, Line.id == AuthSession.login_line_id, isouter=True)
                .where(AuthSession.token_hash.in_(hashes[i:i + 900]))).all()
        return rows

    ended: set[str] = set(by_hash.values())  # an unknown token does not work either
    expiring: list[str] = []
    for token_hash, ended_at, created_at, last_seen_at, is_lost, login_home_id in read(engine, fn):
        if ended_at is not None:
            continue
        if login_home_id is not None:
            is_lost = False  # a home login has no line that could be lost
        if now >= created_at + ABSOLUTE_TIMEOUT or now >= last_seen_at + IDLE_DEADLINE or is_lost in (None, True):
            expiring.append(by_hash[token_hash])
            continue
        ended.discard(by_hash[token_hash])
    if expiring:  # recorded with its reason, re-checked under the write lock (a touch may have raced)
        def end(session: Session) -> set[str]:
            return {t for t in expiring if validate_session(session=session, token=t, now=now, touch_it=False) is None}

        still = transact(engine, end, what="end idle sessions")
        ended.update(still)
        ended.difference_update(set(expiring) - still)
    return ended


def ended_reason(*, session: Session, token: str | None, now: datetime | None = None) -> str:
    """Why a token no longer works: idle | expired | line_lost | logout | unknown."""
    if not token:
        return "unknown"
    row = session.exec(select(AuthSession).where(AuthSession.token_hash == _token_hash(token))).scalars().first()
    if row is None:
        return "unknown"
    if row.ended_reason:
        return row.ended_reason
    if now is not None:
        if now >= row.created_at + ABSOLUTE_TIMEOUT:
            return "expired"
        if now >= row.last_seen_at + IDLE_DEADLINE:
            return "idle"
    return "unknown"


def end_session(*, session: Session, token: str | None, now: datetime, reason: str = "logout") -> bool:
    if not token:
        return False
    row = session.exec(select(AuthSession).where(AuthSession.token_hash == _token_hash(token))).scalars().first()
    if row is None or row.ended_at is not None:
        return False
    row.ended_at = now
    row.ended_reason = reason
    session.add(row)
    return True


# ---------------------------------------------------------------- authorization


def account_lines(session: Session, account_id: int) -> list[Line]:
    """Every number the account may see and manage: its own and the ones added by code."""
    linked = select(AccountLink.line_id).where(AccountLink.account_id == account_id)
    return list(session.exec(
        select(Line).where(or_(Line.account_id == account_id, Line.id.in_(linked))).order_by(Line.id)
    ).scalars())


def require_line(session: Session, info: SessionInfo, msisdn: str) -> Line:
    """The line named by a request, if it belongs to the session's account; otherwise NotFound
    (the same answer as for a number that does not exist). A home login (contract number) reaches no
    line at all."""
    if info.is_home or not is_msisdn(msisdn):
        raise NotFound("no such number in your account", "Такого номера нет в вашем личном кабинете")
    line = session.exec(select(Line).where(Line.msisdn == msisdn)).scalars().first()
    if line is None or not can_access(session, info.account_id, line):
        raise NotFound("no such number in your account", "Такого номера нет в вашем личном кабинете")
    return line


def can_access(session: Session, account_id: int, line: Line) -> bool:
    if line.account_id == account_id:
        return True
    return session.exec(
        select(AccountLink.id).where(AccountLink.account_id == account_id, AccountLink.line_id == line.id)
    ).first() is not None


def select_line(*, session: Session, token: str, info: SessionInfo, msisdn: str) -> SessionInfo:
    line = require_line(session, info, msisdn)
    row = session.exec(select(AuthSession).where(AuthSession.token_hash == _token_hash(token))).scalars().one()
    row.selected_line_id = line.id
    session.add(row)
    info.selected_line_id = line.id
    info.selected_msisdn = line.msisdn
    return info


# ---------------------------------------------------------------- passwords


def check_password_policy(password: str, msisdn: str | None = None) -> str:
    password = str(password or "")
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"password: at least {MIN_PASSWORD} characters", f"Пароль: не короче {MIN_PASSWORD} символов")
    if len(password) > MAX_PASSWORD:
        raise Invalid(f"password: at most {MAX_PASSWORD} characters", f"Пароль: не длиннее {MAX_PASSWORD} символов")
    if msisdn and msisdn[1:] in password:
        raise Invalid("password: must not contain the phone number", "Пароль не должен содержать номер телефона")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(password)) <= 2 or _is_run(lowered):
        raise Invalid("password: too common or too simple", "Пароль слишком простой или распространённый")
    return password


COMMON_PASSWORDS = frozenset("""
12345678 123456789 1234567890 87654321 11111111 00000000 password password1 password123 qwertyui qwerty123
qwertyuiop 1q2w3e4r 1q2w3e4r5t zaq12wsx iloveyou sunshine princess football baseball welcome1 admin123
abc12345 abcd1234 aa123456 asdfghjk asdfghjkl zxcvbnm1 superman starwars trustno1 12341234 11223344
йцукенгш йцукенгшщз пароль123 qazwsxed 1qaz2wsx letmein1 monkey12 dragon12 master12 q1w2e3r4
""".split())


def _is_run(text: str) -> bool:
    """'12345678', '98765432', 'abcdefgh': consecutive characters all the way."""
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:], strict=False)}
    return len(steps) == 1 and steps <= {1, -1}


def set_password(*, session: Session, info: SessionInfo, new_password: str, now: datetime,
                 current_password: str | None = None, code_attempt_id: str | None = None,
                 code: str | None = None, first_time: bool = False, session_now: datetime | None = None) -> None:
    """Set or change the login line's password. Changing needs the current password or a fresh code;
    setting the first one right after a code login needs neither (the session was just proven by a code).
    `session_now`: the clock sessions are judged by (runtime.session_now(); `now` when not given)."""
    line = session.get(Line, info.login_line_id)
    check_password_policy(new_password, line.msisdn)
    cred = session.get(Credential, line.id)
    if cred is not None or not first_time:
        if current_password:
            # the same guard as the login: a stolen session cannot guess the current password without limit
            guard = _guard(session, line.msisdn)
            _check_not_locked(guard, now)
            try:
                _hasher.verify(cred.password_hash if cred else _DUMMY_HASH, str(current_password))
                if cred is None:
                    raise VerifyMismatchError
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                _fail(session, guard, now)
                _check_not_locked(guard, now)  # the third wrong one locks (and says so)
                left = max(0, LOCK_AFTER_FAILURES - guard.failures)
                raise Unauthorized(f"the current password is wrong ({left} attempts left)",
                                   f"Текущий пароль указан неверно. Осталось попыток: {left}",
                                   attempts_left=left) from None
            _succeed(session, guard)
        elif code_attempt_id and code:
            check_code(session=session, attempt_id=code_attempt_id, msisdn=line.msisdn, code=code,
                       purpose="password", now=now)
        else:
            raise Invalid("give the current password or a code from SMS",
                          "Укажите текущий пароль или код из SMS")
    elif (session_now or now) - info.created_at > timedelta(minutes=15):
        raise Invalid("give a code from SMS to set a password", "Подтвердите установку пароля кодом из SMS")
    if cred is None:
        cred = Credential(line_id=line.id, password_hash=_hasher.hash(new_password), updated_at=now)
    else:
        cred.password_hash = _hasher.hash(new_password)
        cred.updated_at = now
    session.add(cred)
    # whoever else is logged in to this account (a stolen cookie, a forgotten PC) is logged out now
    session.execute(update(AuthSession).where(AuthSession.account_id == info.account_id,
                                              AuthSession.id != info.session_id, AuthSession.ended_at.is_(None))
                    .values(ended_at=now, ended_reason="password"))
    notify_line(session, line, notify.notification(
        line.id, "info", "Пароль для входа в личный кабинет изменён.", "Your portal password was changed.", now),
        also_sms=True)


# ---------------------------------------------------------------- numbers of an account


def request_add_number(*, session: Session, info: SessionInfo, msisdn: str, client: str, now: datetime) -> CodeRequest:
    """Send a code to the number to add. A number marked «Аппарат утрачен» gets no code (the answer is the
    same as for any number, as for an unknown one) and its confirmation is refused."""
    msisdn = normalize_msisdn(msisdn)
    for line in account_lines(session, info.account_id):
        if line.msisdn == msisdn:
            raise Conflict("this number is already in your account", "Этот номер уже есть в вашем личном кабинете")
    return request_code(session=session, msisdn=msisdn, purpose="add_number", client=client, now=now,
                        account_id=info.account_id, text_args={"by": format_msisdn(info.login_msisdn)})


def confirm_add_number(*, session: Session, info: SessionInfo, attempt_id: str, msisdn: str, code: str,
                       now: datetime) -> Line:
    msisdn = normalize_msisdn(msisdn)
    line = session.exec(select(Line).where(Line.msisdn == msisdn)).scalars().first()
    # a lost number is never added: the same answer as a wrong code (and it counts as one)
    check_code(session=session, attempt_id=attempt_id, msisdn=msisdn, code=code, purpose="add_number", now=now,
               account_id=info.account_id, deny=line is None or line.is_lost)
    if can_access(session, info.account_id, line):
        raise Conflict("this number is already in your account", "Этот номер уже есть в вашем личном кабинете")
    session.add(AccountLink(account_id=info.account_id, line_id=line.id, created_at=now))
    login_line = session.get(Line, info.login_line_id)
    has_nm = session.exec(select(Subscription.id).where(
        Subscription.line_id == login_line.id, Subscription.code == "number_management",
        Subscription.active == True)).first()  # noqa: E712
    if has_nm is None:
        session.add(Subscription(line_id=login_line.id, code="number_management", active=True, started_at=now,
                                 source="system"))
    notify_line(session, line, notify.notification(
        line.id, "info", f"Номер добавлен в личный кабинет {format_msisdn(login_line.msisdn)}.",
        f"This number was added to the account of {format_msisdn(login_line.msisdn)}.", now), also_sms=True)
    session.flush()
    return line


def remove_number(*, session: Session, info: SessionInfo, token: str, msisdn: str, now: datetime) -> None:
    line = require_line(session, info, msisdn)
    link = session.exec(select(AccountLink).where(AccountLink.account_id == info.account_id,
                                                  AccountLink.line_id == line.id)).scalars().first()
    if link is None:
        raise Conflict("numbers of the account itself cannot be removed; only added ones",
                       "Удалить можно только добавленный номер; номера вашего договора удалить нельзя")
    session.delete(link)
    # sessions of this account that had it selected go back to their own number
    session.execute(update(AuthSession).where(AuthSession.account_id == info.account_id,
                                              AuthSession.selected_line_id == line.id)
                    .values(selected_line_id=AuthSession.login_line_id))
    if info.selected_line_id == line.id:
        info.selected_line_id = info.login_line_id
        info.selected_msisdn = info.login_msisdn
    session.flush()


# ---------------------------------------------------------------- device lost


def mark_lost(*, session: Session, info: SessionInfo, msisdn: str, now: datetime) -> Line:
    line = require_line(session, info, msisdn)
    if line.is_lost:
        raise Conflict("already marked as lost", "Номер уже заблокирован как утраченный")
    line.is_lost = True
    recompute_status(line)
    touch(session, line, now)
    # the lost number's own sessions end now (whoever holds the device is logged out)
    session.execute(update(AuthSession).where(AuthSession.login_line_id == line.id, AuthSession.ended_at.is_(None))
                    .values(ended_at=now, ended_reason="line_lost"))
    # other accounts the number was added to lose it (the device's holder may have added it to his own);
    # its own account keeps it and is the only one that can unblock it
    session.execute(delete(AccountLink).where(AccountLink.line_id == line.id))
    session.execute(update(AuthSession).where(AuthSession.selected_line_id == line.id,
                                              AuthSession.account_id != line.account_id)
                    .values(selected_line_id=AuthSession.login_line_id))
    notify_line(session, line, notify.notification(
        line.id, "info", "Номер заблокирован: «Аппарат утрачен». Звонки, SMS, интернет и вход по этому номеру недоступны.",
        "Number blocked as lost: calls, SMS, data and login with it are off.", now))
    return line


def unblock_lost(*, session: Session, info: SessionInfo, msisdn: str, now: datetime) -> Line:
    """Only from another number of the line's OWN account: an account the number was merely added to
    (by a code, which whoever holds the lost device could have received) cannot unblock it."""
    line = require_line(session, info, msisdn)
    if info.login_line_id == line.id or line.account_id != info.account_id:
        raise Forbidden("unblock it from another number of the account",
                        "Разблокировать номер можно только с другого номера вашего счёта")
    if not line.is_lost:
        raise Conflict("this number is not marked as lost", "Номер не отмечен как утраченный")
    line.is_lost = False
    recompute_status(line)
    touch(session, line, now)
    notify_line(session, line, notify.notification(
        line.id, "info", "Номер разблокирован. Связь и вход снова доступны.",
        "Number unblocked: service and login are back.", now), also_sms=True)
    return line


def purge(*, session: Session, now: datetime) -> None:
    """Housekeeping: old codes, rate events and ended sessions."""
    session.execute(delete(OtpCode).where(OtpCode.expires_at < now - timedelta(days=1)))
    session.execute(delete(RateEvent).where(RateEvent.at < now - RATE_WINDOW * 2))
    # tickets and sessions keep the sessions' clock, which a demo's clock jumps leave behind: judged by the
    # earlier of the two clocks, a live ticket is never purged
    from datetime import UTC

    earlier = min(now, datetime.now(UTC))
    session.execute(delete(LoginTicket).where(LoginTicket.expires_at < earlier - timedelta(hours=1)))
    session.execute(delete(AuthSession).where(AuthSession.ended_at.is_not(None),
                                              AuthSession.ended_at < earlier - timedelta(days=30)))


def holder_name(session: Session, account_id: int) -> str:
    acc = session.get(Account, account_id)
    return acc.holder_name if acc else ""


__all__ = [
    "CodeRequest", "LoginGrant", "LoginResult", "redeem_ticket", "SessionInfo", "account_lines", "can_access", "check_code", "confirm_add_number",
    "end_session", "format_msisdn", "get_line", "login_with_code", "login_with_password", "mark_lost",
    "normalize_msisdn", "remove_number", "request_add_number", "request_code", "require_line", "select_line",
    "set_password", "unblock_lost", "validate_session", "binding_hash", "check_send_allowed",
]
