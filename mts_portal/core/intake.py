"""Group commit for ingestion requests.

Each POST /api/v1/events is at most 1000 events; committing each alone pays a
transaction's fixed costs for few events. Requests that arrive while a batch is
being written wait in a queue; the single writer thread then takes everything
waiting (up to MAX_EVENTS) into ONE transaction and gives each request its own
results, in its own order. A request never waits for more than the batch in
progress. If a merged transaction fails, each request is retried alone so one
request's problem cannot fail another's.

On PostgreSQL with several nodes, lines another node holds are not waited for:
their events are rated first thing in the next batch, and the writer goes on
with what is free (`charging.ingest(defer_busy=True)`; issue 18 goal 6).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime

from sqlalchemy import Engine

from mts_portal.core import charging

log = logging.getLogger(__name__)

MAX_EVENTS = 8000


class GroupCommitter:
    def __init__(self, engine_fn: Callable[[], Engine], now_fn: Callable[[], datetime],
                 on_committed: Callable[[set[int]], None] | None = None, max_events: int = MAX_EVENTS):
        self.engine_fn = engine_fn
        self.now_fn = now_fn
        self.on_committed = on_committed
        self.max_events = max_events
        self._queue: queue.Queue[tuple[list, Future]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.merged_batches = 0
        self.requests = 0
        self.deferrals = 0  # requests whose events waited for the next batch (another node held their lines)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._start_lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
                    self._thread.start()

    def submit(self, events: list) -> list[charging.EventResult]:
        """Blocking: rate and charge these events (merged with others waiting) and return their results."""
        fut: Future = Future()
        self._ensure_thread()
        self._queue.put((events, fut))
        return fut.result()

    def _run(self) -> None:
        carry: list[_Request] = []  # requests some of whose events wait for lines another node holds
        while True:
            group, carry = carry, []
            if not group:
                group.append(_Request(*self._queue.get()))
            size = sum(len(r.todo) for r in group)
            while size < self.max_events:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                group.append(_Request(*item))
                size += len(item[0])
            carry = self._process(group)

    def _process(self, group: list[_Request]) -> list[_Request]:
        """One transaction for the group's events (on PostgreSQL, a second one may follow). Returns the
        requests whose events were left for the next batch: their accounts were busy in another node's
        transaction. They go first into the next batch, so every line still sees its events in order;
        a batch of nothing but such events, or of events left out MAX_DEFERRALS times, waits for the lines."""
        engine = self.engine_fn()
        merged = [r.events[i] for r in group for i in r.todo]
        defer = any(r.deferred == 0 for r in group) and all(r.deferred < MAX_DEFERRALS for r in group)
        try:
            results = charging.ingest(engine, merged, now=self.now_fn(), on_committed=self.on_committed,
                                      defer_busy=defer)
        except Exception as exc:
            if len(group) == 1:
                group[0].fut.set_exception(exc)
                return []
            log.warning("merged ingest of %d requests failed (%s); retrying them one by one", len(group), exc)
            return [r for item in group for r in self._process([item])]
        self.merged_batches += 1
        carry = []
        k = 0
        for r in group:
            left = []
            for i in r.todo:
                res = results[k]
                k += 1
                if res is None:
                    left.append(i)
                else:
                    r.results[i] = res
            if left:
                r.todo, r.deferred = left, r.deferred + 1
                self.deferrals += 1
                carry.append(r)
            else:
                self.requests += 1
                r.fut.set_result(r.results)
        return carry


MAX_DEFERRALS = 3  # a request's events left out this many times are then waited for


class _Request:
    __slots__ = ("events", "fut", "results", "todo", "deferred")

    def __init__(self, events: list, fut: Future):
        self.events = events
        self.fut = fut
        self.results: list = [None] * len(events)
        self.todo = list(range(len(events)))  # what is still to be rated, in the request's order
        self.deferred = 0
