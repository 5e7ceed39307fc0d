"""Starting a transfer tells nothing about whether the recipient is a subscriber beyond what a code
request costs: the amount and the sender are checked first, the sender's code limit before the lookup,
and unknown, lost and blocked recipients get one answer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mts_portal.core import auth, payments
from mts_portal.core.db import read, transact
from mts_portal.core.errors import DomainError, RateLimited
from tests.conftest import T0
from tests.helpers import make_line

SENDER, KNOWN, LOST, BLOCKED, UNKNOWN = "79180000011", "79180000012", "79180000013", "79180000014", "79180000999"


@pytest.fixture
def world(store):
    for m in (SENDER, KNOWN, LOST, BLOCKED):
        make_line(store, m, "smart", balance=100_000, now=T0)

    def mark(s):
        for m, attr in ((LOST, "is_lost"), (BLOCKED, "is_blocked")):
            line = auth.get_line(s, m)
            setattr(line, attr, True)
            auth.recompute_status(line)
            s.add(line)

    transact(store, mark)
    info = transact(store, lambda s: auth._start_session(s, auth.get_line(s, SENDER), "c", T0)).info
    return store, info


def answer(store, info, to, amount, now=T0):
    try:
        transact(store, lambda s: payments.request_transfer(s, info, SENDER, to, amount, "c", now))
    except DomainError as exc:
        return type(exc).__name__, exc.message_ru, exc.details
    return "started"


def test_a_bad_amount_is_refused_before_the_recipient_is_looked_up(world):
    store, info = world
    for amount in (0, -5, 10**9, True, "100"):
        assert answer(store, info, KNOWN, amount) == answer(store, info, UNKNOWN, amount), amount


def test_unknown_lost_and_blocked_recipients_get_one_answer(world):
    store, info = world
    answers = {to: answer(store, info, to, 1_000) for to in (UNKNOWN, LOST, BLOCKED)}
    assert len(set(map(repr, answers.values()))) == 1, answers
    assert answer(store, info, KNOWN, 1_000) == "started"


def test_past_the_senders_code_limit_every_recipient_gets_the_same_answer(world):
    store, info = world
    now = T0 + timedelta(minutes=1)
    for _ in range(5):
        assert answer(store, info, KNOWN, 1_000, now) == "started"
    known, unknown = answer(store, info, KNOWN, 1_000, now), answer(store, info, UNKNOWN, 1_000, now)
    assert known == unknown and known[0] == RateLimited.__name__
    assert read(store, lambda s: auth.get_line(s, SENDER).balance_kopecks) > 0
