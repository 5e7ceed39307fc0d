"""The system clock is injectable: every service asks a Clock for "now".

- SystemClock: the wall clock.
- FrozenClock: tests; moves only when told.
- SimulatedClock: demo/test mode; the wall clock moved forward, paused or run fast
  (ClockSetting), kept in the store so every process of a deployment agrees on it.

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


@dataclass(frozen=True, slots=True)
class ClockSetting:
    """A simulated clock as stored: simulated Unix time = anchor_wall + offset + (wall − anchor_wall) × speed.

    speed 1, anchor 0 is "the wall clock plus an offset"; speed 0 is paused; speed 60 runs a minute a
    second. Every change re-anchors at the current wall time, so the simulated time is continuous."""

    offset: float = 0.0
    speed: float = 1.0
    anchor_wall: float = 0.0
    session_offset: float = 0.0  # sessions' clock: wall + this (see SimClockRow)

    def at(self, wall: float) -> float:
        return self.anchor_wall + self.offset + (wall - self.anchor_wall) * self.speed

    def moved_to(self, target: float, wall: float, sessions_too: bool = False) -> ClockSetting:
        """The same speed, simulated time `target` at wall time `wall`; `sessions_too` moves the sessions'
        clock by as much (the test API: an idle logout tested by moving the clock)."""
        gain = target - self.at(wall) if sessions_too else 0.0
        return ClockSetting(offset=target - wall, speed=self.speed, anchor_wall=wall,
                            session_offset=self.session_offset + max(0.0, gain))

    def with_speed(self, speed: float, wall: float) -> ClockSetting:
        """Another speed from now on, the simulated time unchanged at `wall`."""
        return ClockSetting(offset=self.at(wall) - wall, speed=speed, anchor_wall=wall,
                            session_offset=self.session_offset)


MAX_SPEED = 100_000.0
# the longest single move of the test API (POST /api/v1/clock): what falls due in it is bounded work (at most
# three period starts per line and 62 days of daily fees); a longer journey is several moves
MAX_CLOCK_STEP = timedelta(days=62)
CLOCK_MAX = datetime(2100, 1, 1, tzinfo=UTC)  # the calendar arithmetic is safe well before datetime's end  # simulated seconds per wall second (×3600 is the control room's fastest button)


class SimulatedClock:
    """A clock that only moves forward, shared through the store (table sim_clock) so that the portal, the
    API and an in-process simulator agree; it can also pause and run fast (ClockSetting). The setting is
    re-read at most every `refresh_s` seconds and at once after a change made through this object.

    `load()` returns the stored ClockSetting (or a float offset: the original form). `save(update)` runs
    `update(stored_setting, wall) -> new_setting` in one transaction under the store's write lock and
    stores the result; `update` raises ValueError to refuse (a move that would go back)."""

    def __init__(self, load, save, refresh_s: float = 1.0):
        self._load = load
        self._save = save
        self._refresh_s = refresh_s
        self._setting = ClockSetting()
        self._loaded_at = -1e18
        self._lock = threading.Lock()

    def _read(self) -> ClockSetting:
        value = self._load()
        return value if isinstance(value, ClockSetting) else ClockSetting(offset=float(value or 0.0))

    def setting(self) -> ClockSetting:
        mono = time.monotonic()
        if mono - self._loaded_at > self._refresh_s:
            with self._lock:
                self._setting = self._read()
                self._loaded_at = mono
        return self._setting

    def offset_seconds(self) -> float:
        """Simulated minus wall time, now."""
        wall = time.time()
        return self.setting().at(wall) - wall

    @property
    def speed(self) -> float:
        return self.setting().speed

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.setting().at(time.time()), UTC)

    def session_now(self) -> datetime:
        """The clock sessions are judged by (idle and absolute limits, login tickets): the wall clock, plus
        what the test API moved. The control room's jumps, scenarios and a fast clock leave it alone."""
        return datetime.fromtimestamp(time.time() + self.setting().session_offset, UTC)

    def _change(self, update) -> ClockSetting:
        with self._lock:
            new = self._save(update)
            self._setting = new
            self._loaded_at = time.monotonic()
        return new

    def move_to(self, target: datetime, *, sessions_too: bool = False,
                max_step: timedelta | None = None) -> datetime:
        """Move forward to `target` (never back, never past CLOCK_MAX, at most `max_step` ahead); the speed
        stays. Returns the new now. Two processes moving the clock at once can never move it back (`save`
        serialises them). `sessions_too`: the sessions' clock moves as much (POST /api/v1/clock, for tests).
        `undo_move()` puts back what this move replaced (a move whose due work failed)."""
        goal = as_utc(target).timestamp()
        if as_utc(target) > CLOCK_MAX:
            raise ValueError(f"the clock does not go past {CLOCK_MAX.date()}")
        done: dict[str, ClockSetting] = {}

        def update(stored: ClockSetting, wall: float) -> ClockSetting:
            current = stored.at(wall)
            if goal < current - 1e-6:
                raise ValueError(f"the clock only moves forward; now is "
                                 f"{datetime.fromtimestamp(current, UTC).isoformat()}")
            if max_step is not None and goal - current > max_step.total_seconds():
                raise ValueError(f"one move goes at most {max_step.days} days ahead; now is "
                                 f"{datetime.fromtimestamp(current, UTC).isoformat()}")
            new = stored.moved_to(goal, wall, sessions_too=sessions_too)
            done["before"], done["after"] = stored, new
            return new

        self._change(update)
        self._last_move = (done["before"], done["after"])
        return as_utc(target)

    def undo_move(self) -> bool:
        """Put the clock back where the last move_to of this object found it, unless it changed since."""
        last = getattr(self, "_last_move", None)
        if last is None:
            return False
        before, after = last
        undone = {}

        def update(stored: ClockSetting, _wall: float) -> ClockSetting:
            undone["ok"] = stored == after
            return before if stored == after else stored

        self._change(update)
        self._last_move = None
        return undone.get("ok", False)

    def set_speed(self, speed: float) -> ClockSetting:
        """Pause (0), real time (1) or fast (60, 3600 …) from now on; the simulated time does not jump."""
        speed = float(speed)
        if not 0.0 <= speed <= MAX_SPEED or speed != speed:
            raise ValueError(f"speed must be between 0 and {MAX_SPEED:g}")
        return self._change(lambda stored, wall: stored.with_speed(speed, wall))


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
