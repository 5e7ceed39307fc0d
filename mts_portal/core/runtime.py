"""Process-wide runtime objects: the store's engine, the clock, the catalogue.

The API and the Reflex app share these. Tests build their own engine and clock
and pass them to services explicitly, so nothing here is needed by the core.
"""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import Engine, select

from mts_portal.core.catalog import Catalog, default_catalog
from mts_portal.core.clock import Clock, SimulatedClock, SystemClock
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


def _load_offset() -> float:
    with engine().connect() as conn:
        value = conn.execute(select(SimClockRow.offset_seconds).where(SimClockRow.id == 1)).scalar()
        return float(value or 0.0)


def _save_offset(offset: float) -> None:
    """Store a larger offset; refuse a smaller one (another process moved the clock further meanwhile).
    The row is read under the write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: FOR UPDATE)."""

    def fn(session):
        row = session.get(SimClockRow, 1, with_for_update=True, populate_existing=True)
        if row is None:
            row = SimClockRow(id=1, offset_seconds=offset)
        elif offset < row.offset_seconds:
            raise ValueError("the clock only moves forward; another move went further meanwhile")
        else:
            row.offset_seconds = offset
        session.add(row)

    transact(engine(), fn, what="move clock")


def clock() -> Clock:
    global _clock
    with _lock:
        if _clock is None:
            _clock = SimulatedClock(_load_offset, _save_offset) if get_settings().simulated_clock else SystemClock()
        return _clock


def now() -> datetime:
    return clock().now()


def catalog() -> Catalog:
    return default_catalog()


def reset() -> None:
    """Tests: forget the engine/clock choice after changing the environment."""
    global _clock, _migrated
    with _lock:
        _clock = None
        _migrated = False
