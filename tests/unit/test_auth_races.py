"""Concurrent attempts against the login guard, the single-use code and the per-number code limit.

Runs on SQLite (write transactions are exclusive: BEGIN IMMEDIATE) and on PostgreSQL (READ COMMITTED:
the guard row is created with INSERT … ON CONFLICT DO NOTHING and locked FOR UPDATE, the code row is
locked and consumed by a conditional UPDATE, the rate keys take transaction advisory locks)."""

from __future__ import annotations

import collections
import re
import threading

import pytest
from sqlalchemy import select

from mts_portal.core import auth
from mts_portal.core.db import read, transact
from mts_portal.core.errors import Locked, RateLimited, Unauthorized
from mts_portal.core.models import LoginGuard, SmsMessage
from tests.conftest import T0
from tests.helpers import make_line

A1 = "79190000001"
KEEP = (Unauthorized, Locked)
THREADS = 24  # within the PostgreSQL pool (10 + 20 overflow)


def last_code(store, msisdn: str) -> str:
    text = read(store, lambda s: s.exec(select(SmsMessage.text).where(SmsMessage.to_msisdn == msisdn)
                                        .order_by(SmsMessage.id.desc())).scalars().first())
    return re.search(r"\b(\d{6})\b", text).group(1)


def in_parallel(jobs) -> collections.Counter:
    """Run the callables at the same moment (a barrier), count what each ended with."""
    results: collections.Counter = collections.Counter()
    barrier = threading.Barrier(len(jobs))
    lock = threading.Lock()

    def go(job):
        barrier.wait()
        try:
            job()
            outcome = "ok"
        except (Unauthorized, Locked, RateLimited) as exc:
            outcome = type(exc).__name__
        except Exception as exc:  # noqa: BLE001 — any other error is a failure of the test
            outcome = f"error {type(exc).__name__}: {exc}"
        with lock:
            results[outcome] += 1

    threads = [threading.Thread(target=go, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


@pytest.fixture
def line(store):
    make_line(store, A1, "smart", balance=10_000, now=T0)
    return store


def counting_comparisons(monkeypatch, right: str) -> collections.Counter:
    seen: collections.Counter = collections.Counter()
    original = auth._code_hash
    guard = threading.Lock()

    def counted(attempt_id, code):
        with guard:
            seen["compared"] += 1
            seen["right" if code == right else "wrong"] += 1
        return original(attempt_id, code)

    monkeypatch.setattr(auth, "_code_hash", counted)
    return seen


def test_parallel_wrong_codes_get_three_comparisons_then_the_lock(line, monkeypatch):
    store = line
    req = transact(store, lambda s: auth.request_code(session=s, msisdn=A1, purpose="login", client="x", now=T0))
    right = last_code(store, A1)
    seen = counting_comparisons(monkeypatch, right)
    wrong = [f"{i:06d}" for i in range(THREADS + 1) if f"{i:06d}" != right][:THREADS]
    # no guard row exists yet: its creation races too
    results = in_parallel([lambda g=g: transact(store, lambda s: auth.login_with_code(
        session=s, attempt_id=req.attempt_id, msisdn=A1, code=g, client="x", now=T0), keep_on=KEEP)
        for g in wrong])
    assert not [k for k in results if k.startswith("error")], results
    assert seen["compared"] == auth.LOCK_AFTER_FAILURES, (seen, results)
    assert results == {"Unauthorized": 2, "Locked": THREADS - 2}, results
    guard = read(store, lambda s: s.get(LoginGuard, A1))
    assert guard.failures == 3 and guard.locked_until is not None
    with pytest.raises(Locked):  # and the right code is refused while locked
        transact(store, lambda s: auth.login_with_code(session=s, attempt_id=req.attempt_id, msisdn=A1,
                                                       code=right, client="x", now=T0), keep_on=KEEP)
    assert seen["right"] == 0


def test_parallel_guesses_with_the_right_one_among_them_never_pass_the_lock(line, monkeypatch):
    store = line
    req = transact(store, lambda s: auth.request_code(session=s, msisdn=A1, purpose="login", client="x", now=T0))
    right = last_code(store, A1)
    seen = counting_comparisons(monkeypatch, right)
    guesses = [f"{i:06d}" for i in range(THREADS) if f"{i:06d}" != right][:THREADS - 1] + [right]
    granted = []
    results = in_parallel([lambda g=g: granted.append(transact(store, lambda s: auth.login_with_code(
        session=s, attempt_id=req.attempt_id, msisdn=A1, code=g, client="x", now=T0), keep_on=KEEP)) for g in guesses])
    assert not [k for k in results if k.startswith("error")], results
    # at most the allowed comparisons; the right code passes only if it came before the lock
    assert seen["compared"] <= auth.LOCK_AFTER_FAILURES, seen
    assert len(granted) == seen["right"] <= 1


def test_a_code_presented_twice_at_once_is_accepted_once(line):
    store = line
    req = transact(store, lambda s: auth.request_code(session=s, msisdn=A1, purpose="login", client="x", now=T0))
    right = last_code(store, A1)
    results = in_parallel([lambda: transact(store, lambda s: auth.login_with_code(
        session=s, attempt_id=req.attempt_id, msisdn=A1, code=right, client="x", now=T0), keep_on=KEEP)
        for _ in range(8)])
    assert results["ok"] == 1 and not [k for k in results if k.startswith("error")], results


def test_the_per_number_code_limit_holds_under_parallel_requests(line):
    store = line
    limit = 5
    results = in_parallel([lambda i=i: transact(store, lambda s: auth.request_code(
        session=s, msisdn=A1, purpose="login", client=f"c{i}", now=T0)) for i in range(THREADS)])
    assert results == {"ok": limit, "RateLimited": THREADS - limit}, results
