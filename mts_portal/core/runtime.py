"""Process-wide runtime objects: the store's engine, the clock, the catalogue.

The API and the Reflex app share these. Tests build their own engine and clock
and pass them to services explicitly, so nothing here is needed by the core.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from sqlalchemy import Engine, select

from mts_portal.core.catalog import Catalog, default_catalog
from mts_portal.core.clock import Clock, ClockSetting, SimulatedClock, SystemClock
from mts_portal.core.db import get_engine, transact
from mts_portal.core.models import SimClockRow
from mts_portal.core.settings import get_settings

_lock = threading.Lock()
_clock: Clock | None = None
_migrated = False


def engine() -> Engine:
    """The configured store, migrated to head on first use."""
    global _migrated
    eng = get_engine()
    if not _migrated:
        from mts_portal.core.migrate import migrate

        migrate(eng)
        _migrated = True
    return eng


def load_clock_setting(eng: Engine) -> ClockSetting:
    with eng.connect() as conn:
        row = conn.execute(select(SimClockRow.offset_seconds, SimClockRow.speed, SimClockRow.anchor_wall,
                                  SimClockRow.session_offset).where(SimClockRow.id == 1)).first()
    return ClockSetting(*row) if row is not None else ClockSetting()


def save_clock_setting(eng: Engine, update) -> ClockSetting:
    """Apply `update(stored, wall) -> new` to the stored clock under the write lock (SQLite: BEGIN
    IMMEDIATE; PostgreSQL: FOR UPDATE), so concurrent moves serialise and none goes back."""

    def fn(session):
        row = session.get(SimClockRow, 1, with_for_update=True, populate_existing=True)
        stored = ClockSetting(row.offset_seconds, row.speed, row.anchor_wall, row.session_offset) if row \
            else ClockSetting()
        new = update(stored, time.time())
        row = row or SimClockRow(id=1)
        row.offset_seconds, row.speed, row.anchor_wall = new.offset, new.speed, new.anchor_wall
        row.session_offset = new.session_offset
        session.add(row)
        return new

    return transact(eng, fn, what="move clock")


def store_clock(eng: Engine, refresh_s: float = 1.0) -> SimulatedClock:
    """The simulated clock kept in `eng`'s store."""
    return SimulatedClock(lambda: load_clock_setting(eng), lambda update: save_clock_setting(eng, update),
                          refresh_s=refresh_s)


def clock() -> Clock:
    global _clock
    with _lock:
        if _clock is None:
            _clock = store_clock(engine()) if get_settings().simulated_clock else SystemClock()
        return _clock


def now() -> datetime:
    return clock().now()


def session_now() -> datetime:
    """The time sessions are judged by: the wall clock (plus what the test API moved, simulated clock)."""
    c = clock()
    return c.session_now() if isinstance(c, SimulatedClock) else now()


def catalog() -> Catalog:
    return default_catalog()


def reset() -> None:
    """Tests: forget the engine/clock choice after changing the environment."""
    global _clock, _migrated
    with _lock:
        _clock = None
        _migrated = False
