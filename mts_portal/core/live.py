"""Live updates without polling the store per client.

Writers (charging, billing) record each touched line in the `change_log` table in
the same transaction. One poller per process reads the log (a single indexed
range query every 200 ms, however many browsers are open) and wakes the
waiters of the lines that changed; in-process writers also publish directly
after commit, so the common path has no poll delay at all. Each open cabinet
waits on its own line's event and then reloads one small summary.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, select

from mts_portal.core.models import ChangeLog

log = logging.getLogger(__name__)

LAST_KEPT = 100_000  # lines whose last change the hub remembers (see LiveHub.mark)
WINDOW = 2000  # change-log rows re-read behind the high-water mark (PostgreSQL commits out of seq order)


class LiveHub:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._events: dict[int, asyncio.Event] = {}
        self._waiting: dict[int, int] = defaultdict(int)
        self._lock = threading.Lock()
        self.published = 0
        # a counter of wake-ups and, per line, the count at its last change (the most recent LAST_KEPT
        # lines): a watcher notes `mark()` before it reads, and a change landing between its read and
        # its wait is then not lost (`wait(..., since=mark)` returns at once)
        self.seq = 0
        self._last: dict[int, int] = {}

    def mark(self) -> int:
        """The wake-up count now: pass it as `since` to a wait that follows a read."""
        return self.seq

    def _changed_since(self, line_id: int, since: int | None) -> bool:
        return since is not None and self._last.get(line_id, 0) > since

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, line_ids: Iterable[int]) -> None:
        """Thread-safe: wake everyone waiting on these lines."""
        ids = set(line_ids)
        loop = self._loop
        if not ids or loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._fire, ids)
        except RuntimeError:  # loop closed during shutdown
            pass

    def _fire(self, ids: set[int]) -> None:
        self.seq += 1
        for line_id in ids:
            self._last.pop(line_id, None)
            self._last[line_id] = self.seq
        if len(self._last) > LAST_KEPT:  # forget the oldest half (insertion order is change order)
            for line_id in list(self._last)[: LAST_KEPT // 2]:
                del self._last[line_id]
        for line_id in ids:
            ev = self._events.pop(line_id, None)
            if ev is not None:
                ev.set()
                self.published += 1

    async def wait(self, line_id: int, timeout: float, since: int | None = None) -> bool:
        """Wait until the line changes (True) or the timeout passes (False); True at once when it
        changed after `since` (a `mark()`)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        if self._changed_since(line_id, since):
            return True
        ev = self._events.get(line_id)
        if ev is None:
            ev = self._events[line_id] = asyncio.Event()
        self._waiting[line_id] += 1
        try:
            await asyncio.wait_for(ev.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self._waiting[line_id] -= 1
            if self._waiting[line_id] <= 0:
                self._waiting.pop(line_id, None)
                if self._events.get(line_id) is ev and not ev.is_set():
                    self._events.pop(line_id, None)

    async def wait_any(self, line_ids: list[int], timeout: float, since: int | None = None) -> bool:
        """Wait until any of the lines changes (True) or the timeout passes (False); see `wait`."""
        if not line_ids:
            await asyncio.sleep(timeout)
            return False
        if any(self._changed_since(i, since) for i in line_ids):
            return True
        tasks = [asyncio.ensure_future(self.wait(i, timeout)) for i in set(line_ids)]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            return any(t.result() for t in done)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def watched_lines(self) -> int:
        return len(self._waiting)


HUB = LiveHub()


class OpenTabs:
    """The private pages open in this process's browser tabs: which line each shows. The demo traffic
    follows them (the audience's lines get a share of it) and the control room counts them; each
    process publishes its set to the store's `presence` table (services.py)."""

    def __init__(self) -> None:
        self._tabs: dict[str, int] = {}
        self._lock = threading.Lock()
        self.version = 0  # bumped on every change (the presence writer skips unchanged sets)

    def open(self, tab: str, line_id: int) -> None:
        with self._lock:
            if self._tabs.get(tab) != line_id:
                self._tabs[tab] = line_id
                self.version += 1

    def close(self, tab: str) -> None:
        with self._lock:
            if self._tabs.pop(tab, None) is not None:
                self.version += 1

    def count(self) -> int:
        return len(self._tabs)

    def lines(self) -> set[int]:
        with self._lock:
            return set(self._tabs.values())


TABS = OpenTabs()


def write_presence(engine: Engine, worker: str, tabs: OpenTabs = TABS) -> None:
    """This process's open cabinets, for the demo traffic and the control room of every process (wall
    clock: the simulated clock may be paused or racing)."""
    import json
    from datetime import UTC

    from mts_portal.core.db import transact
    from mts_portal.core.models import Presence

    now = datetime.now(UTC)
    lines = sorted(tabs.lines())

    def fn(session) -> None:
        row = session.get(Presence, worker) or Presence(worker=worker)
        row.line_ids = json.dumps(lines)
        row.sessions = tabs.count()
        row.seen_at = now
        session.add(row)
        session.execute(delete(Presence).where(Presence.seen_at < now - PRESENCE_STALE))

    transact(engine, fn, what="presence")


PRESENCE_STALE = timedelta(seconds=30)


def read_presence(engine: Engine) -> tuple[int, set[int]]:
    """(open cabinets, their lines) over every live process of the deployment."""
    import json
    from datetime import UTC

    from mts_portal.core.models import Presence

    now = datetime.now(UTC)
    with engine.connect() as conn:
        rows = conn.execute(select(Presence.sessions, Presence.line_ids)
                            .where(Presence.seen_at >= now - PRESENCE_STALE)).all()
    lines: set[int] = set()
    for _, ids in rows:
        lines.update(json.loads(ids or "[]"))
    return sum(r[0] for r in rows), lines


class ChangeFeed:
    """Reads the change log after a high-water mark and remembers what it has seen."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.high = None
        self.seen: set[int] = set()

    def start_at_end(self) -> None:
        with self.engine.connect() as conn:
            self.high = conn.execute(select(func.coalesce(func.max(ChangeLog.seq), 0))).scalar_one()

    def poll(self) -> set[int]:
        if self.high is None:
            self.start_at_end()
            return set()
        low = max(0, self.high - WINDOW)
        with self.engine.connect() as conn:
            rows = conn.execute(select(ChangeLog.seq, ChangeLog.line_id).where(ChangeLog.seq > low)
                                .order_by(ChangeLog.seq).limit(50_000)).all()
        changed: set[int] = set()
        for seq, line_id in rows:
            if seq not in self.seen:
                self.seen.add(seq)
                changed.add(line_id)
            if seq > self.high:
                self.high = seq
        if len(self.seen) > 4 * WINDOW:
            floor = self.high - WINDOW
            self.seen = {s for s in self.seen if s > floor}
        return changed


async def run_poller(engine: Engine, hub: LiveHub = HUB, interval: float = 0.2) -> None:
    """Forever: poll the change feed and publish. Cancelled at shutdown."""
    hub.attach(asyncio.get_running_loop())
    feed = ChangeFeed(engine)
    await asyncio.to_thread(feed.start_at_end)
    while True:
        try:
            changed = await asyncio.to_thread(feed.poll)
            if changed:
                hub.publish(changed)
        except Exception:  # the store may be briefly busy; keep the feed alive
            log.exception("change feed poll failed")
        await asyncio.sleep(interval)


def prune_change_log(engine: Engine, now: datetime, keep: timedelta = timedelta(minutes=10)) -> int:
    from mts_portal.core.db import transact

    return transact(engine, lambda s: s.execute(delete(ChangeLog).where(ChangeLog.at < now - keep)).rowcount or 0,
                    what="prune change log")
