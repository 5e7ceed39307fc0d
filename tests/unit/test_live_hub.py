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


def _change(store, line_id: int, at):
    from mts_portal.core.db import transact
    from mts_portal.core.models import ChangeLog

    transact(store, lambda s: s.add(ChangeLog(line_id=line_id, at=at)))


def test_the_feed_hears_changes_after_the_log_was_pruned_empty(store):
    """Ten quiet minutes (or a clock moved forward) make every row old: pruning keeps the newest, so the
    store numbers the next row after it and the feed reads it (SQLite would start again at 1 otherwise)."""
    from datetime import UTC, datetime, timedelta

    from mts_portal.core.live import ChangeFeed, prune_change_log

    t0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    for i in range(5):
        _change(store, 100 + i, t0)
    feed = ChangeFeed(store)
    feed.start_at_end()
    feed.poll()  # the first poll re-reads the window behind the mark
    assert feed.poll() == set()
    assert prune_change_log(store, t0 + timedelta(minutes=30)) == 4  # the newest row stays
    assert prune_change_log(store, t0 + timedelta(minutes=40)) == 0
    _change(store, 7, t0 + timedelta(minutes=40))
    assert feed.poll() == {7}
    _change(store, 8, t0 + timedelta(minutes=40))
    assert feed.poll() == {8}


def test_the_feed_follows_a_log_whose_numbering_went_back(store):
    """A log emptied by hand (or a store restored) restarts its numbering below the feed's mark: the feed
    notices on its next poll and reads the new rows."""
    from datetime import UTC, datetime

    from sqlalchemy import delete

    from mts_portal.core.db import transact
    from mts_portal.core.live import WINDOW, ChangeFeed
    from mts_portal.core.models import ChangeLog

    t0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    feed = ChangeFeed(store)
    feed.start_at_end()
    feed.high = feed.high + WINDOW + 50  # as if the log had once gone far past its rows now
    transact(store, lambda s: s.execute(delete(ChangeLog)))
    assert feed.poll() == set()
    _change(store, 9, t0)
    assert feed.poll() == {9}
