"""Bring a store to the latest migration and sync the catalogue.

`python -m mts_portal.core.migrate` (or `alembic upgrade head`). Safe to run
from several processes at once: SQLite takes the write lock for the whole
upgrade, PostgreSQL an advisory lock.
"""

from __future__ import annotations

import logging
import threading

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlmodel import Session

from alembic import command
from mts_portal.core.catalog import sync_catalog
from mts_portal.core.db import get_engine, is_sqlite, write_connection
from mts_portal.core.settings import PROJECT_DIR

log = logging.getLogger(__name__)
_done: set[str] = set()
_lock = threading.Lock()


def alembic_config() -> Config:
    cfg = Config(str(PROJECT_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_DIR / "alembic"))
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine | None = None) -> None:
    """Upgrade to head and sync the catalogue, once per process and URL."""
    engine = engine or get_engine()
    key = str(engine.url)
    with _lock:
        if key in _done:
            return
        if current_revision(engine) == head_revision():
            with Session(engine) as session:  # catalogue may have changed in code
                if sync_catalog(session):
                    _write_catalog(engine)
            _done.add(key)
            return
        conn = write_connection(engine)
        try:
            with conn.begin():
                if not is_sqlite(engine):
                    conn.execute(text("SELECT pg_advisory_xact_lock(727001)"))
                cfg = alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                with Session(bind=conn) as session:
                    sync_catalog(session)
                    session.flush()
        finally:
            conn.close()
        log.info("store at %s migrated to %s", engine.url.render_as_string(hide_password=True), head_revision())
        _done.add(key)


def _write_catalog(engine: Engine) -> None:
    with write_connection(engine) as conn, conn.begin(), Session(bind=conn) as session:
        sync_catalog(session)
        session.flush()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    migrate()
    print("store at head", head_revision())
