"""One leader among the processes of a deployment, for work that must run once (the scheduler,
demo traffic) when Reflex runs several backend workers (the scale-out shape: Redis state, several
workers, PostgreSQL).

- PostgreSQL: a session-level advisory lock held by a connection kept for the purpose; whoever
  holds it leads, and the lock goes with the connection if the process dies.
- SQLite: an exclusive flock on a file beside the database (the workers share one machine).

`try_lead()` is cheap to call again: a leader checks it still holds the lock; anyone else tries to
take it, so a new leader steps in within one interval after the old one is gone.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import zlib
from pathlib import Path

from sqlalchemy import Engine, text

from mts_portal.core.db import is_sqlite

log = logging.getLogger(__name__)
LOCK_CLASS = 727002  # advisory lock class of leadership (727001 is the migration lock)


class Leadership:
    def __init__(self, engine: Engine, name: str = "services"):
        self.engine = engine
        self.name = name
        self._conn = None
        self._fd: int | None = None
        # one lock per store: deployments in other schemas of the same database lead on their own
        url = engine.url.render_as_string(hide_password=True)
        self._key = zlib.crc32(f"{url}#{name}".encode()) - 2**31

    @property
    def leading(self) -> bool:
        return self._conn is not None or self._fd is not None

    def try_lead(self) -> bool:
        """True while this process leads (taking the lead if nobody holds it)."""
        if is_sqlite(self.engine):
            return self._try_file()
        return self._try_pg()

    def _try_pg(self) -> bool:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except Exception:
                log.warning("%s: lost the leader's connection; stepping down", self.name)
                self._drop_conn()
        conn = self.engine.connect()
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:c, :k)"), {"c": LOCK_CLASS, "k": self._key}).scalar()
            conn.commit()
        except Exception:
            conn.close()
            raise
        if got:
            self._conn = conn
            log.info("%s: this process (pid %d) leads the scheduler", self.name, os.getpid())
            return True
        conn.close()
        return False

    def _lock_path(self) -> Path:
        db = self.engine.url.database or "store.db"
        return Path(f"{db}.{self.name}.lock")

    def _try_file(self) -> bool:
        if self._fd is not None:
            return True
        path = self._lock_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        log.info("%s: this process (pid %d) leads the scheduler", self.name, os.getpid())
        return True

    def _drop_conn(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()
        self._conn = None

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.execute(text("SELECT pg_advisory_unlock(:c, :k)"), {"c": LOCK_CLASS, "k": self._key})
                self._conn.commit()
            self._drop_conn()
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
            self._fd = None
