"""Engines and transactions for SQLite (embedded default) and PostgreSQL.

SQLite: WAL, foreign keys on, a generous busy timeout, and write transactions
opened with BEGIN IMMEDIATE so two writers never deadlock on a lock upgrade.
PostgreSQL: READ COMMITTED; writers lock the lines they touch (FOR UPDATE, in
msisdn order) so concurrent ingestion serialises per line, not globally.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from mts_portal.core.errors import DomainError

log = logging.getLogger(__name__)

_engines: dict[str, Engine] = {}
_pool_generation: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()  # drops of each pool
_engines_lock = threading.Lock()

T = TypeVar("T")


def normalize_url(url: str) -> str:
    """Accept postgresql:// and postgres:// and use the psycopg (v3) driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def is_sqlite(engine_or_url) -> bool:
    url = engine_or_url if isinstance(engine_or_url, str) else str(engine_or_url.url)
    return url.startswith("sqlite")


def _close_connections_of_dropped_pools(engine: Engine) -> Engine:
    """A connection that was in use when its pool was dropped (drop_pooled_connections) is closed when it
    comes back, not kept in the orphaned pool until the garbage collector finds it. For SQLite this is part of
    what makes a read-only spell end: the connections of one process share the file's WAL index, opened
    read-only by a connection of the spell, for as long as any connection to the file stays open, so one
    survivor keeps every new connection read-only after the file is writable again."""

    @event.listens_for(engine, "connect")
    def _stamp(_dbapi_conn, record):
        record.info["mts_pool_generation"] = _pool_generation.get(engine, 0)

    @event.listens_for(engine, "checkin")
    def _close_orphan(dbapi_conn, record):
        if dbapi_conn is not None and record.info.get("mts_pool_generation", 0) != _pool_generation.get(engine, 0):
            record.invalidate()

    return engine


def make_engine(url: str, *, pool: bool = True) -> Engine:
    from mts_portal.core.domain import install_text_guard

    install_text_guard()
    url = normalize_url(url)
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            raise ValueError("use a temp-file SQLite store; an in-memory one is private to one connection")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 60},
            poolclass=None if pool else NullPool,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):
            # Take transaction control from the sqlite3 module: we emit BEGIN ourselves.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA cache_size=-65536")  # 64 MiB of page cache (the default 2 MiB thrashes)
            cur.execute("PRAGMA mmap_size=268435456")
            cur.execute("PRAGMA temp_store=MEMORY")
            # checkpoint every ~64 MiB of WAL instead of 4 MiB: hot index pages are copied back once, not per batch
            cur.execute("PRAGMA wal_autocheckpoint=16384")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection):
            if conn.get_execution_options().get("sqlite_immediate"):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        return _close_connections_of_dropped_pools(engine)
    return _close_connections_of_dropped_pools(
        create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20))


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for `url` (default: the configured MTS_DB_URL)."""
    if url is None:
        from mts_portal.core.settings import get_settings

        url = get_settings().db_url
    url = normalize_url(url)
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextlib.contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def write_connection(engine: Engine) -> Connection:
    """A connection whose transactions take SQLite's write lock at BEGIN (BEGIN IMMEDIATE)."""
    conn = engine.connect()
    if is_sqlite(engine):
        conn = conn.execution_options(sqlite_immediate=True)
    return conn


@contextlib.contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session whose transaction takes SQLite's write lock at BEGIN; commits on success."""
    conn = write_connection(engine)
    try:
        with Session(bind=conn, expire_on_commit=False) as session:
            try:
                yield session
            except BaseException:
                session.rollback()
                raise
            session.commit()
    finally:
        conn.close()


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, IntegrityError):
        return False
    if isinstance(exc, OperationalError | DBAPIError):
        text = str(exc.orig if getattr(exc, "orig", None) else exc).lower()
        return any(
            s in text
            for s in ("database is locked", "deadlock detected", "could not serialize", "busy", "lock timeout")
        )
    return False


def with_retries(fn: Callable[[], T], *, attempts: int = 20, what: str = "transaction") -> T:
    """Run a whole transaction function again when the store says 'locked' / 'deadlock'.

    The function must be a complete unit (opens and commits its own transaction),
    so a retry never applies anything twice.
    """
    delay = 0.01
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except (OperationalError, DBAPIError) as exc:
            if not _retryable(exc) or attempt == attempts:
                raise
            log.warning("%s retried after %s (attempt %d)", what, type(exc).__name__, attempt)
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 1.0)
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- a store in trouble


class StoreUnavailable(DomainError):
    """The store cannot write (disk full, read-only, locked past the retry budget, PostgreSQL gone).
    The API answers 503 with Retry-After; the portal shows its banner. Nothing was changed."""

    http_status = 503
    code = "store_unavailable"
    retry_after_s = 5


# SQLSTATE classes/codes of PostgreSQL that mean "the store cannot take this now", not "your request is wrong"
_PG_UNAVAILABLE = ("08", "53", "57", "58", "25006", "40001", "40P01", "55P03", "55006", "HV")
_SQLITE_UNAVAILABLE = ("readonly", "read-only", "disk i/o error", "database or disk is full", "disk is full",
                       "database is locked", "unable to open database", "no space left", "locking protocol",
                       "database table is locked", "malformed", "not a database")


def store_trouble(exc: BaseException) -> str | None:
    """A short reason when `exc` says the store cannot serve (as opposed to a bug or a bad request)."""
    if isinstance(exc, StoreUnavailable):
        return exc.message_en
    if isinstance(exc, PoolTimeout):
        return "no store connection free"
    if isinstance(exc, IntegrityError) or not isinstance(exc, DBAPIError):
        return None
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "diag", None), "sqlstate", None)
    if sqlstate:
        return f"the store refused the write (SQLSTATE {sqlstate})" if sqlstate.startswith(_PG_UNAVAILABLE) else None
    text = str(orig if orig is not None else exc).lower()
    if exc.connection_invalidated or any(s in text for s in _SQLITE_UNAVAILABLE):
        return str(orig if orig is not None else exc).splitlines()[0][:160]
    if isinstance(exc, OperationalError) and type(orig).__module__.startswith("psycopg"):
        return "the store is not reachable"
    return None


class StoreHealth:
    """Whether the store takes writes, as this process last saw it: a cheap probe (one no-op UPDATE in a
    write transaction, at most every `probe_every_s`) and what real writes reported in between.

    A refused write counts for `failure_memory_s` even when other writes succeed meanwhile: a full disk
    whose WAL still has room takes the probe and small writes (a session touch, the scheduler's
    bookkeeping) while it refuses a top-up, so successes are no evidence that it is back. (An earlier rule
    — back after five successful writes in a row — hid the banner within a second of a refused write
    whenever the scheduler happened to commit five small transactions; the browser suite caught it.)"""

    def __init__(self, probe_every_s: float = 2.0, failure_memory_s: float = 10.0):
        self.probe_every_s = probe_every_s
        self.failure_memory_s = failure_memory_s
        self._lock = threading.Lock()
        self._probed_at = -1e18
        self._probe: tuple[bool, str | None] = (True, None)
        self._failed_at = -1e18
        self._failure: str | None = None

    def note_failure(self, reason: str) -> None:
        self._failed_at, self._failure = time.monotonic(), reason

    def reset(self) -> None:
        self.__init__(self.probe_every_s, self.failure_memory_s)

    def _run_probe(self, engine: Engine) -> tuple[bool, str | None]:
        try:
            with write_connection(engine) as conn, conn.begin():
                conn.exec_driver_sql("UPDATE alembic_version SET version_num = version_num")
        except Exception as exc:  # noqa: BLE001 - every failure is an answer here
            reason = store_trouble(exc) or f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
            drop_pooled_connections(engine)
            return False, reason
        return True, None

    def _writable_at(self, mono: float) -> bool:
        """The last probe passed and no refused write is remembered at `mono`."""
        return self._probe[0] and mono - self._failed_at >= self.failure_memory_s

    def status(self, engine: Engine) -> tuple[bool, str | None]:
        """(writable, reason when not)."""
        with self._lock:
            mono = time.monotonic()
            if mono - self._probed_at >= self.probe_every_s:
                was_writable = self._writable_at(self._probed_at)
                self._probe = self._run_probe(engine)
                self._probed_at = time.monotonic()
                if self._writable_at(self._probed_at) and not was_writable:
                    drop_pooled_connections(engine)  # back: connections opened meanwhile may be read-only or dead
            if self._probe[0] and not self._writable_at(mono):
                return False, self._failure
            return self._probe


HEALTH = StoreHealth()


_last_collect = [-1e18]


def _collect_zombie_connections(every_s: float = 1.0) -> None:
    """A SQLite connection closed while a statement of it is still referenced — by the traceback of the very
    error that made us drop the pool, kept alive in a reference cycle of frames — is only a zombie: SQLite
    closes it when that statement is finalized, i.e. when the garbage collector gets to the cycle. Until then
    it holds its share of the WAL index, and a read-only spell outlived the spell (test_store_trouble: 2 runs
    in 21, 50 descriptors of the store open with one pooled connection; 10 runs in 10 with this collection).
    At most once a second: a spell can refuse hundreds of requests a second."""
    now = time.monotonic()
    if now - _last_collect[0] >= every_s:
        _last_collect[0] = now
        gc.collect()


def drop_pooled_connections(engine: Engine) -> None:
    """Forget every pooled connection: a SQLite connection opened while the file was read-only stays
    read-only, and a PostgreSQL connection to a restarted server is dead. The next use opens new ones
    (connections in use are discarded when they come back)."""
    _pool_generation[engine] = _pool_generation.get(engine, 0) + 1  # those in use are closed when they come back
    try:
        engine.dispose()
    except Exception:  # noqa: BLE001
        log.exception("dropping the pool of %s failed", engine.url)
    if is_sqlite(engine):
        _collect_zombie_connections()


def as_store_unavailable(engine: Engine | None, exc: BaseException) -> StoreUnavailable | None:
    """A StoreUnavailable for `exc` when it is store trouble (the pool is dropped and health told), else None."""
    reason = store_trouble(exc)
    if reason is None:
        return None
    HEALTH.note_failure(reason)
    pool = engine.pool.status() if engine is not None else "-"
    if engine is not None and not isinstance(exc, StoreUnavailable):
        drop_pooled_connections(engine)
    log.warning("store unavailable: %s (pool before the drop: %s)", reason, pool)
    if isinstance(exc, StoreUnavailable):
        return exc
    return StoreUnavailable(f"the store cannot take writes now ({reason}); try again shortly",
                            "Сервис временно не может сохранить изменения. Повторите попытку через несколько секунд")


def transact(engine: Engine, fn: Callable[[Session], T], *, keep_on: tuple[type[BaseException], ...] = (),
             what: str = "transaction") -> T:
    """Run fn(session) in one write transaction, retried as a whole on lock errors.

    Exceptions roll everything back, except those listed in `keep_on`: for them what fn
    wrote before raising is committed (a failed login still counts as a failed attempt).
    """

    def attempt() -> T:
        conn = write_connection(engine)
        try:
            with Session(bind=conn, expire_on_commit=False) as session:
                try:
                    result = fn(session)
                except keep_on:
                    session.commit()
                    raise
                except BaseException:
                    session.rollback()
                    raise
                session.commit()
                return result
        finally:
            conn.close()

    try:
        result = with_retries(attempt, what=what)
    except (DBAPIError, PoolTimeout) as exc:
        unavailable = as_store_unavailable(engine, exc)
        if unavailable is None:
            raise
        raise unavailable from exc
    return result


def read(engine: Engine, fn: Callable[[Session], T]) -> T:
    """Run fn(session) in a read-only transaction."""
    try:
        with Session(engine, expire_on_commit=False) as session:  # close() ends the transaction, keeps values
            return fn(session)
    except (DBAPIError, PoolTimeout) as exc:
        unavailable = as_store_unavailable(engine, exc)
        if unavailable is None:
            raise
        raise unavailable from exc
