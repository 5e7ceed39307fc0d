"""The load client reads its websocket as a browser does: each message merged before the next one, in the
order they arrived (python-engineio's default hands every message to a thread of its own, and a large
hydrate snapshot was then merged after the small deltas behind it)."""

from __future__ import annotations

import threading
import time

from loadtests.reflex_client import AppMap, Tab, _InOrderClient, _InOrderEngineIO


def test_messages_are_handled_on_the_reading_thread_in_arrival_order():
    eio = _InOrderEngineIO()
    seen: list[tuple[int, int]] = []

    def handler(n: int) -> None:
        if n == 0:
            time.sleep(0.2)  # the big one, first in line: the ones behind it wait
        seen.append((n, threading.get_ident()))

    eio.on("message", handler)
    for n in range(5):
        eio._trigger_event("message", n, run_async=True)  # what engineio's read loop passes
    assert [n for n, _ in seen] == [0, 1, 2, 3, 4]
    assert {t for _, t in seen} == {threading.get_ident()}
    assert _InOrderClient().eio.__class__ is _InOrderEngineIO


def test_a_late_snapshot_cannot_overwrite_a_later_delta():
    """The hydrate snapshot, then the page's data: merged in that order, the data stays."""
    app = AppMap({"home_state": "s.home_state", "ui_state": "s.ui_state"})
    tab = Tab("http://127.0.0.1:9", app, http=None)  # no connection: messages are fed by hand
    tab._on_event({"delta": {"s.home_state": {"balance_text_rx_state_": "", "version_rx_state_": -1}}})
    tab._on_event({"delta": {"s.home_state": {"balance_text_rx_state_": "100,00 ₽", "version_rx_state_": 3}}})
    assert tab.var("home_state", "balance_text") == "100,00 ₽" and tab.var("home_state", "version") == 3
    assert tab.updates == 2 and len(tab.trace) == 2
