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

    def poke(self, line_ids: Iterable[int]) -> None:
        """Wake the watchers of these lines without recording a change (on the loop's thread): a watcher
        woken so looks at its tab (session ended?) and its line's version, and sends nothing else."""
        for line_id in set(line_ids):
            ev = self._events.pop(line_id, None)
            if ev is not None:
                ev.set()

    async def wait(self, line_id: int, timeout: float | None, since: int | None = None) -> bool:
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

    async def wait_any(self, line_ids: list[int], timeout: float | None, since: int | None = None) -> bool:
        """Wait until any of the lines changes (True) or the timeout passes (False); see `wait`."""
        if not line_ids:
            await asyncio.sleep(timeout if timeout is not None else 3600.0)
            return False
        if any(self._changed_since(i, since) for i in line_ids):
            return True
        # `since` goes to each wait too: a change published before a task has started waiting still counts
        tasks = [asyncio.ensure_future(self.wait(i, timeout, since=since)) for i in set(line_ids)]
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


class OpenTab:
    """A browser tab showing a private page in this process: its session, its line, the watcher tasks
    running for it, and an event set when its session ends (the sweeper finds out, see `sweep`)."""

    __slots__ = ("client", "session_token", "line_id", "ended", "reason", "tasks", "disconnected_since")

    def __init__(self, client: str, session_token: str, line_id: int) -> None:
        self.client = client
        self.session_token = session_token
        self.line_id = line_id
        self.ended = asyncio.Event()
        self.reason: str | None = None
        self.tasks: set[asyncio.Task] = set()
        self.disconnected_since: float | None = None


class TabRegistry:
    """The private pages open in this process's browser tabs (one entry per Reflex client token).

    One sweeper per process (services.py) checks every tab's session in one read-only query every few
    seconds and ends the watchers of tabs whose session ended or whose socket went away; no tab runs a
    timer of its own, so an open page costs nothing while nothing happens. The demo traffic follows the
    lines shown (presence), and the control room counts the tabs."""

    def __init__(self) -> None:
        self._tabs: dict[str, OpenTab] = {}
        self.version = 0  # bumped when the set of (tab, line) changes: the presence writer skips the rest

    def attach(self, client: str, session_token: str, line_id: int) -> OpenTab:
        """The tab's entry (made, or moved to another line or session), for the calling watcher."""
        tab = self._tabs.get(client)
        if tab is None or tab.session_token != session_token or tab.ended.is_set():
            old = tab
            tab = self._tabs[client] = OpenTab(client, session_token, line_id)
            if old is not None:
                tab.tasks = old.tasks  # the tab's other watchers stay attached to it
            self.version += 1
        elif tab.line_id != line_id:
            tab.line_id = line_id
            self.version += 1
        tab.disconnected_since = None
        task = asyncio.current_task()
        if task is not None:
            tab.tasks.add(task)
        return tab

    def detach(self, client: str) -> None:
        """Called by a watcher when it ends; the tab goes when its last watcher has."""
        tab = self._tabs.get(client)
        if tab is None:
            return
        task = asyncio.current_task()
        tab.tasks.discard(task)
        tab.tasks = {t for t in tab.tasks if not t.done()}
        if not tab.tasks:
            del self._tabs[client]
            self.version += 1

    def close(self, client: str) -> int:
        """Cancel every watcher of a tab that is gone (its socket closed); returns how many."""
        tab = self._tabs.pop(client, None)
        if tab is None:
            return 0
        self.version += 1
        n = 0
        for t in list(tab.tasks):
            if not t.done():
                t.cancel()
                n += 1
        return n

    def tabs(self) -> list[OpenTab]:
        return list(self._tabs.values())

    def count(self) -> int:
        return len(self._tabs)

    def lines(self) -> set[int]:
        return {t.line_id for t in self._tabs.values()}

    def tasks(self) -> int:
        return sum(len(t.tasks) for t in self._tabs.values())

    def sweep(self, engine: Engine, now: datetime) -> list[OpenTab]:
        """Check the sessions of every open tab in one read (and write only when one has ended): set the
        `ended` event of each tab whose session ended, and wake its watchers. Thread-safe to call from a
        worker thread only for the store part: the events are set by `apply_ended` on the loop."""
        from mts_portal.core import auth

        tabs = [t for t in self._tabs.values() if not t.ended.is_set()]
        if not tabs:
            return []
        ended = auth.ended_sessions(engine, [t.session_token for t in tabs], now)
        return [t for t in tabs if t.session_token in ended] if ended else []

    def apply_ended(self, tabs: list[OpenTab], hub: LiveHub) -> None:
        for t in tabs:
            t.ended.set()
        hub.poke({t.line_id for t in tabs})


TABS = TabRegistry()


def write_presence(engine: Engine, worker: str, tabs: TabRegistry = TABS) -> None:
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

    def _top(self) -> int:
        """The log's largest sequence number now (0 when empty)."""
        with self.engine.connect() as conn:
            return conn.execute(select(func.coalesce(func.max(ChangeLog.seq), 0))).scalar_one()

    def start_at_end(self) -> None:
        self.high = self._top()

    def poll(self) -> set[int]:
        if self.high is None:
            self.start_at_end()
            return set()
        low = max(0, self.high - WINDOW)
        with self.engine.connect() as conn:
            rows = conn.execute(select(ChangeLog.seq, ChangeLog.line_id).where(ChangeLog.seq > low)
                                .order_by(ChangeLog.seq).limit(50_000)).all()
        if not rows and self.high > 0:
            # nothing after the mark: is the mark ahead of the log? (a store restored or emptied by hand —
            # new rows would be numbered below it and never read) then read from the log's end again
            top = self._top()
            if top < low:
                log.warning("change log numbering went back (%s < %s): following it from there", top, self.high)
                self.high, self.seen = top, set()
            return set()
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
    """Forget changes older than `keep`, but never the newest row: SQLite numbers a new row after the
    largest one left, so an emptied table would start again at 1, below every process's high-water mark,
    and no open page would hear of a change again (after ten quiet minutes, or a clock moved forward)."""
    from mts_portal.core.db import transact

    def fn(s) -> int:
        newest = s.execute(select(func.max(ChangeLog.seq))).scalar_one()
        if newest is None:
            return 0
        return s.execute(delete(ChangeLog).where(ChangeLog.at < now - keep, ChangeLog.seq < newest)).rowcount or 0

    return transact(engine, fn, what="prune change log")
