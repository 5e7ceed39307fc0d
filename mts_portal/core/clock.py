"""The system clock is injectable: every service asks a Clock for "now".

- SystemClock: the wall clock.
- FrozenClock: tests; moves only when told.
- SimulatedClock: demo/test mode; wall clock plus an offset that only grows,
  kept in the store so every process of a deployment agrees on it.

Billing periods and daily fees follow the Moscow calendar (Europe/Moscow).
Datetimes inside the domain are timezone-aware UTC.
"""

from __future__ import annotations

import calendar
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

MSK = ZoneInfo("Europe/Moscow")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    def __init__(self, now: datetime):
        self._now = as_utc(now)

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = as_utc(now)

    def advance(self, **delta: float) -> datetime:
        self._now = self._now + timedelta(**delta)
        return self._now


class SimulatedClock:
    """Wall clock + offset. The offset lives in the store (table sim_clock) so
    that the portal, the API and an in-process simulator agree; it is re-read
    at most every `refresh_s` seconds and immediately after set_offset()."""

    def __init__(self, load_offset, save_offset, refresh_s: float = 1.0):
        self._load = load_offset
        self._save = save_offset
        self._refresh_s = refresh_s
        self._offset = 0.0
        self._loaded_at = -1e18
        self._lock = threading.Lock()

    def offset_seconds(self) -> float:
        mono = time.monotonic()
        if mono - self._loaded_at > self._refresh_s:
            with self._lock:
                self._offset = float(self._load())
                self._loaded_at = mono
        return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset_seconds())

    def move_to(self, target: datetime) -> datetime:
        """Move forward to `target` (never back). Returns the new now.

        `save_offset(offset)` must store the offset only if it is not smaller than the stored one, in one
        transaction, and raise ValueError otherwise: two processes moving the clock at once can then never
        move it back."""
        target = as_utc(target)
        with self._lock:
            current = datetime.now(UTC) + timedelta(seconds=float(self._load()))
            if target < current:
                raise ValueError(f"the clock only moves forward; now is {current.isoformat()}")
            offset = (target - datetime.now(UTC)).total_seconds()
            self._save(offset)
            self._offset = offset
            self._loaded_at = time.monotonic()
        return target


def as_utc(dt: datetime) -> datetime:
    """Aware UTC datetime; a naive value is taken as UTC (that is how the store keeps them)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def moscow_date(dt: datetime) -> date:
    return as_utc(dt).astimezone(MSK).date()


def moscow_midnight(day: date) -> datetime:
    """00:00 Moscow time of `day`, as UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=MSK).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Period:
    """A billing period: a calendar month in Moscow time, [start, end) in UTC."""

    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        return (moscow_date(self.end - timedelta(seconds=1)) - moscow_date(self.start)).days + 1

    def remaining_days(self, at: datetime) -> int:
        """Days from the Moscow date of `at` to the period end, both ends counted."""
        return (moscow_date(self.end - timedelta(seconds=1)) - moscow_date(at)).days + 1

    def next(self) -> Period:
        return period_of(self.end)

    def label(self) -> str:
        """'2026-12': the period in cause references (stable, language-free)."""
        d = moscow_date(self.start)
        return f"{d.year:04d}-{d.month:02d}"

    def name(self, lang: str = "ru") -> str:
        """'декабрь 2026' / 'December 2026': the period in statements."""
        from mts_portal.core.words import month_name

        return month_name(moscow_date(self.start), lang)


def period_of(dt: datetime) -> Period:
    d = moscow_date(dt)
    start = moscow_midnight(date(d.year, d.month, 1))
    if d.month == 12:
        end = moscow_midnight(date(d.year + 1, 1, 1))
    else:
        end = moscow_midnight(date(d.year, d.month + 1, 1))
    return Period(start, end)


def days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def prorate_up(amount: int, part: int, whole: int) -> int:
    """amount * part / whole rounded up (fees: never lose a kopeck)."""
    return -(-(amount * part) // whole)


def prorate_down(amount: int, part: int, whole: int) -> int:
    """amount * part / whole rounded down (bundles: never give more than paid for)."""
    return (amount * part) // whole


def fmt_date(dt: datetime) -> str:
    """Moscow calendar date, dd.mm.yyyy."""
    return as_utc(dt).astimezone(MSK).strftime("%d.%m.%Y")


def fmt_datetime(dt: datetime) -> str:
    """Moscow time, dd.mm.yyyy HH:MM."""
    return as_utc(dt).astimezone(MSK).strftime("%d.%m.%Y %H:%M")
