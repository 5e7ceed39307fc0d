"""Lines: looking them up, locking them, their status, marking them changed, and their notices.

Below billing, auth and family (each uses these): none of them needs another to find or lock a line,
so the domain modules import in one direction (auth no longer imports billing)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from mts_portal.core import notify
from mts_portal.core.errors import Invalid, NotFound
from mts_portal.core.events import is_msisdn
from mts_portal.core.models import ChangeLog, Line, Notification, SmsMessage


def get_line(session: Session, msisdn: str) -> Line:
    if not is_msisdn(msisdn):
        raise Invalid("msisdn: must be 11 digits starting with 7", "Номер должен состоять из 11 цифр и начинаться с 7")
    line = session.exec(select(Line).where(Line.msisdn == msisdn)).scalars().first()
    if line is None:
        raise NotFound(f"no line {msisdn}", f"Номер {msisdn} не найден")
    return line


def get_line_for_update(session: Session, msisdn: str) -> Line:
    """The line, locked for the rest of the transaction on PostgreSQL (SQLite locks the whole store)."""
    if not is_msisdn(msisdn):
        raise Invalid("msisdn: must be 11 digits starting with 7", "Номер должен состоять из 11 цифр и начинаться с 7")
    stmt = select(Line).where(Line.msisdn == msisdn).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    line = session.exec(stmt).scalars().first()
    if line is None:
        raise NotFound(f"no line {msisdn}", f"Номер {msisdn} не найден")
    return line


def lock_lines(session: Session, line_ids: list[int]) -> dict[int, Line]:
    """Several lines for update, always in id order (no deadlocks between two transfers)."""
    stmt = select(Line).where(Line.id.in_(sorted(set(line_ids)))).order_by(Line.id) \
        .execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return {ln.id: ln for ln in session.exec(stmt).scalars().all()}


def recompute_status(line: Line) -> str:
    if line.is_lost:
        line.status = "lost"
    elif line.is_blocked:
        line.status = "blocked"
    elif line.fees_owed_kopecks > 0:
        line.status = "suspended"
    else:
        line.status = "active"
    return line.status


def _insert(session: Session, model, rows: list[dict]) -> None:
    """Plain Core INSERT on the session's connection (the ORM's bulk path costs more than the row)."""
    if rows:
        session.connection().execute(model.__table__.insert(), rows)


def touch(session: Session, line: Line, at: datetime, *, created: bool = False) -> None:
    """Mark a line changed: bumps its version and feeds the live-update change log.

    The version is incremented by the store (version = version + 1), never from the value this
    session read: an unlocked touch can then never hand out a version another writer already used,
    which would let a cached snapshot of that writer pass for current. `created`: the line was
    inserted by this transaction, so no other writer or cache can know it yet and the value in
    memory is the store's (no flush and re-read: provisioning thousands of lines stays fast)."""
    if created:
        line.version = (line.version or 0) + 1
    else:
        line.version = Line.version + 1
        session.add(line)
        session.flush()
    _insert(session, ChangeLog, [{"line_id": line.id, "at": at}])


def notify_line(session: Session, line: Line, row: dict, *, also_sms: bool = False) -> None:
    _insert(session, Notification, [row])
    if also_sms:
        _insert(session, SmsMessage, [notify.sms(line.msisdn, row["text_ru"], row["created_at"])])
