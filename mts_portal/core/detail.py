"""Detail («Детализация»): paged usage records with what paid for each and why.

Keyset paging on (started_at, id) descending, so page N costs the same as page 1
on a line with 100,000 records (index ix_usage_line_started).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlmodel import Session

from mts_portal.core import domain
from mts_portal.core.billing import get_line
from mts_portal.core.clock import as_utc
from mts_portal.core.errors import Invalid, NotFound
from mts_portal.core.models import UsageRecord

KINDS = ("voice", "sms", "data")


@dataclass
class RecordView:
    id: int
    event_id: str
    kind: str
    direction: str | None
    peer: str | None
    started_at: datetime
    duration_s: int | None
    bytes: int | None
    zone: str
    status: str
    units: int
    charged_kopecks: int
    paid_by: str
    drawn: list[dict]
    explanation: dict

    def to_api(self) -> dict:
        return {
            "id": self.id, "event_id": self.event_id, "kind": self.kind, "direction": self.direction,
            "peer": self.peer, "started_at": self.started_at.isoformat(), "duration_s": self.duration_s,
            "bytes": self.bytes, "zone": self.zone, "status": self.status, "units": self.units,
            "charged_kopecks": self.charged_kopecks, "paid_by": self.paid_by, "drawn": self.drawn,
            "explanation": self.explanation,
        }


@dataclass
class Totals:
    count: int = 0
    charged_kopecks: int = 0
    minutes: int = 0
    sms: int = 0
    kb: int = 0


@dataclass
class RecordsPage:
    msisdn: str
    records: list[RecordView]
    next_cursor: str | None
    totals: Totals = field(default_factory=Totals)

    def to_api(self) -> dict:
        t = self.totals
        return {
            "msisdn": self.msisdn,
            "records": [r.to_api() for r in self.records],
            "next_cursor": self.next_cursor,
            "totals": {"count": t.count, "charged_kopecks": t.charged_kopecks, "minutes": t.minutes,
                       "sms": t.sms, "kb": t.kb},
        }


def day_window(date_from: str, date_to: str) -> tuple[datetime, datetime]:
    """The Moscow calendar days date_from..date_to (ISO dates of 2000–2099, as a form sends them) as
    [start, end); Invalid otherwise (the detail page shows it next to the dates)."""
    from datetime import date, timedelta

    from mts_portal.core.clock import moscow_midnight

    days = []
    for value, name in ((date_from, "from"), (date_to, "to")):
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError(value)
            day = date.fromisoformat(value)
        except ValueError:
            raise Invalid(f"{name}: a date YYYY-MM-DD", "Дата в формате ГГГГ-ММ-ДД") from None
        if not 2000 <= day.year <= 2099:
            raise Invalid(f"{name}: a date of 2000–2099", "Дата между 2000 и 2099 годами")
        days.append(day)
    return moscow_midnight(days[0]), moscow_midnight(days[1] + timedelta(days=1))


def encode_cursor(started_at: datetime, record_id: int) -> str:
    raw = f"{as_utc(started_at).isoformat()}|{record_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The position a cursor names; NotFound (404: no such page) for anything this API did not give out."""
    try:
        if not isinstance(cursor, str) or len(cursor) > 200:
            raise ValueError(cursor)
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        ts, rid = raw.split("|")
        at = as_utc(datetime.fromisoformat(ts))
        record_id = int(rid)
        if not (domain.DATE_MIN <= at <= domain.DATE_MAX and 1 <= record_id <= domain.INT32_MAX) \
                or encode_cursor(at, record_id) != cursor:
            raise ValueError(cursor)
        return at, record_id
    except (ValueError, UnicodeDecodeError, OverflowError) as exc:
        raise NotFound("cursor: not a cursor this API gave out", "Неверная ссылка на страницу",
                       code="invalid_cursor") from exc


def _filters(line_id: int, start: datetime | None, end: datetime | None, kind: str | None) -> list:
    conds = [UsageRecord.line_id == line_id]
    if start is not None:
        conds.append(UsageRecord.started_at >= start)
    if end is not None:
        conds.append(UsageRecord.started_at < end)
    if kind is not None:
        if kind not in KINDS:
            raise Invalid("kind: voice, sms or data", "Тип: звонки, SMS или интернет")
        conds.append(UsageRecord.kind == kind)
    return conds


def to_view(r) -> RecordView:
    return RecordView(r.id, r.event_id, r.kind, r.direction, r.peer, r.started_at, r.duration_s, r.bytes, r.zone,
                      r.status, r.units, r.charged_kopecks, r.paid_by, json.loads(r.drawn or "[]"),
                      json.loads(r.explanation or "{}"))


def totals(session: Session, line_id: int, start, end, kind) -> Totals:
    conds = _filters(line_id, start, end, kind) + [UsageRecord.status == "rated"]

    def units_of(k: str):
        return func.coalesce(func.sum(case((UsageRecord.kind == k, UsageRecord.units), else_=0)), 0)

    row = session.exec(
        select(func.count(), func.coalesce(func.sum(UsageRecord.charged_kopecks), 0),
               units_of("voice"), units_of("sms"), units_of("data")).where(*conds)
    ).one()
    return Totals(int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4]))


def records_page(
    *,
    session: Session,
    msisdn: str,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    kind: str | None = None,
    cursor: str | None = None,
    page_size: int = 50,
    with_totals: bool = True,
    empty_if_reversed: bool = False,
) -> RecordsPage:
    """A page of a line's records, newest first. The window is checked against the input domain (dates of
    2000–2099); one that ends before it starts is refused, or — `empty_if_reversed` (the API, where it is a
    filter) — answered with no records."""
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 500:
        raise Invalid("page_size: 1–500", "Размер страницы: от 1 до 500")
    start = domain.instant(start, "from", field_ru="Начало периода") if start is not None else None
    end = domain.instant(end, "to", field_ru="Конец периода") if end is not None else None
    if kind is not None and kind not in KINDS:
        raise Invalid("kind: voice, sms or data", "Вид: звонки, SMS или интернет")
    line = get_line(session, msisdn)
    if start is not None and end is not None and start >= end:
        if not empty_if_reversed:
            raise Invalid("from must be before to", "Начало периода должно быть раньше конца")
        return RecordsPage(line.msisdn, [], None, Totals())
    conds = _filters(line.id, start, end, kind)
    if cursor:
        c_at, c_id = decode_cursor(cursor)
        conds.append(or_(UsageRecord.started_at < c_at, and_(UsageRecord.started_at == c_at, UsageRecord.id < c_id)))
    rows = session.exec(
        select(UsageRecord).where(*conds).order_by(UsageRecord.started_at.desc(), UsageRecord.id.desc())
        .limit(page_size + 1)
    ).scalars().all()
    more = len(rows) > page_size
    rows = rows[:page_size]
    views = [to_view(r) for r in rows]
    next_cursor = encode_cursor(rows[-1].started_at, rows[-1].id) if more and rows else None
    t = totals(session, line.id, start, end, kind) if with_totals else Totals()
    return RecordsPage(line.msisdn, views, next_cursor, t)
