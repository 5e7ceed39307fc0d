"""The store-trouble signal (core/db.StoreHealth) behind the banner and /health: a refused write counts
for `failure_memory_s` however many other writes succeed meanwhile (a full disk takes small writes and
refuses big ones), and then it is back by itself."""

from __future__ import annotations

import time

from mts_portal.core import db
from mts_portal.core.db import StoreHealth, make_engine, transact


def test_a_refused_write_counts_even_while_small_writes_succeed(tmp_path, monkeypatch):
    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    with engine.begin() as c:
        c.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32))")
        c.exec_driver_sql("INSERT INTO alembic_version VALUES ('x')")
    health = StoreHealth(probe_every_s=0.0, failure_memory_s=1.0)
    monkeypatch.setattr(db, "HEALTH", health)
    assert health.status(engine) == (True, None)
    health.note_failure("database or disk is full")
    for _ in range(20):  # the scheduler's and the sessions' small writes still go through
        transact(engine, lambda s: s.connection().exec_driver_sql("UPDATE alembic_version SET version_num = 'x'"))
    writable, reason = health.status(engine)
    assert not writable and reason == "database or disk is full"
    time.sleep(1.1)
    assert health.status(engine) == (True, None)
    engine.dispose()


def test_a_connection_in_use_when_the_pool_is_dropped_is_closed_when_it_comes_back(tmp_path):
    """An orphan of a dropped pool must not wait for the garbage collector: for SQLite, one open connection
    of a read-only spell keeps every new connection of the process read-only (they share its WAL index)."""
    import sqlite3

    import pytest

    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    in_use = engine.connect()
    orphan = in_use.connection.dbapi_connection
    db.drop_pooled_connections(engine)
    with engine.connect() as fresh:  # the new pool works while the orphan is still in use
        fresh.exec_driver_sql("SELECT 1")
        pooled = fresh.connection.dbapi_connection
    orphan.execute("SELECT 1")  # still usable by its holder until it is given back
    in_use.close()
    with pytest.raises(sqlite3.ProgrammingError):  # closed on its return
        orphan.execute("SELECT 1")
    pooled.execute("SELECT 1")  # a connection of the current pool is kept in the pool
    with engine.connect() as again:
        assert again.connection.dbapi_connection is pooled
    engine.dispose()
