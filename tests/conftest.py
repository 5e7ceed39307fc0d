"""Shared fixtures: an isolated environment, a fresh store per test on SQLite and
(when reachable) PostgreSQL, and a frozen clock."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="mts_tests_"))
os.environ.setdefault("MTS_SECRET_KEY", "test-secret-key")
os.environ["MTS_DATA_DIR"] = str(_TMP / "data")
os.environ["MTS_DB_URL"] = f"sqlite:///{_TMP / 'default.db'}"
os.environ.setdefault("MTS_OPERATOR_TOKEN", "test-operator-token")

from sqlalchemy import text  # noqa: E402

from mts_portal.core.clock import FrozenClock  # noqa: E402
from mts_portal.core.db import make_engine  # noqa: E402

PG_BASE = os.environ.get("MTS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
PG_SCHEMA = f"mts_test_{WORKER}_{os.getpid()}"  # unique per process: several checkouts may test at once
T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # Sunday, 15:00 in Moscow


def pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            pass
    except OSError:
        return False
    try:
        eng = make_engine(PG_BASE)
        with eng.connect() as c:
            c.execute(text("select 1"))
        eng.dispose()
        return True
    except Exception:
        return False


_PG_OK: bool | None = None


def _pg_ok() -> bool:
    global _PG_OK
    if _PG_OK is None:
        _PG_OK = pg_reachable()
    return _PG_OK


def pg_url(schema: str = PG_SCHEMA) -> str:
    return f"{PG_BASE}?options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def sqlite_template() -> Path:
    """A migrated SQLite store, copied for every test (migrating each time would be slow)."""
    from mts_portal.core.migrate import migrate

    path = _TMP / "template.db"
    eng = make_engine(f"sqlite:///{path}")
    migrate(eng)
    with eng.connect() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    eng.dispose()
    return path


@pytest.fixture(scope="session")
def pg_engine_session():
    if not _pg_ok():
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    from mts_portal.core.migrate import migrate

    admin = make_engine(PG_BASE)
    with admin.connect() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
        c.execute(text(f'CREATE SCHEMA "{PG_SCHEMA}"'))
        c.commit()
    eng = make_engine(pg_url())
    migrate(eng)
    yield eng
    eng.dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
        c.commit()
    admin.dispose()


def _reset_pg(eng) -> None:
    from sqlmodel import Session, SQLModel

    from mts_portal.core.catalog import sync_catalog

    names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with eng.connect() as c:
        c.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        c.commit()
    with Session(eng) as s:
        sync_catalog(s)
        s.commit()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path, sqlite_template):
    """A fresh, migrated store with the catalogue: SQLite, then PostgreSQL when reachable."""
    from mts_portal.core.charging import forget_snapshots

    forget_snapshots()  # line ids restart in a reset store; a running process never sees that otherwise
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        shutil.copy(sqlite_template, path)
        eng = make_engine(f"sqlite:///{path}")
        yield eng
        eng.dispose()
    else:
        eng = request.getfixturevalue("pg_engine_session")
        _reset_pg(eng)
        yield eng


@pytest.fixture
def sqlite_store(tmp_path, sqlite_template):
    path = tmp_path / "store.db"
    shutil.copy(sqlite_template, path)
    eng = make_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture(autouse=True)
def _fresh_clock_choice():
    """A test that made the process's clock simulated (demo or test mode) must not leave it to the next."""
    yield
    from mts_portal.core import runtime

    runtime._clock = None
