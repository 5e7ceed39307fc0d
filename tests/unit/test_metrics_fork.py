"""The engine counters of a forked worker are its own: the production server (several backend workers
on the scale-out shape) forks after the app was imported, and workers that kept the parent's name wrote
the same (worker, second) rows to `engine_seconds` — the flush failed with a duplicate key in the load
run of 2026-12-05."""

from __future__ import annotations

import multiprocessing
import time
from types import SimpleNamespace

from mts_portal.core import metrics


def _child(q) -> None:
    q.put((metrics.METRICS.worker, sorted(metrics.METRICS.since(0))))


def test_a_forked_process_has_its_own_name_and_none_of_the_parents_counts():
    metrics.METRICS.record([SimpleNamespace(status="rated", charged_kopecks=150)], 0.01, at=time.time())
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(q,))
    p.start()
    name, seconds = q.get(timeout=30)
    p.join(30)
    assert name != metrics.METRICS.worker
    assert name == metrics.worker_id().rsplit(":", 1)[0] + f":{p.pid}"
    assert seconds == []
    assert metrics.METRICS.since(0), "the parent keeps its own counts"
