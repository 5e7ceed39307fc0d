"""The live hub: a change that lands between a watcher's read and its wait is not lost."""

from __future__ import annotations

import asyncio

from mts_portal.core.live import LiveHub


def test_a_change_between_read_and_wait_wakes_at_once():
    async def go():
        hub = LiveHub()
        hub.attach(asyncio.get_running_loop())
        since = hub.mark()  # the watcher reads its view here ...
        hub._fire({7})  # ... a writer commits line 7 before the watcher waits
        assert await asyncio.wait_for(hub.wait(7, 5.0, since=since), 1.0) is True
        assert await asyncio.wait_for(hub.wait_any([3, 7], 5.0, since=since), 1.0) is True
        again = hub.mark()  # after reloading: nothing new, so the wait times out
        assert await hub.wait(7, 0.05, since=again) is False
        assert await hub.wait(8, 0.05, since=since) is False  # another line's change does not count

    asyncio.run(go())


def test_without_since_only_a_later_change_wakes():
    async def go():
        hub = LiveHub()
        hub.attach(asyncio.get_running_loop())
        hub._fire({7})
        assert await hub.wait(7, 0.05) is False
        waiter = asyncio.ensure_future(hub.wait(7, 5.0))
        await asyncio.sleep(0.01)
        hub.publish([7])
        assert await asyncio.wait_for(waiter, 1.0) is True

    asyncio.run(go())


def test_wait_any_counts_a_change_published_before_its_waits_started():
    """wait_any starts one wait per line as tasks; a change fired after its own check but before those
    tasks ran is not lost (each wait is given the same `since`)."""
    async def go():
        hub = LiveHub()
        hub.attach(asyncio.get_running_loop())
        since = hub.mark()
        waiting = asyncio.ensure_future(hub.wait_any([3, 7], 0.5, since=since))
        await asyncio.sleep(0)  # wait_any has checked and made its tasks; they have not run yet
        hub._fire({7})
        assert await waiting is True

    asyncio.run(go())
