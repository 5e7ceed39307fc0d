"""What a logged-in subscriber can do, as functions of (store session, SessionInfo, ...).

The portal's event handlers call these and nothing else that changes the store.
Every function first checks that each object its arguments name (a number, a
card, a record, a member, a notification, a report) belongs to the session's
account; arguments come from the browser and are untrusted. A refusal is
NotFound — the same answer as for an object that does not exist.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from mts_portal.core import auth, billing, notify
from mts_portal.core.auth import SessionInfo, require_line
from mts_portal.core.errors import Conflict, Invalid, NotFound, parse_id
from mts_portal.core.models import Account, Line, Notification

FORWARD_MODES = ("always", "busy", "no_answer", "unreachable")


def selected_line(session: Session, info: SessionInfo) -> Line:
    """The number the session has selected (re-checked: it may have been removed meanwhile)."""
    return require_line(session, info, info.selected_msisdn)


def line_for_update(session: Session, info: SessionInfo, msisdn: str) -> Line:
    require_line(session, info, msisdn)
    return billing.get_line_for_update(session, msisdn)


# ---------------------------------------------------------------- services and options


def connect(session: Session, info: SessionInfo, msisdn: str, code: str, now: datetime,
            request_key: str | None = None) -> billing.OptionResult:
    line = line_for_update(session, info, msisdn)
    return billing.connect_option(session=session, line=line, code=str(code), now=now, request_key=request_key)


def disconnect(session: Session, info: SessionInfo, msisdn: str, code: str, now: datetime) -> billing.OptionResult:
    line = line_for_update(session, info, msisdn)
    return billing.disconnect_option(session=session, line=line, code=str(code), now=now)


def voluntary_block(session: Session, info: SessionInfo, msisdn: str, blocked: bool, now: datetime) -> Line:
    line = line_for_update(session, info, msisdn)
    if line.is_blocked == blocked:
        raise Conflict("already so", "Номер уже " + ("заблокирован" if blocked else "разблокирован"))
    line.is_blocked = blocked
    billing.recompute_status(line)
    billing.touch(session, line, now)
    billing.notify_line(session, line, notify.notification(
        line.id, "info",
        "Номер добровольно заблокирован: связь приостановлена до разблокировки." if blocked else
        "Номер разблокирован: связь снова доступна.",
        "Number blocked at your request." if blocked else "Number unblocked.", now), also_sms=True)
    return line


# ---------------------------------------------------------------- settings


def set_call_forwarding(session: Session, info: SessionInfo, msisdn: str, to: str | None, mode: str | None,
                        now: datetime) -> Line:
    line = line_for_update(session, info, msisdn)
    if not to:
        line.call_forward_to = None
        line.call_forward_mode = None
    else:
        target = auth.normalize_msisdn(to)
        if target == line.msisdn:
            raise Invalid("cannot forward calls to the same number", "Нельзя переадресовать звонки на этот же номер")
        if mode not in FORWARD_MODES:
            raise Invalid("mode: always, busy, no_answer or unreachable", "Выберите условие переадресации")
        line.call_forward_to = target
        line.call_forward_mode = mode
    billing.touch(session, line, now)
    return line


def set_language(session: Session, info: SessionInfo, lang: str) -> None:
    if lang not in ("ru", "en"):
        raise Invalid("language: ru or en", "Язык: русский или английский")
    account = session.get(Account, info.account_id)
    account.lang = lang
    session.add(account)


# ---------------------------------------------------------------- notifications


def notifications(session: Session, info: SessionInfo, msisdn: str, now: datetime) -> list[Notification]:
    line = require_line(session, info, msisdn)
    keep = now - timedelta(days=notify.KEEP_DAYS)
    return list(session.exec(
        select(Notification).where(Notification.line_id == line.id, Notification.created_at >= keep)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(200)
    ).scalars())


def mark_notification_read(session: Session, info: SessionInfo, notification_id: int, now: datetime) -> None:
    note = session.get(Notification, parse_id(notification_id))
    if note is None or not auth.can_access(session, info.account_id, session.get(Line, note.line_id)):
        raise NotFound("no such notification", "Уведомление не найдено")
    note.read_at = note.read_at or now
    session.add(note)


def mark_all_read(session: Session, info: SessionInfo, msisdn: str, now: datetime) -> int:
    n = 0
    for note in notifications(session, info, msisdn, now):
        if note.read_at is None:
            note.read_at = now
            session.add(note)
            n += 1
    return n


# ---------------------------------------------------------------- send an SMS

GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
           "¿abcdefghijklmnopqrstuvwxyzäöñüà")


def sms_limit(text: str) -> int:
    """One SMS holds 160 GSM-7 characters, or 70 when it has Cyrillic (UCS-2)."""
    return 160 if set(text) <= GSM7 else 70


@dataclass
class SentSms:
    status: str  # rated | duplicate | blocked
    charged_kopecks: int
    reason: str | None


def send_sms(engine, info: SessionInfo, to_text: str, text: str, now: datetime, request_key: str) -> SentSms:
    """Send one SMS from the selected number: rated and charged exactly like one from the phone
    (an outgoing SMS event through charging), then delivered to the recipient's inbox. The
    request key is the event id: sending the same request twice charges and delivers once."""
    from mts_portal.core import charging
    from mts_portal.core.db import read

    to = auth.normalize_msisdn(to_text)
    text = str(text or "").strip()
    if not text:
        raise Invalid("text: empty message", "Введите текст сообщения")
    if len(text) > sms_limit(text):
        raise Invalid(f"text: at most {sms_limit(text)} characters in one SMS",
                      f"Не больше {sms_limit(text)} символов в одном SMS")
    line = read(engine, lambda s: selected_line(s, info))
    if to == line.msisdn:
        raise Invalid("that is your own number", "Это ваш собственный номер")
    # the event id is the sending line plus a digest of the request key: at most 48 characters whatever
    # the key, and one account's keys can never collide with another's
    digest = hashlib.sha256(billing.validate_key(request_key).encode()).hexdigest()[:24]
    event = {"event_id": f"portal-sms:{line.msisdn}:{digest}", "msisdn": line.msisdn, "kind": "sms",
             "direction": "out", "peer": to, "started_at": now.isoformat(), "zone": "home"}
    [result] = charging.ingest(engine, [event], now=now, messages={
        event["event_id"]: {"to_msisdn": to, "sender": line.msisdn, "text": text}})
    if result.status == "rejected":
        raise Invalid(result.reason or "refused", "Сообщение не отправлено")
    return SentSms(result.status, result.charged_kopecks, result.reason)
