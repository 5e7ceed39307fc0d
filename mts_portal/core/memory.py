"""«Вторая память» (`second_memory`): backups of the simulated phone's contacts and call log.

The simulated phone of a line has an address book (set up the first time it is looked at, from the
people the line really talks to, plus a few everyday entries) and a call log filled from the line's
rated calls (kept to the newest CALL_LOG_MAX, as a handset does). The subscriber can edit the address
book and clear the log, as on a handset.

With the service connected, the phone is backed up on a schedule (daily by default, at 03:00 Moscow
time, or weekly, or not at all: core/jobs.py runs what is due) and on demand. The newest KEEP_BACKUPS
backups are kept, each with its date, size and counts. A restore never deletes or overwrites: it
brings back the contacts and calls of the backup that are missing on the phone, and its preview lists
exactly those.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from mts_portal.core.auth import SessionInfo, format_msisdn, require_line
from mts_portal.core.clock import MSK, as_utc
from mts_portal.core.errors import Conflict, Invalid, NotFound, parse_id
from mts_portal.core.models import (
    Line,
    MemoryBackup,
    MemorySchedule,
    PhoneCall,
    PhoneContact,
    PhoneState,
    Subscription,
    UsageRecord,
)

log = logging.getLogger(__name__)
SERVICE = "second_memory"
CALL_LOG_MAX = 200  # calls the phone keeps
CONTACTS_MAX = 500
KEEP_BACKUPS = 10
BACKUP_HOUR = 3  # scheduled backups at 03:00 Moscow time
FREQUENCIES = ("daily", "weekly", "off")
REPEAT_WINDOW = timedelta(seconds=60)  # an identical manual backup within this is the same backup (a double click)
FIRST_SYNC = timedelta(days=30)
LATE_EVENTS = timedelta(days=8)

_FIRST_M = ("Александр", "Дмитрий", "Сергей", "Андрей", "Алексей", "Михаил", "Иван", "Никита", "Павел", "Роман",
            "Олег", "Кирилл")
_FIRST_F = ("Анна", "Мария", "Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Светлана", "Юлия", "Екатерина",
            "Дарья", "Ксения")
_LAST = ("Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков",
         "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров")
_EVERYDAY = (("Мама", None), ("Папа", None), ("Работа", None), ("Такси", "74959999999"),
             ("Поликлиника", "74957777777"), ("МТС Справка", "0890"))


# ---------------------------------------------------------------- the simulated phone


def _insert_ignore(session: Session, model, rows: list[dict]) -> None:
    """Insert rows, skipping those a unique key already holds (both dialects)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    ins = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(ins(model).values(rows).on_conflict_do_nothing())


def _name(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{rng.choice(_FIRST_M)} {rng.choice(_LAST)}"
    return f"{rng.choice(_FIRST_F)} {rng.choice(_LAST)}а"


def _mobile(rng: random.Random) -> str:
    return f"79{rng.randrange(10, 100)}{rng.randrange(10**7):07d}"


def _setup_contacts(session: Session, line: Line, now: datetime) -> None:
    """The address book of a phone looked at for the first time: the people the line talked to in the
    last 30 days (most frequent first), then everyday entries; the same for the same line every time."""
    rng = random.Random(f"phone:{line.id}")
    peers = session.exec(
        select(UsageRecord.peer, func.count()).where(
            UsageRecord.line_id == line.id, UsageRecord.started_at >= now - FIRST_SYNC,
            UsageRecord.peer.is_not(None), UsageRecord.kind.in_(("voice", "sms")))
        .group_by(UsageRecord.peer).order_by(func.count().desc(), UsageRecord.peer).limit(12)).all()
    rows, seen = [], {line.msisdn}
    for peer, _ in peers:
        if peer and peer not in seen:
            seen.add(peer)
            rows.append({"line_id": line.id, "name": _name(rng), "number": peer, "created_at": now})
    for name, number in _EVERYDAY:
        number = number or _mobile(rng)
        if number not in seen:
            seen.add(number)
            rows.append({"line_id": line.id, "name": name, "number": number, "created_at": now})
    while len(rows) < 14:
        number = _mobile(rng)
        if number not in seen:
            seen.add(number)
            rows.append({"line_id": line.id, "name": _name(rng), "number": number, "created_at": now})
    session.connection().execute(PhoneContact.__table__.insert(), rows)


def _sync_calls(session: Session, line: Line, state: PhoneState, now: datetime) -> None:
    """Copy the line's calls rated since the last look into the phone's log (newest CALL_LOG_MAX kept)."""
    since = state.calls_synced_until
    q = select(UsageRecord.peer, UsageRecord.direction, UsageRecord.started_at, UsageRecord.duration_s,
               UsageRecord.ingested_at).where(UsageRecord.line_id == line.id, UsageRecord.kind == "voice",
                                              UsageRecord.status == "rated", UsageRecord.peer.is_not(None))
    if since is None:
        q = q.where(UsageRecord.started_at >= now - FIRST_SYNC)
    else:  # late events (up to 7 days) are rated after newer ones: the cursor is the time they were rated
        q = q.where(UsageRecord.started_at >= since - LATE_EVENTS, UsageRecord.ingested_at >= since)  # (>=: the log keeps each call once)
    if state.calls_cleared_at is not None:
        q = q.where(UsageRecord.started_at > state.calls_cleared_at)
    rows = session.exec(q.order_by(UsageRecord.started_at.desc()).limit(CALL_LOG_MAX)).all()
    _insert_ignore(session, PhoneCall, [{"line_id": line.id, "peer": p, "direction": d or "out", "started_at": at,
                                         "duration_s": int(dur or 0)} for p, d, at, dur, _ in rows])
    if rows:
        newest_rated = max(as_utc(r[4]) for r in rows)
        state.calls_synced_until = newest_rated if since is None else max(since, newest_rated)
    elif since is None:
        state.calls_synced_until = now
    _trim_calls(session, line)


def _trim_calls(session: Session, line: Line) -> None:
    keep = select(PhoneCall.id).where(PhoneCall.line_id == line.id) \
        .order_by(PhoneCall.started_at.desc(), PhoneCall.id.desc()).limit(CALL_LOG_MAX)
    keep_ids = list(session.exec(keep).scalars())
    if len(keep_ids) == CALL_LOG_MAX:
        session.execute(delete(PhoneCall).where(PhoneCall.line_id == line.id, PhoneCall.id.not_in(keep_ids)))


def phone(session: Session, line: Line, now: datetime) -> PhoneState:
    """The line's simulated phone, brought up to date (address book set up, new calls in the log).
    Writes: call it in a write transaction."""
    state = session.get(PhoneState, line.id)
    if state is None:
        state = PhoneState(line_id=line.id, contacts_ready=False)
        session.add(state)
    if not state.contacts_ready:
        _setup_contacts(session, line, now)
        state.contacts_ready = True
    _sync_calls(session, line, state, now)
    session.add(state)
    session.flush()
    return state


def contacts(session: Session, line: Line) -> list[PhoneContact]:
    return list(session.exec(select(PhoneContact).where(PhoneContact.line_id == line.id)
                             .order_by(PhoneContact.name, PhoneContact.id)).scalars())


def calls(session: Session, line: Line) -> list[PhoneCall]:
    return list(session.exec(select(PhoneCall).where(PhoneCall.line_id == line.id)
                             .order_by(PhoneCall.started_at.desc(), PhoneCall.id.desc())).scalars())


def normalize_number(text: str) -> str:
    """A contact's number as kept: digits only ('+7 (916) 123-45-67' and '8 916 …' -> '7916…'),
    3 to 15 digits (short service numbers such as 0890 included)."""
    raw = str(text or "").strip()
    if any(ch not in "0123456789+()- .\u00a0" for ch in raw):
        raise Invalid("number: digits only", "Номер: только цифры, пробелы, скобки, дефисы и «+»", field="number")
    digits = "".join(ch for ch in raw if ch.isdigit())
    if len(digits) == 11 and digits[0] == "8":
        digits = "7" + digits[1:]
    if not 3 <= len(digits) <= 15:
        raise Invalid("number: 3 to 15 digits", "Номер: от 3 до 15 цифр", field="number")
    return digits


def number_text(number: str) -> str:
    return format_msisdn(number) if len(number) == 11 and number[0] == "7" else number


def _line(session: Session, info: SessionInfo, msisdn: str) -> Line:
    return require_line(session, info, msisdn)


def add_contact(session: Session, info: SessionInfo, msisdn: str, name: str, number: str,
                now: datetime) -> PhoneContact:
    line = _line(session, info, msisdn)
    phone(session, line, now)
    name = " ".join(str(name or "").split())
    if not name:
        raise Invalid("name: empty", "Введите имя", field="name")
    if len(name) > 80:
        raise Invalid("name: at most 80 characters", "Имя: не длиннее 80 символов", field="name")
    digits = normalize_number(number)
    existing = contacts(session, line)
    if len(existing) >= CONTACTS_MAX:
        raise Conflict(f"at most {CONTACTS_MAX} contacts", f"В телефоне не больше {CONTACTS_MAX} контактов")
    if any(c.name == name and c.number == digits for c in existing):
        raise Conflict("this contact is already on the phone", "Такой контакт уже есть в телефоне", field="name")
    contact = PhoneContact(line_id=line.id, name=name, number=digits, created_at=now)
    session.add(contact)
    session.flush()
    return contact


def delete_contact(session: Session, info: SessionInfo, msisdn: str, contact_id) -> None:
    line = _line(session, info, msisdn)
    contact = session.get(PhoneContact, parse_id(contact_id))
    if contact is None or contact.line_id != line.id:
        raise NotFound("no such contact", "Контакт не найден")
    session.delete(contact)
    session.flush()


def clear_call_log(session: Session, info: SessionInfo, msisdn: str, now: datetime) -> int:
    line = _line(session, info, msisdn)
    state = phone(session, line, now)
    n = session.execute(delete(PhoneCall).where(PhoneCall.line_id == line.id)).rowcount or 0
    state.calls_cleared_at = now
    session.add(state)
    session.flush()
    return n


# ---------------------------------------------------------------- backups


def connected(session: Session, line_id: int) -> Subscription | None:
    return session.exec(select(Subscription).where(
        Subscription.line_id == line_id, Subscription.code == SERVICE, Subscription.active == True)  # noqa: E712
    ).scalars().first()


def _content(session: Session, line: Line) -> dict:
    return {
        "contacts": [{"name": c.name, "number": c.number} for c in contacts(session, line)],
        "calls": [{"peer": c.peer, "direction": c.direction, "started_at": as_utc(c.started_at).isoformat(),
                   "duration_s": c.duration_s} for c in calls(session, line)],
    }


def _encode(line: Line, content: dict, now: datetime) -> str:
    return json.dumps({"format": 1, "msisdn": line.msisdn, "made_at": now.isoformat(), **content},
                      ensure_ascii=False, separators=(",", ":"))


def _decode(backup: MemoryBackup) -> dict:
    data = json.loads(backup.payload)
    return {"contacts": data.get("contacts", []), "calls": data.get("calls", [])}


def newest(session: Session, line_id: int) -> MemoryBackup | None:
    return session.exec(select(MemoryBackup).where(MemoryBackup.line_id == line_id)
                        .order_by(MemoryBackup.created_at.desc(), MemoryBackup.id.desc()).limit(1)).scalars().first()


@dataclass
class BackupResult:
    backup: MemoryBackup
    repeated: bool = False  # an identical backup was made a moment ago: that one is the answer


def make_backup(session: Session, line: Line, now: datetime, trigger: str) -> BackupResult:
    """Back the phone up now (the service must be connected). Keeps the newest KEEP_BACKUPS."""
    if connected(session, line.id) is None:
        raise Conflict("connect «Second memory» first", "Сначала подключите услугу «Вторая память»")
    phone(session, line, now)
    content = _content(session, line)
    last = newest(session, line.id)
    if trigger == "manual" and last is not None and now - as_utc(last.created_at) < REPEAT_WINDOW \
            and _decode(last) == content:
        return BackupResult(last, repeated=True)
    payload = _encode(line, content, now)
    backup = MemoryBackup(line_id=line.id, created_at=now, trigger=trigger, contacts_count=len(content["contacts"]),
                          calls_count=len(content["calls"]), size_bytes=len(payload.encode("utf-8")),
                          payload=payload)
    session.add(backup)
    session.flush()
    keep = list(session.exec(select(MemoryBackup.id).where(MemoryBackup.line_id == line.id)
                             .order_by(MemoryBackup.created_at.desc(), MemoryBackup.id.desc())
                             .limit(KEEP_BACKUPS)).scalars())
    session.execute(delete(MemoryBackup).where(MemoryBackup.line_id == line.id, MemoryBackup.id.not_in(keep)))
    return BackupResult(backup)


def backup_now(session: Session, info: SessionInfo, msisdn: str, now: datetime) -> BackupResult:
    return make_backup(session, _line(session, info, msisdn), now, "manual")


def backups(session: Session, line: Line) -> list[MemoryBackup]:
    return list(session.exec(select(MemoryBackup).where(MemoryBackup.line_id == line.id)
                             .order_by(MemoryBackup.created_at.desc(), MemoryBackup.id.desc())).scalars())


def _backup_of(session: Session, line: Line, backup_id) -> MemoryBackup:
    backup = session.get(MemoryBackup, parse_id(backup_id))
    if backup is None or backup.line_id != line.id:
        raise NotFound("no such backup", "Резервная копия не найдена")
    return backup


@dataclass
class RestorePlan:
    backup_id: int
    made_at: datetime
    contacts: list[dict] = field(default_factory=list)  # {"name", "number"} missing on the phone
    calls: list[dict] = field(default_factory=list)  # {"peer", "direction", "started_at", "duration_s"}

    @property
    def empty(self) -> bool:
        return not self.contacts and not self.calls


def _plan(session: Session, line: Line, backup: MemoryBackup) -> RestorePlan:
    saved = _decode(backup)
    on_phone = {(c.name, c.number) for c in contacts(session, line)}
    logged = {(c.peer, c.direction, as_utc(c.started_at)) for c in calls(session, line)}
    plan = RestorePlan(backup.id, as_utc(backup.created_at))
    seen = set()
    for c in saved["contacts"]:
        key = (c["name"], c["number"])
        if key not in on_phone and key not in seen:
            seen.add(key)
            plan.contacts.append(c)
    for c in saved["calls"]:
        key = (c["peer"], c["direction"], datetime.fromisoformat(c["started_at"]))
        if key not in logged:
            logged.add(key)
            plan.calls.append(c)
    return plan


def restore_preview(session: Session, info: SessionInfo, msisdn: str, backup_id, now: datetime) -> RestorePlan:
    """What restoring this backup would bring back: the contacts and calls it has that the phone lacks."""
    line = _line(session, info, msisdn)
    phone(session, line, now)
    return _plan(session, line, _backup_of(session, line, backup_id))


def restore(session: Session, info: SessionInfo, msisdn: str, backup_id, now: datetime) -> RestorePlan:
    """Bring back what the preview lists (nothing on the phone is deleted or overwritten). Restoring the
    same backup again finds nothing missing and changes nothing."""
    line = _line(session, info, msisdn)
    backup = _backup_of(session, line, backup_id)
    if connected(session, line.id) is None:
        raise Conflict("connect «Second memory» first", "Сначала подключите услугу «Вторая память»")
    phone(session, line, now)
    plan = _plan(session, line, backup)
    if plan.contacts:
        room = CONTACTS_MAX - len(contacts(session, line))
        if len(plan.contacts) > room:
            raise Conflict(f"the phone has room for {max(room, 0)} more contacts",
                           f"В телефоне поместится ещё {max(room, 0)} контактов: удалите лишние и повторите")
        session.connection().execute(PhoneContact.__table__.insert(), [
            {"line_id": line.id, "name": c["name"], "number": c["number"], "created_at": now} for c in plan.contacts])
    _insert_ignore(session, PhoneCall, [{"line_id": line.id, "peer": c["peer"], "direction": c["direction"],
                                         "started_at": datetime.fromisoformat(c["started_at"]),
                                         "duration_s": int(c["duration_s"])} for c in plan.calls])
    _trim_calls(session, line)
    session.flush()
    return plan


# ---------------------------------------------------------------- the schedule


def next_run(after: datetime, frequency: str) -> datetime | None:
    """The first 03:00 Moscow time after `after` (weekly schedules then repeat every 7 days)."""
    if frequency == "off":
        return None
    local = as_utc(after).astimezone(MSK)
    run = local.replace(hour=BACKUP_HOUR, minute=0, second=0, microsecond=0)
    if run <= local:
        run += timedelta(days=1)
    return run.astimezone(as_utc(after).tzinfo)


@dataclass
class ScheduleView:
    frequency: str
    next_at: datetime | None


def schedule(session: Session, line: Line, now: datetime) -> ScheduleView:
    row = session.get(MemorySchedule, line.id)
    if row is not None:
        return ScheduleView(row.frequency, as_utc(row.next_at) if row.next_at else None)
    sub = connected(session, line.id)
    first = next_run(as_utc(sub.started_at), "daily") if sub is not None else None
    return ScheduleView("daily", max(first, now) if first else None)


def set_schedule(session: Session, info: SessionInfo, msisdn: str, frequency: str, now: datetime) -> ScheduleView:
    line = _line(session, info, msisdn)
    frequency = str(frequency or "")
    if frequency not in FREQUENCIES:
        raise Invalid("frequency: daily, weekly or off", "Выберите, как часто делать копию", field="frequency")
    if connected(session, line.id) is None:
        raise Conflict("connect «Second memory» first", "Сначала подключите услугу «Вторая память»")
    row = session.get(MemorySchedule, line.id) or MemorySchedule(line_id=line.id, updated_at=now)
    row.frequency = frequency
    row.next_at = next_run(now, frequency)
    row.updated_at = now
    session.add(row)
    session.flush()
    return ScheduleView(row.frequency, row.next_at)


def due_lines(session: Session, now: datetime, limit: int = 200) -> list[int]:
    """Lines whose scheduled backup is due: the service connected, and the schedule's next run (by
    default the first 03:00 after connecting) reached."""
    rows = session.exec(
        select(Subscription.line_id, Subscription.started_at, MemorySchedule.frequency, MemorySchedule.next_at)
        .outerjoin(MemorySchedule, MemorySchedule.line_id == Subscription.line_id)
        .where(Subscription.code == SERVICE, Subscription.active == True)  # noqa: E712
        .order_by(Subscription.line_id)).all()
    out = []
    for line_id, started_at, frequency, next_at in rows:
        if frequency is None:
            when = next_run(as_utc(started_at), "daily")
        elif frequency == "off" or next_at is None:
            continue
        else:
            when = as_utc(next_at)
        if when <= now:
            out.append(line_id)
            if len(out) >= limit:
                break
    return out


def run_scheduled(session: Session, line_id: int, now: datetime) -> bool:
    """One line's scheduled backup, if still due (another process may have made it): then the next run is
    set from now — after a long pause one backup is made, not one per missed day."""
    line = session.get(Line, line_id)
    sub = connected(session, line_id)
    if line is None or sub is None:
        return False
    row = session.get(MemorySchedule, line_id)
    if row is None:
        row = MemorySchedule(line_id=line_id, frequency="daily", next_at=next_run(as_utc(sub.started_at), "daily"),
                             updated_at=now)
    if row.frequency == "off" or row.next_at is None or as_utc(row.next_at) > now:
        return False
    make_backup(session, line, now, "schedule")
    step = timedelta(days=7) if row.frequency == "weekly" else timedelta(days=1)
    nxt = as_utc(row.next_at)
    while nxt <= now:
        nxt += step
    row.next_at = nxt
    row.updated_at = now
    session.add(row)
    session.flush()
    return True


def run_due(engine: Engine, now: datetime) -> int:
    """The scheduler's part (core/jobs.py): every due backup, a few lines per transaction."""
    from mts_portal.core.db import read, transact

    done = 0
    tried: set[int] = set()  # each line once per run (a failure is logged and retried at the next run)
    while True:
        ids = [i for i in read(engine, lambda s: due_lines(s, now, limit=200 + len(tried))) if i not in tried]
        if not ids:
            return done
        tried.update(ids)
        for chunk in (ids[i:i + 50] for i in range(0, len(ids), 50)):
            def fn(session: Session, chunk=chunk) -> int:
                n = 0
                for line_id in chunk:
                    try:
                        with session.begin_nested():
                            n += run_scheduled(session, line_id, now)
                    except Exception:
                        log.exception("scheduled backup of line %s failed; retried at the next run", line_id)
                return n

            done += transact(engine, fn, what="scheduled backups")


def size_text(size_bytes: int, lang: str = "ru") -> str:
    """'812 Б', '2,4 КБ', '1,2 МБ' / '812 B', '2.4 KB'."""
    units = ("Б", "КБ", "МБ") if lang != "en" else ("B", "KB", "MB")
    if size_bytes < 1024:
        return f"{size_bytes}\u00a0{units[0]}"
    value, unit = size_bytes / 1024, units[1]
    if value >= 1024:
        value, unit = value / 1024, units[2]
    text = f"{int(value * 10) / 10:.1f}"  # rounded down: a size is never overstated
    return (text.replace(".", ",") if lang != "en" else text) + f"\u00a0{unit}"
