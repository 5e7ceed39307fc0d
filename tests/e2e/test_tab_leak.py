"""Closing tabs gives everything back (issue 18, goal 3): a few hundred tabs open the live home screen
through Reflex's own websocket and close again; afterwards the backend holds no tab, no watcher and no
per-tab state more than before, and has no more asyncio tasks (benchmarks/bench_sessions.py --leak does
the same with 5,000 tabs and measures CPU and RSS)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from loadtests.reflex_client import AppMap, Tab
from tests.e2e.server import OPERATOR_TOKEN

pytestmark = pytest.mark.e2e

ROUNDS, TABS = 3, 100  # 300 tabs opened and closed


def _live(portal) -> dict:
    return httpx.get(f"{portal.url}/api/v1/live", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
                     timeout=30).json()


def _settled(portal, before: dict, timeout: float = 40.0) -> dict:
    """The process's holdings once the sweeper has seen the sockets gone (settings.tab_grace_s: 6 s here)."""
    deadline = time.monotonic() + timeout
    while True:
        now = _live(portal)
        if (now["tabs"] <= before["tabs"] and now["states_in_memory"] <= before["states_in_memory"]
                and now["watchers"] <= before["watchers"] and now["asyncio_tasks"] <= before["asyncio_tasks"] + 5) \
                or time.monotonic() > deadline:
            return now
        time.sleep(1.0)


def test_tabs_opened_and_closed_leave_nothing_behind(portal):
    from mts_portal.core import auth
    from mts_portal.core.db import make_engine, transact
    from mts_portal.core.runtime import store_clock

    app_map = AppMap.discover(portal.url)
    engine = make_engine(f"sqlite:///{portal.db_path}")
    clock = store_clock(engine)  # the portal's: sessions are judged by its sessions' clock
    lines = [portal.line(balance_kopecks=100_000) for _ in range(5)]

    def sessions(n: int) -> list[str]:  # logged-in sessions as the login page makes them, one transaction
        return transact(engine, lambda s: [auth._start_session(s, auth.get_line(s, lines[k % len(lines)]), "leak-test",
                                                               clock.session_now()).token for k in range(n)])

    def open_and_close(token: str) -> str:
        with httpx.Client(timeout=60) as http:
            tab = Tab(portal.url, app_map, http, connect_timeout=60)
            tab.cookies["mts_session"] = token
            try:
                tab.connect("/")
                home = tab.state.get(app_map.states["home_state"], {})
                assert "₽" in str(home.get("balance_text")), (
                    f"the home screen did not load: home_state vars {sorted(home)[:8]}, toasts {tab.toasts}; "
                    f"{tab.describe()}")
                return "ok"
            except Exception as exc:  # which tab, what it saw, and what the portal logged meanwhile
                raise AssertionError(f"{exc}\nportal log:\n{portal.log_tail(40)}") from exc
            finally:
                tab.close()

    states_dir = Path(__file__).resolve().parents[2] / ".states"  # Reflex's disk state manager writes here

    def pickles() -> int:
        return len(list(states_dir.glob("*.pkl"))) if states_dir.exists() else 0

    before = _settled(portal, _live(portal))
    # per-tab state lives in memory on this shape: Reflex's "disk" mode kept ~27 files per closed tab for an
    # hour and stat-ed every one of them on each write-queue pass (idle CPU grew with every tab ever opened)
    assert before["state_manager"] == "StateManagerMemory", before
    files_before = pickles()
    for _ in range(ROUNDS):
        with ThreadPoolExecutor(25) as pool:
            assert list(pool.map(open_and_close, sessions(TABS))) == ["ok"] * TABS
    after = _settled(portal, before)
    assert after["tabs"] <= before["tabs"], (before, after)
    assert after["watchers"] <= before["watchers"], (before, after)
    assert after["states_in_memory"] <= before["states_in_memory"], (before, after)
    assert after["hub_lines_waited"] <= before["hub_lines_waited"], (before, after)
    assert after["asyncio_tasks"] <= before["asyncio_tasks"] + 5, (before, after)  # a sweep may be mid-flight
    assert after["states_purged"] >= before["states_purged"] + ROUNDS * TABS, (before, after)
    assert pickles() <= files_before, "closed tabs left state files on disk"
