"""The control room (/console): the product team's side of the portal.

Access is an operator session, never a subscriber's: the operator token (MTS_OPERATOR_TOKEN) typed
in, with the same lockout (3 wrong → 10 minutes) and session limits (20 minutes idle, 12 hours) as
subscriber logins; or, in demo mode only, a one-time link that `run.sh` prints. The session lives in
its own HttpOnly cookie (OPERATOR_COOKIE) and is checked by every console handler before anything
else. Everything the room changes is written to `operator_audit`.

Also here: the demo traffic settings the room sets (DemoControl, read by the leader's traffic every
second), line search, and a subscriber's cabinet opened from the room (demo mode: a login ticket
marked `via="console"` on the session it becomes).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlmodel import Session

from mts_portal.core import auth
from mts_portal.core.errors import Forbidden, Invalid, Locked, NotFound, Unauthorized
from mts_portal.core.models import (
    Account,
    DemoControl,
    Line,
    LoginGuard,
    OperatorAudit,
    OperatorLink,
    OperatorSession,
)
from mts_portal.core.settings import get_settings

OPERATOR_COOKIE = "mts_console"
GUARD_KEY = "op:console"  # the login guard of the operator token (LoginGuard keys are ≤ 11 characters)
LINK_TTL = timedelta(hours=12)
MAX_RATE = 2000.0  # demo events per second the room may ask for
MAX_FAULT = 0.5  # at most half the stream faulty


def _hash(value: str) -> str:
    return hashlib.sha256(str(value).encode()).hexdigest()


@dataclass
class OperatorInfo:
    session_id: int
    via: str
    created_at: datetime


# ---------------------------------------------------------------- access


def _guard(session: Session) -> LoginGuard:
    row = session.exec(select(LoginGuard).where(LoginGuard.msisdn == GUARD_KEY).with_for_update()
                       .execution_options(populate_existing=True)).scalars().first()
    if row is None:
        row = LoginGuard(msisdn=GUARD_KEY, failures=0)
        session.add(row)
        session.flush()
    return row


def _locked(guard: LoginGuard, now: datetime) -> None:
    if guard.locked_until is not None and now < guard.locked_until:
        left = guard.locked_until - now
        minutes, seconds = divmod(int(left.total_seconds()) + (1 if left.microseconds else 0), 60)
        raise Locked(f"too many wrong attempts: the control room is locked for {minutes} min {seconds:02d} s",
                     f"Слишком много неверных попыток. Вход в пульт заблокирован ещё на {minutes} мин {seconds:02d} с",
                     seconds_left=minutes * 60 + seconds)


def _start(session: Session, via: str, client: str, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    row = OperatorSession(token_hash=_hash(token), via=via, client=client[:64], created_at=now, last_seen_at=now)
    session.add(row)
    session.flush()
    audit(session, row.id, "login", via, "", now)
    return token


def login_with_token(*, session: Session, token: str, client: str, now: datetime, binding: str | None = None) -> str:
    """The operator token typed into the room's login form → a one-time ticket (a minute, bound to the
    browser's pre-login nonce `binding`) that /api/v1/console/establish turns into the session cookie.
    Commit on Unauthorized/Locked too (the failure counts): transact(..., keep_on=(Unauthorized, Locked))."""
    expected = get_settings().effective_operator_token
    given = str(token or "").strip()
    if not given:
        raise Invalid("enter the operator token", "Введите токен оператора", field="token")
    if len(given) > 200:
        raise Invalid("the operator token is at most 200 characters", "Токен оператора — не длиннее 200 символов",
                      field="token")
    guard = _guard(session)
    if guard.locked_until is not None and now >= guard.locked_until:
        guard.failures, guard.locked_until = 0, None
    _locked(guard, now)
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        guard.failures += 1
        if guard.failures >= auth.LOCK_AFTER_FAILURES:
            guard.locked_until = now + auth.LOCK_FOR
        session.add(guard)
        session.flush()
        _locked(guard, now)
        left = auth.LOCK_AFTER_FAILURES - guard.failures
        raise Unauthorized(f"wrong operator token ({left} attempts left)",
                           f"Неверный токен оператора. Осталось попыток: {left}", attempts_left=left, field="token")
    guard.failures, guard.locked_until = 0, None
    session.add(guard)
    ticket = secrets.token_urlsafe(32)
    session.add(OperatorLink(ticket_hash=_hash(ticket), purpose="login", binding_hash=auth.binding_hash(binding),
                             created_at=now, expires_at=now + auth.TICKET_TTL))
    return ticket


def create_link(*, session: Session, now: datetime) -> str:
    """Demo mode only: a one-time link into the room (`run.sh` prints it)."""
    if not get_settings().demo:
        raise Forbidden("one-time control-room links exist in demo mode only",
                        "Одноразовые ссылки в пульт есть только в демо-режиме")
    ticket = secrets.token_urlsafe(32)
    session.add(OperatorLink(ticket_hash=_hash(ticket), purpose="link", created_at=now, expires_at=now + LINK_TTL))
    return ticket


def redeem(*, session: Session, ticket: str, client: str, now: datetime, binding: str | None = None) -> str:
    """A one-time link or login ticket → a new operator session token (for the room's cookie)."""
    invalid = Unauthorized("this control-room link is no longer valid", "Ссылка в пульт больше не действует")
    row = session.exec(select(OperatorLink).where(OperatorLink.ticket_hash == _hash(str(ticket or "")[:200]))
                       ).scalars().first()
    if row is None or row.used_at is not None or now >= row.expires_at:
        raise invalid
    if row.purpose == "link" and not get_settings().demo:
        raise Forbidden("one-time control-room links exist in demo mode only",
                        "Одноразовые ссылки в пульт есть только в демо-режиме")
    if row.purpose == "login":
        given = auth.binding_hash(binding)
        if row.binding_hash is None or given is None or not hmac.compare_digest(row.binding_hash, given):
            raise Unauthorized("this login was not started in this browser", "Вход начат не в этом браузере",
                               code="login_binding")
    if session.execute(update(OperatorLink).where(OperatorLink.id == row.id, OperatorLink.used_at.is_(None))
                       .values(used_at=now).execution_options(synchronize_session=False)).rowcount != 1:
        raise invalid
    return _start(session, "link" if row.purpose == "link" else "token", client, now)


def validate(*, session: Session, token: str | None, now: datetime, touch: bool = True) -> OperatorInfo | None:
    """The live operator session of a cookie value, or None (unknown, ended, idle, too old)."""
    if not token or not isinstance(token, str) or len(token) > 200:
        return None
    row = session.exec(select(OperatorSession).where(OperatorSession.token_hash == _hash(token))).scalars().first()
    if row is None or row.ended_at is not None:
        return None
    reason = None
    if now >= row.created_at + auth.ABSOLUTE_TIMEOUT:
        reason = "expired"
    elif now >= row.last_seen_at + auth.IDLE_DEADLINE:
        reason = "idle"
    if reason:
        row.ended_at, row.ended_reason = now, reason
        session.add(row)
        return None
    if touch and now - row.last_seen_at >= auth.TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
    return OperatorInfo(row.id, row.via, row.created_at)


def check(*, session: Session, token: str | None, now: datetime) -> OperatorInfo | None:
    """Read-only check of an operator session (no touch, nothing written): for watchers and reads."""
    if not token or not isinstance(token, str) or len(token) > 200:
        return None
    row = session.exec(select(OperatorSession).where(OperatorSession.token_hash == _hash(token))).scalars().first()
    if row is None or row.ended_at is not None or now >= row.created_at + auth.ABSOLUTE_TIMEOUT \
            or now >= row.last_seen_at + auth.IDLE_DEADLINE:
        return None
    return OperatorInfo(row.id, row.via, row.created_at)


def logout(*, session: Session, token: str | None, now: datetime) -> None:
    if not token:
        return
    row = session.exec(select(OperatorSession).where(OperatorSession.token_hash == _hash(token))).scalars().first()
    if row is not None and row.ended_at is None:
        row.ended_at, row.ended_reason = now, "logout"
        session.add(row)
        audit(session, row.id, "logout", "", "", now)


def audit(session: Session, operator_session_id: int | None, action: str, target: str, detail: str,
          now: datetime) -> None:
    session.add(OperatorAudit(at=now, operator_session_id=operator_session_id, action=action[:32],
                              target=str(target)[:64], detail=str(detail)[:2000]))


def recent_audit(session: Session, limit: int = 20) -> list[OperatorAudit]:
    return list(session.exec(select(OperatorAudit).order_by(OperatorAudit.id.desc()).limit(limit)).scalars())


# ---------------------------------------------------------------- demo traffic settings


@dataclass
class TrafficSettings:
    rate_per_s: float
    duplicates: float
    reorder: float
    malformed: float
    late: float
    focus: bool
    configured: bool  # set by the room (else the deployment's MTS_DEMO_TRAFFIC)


def default_rate() -> float:
    import os

    try:
        return max(0.0, float(os.environ.get("MTS_DEMO_TRAFFIC", "0") or 0))
    except ValueError:
        return 0.0


def traffic(session: Session) -> TrafficSettings:
    row = session.get(DemoControl, 1)
    focus_default = get_settings().demo_focus
    if row is None:
        return TrafficSettings(default_rate(), 0.0, 0.0, 0.0, 0.0, focus_default, False)
    rate = row.rate_per_s if row.rate_per_s is not None else default_rate()
    return TrafficSettings(rate, row.duplicates, row.reorder, row.malformed, row.late, row.focus, True)


def _probability(name: str, value) -> float:
    try:
        p = float(value)
    except (TypeError, ValueError):
        raise Invalid(f"{name}: a share between 0 and {MAX_FAULT:g}", f"Доля от 0 до {MAX_FAULT * 100:g} %",
                      field=name) from None
    if not 0.0 <= p <= MAX_FAULT or p != p:
        raise Invalid(f"{name}: a share between 0 and {MAX_FAULT:g}", f"Доля от 0 до {MAX_FAULT * 100:g} %",
                      field=name)
    return p


def set_traffic(*, session: Session, operator_session_id: int | None, now: datetime, rate_per_s=None,
                duplicates=None, reorder=None, malformed=None, late=None, focus=None) -> TrafficSettings:
    """Change the demo traffic (None leaves a setting as it is); takes effect within a second."""
    row = session.get(DemoControl, 1, with_for_update=True) or DemoControl(id=1, focus=get_settings().demo_focus)
    changes = []
    if rate_per_s is not None:
        try:
            rate = float(rate_per_s)
        except (TypeError, ValueError):
            raise Invalid(f"rate: a number of events per second from 0 to {MAX_RATE:g}",
                          f"Интенсивность: число событий в секунду от 0 до {MAX_RATE:g}", field="rate") from None
        if not 0.0 <= rate <= MAX_RATE or rate != rate:
            raise Invalid(f"rate: from 0 to {MAX_RATE:g} events per second",
                          f"Интенсивность: от 0 до {MAX_RATE:g} событий в секунду", field="rate")
        row.rate_per_s = rate
        changes.append(f"rate={rate:g}")
    for name, value in (("duplicates", duplicates), ("reorder", reorder), ("malformed", malformed), ("late", late)):
        if value is not None:
            setattr(row, name, _probability(name, value))
            changes.append(f"{name}={getattr(row, name):g}")
    if focus is not None:
        row.focus = bool(focus)
        changes.append(f"focus={row.focus}")
    row.updated_at = now
    session.add(row)
    if changes:
        audit(session, operator_session_id, "traffic", "", ", ".join(changes), now)
    session.flush()
    return traffic(session)


# ---------------------------------------------------------------- subscribers


@dataclass
class LineHit:
    msisdn: str
    label: str
    holder: str
    tariff_code: str
    status: str
    balance_kopecks: int


def find_lines(session: Session, query: str, limit: int = 12) -> list[LineHit]:
    """Lines by (part of) the number or the holder's name; at most `limit`."""
    text = " ".join(str(query or "").split())[:80]
    if not text:
        return []
    digits = "".join(ch for ch in text if ch.isdigit())
    conds = []
    if len(digits) >= 3 and len(digits) >= len(text.replace(" ", "").replace("+", "").replace("-", "")
                                               .replace("(", "").replace(")", "")):
        if len(digits) == 11 and digits[0] == "8":
            digits = "7" + digits[1:]
        conds.append(Line.msisdn.like(f"%{digits}%"))
    else:
        conds.append(func.lower(Account.holder_name).like(f"%{text.lower()}%"))
    rows = session.exec(select(Line.msisdn, Account.holder_name, Line.tariff_code, Line.status, Line.balance_kopecks)
                        .join(Account, Account.id == Line.account_id).where(or_(*conds))
                        .order_by(Line.id).limit(limit)).all()
    return [LineHit(m, auth.format_msisdn(m), h, t, st, b) for m, h, t, st, b in rows]


def open_cabinet(*, session: Session, operator_session_id: int, msisdn: str, binding: str | None,
                 now: datetime) -> str:
    """Demo mode: a one-time login ticket for this subscriber, redeemed by the browser that opens it
    (bound to its pre-login nonce); the session it becomes is marked `via="console"`."""
    if not get_settings().demo:
        raise Forbidden("opening a subscriber's cabinet from the control room is a demo-mode feature",
                        "Открыть кабинет абонента из пульта можно только в демо-режиме")
    line = session.exec(select(Line).where(Line.msisdn == str(msisdn))).scalars().first()
    if line is None:
        raise NotFound("no such number", "Такого номера нет")
    if line.is_lost:
        raise Forbidden("this number is marked as lost", "Номер заблокирован: аппарат утрачен")
    grant = auth._grant(session, line, now, binding, via="console")
    audit(session, operator_session_id, "open_cabinet", line.msisdn, "demo login from the control room", now)
    return grant.ticket
