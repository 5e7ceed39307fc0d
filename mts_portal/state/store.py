"""The portal's answer to a store in trouble: a banner in the shared layout instead of a stack trace.

Reflex calls `on_backend_error` for an exception a handler did not catch. Store trouble (disk full,
read-only, locked past the retry budget, PostgreSQL gone) shows the banner — the pool is dropped and /health
told, as the API does — and the banner hides by itself once the store takes writes again (a background
check every 3 s, the cheap cached probe of /health). Anything else is a toast with a correlation id that
the log line carries, never the exception's text.
"""
# no `from __future__ import annotations`: Reflex checks the handler's annotations as types

import asyncio
import logging
import secrets

import reflex as rx
from reflex.event import EventSpec

from mts_portal.core import runtime
from mts_portal.core.db import HEALTH, as_store_unavailable, get_engine
from mts_portal.i18n import add

log = logging.getLogger("mts_portal.state")

add({
    "store.banner_title": ("Сервис временно не сохраняет изменения",
                           "The service cannot save changes right now"),
    "store.banner_text": ("Мы уже чиним. Баланс и данные в сохранности; пополнения, подключения и другие "
                          "изменения станут доступны через несколько минут — эта надпись исчезнет сама.",
                          "We are on it. Your balance and data are safe; top-ups, connections and other "
                          "changes will be back in a few minutes — this notice goes away by itself."),
})


class StoreState(rx.State):
    """Whether this tab shows the store-trouble banner."""

    store_down: bool = False
    _watching: bool = False

    @rx.event
    async def check_store(self):
        """On every private page's load: the banner when the store does not take writes now (the cached
        probe of /health: at most one no-op write every 2 s per process, and real writes' failures)."""
        writable, _ = await asyncio.to_thread(lambda: HEALTH.status(runtime.engine()))
        if not writable:
            return StoreState.show_store_trouble

    @rx.event
    def show_store_trouble(self):
        self.store_down = True
        if not self._watching:
            self._watching = True
            return StoreState.watch_store

    @rx.event(background=True)
    async def watch_store(self):
        try:
            while True:
                await asyncio.sleep(3)
                writable, _ = await asyncio.to_thread(lambda: HEALTH.status(runtime.engine()))
                if writable:
                    async with self:
                        self.store_down = False
                    return
        finally:
            async with self:
                self._watching = False


def on_backend_error(exception: Exception) -> EventSpec | None:
    try:
        engine = get_engine()
    except Exception:  # noqa: BLE001
        engine = None
    if as_store_unavailable(engine, exception) is not None:
        return StoreState.show_store_trouble()
    correlation = secrets.token_hex(8)
    log.error("unexpected error in an event handler, correlation id %s", correlation, exc_info=exception)
    return rx.toast.error(f"Внутренняя ошибка · Internal error ({correlation})", id="backend_error",
                          position="top-center")
