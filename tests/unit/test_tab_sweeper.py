"""The one timer of a process's open private pages: the sweeper checks every tab's session in one read
(writing only when one just expired), ends those tabs' watchers, and lets a closed tab go entirely."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from mts_portal.core import auth
from mts_portal.core.db import read, transact
from mts_portal.core.live import LiveHub, TabRegistry
from mts_portal.core.models import AuthSession
from tests.conftest import T0
from tests.helpers import make_line, run
from tests.unit.test_access_matrix import session_for

A, B, C = "79180000061", "79180000062", "79180000063"


def test_one_query_tells_which_sessions_ended_and_why(store):
    for m in (A, B, C):
        make_line(store, m, now=T0 - timedelta(hours=1))
    live, _ = session_for(store, A)
    idle, _ = session_for(store, B)
    lost, info = session_for(store, C)
    transact(store, lambda s: auth.mark_lost(session=s, info=info, msisdn=C, now=T0))
    later = T0 + auth.IDLE_DEADLINE - timedelta(minutes=1)
    transact(store, lambda s: auth.validate_session(session=s, token=live, now=later))  # A is active
    at = T0 + auth.IDLE_DEADLINE + timedelta(seconds=1)
    ended = auth.ended_sessions(store, [live, idle, lost, "no-such-token"], at)
    assert ended == {idle, lost, "no-such-token"}
    reasons = read(store, lambda s: dict(s.exec(select(AuthSession.id, AuthSession.ended_reason)).all()))
    assert sorted(r for r in reasons.values() if r) == ["idle", "line_lost"]
    assert auth.ended_sessions(store, [live], at) == set()  # nothing written when nothing expired


def test_tabs_attach_detach_and_close():
    reg, hub = TabRegistry(), LiveHub()

    async def go():
        stop = asyncio.Event()

        async def watcher(client, line):
            tab = reg.attach(client, "tok", line)
            try:
                await stop.wait()
            finally:
                reg.detach(client)
            return tab

        a = asyncio.create_task(watcher("tab-1", 5))
        b = asyncio.create_task(watcher("tab-1", 5))  # the same tab's second watcher (home + session)
        c = asyncio.create_task(watcher("tab-2", 6))
        await asyncio.sleep(0)
        assert reg.count() == 2 and reg.lines() == {5, 6} and reg.tasks() == 3
        assert reg.close("tab-2") == 1  # its socket went away: its watcher is cancelled
        await asyncio.gather(c, return_exceptions=True)
        assert c.cancelled() and reg.count() == 1
        [tab] = reg.tabs()
        reg.apply_ended([tab], hub)
        assert tab.ended.is_set()
        stop.set()
        await asyncio.gather(a, b)
        assert reg.count() == 0  # the last watcher gone, the tab is gone

    run(go())
