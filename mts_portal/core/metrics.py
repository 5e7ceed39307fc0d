"""What the rating engine is doing, per wall-clock second: the control room's engine chart.

`charging.ingest` adds each batch it commits to this process's counters (a few integer additions
under a lock: no query, no scan of usage tables). Each portal or API process flushes its finished
seconds to the store's `engine_seconds` table about twice a second (one small transaction, nothing
when idle), so the control room of any process sees the whole deployment: its own process from
memory, the others from the store. Rows are kept an hour.

Batch latency is kept as a histogram of log-spaced buckets (about 19 % wide), mergeable across
processes and seconds; percentiles are read from the merged counts.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

KEEP_S = 3600
STATUSES = ("rated", "duplicate", "rejected", "blocked")
_B = 4  # buckets per doubling
_MIN_MS = 0.25


def bucket_of(ms: float) -> int:
    if ms <= _MIN_MS:
        return 0
    return int(math.floor(math.log2(ms / _MIN_MS) * _B)) + 1


def bucket_ms(index: int) -> float:
    """The middle of a bucket, in milliseconds."""
    if index <= 0:
        return _MIN_MS / 2
    lo = _MIN_MS * 2 ** ((index - 1) / _B)
    hi = _MIN_MS * 2 ** (index / _B)
    return (lo + hi) / 2


def percentile(hist: dict[int, int], q: float) -> float | None:
    total = sum(hist.values())
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for index in sorted(hist):
        seen += hist[index]
        if seen >= rank:
            return bucket_ms(index)
    return bucket_ms(max(hist))


@dataclass
class Second:
    rated: int = 0
    duplicate: int = 0
    rejected: int = 0
    blocked: int = 0
    charged_kopecks: int = 0
    batches: int = 0
    hist: dict[int, int] = field(default_factory=dict)

    def add(self, other: Second) -> None:
        self.rated += other.rated
        self.duplicate += other.duplicate
        self.rejected += other.rejected
        self.blocked += other.blocked
        self.charged_kopecks += other.charged_kopecks
        self.batches += other.batches
        for k, v in other.hist.items():
            self.hist[k] = self.hist.get(k, 0) + v

    @property
    def events(self) -> int:
        return self.rated + self.duplicate + self.rejected + self.blocked


def worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


class EngineMetrics:
    """This process's counters, per wall-clock second (the last KEEP_S seconds)."""

    def __init__(self) -> None:
        self._start()

    def _start(self) -> None:
        self._lock = threading.Lock()
        self._seconds: dict[int, Second] = {}
        self._flushed_upto = int(time.time())  # seconds below this are in the store
        self.worker = worker_id()

    def after_fork(self) -> None:
        """A forked worker is a process of its own: its own name (the parent's pid would make several
        workers write the same (worker, second) rows) and none of the parent's counts."""
        self._start()

    def record(self, results: Iterable, seconds: float, at: float | None = None) -> None:
        """One committed batch: its results (objects with .status and .charged_kopecks) and how long it took."""
        sec = int(at if at is not None else time.time())
        counts = dict.fromkeys(STATUSES, 0)
        charged = 0
        for r in results:
            counts[r.status] = counts.get(r.status, 0) + 1
            charged += r.charged_kopecks or 0
        b = bucket_of(seconds * 1000.0)
        with self._lock:
            cur = self._seconds.get(sec)
            if cur is None:
                cur = self._seconds[sec] = Second()
                if len(self._seconds) > KEEP_S + 60:
                    for old in sorted(self._seconds)[: len(self._seconds) - KEEP_S]:
                        del self._seconds[old]
            cur.rated += counts["rated"]
            cur.duplicate += counts["duplicate"]
            cur.rejected += counts["rejected"]
            cur.blocked += counts["blocked"]
            cur.charged_kopecks += charged
            cur.batches += 1
            cur.hist[b] = cur.hist.get(b, 0) + 1

    def since(self, first_second: int) -> dict[int, Second]:
        with self._lock:
            return {s: _copy(v) for s, v in self._seconds.items() if s >= first_second}

    def to_flush(self, now: float | None = None) -> list[tuple[int, Second]]:
        """Finished seconds not yet in the store (the current second is still counting)."""
        upto = int(now if now is not None else time.time())
        with self._lock:
            rows = [(s, _copy(v)) for s, v in sorted(self._seconds.items()) if self._flushed_upto <= s < upto]
        return rows

    def flushed(self, upto: int) -> None:
        with self._lock:
            self._flushed_upto = max(self._flushed_upto, upto)


def _copy(s: Second) -> Second:
    return Second(s.rated, s.duplicate, s.rejected, s.blocked, s.charged_kopecks, s.batches, dict(s.hist))


METRICS = EngineMetrics()
os.register_at_fork(after_in_child=METRICS.after_fork)  # the production server forks its workers after import


def flush(engine, metrics: EngineMetrics = METRICS, now: float | None = None) -> int:
    """Write this process's finished seconds to the store; prune rows older than an hour. Returns rows."""
    from sqlalchemy import delete

    from mts_portal.core.db import transact
    from mts_portal.core.models import EngineSecond

    now = now if now is not None else time.time()
    rows = metrics.to_flush(now)
    if not rows:
        return 0

    def fn(session) -> int:
        for sec, v in rows:
            session.merge(EngineSecond(worker=metrics.worker, second=sec, rated=v.rated, duplicate=v.duplicate,
                                       rejected=v.rejected, blocked=v.blocked, charged_kopecks=v.charged_kopecks,
                                       batches=v.batches, latency_hist=json.dumps(v.hist)))
        if rows[-1][0] % 60 == 0:
            session.execute(delete(EngineSecond).where(EngineSecond.second < int(now) - KEEP_S))
        return len(rows)

    n = transact(engine, fn, what="engine metrics")
    metrics.flushed(rows[-1][0] + 1)
    return n


def deployment_seconds(engine, first_second: int, metrics: EngineMetrics = METRICS) -> dict[int, Second]:
    """Every process's seconds from `first_second` on: this one's from memory, the others' from the store."""
    from sqlalchemy import select

    from mts_portal.core.db import read
    from mts_portal.core.models import EngineSecond

    def fn(session):
        return session.exec(select(EngineSecond).where(EngineSecond.second >= first_second,
                                                       EngineSecond.worker != metrics.worker)).scalars().all()

    out: dict[int, Second] = {}
    for row in read(engine, fn):
        hist = {int(k): v for k, v in json.loads(row.latency_hist or "{}").items()}
        out.setdefault(row.second, Second()).add(Second(row.rated, row.duplicate, row.rejected, row.blocked,
                                                        row.charged_kopecks, row.batches, hist))
    for sec, v in metrics.since(first_second).items():
        out.setdefault(sec, Second()).add(v)
    return out


def summary(engine, *, window_s: int = 120, minutes: int = 10, now: float | None = None,
            metrics: EngineMetrics = METRICS) -> dict:
    """The control room's engine panel: events per second by outcome over the last `window_s` seconds,
    kopecks charged per minute over the last `minutes`, batch latency p50/p95 over the last minute."""
    now = now if now is not None else time.time()
    cur = int(now)
    first = min(cur - window_s, (cur // 60 - minutes + 1) * 60)
    secs = deployment_seconds(engine, first, metrics)
    series = []
    for sec in range(cur - window_s, cur):
        v = secs.get(sec) or Second()
        series.append({"second": sec, "rated": v.rated, "duplicate": v.duplicate, "rejected": v.rejected,
                       "blocked": v.blocked})
    minute = Second()
    for sec in range(cur - 60, cur):
        if sec in secs:
            minute.add(secs[sec])
    recent = Second()
    for sec in range(cur - 5, cur):
        if sec in secs:
            recent.add(secs[sec])
    per_minute = []
    for m in range(minutes):
        start = (cur // 60 - minutes + 1 + m) * 60
        per_minute.append({"minute": start, "charged_kopecks": sum(secs[s].charged_kopecks
                                                                    for s in range(start, start + 60) if s in secs)})
    return {"series": series, "events_per_s": recent.events / 5.0, "rated_per_s": recent.rated / 5.0,
            "last_minute": {"events": minute.events, "rated": minute.rated, "duplicate": minute.duplicate,
                            "rejected": minute.rejected, "blocked": minute.blocked,
                            "charged_kopecks": minute.charged_kopecks, "batches": minute.batches},
            "p50_ms": percentile(minute.hist, 0.50), "p95_ms": percentile(minute.hist, 0.95),
            "per_minute": per_minute}
