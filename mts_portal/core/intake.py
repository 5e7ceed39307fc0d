"""Group commit for ingestion requests.

Each POST /api/v1/events is at most 1000 events; committing each alone pays a
transaction's fixed costs for few events. Requests that arrive while a batch is
being written wait in a queue; the single writer thread then takes everything
waiting (up to MAX_EVENTS) into ONE transaction and gives each request its own
results, in its own order. A request never waits for more than the batch in
progress. If a merged transaction fails, each request is retried alone so one
request's problem cannot fail another's.
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
        while True:
            first = self._queue.get()
            group = [first]
            size = len(first[0])
            while size < self.max_events:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                group.append(item)
                size += len(item[0])
            self._process(group)

    def _process(self, group: list[tuple[list, Future]]) -> None:
        engine = self.engine_fn()
        merged = [e for events, _ in group for e in events]
        try:
            results = charging.ingest(engine, merged, now=self.now_fn(), on_committed=self.on_committed)
        except Exception as exc:
            if len(group) == 1:
                group[0][1].set_exception(exc)
                return
            log.warning("merged ingest of %d requests failed (%s); retrying them one by one", len(group), exc)
            for item in group:
                self._process([item])
            return
        self.merged_batches += 1
        self.requests += len(group)
        i = 0
        for events, fut in group:
            fut.set_result(results[i:i + len(events)])
            i += len(events)
