"""The input domain: what the store can hold, checked before anything reaches it.

One place for the limits every entry point shares (the HTTP API, the Reflex handlers, the simulator):
integers within the columns of both stores (SQLite keeps 64-bit integers, PostgreSQL's `integer` is
32-bit), dates within a window the calendar arithmetic is safe in, and text without control characters.
Each check raises `Invalid` naming the field, in English and Russian; docs/SECURITY.md has the table.
The ORM-level guard (`install_text_guard`) refuses control characters in any text an ORM flush writes,
so a handler that forgot a check still cannot store a NUL (PostgreSQL would fail the whole transaction
on it; SQLite would keep it).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from mts_portal.core.errors import Invalid

INT32_MAX = 2**31 - 1  # PostgreSQL `integer` (ids, counters): the narrowest integer column of both stores
INT64_MAX = 2**63 - 1  # `bigint` and SQLite's integers
# dates the portal accepts from outside (query windows, the simulated clock); beyond them the period and
# Moscow-midnight arithmetic would overflow datetime's range
# (as written: a UTC instant may be up to a day outside, by the offset)
DATE_MIN = datetime(1999, 12, 31, tzinfo=UTC)
DATE_MAX = datetime(2100, 1, 2, tzinfo=UTC)

# C0 controls but TAB, LF, CR; DEL; C1 controls; lone surrogates cannot arrive (JSON and the websocket are UTF-8)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
CONTROL_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"  # the OpenAPI pattern of single-line text


# ISO-8601 date-time with an offset, a real calendar date of 2000–2099 as written: the same text the
# OpenAPI document gives as the pattern, so what it calls valid is exactly what the routes accept
_MD = (r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
       r"|02-(?:0[1-9]|1[0-9]|2[0-8]))")
_LEAP = r"(?:0[048]|[2468][048]|[13579][26])-02-29"
INSTANT_PATTERN = (rf"^20(?:[0-9]{{2}}-{_MD}|{_LEAP})T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{{1,6}})?)?"
                   r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$")
_INSTANT = re.compile(INSTANT_PATTERN)


def has_control(value: str, *, multiline: bool = False) -> bool:
    return (_CONTROL if multiline else _CONTROL_SINGLE_LINE).search(value) is not None


def text(value, field: str, *, max_len: int, min_len: int = 0, multiline: bool = False,
         field_ru: str | None = None) -> str:
    """`value` if it is a string of min_len..max_len characters without control characters."""
    label_ru = field_ru or field
    if not isinstance(value, str):
        raise Invalid(f"{field}: must be text", f"{label_ru}: нужен текст")
    if has_control(value, multiline=multiline):
        raise Invalid(f"{field}: control characters are not allowed", f"{label_ru}: недопустимые управляющие символы")
    if not min_len <= len(value) <= max_len:
        raise Invalid(f"{field}: {min_len}–{max_len} characters", f"{label_ru}: от {min_len} до {max_len} символов")
    return value


def integer(value, field: str, *, low: int = 0, high: int = INT32_MAX, field_ru: str | None = None) -> int:
    """`value` if it is an integer (not a bool, not a float) within low..high."""
    label_ru = field_ru or field
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{field}: must be an integer", f"{label_ru}: нужно целое число")
    if not low <= value <= high:
        raise Invalid(f"{field}: must be between {low} and {high}", f"{label_ru}: от {low} до {high}")
    return value


def instant(value, field: str, *, field_ru: str | None = None) -> datetime:
    """An ISO-8601 date-time string with an offset (or a datetime) within DATE_MIN..DATE_MAX, in UTC.
    Numbers are not taken as Unix timestamps."""
    label_ru = field_ru or field
    if isinstance(value, str):
        if len(value) > 40 or not _INSTANT.match(value):
            raise Invalid(f"{field}: an ISO-8601 date-time with an offset of 2000–2099 (2026-11-22T15:00:00+03:00)",
                          f"{label_ru}: дата и время ISO-8601 с часовым поясом, 2000–2099 годы")
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        raise Invalid(f"{field}: must be an ISO-8601 date-time string", f"{label_ru}: дата в формате ISO-8601")
    if value.tzinfo is None:
        raise Invalid(f"{field}: the offset is missing (e.g. +03:00 or Z)", f"{label_ru}: укажите часовой пояс")
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        utc = None
    if utc is None or not DATE_MIN <= utc <= DATE_MAX:
        raise Invalid(f"{field}: must be between {DATE_MIN.date()} and {DATE_MAX.date()}",
                      f"{label_ru}: дата между {DATE_MIN.date()} и {DATE_MAX.date()}")
    return utc


def install_text_guard() -> None:
    """Refuse control characters (but TAB/LF/CR) in every string an ORM flush writes: Invalid, nothing stored.
    Idempotent; installed when the engine is made."""
    from sqlalchemy import event, inspect
    from sqlalchemy.orm import Session

    if getattr(install_text_guard, "_done", False):
        return

    @event.listens_for(Session, "before_flush")
    def _no_control_characters(session, _ctx, _instances):
        for obj in list(session.new) + list(session.dirty):
            state = inspect(obj)
            loaded = state.dict  # what is set or loaded: reading it never loads from the store
            for attr in state.mapper.column_attrs:
                value = loaded.get(attr.key)
                if isinstance(value, str) and _CONTROL.search(value):
                    raise Invalid(f"{attr.key}: control characters are not allowed",
                                  "Недопустимые управляющие символы в тексте")

    install_text_guard._done = True
