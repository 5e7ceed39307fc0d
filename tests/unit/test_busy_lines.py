"""Another node holding some of a batch's lines (PostgreSQL, issue 18 goal 6): the batch commits what is free
and the busy accounts after, or — through the group committer — first thing in its next batch. Answers and
rows are exactly those of one transaction on a store nobody else writes; a failure after the first commit
loses nothing and charges nothing twice."""

from __future__ import annotations

import json
import shutil
import threading
import time
from concurrent.futures import Future
from datetime import timedelta

import pytest
from sqlalchemy import text

from mts_portal.core import charging
from mts_portal.core.db import make_engine, read
from mts_portal.core.intake import MAX_DEFERRALS, GroupCommitter, _Request
from tests.conftest import T0
from tests.helpers import ev, make_line
from tests.unit.test_snapshot_cache import M1, M2, M3, OWNER, _state, _world

BORN = T0 - timedelta(days=1)
LONERS = [f"7916400000{i}" for i in range(4)]
AT = T0 + timedelta(minutes=5)


def _people(engine):
    _world(engine)
    for m in LONERS:
        make_line(engine, m, "minimum", balance=100_000, now=BORN)


def _batch(tag: str, minutes: int = 0) -> list[dict]:
    at = AT + timedelta(minutes=minutes)
    out = []
    for k in range(3):
        for who in (OWNER, M1, M2, M3, *LONERS):
            out.append(ev(who, "data", at - timedelta(seconds=k), bytes=300 * 1024 * 1024, event_id=f"{tag}-{who}-{k}"))
            out.append(ev(who, "voice", at - timedelta(seconds=k), duration_s=90, peer=M2, event_id=f"{tag}-v{who}-{k}"))
    out.append(dict(out[3]))  # a repeat inside the batch
    return out


def _answer(r):
    return (r.event_id, r.status, r.charged_kopecks, json.dumps(r.drawn), r.reason, r.original)


def _comparable(state: dict) -> dict:
    # rows in id order: two transactions insert the lines' rows in another order than one; each line's own rows
    # must come in the same order
    return {k: (sorted(v, key=lambda r: r[0]) if k in ("ledger", "notes") else v) for k, v in state.items()}


@pytest.fixture
def pg(store):
    if store.dialect.name == "sqlite":
        pytest.skip("only PostgreSQL locks rows: SQLite has one writer")
    return store


@pytest.fixture
def twin(tmp_path, sqlite_template):
    """The same world on a store nobody else writes, rated in one transaction per batch."""
    path = tmp_path / "twin.db"
    shutil.copy(sqlite_template, path)
    eng = make_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


class Holder:
    """Another node's transaction holding a line (FOR UPDATE) until released."""

    def __init__(self, engine, msisdn: str):
        self.conn = engine.connect()
        self.conn.execute(text("SELECT id FROM lines WHERE msisdn = :m FOR UPDATE"), {"m": msisdn})

    def release(self, after: float = 0.0):
        def go():
            time.sleep(after)
            self.conn.rollback()
            self.conn.close()
        if after:
            threading.Thread(target=go, daemon=True).start()
        else:
            go()


def _twin_run(twin, batches: list[list[dict]]) -> tuple[list, dict]:
    charging.forget_snapshots(twin)
    _people(twin)
    answers = [_answer(r) for b in batches for r in charging.ingest(twin, b, now=AT + timedelta(minutes=10))]
    return answers, _comparable(_state(twin))


def test_a_busy_family_is_left_out_and_rated_after_exactly_as_in_one_transaction(pg, twin):
    _people(pg)
    batch = _batch("a")
    holder = Holder(pg, M1)  # a member: the whole family waits, with the owner's pools
    commits = []
    try:
        first = charging.ingest(pg, batch, now=AT + timedelta(minutes=10), defer_busy=True, on_committed=commits.append)
    finally:
        holder.release()
    left = [i for i, r in enumerate(first) if r is None]
    family = {OWNER, M1, M2, M3}
    assert {batch[i]["msisdn"] for i in left} == family
    assert all(first[i] is not None for i, e in enumerate(batch) if e["msisdn"] not in family)
    assert len(commits) == 1 and commits[0]  # the free lines committed (and were announced) at once
    second = charging.ingest(pg, [batch[i] for i in left], now=AT + timedelta(minutes=10), defer_busy=True)
    assert all(r is not None for r in second)
    for i, r in zip(left, second, strict=True):
        first[i] = r
    answers, state = [_answer(r) for r in first], _comparable(_state(pg))

    want_answers, want_state = _twin_run(twin, [batch])
    assert answers == want_answers
    assert state == want_state
    assert {a[1] for a in answers} >= {"rated", "duplicate"} and any(a[2] for a in answers)


def test_without_deferring_the_batch_waits_for_its_busy_lines_in_a_second_transaction(pg, twin):
    _people(pg)
    batch = _batch("b")
    holder = Holder(pg, LONERS[1])
    holder.release(after=0.4)
    commits = []
    out = charging.ingest(pg, batch, now=AT + timedelta(minutes=10), on_committed=commits.append)
    assert len(commits) == 2  # what was free, then the busy line once it was let go
    assert [_answer(r) for r in out] == _twin_run(twin, [batch])[0]
    assert _comparable(_state(pg)) == _comparable(_state(twin))


def test_the_group_committer_rates_busy_events_first_in_its_next_batch(pg, twin):
    _people(pg)
    a, b = _batch("c"), _batch("d", minutes=1)  # b has later events of the same lines
    committer = GroupCommitter(lambda: pg, lambda: AT + timedelta(minutes=10))
    holder = Holder(pg, LONERS[2])
    try:
        carry = committer._process([_Request(a, Future())])
    finally:
        holder.release()
    [req_a] = carry
    assert {a[i]["msisdn"] for i in req_a.todo} == {LONERS[2]} and not req_a.fut.done()
    req_b = _Request(b, Future())
    assert committer._process(carry + [req_b]) == []
    answers = [_answer(r) for r in req_a.fut.result() + req_b.fut.result()]
    assert answers == _twin_run(twin, [a, b])[0]
    assert _comparable(_state(pg)) == _comparable(_state(twin))
    assert committer.deferrals == 1 and committer.requests == 2


def test_events_left_out_often_enough_are_waited_for(pg):
    _people(pg)
    a = _batch("e")
    committer = GroupCommitter(lambda: pg, lambda: AT + timedelta(minutes=10))
    req = _Request(a, Future())
    req.deferred = MAX_DEFERRALS
    holder = Holder(pg, LONERS[0])
    holder.release(after=0.4)
    assert committer._process([req]) == []  # waited for the line instead of leaving it out again
    assert all(r is not None and r.status != "rejected" for r in req.fut.result())


def test_a_failed_second_transaction_keeps_the_first_and_a_resend_charges_nothing_twice(pg, monkeypatch):
    _people(pg)
    batch = _batch("f")
    real = charging._locked_tx
    calls = []

    def second_fails(*args):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the store went away")
        return real(*args)

    monkeypatch.setattr(charging, "_locked_tx", second_fails)
    holder = Holder(pg, LONERS[3])
    holder.release(after=0.3)
    with pytest.raises(RuntimeError, match="went away"):
        charging.ingest(pg, batch, now=AT + timedelta(minutes=10))

    def money(s):
        return s.execute(text("SELECT COALESCE(SUM(amount_kopecks), 0), COUNT(DISTINCT cause_ref) FROM ledger_entries "
                              "WHERE cause_type = 'event'")).one()
    spent_once, events_once = read(pg, money)
    assert 0 < events_once  # the first transaction committed
    monkeypatch.setattr(charging, "_locked_tx", real)
    again = charging.ingest(pg, batch, now=AT + timedelta(minutes=10))
    assert {r.status for r in again} >= {"duplicate", "rated"}
    spent, _ = read(pg, money)
    told = sum(r.charged_kopecks for r in again if r.status == "rated") + \
        sum(r.original[1] for r in again if r.status == "duplicate" and r.original)
    assert -spent == told
    assert -spent_once == sum(r.original[1] for r in again if r.status == "duplicate" and r.original)
    used = read(pg, lambda s: s.execute(text("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM usage_records")).one())
    assert used[0] == used[1] == len({e["event_id"] for e in batch})  # every event recorded once
