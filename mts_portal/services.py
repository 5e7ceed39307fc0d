"""Background services of a portal process, run by the app's lifespan:

- bring the store to the latest migration;
- the change-feed poller that wakes open cabinets (live updates);
- the scheduler: period rollovers, daily fees, promised-payment expiry, autopay,
  housekeeping, every MTS_SCHEDULER_INTERVAL_S seconds;
- in demo mode: live simulated traffic (MTS_DEMO_TRAFFIC events/s, or what the control room set);
- the engine counters and the open cabinets of this process, written to the store for the control room
  and the demo traffic of every process (core/metrics.py, core/live.py presence).

Every worker runs its own change-feed poller (it wakes that worker's open pages). The scheduler
and the demo traffic run in one worker only, the leader (core/leader.py): with several backend
workers (Redis) they would otherwise run once per worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

from mts_portal.core import jobs, metrics, runtime
from mts_portal.core.leader import Leadership
from mts_portal.core.live import HUB, TABS, prune_change_log, run_poller, write_presence
from mts_portal.core.settings import get_settings

log = logging.getLogger("mts_portal.services")


def configure_logging() -> None:
    level = get_settings().log_level.upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mts_portal").setLevel(level)
    logging.getLogger("simulator").setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)


async def scheduler_loop(interval: float) -> None:
    engine = runtime.engine()
    while True:
        try:
            now = runtime.now()
            report = await asyncio.to_thread(jobs.run_due, engine, now)
            if get_settings().demo:  # the households' internet and TV of the time since the last run
                from simulator.home import tick

                await asyncio.to_thread(tick, engine, now)
            if report.changed_line_ids:
                HUB.publish(report.changed_line_ids)
            if report.rollovers or report.content_fees or report.promised_expired or report.autopay_runs:
                log.info("scheduler: %s", report.to_json())
            await asyncio.to_thread(prune_change_log, engine, now)
        except Exception:
            log.exception("scheduler run failed; will retry")
        await asyncio.sleep(interval)


def _grace_s() -> float:
    """A tab whose socket is gone this long has been closed (settings.tab_grace_s, 30 s)."""
    return get_settings().tab_grace_s


def _reflex_app():
    try:
        from mts_portal.mts_portal import app as rx_app
    except Exception:  # the API served alone (uvicorn mts_portal.api:app): no pages, no tabs
        return None
    return rx_app


def _connected_tokens() -> set[str] | None:
    """The Reflex client tokens with a live socket on this process, or None if Reflex does not say."""
    rx_app = _reflex_app()
    ns = getattr(rx_app, "event_namespace", None) if rx_app is not None else None
    manager = getattr(ns, "_token_manager", None)
    sockets = getattr(manager, "token_to_socket", None)
    return set(sockets) if sockets is not None else None


class _StatePurger:
    """Per-tab states of closed tabs are dropped from the in-memory state manager settings.tab_grace_s after
    their socket went away (Reflex would keep them an hour): memory and CPU come back when tabs close."""

    def __init__(self) -> None:
        self.gone_since: dict[str, float] = {}
        self.purged = 0

    def run(self, connected: set[str], now: float) -> int:
        rx_app = _reflex_app()
        manager = getattr(rx_app, "_state_manager", None) if rx_app is not None else None
        states = getattr(manager, "states", None)
        purge = getattr(manager, "_purge_token", None)
        locks = getattr(manager, "_states_locks", {})
        if not isinstance(states, dict) or purge is None:
            return 0  # Redis keeps states with its own expiry
        from reflex.istate.manager.token import BaseStateToken
        from reflex.state import State

        n = 0
        for key in list(states):
            if key in connected:
                self.gone_since.pop(key, None)
                continue
            since = self.gone_since.setdefault(key, now)
            token = BaseStateToken(ident=key, cls=State)
            lock = locks.get(token.lock_key)
            if now - since >= _grace_s() and not (lock is not None and lock.locked()):
                purge(token)
                self.gone_since.pop(key, None)
                n += 1
        for key in list(self.gone_since):
            if key not in states:
                del self.gone_since[key]
        self.purged += n
        return n


PURGER = _StatePurger()


async def tab_sweeper(interval: float | None = None) -> None:
    """The one timer of the open private pages of this process: every few seconds it checks every open
    tab's session in one read-only query (ending the tabs whose session ended: their pages leave for the
    login page), cancels the watchers of tabs whose socket is gone, and drops closed tabs' states."""
    from mts_portal.state.base import SESSION_CHECK_S

    interval = interval or SESSION_CHECK_S
    engine = runtime.engine()
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(interval)
        try:
            ended = await asyncio.to_thread(TABS.sweep, engine, runtime.session_now())
            if ended:
                TABS.apply_ended(ended, HUB)
            connected = _connected_tokens()
            if connected is None:
                continue
            now = loop.time()
            for tab in TABS.tabs():
                if tab.client in connected:
                    tab.disconnected_since = None
                elif tab.disconnected_since is None:
                    tab.disconnected_since = now
                elif now - tab.disconnected_since >= _grace_s():
                    TABS.close(tab.client)
            if PURGER.run(connected, now):
                _give_back_memory()
        except Exception:
            log.exception("tab sweep failed; will retry")


def _give_back_memory() -> None:
    """After closed tabs' states were dropped: a full collection (a tab's state tree is full of cycles,
    parent <-> substates) and glibc's malloc_trim, so the freed heap goes back to the OS instead of
    staying the high-water mark of the busiest minute. Only on a sweep that purged something."""
    import gc

    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


async def metrics_loop(interval: float = 0.5) -> None:
    """This process's finished seconds of engine counters to the store (nothing when idle)."""
    engine = runtime.engine()
    while True:
        try:
            await asyncio.to_thread(metrics.flush, engine)
        except Exception:
            log.exception("engine metrics flush failed; will retry")
        await asyncio.sleep(interval)


async def presence_loop(interval: float = 2.0, heartbeat: float = 10.0) -> None:
    """This process's open cabinets to the store: when they change, and a heartbeat every 10 s."""
    engine = runtime.engine()
    worker = metrics.worker_id()
    written, at = -1, -1e9
    loop = asyncio.get_running_loop()
    while True:
        try:
            if TABS.version != written or loop.time() - at > heartbeat:
                version = TABS.version
                await asyncio.to_thread(write_presence, engine, worker)
                written, at = version, loop.time()
        except Exception:
            log.exception("presence write failed; will retry")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def lifespan(app=None):
    configure_logging()
    settings = get_settings()
    from mts_portal.core.seeding import seeding_in_progress

    if seeding_in_progress():  # run.sh seeds the demo population while the portal is built
        log.info("waiting for the demo population to be seeded …")
        while seeding_in_progress():
            await asyncio.sleep(0.5)
        log.info("demo population ready")
    engine = await asyncio.to_thread(runtime.engine)
    HUB.attach(asyncio.get_running_loop())
    log.info("portal services up: store=%s demo=%s simulated_clock=%s", engine.dialect.name, settings.demo,
             settings.simulated_clock)
    tasks = [
        asyncio.create_task(run_poller(engine, HUB, settings.live_poll_interval_s), name="change-feed"),
        asyncio.create_task(lead(engine, settings), name="leadership"),
        asyncio.create_task(metrics_loop(), name="engine-metrics"),
        asyncio.create_task(presence_loop(), name="presence"),
        asyncio.create_task(tab_sweeper(), name="tab-sweeper"),
    ]
    try:
        yield
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _leader_tasks(settings) -> list[asyncio.Task]:
    tasks = [asyncio.create_task(scheduler_loop(settings.scheduler_interval_s), name="scheduler")]
    rate = float(os.environ.get("MTS_DEMO_TRAFFIC", "0") or 0)
    if settings.demo:  # always in demo mode: the control room can start traffic from 0
        from simulator.live import run_in_process

        tasks.append(asyncio.create_task(run_in_process(rate=rate), name="demo-traffic"))
        log.info("demo traffic: %.1f events/s (the control room may change it)", rate)
    return tasks


async def lead(engine, settings, retry_s: float | None = None) -> None:
    """Run the leader's work while this process holds the lead; try to take it over otherwise."""
    leadership = Leadership(engine)
    retry_s = retry_s if retry_s is not None else max(1.0, settings.scheduler_interval_s)
    running: list[asyncio.Task] = []
    try:
        while True:
            try:
                leading = await asyncio.to_thread(leadership.try_lead)
            except Exception:
                log.exception("leadership check failed; will retry")
                leading = False
            if leading and not running:
                running = _leader_tasks(settings)
            elif not leading and running:
                for t in running:
                    t.cancel()
                await asyncio.gather(*running, return_exceptions=True)
                running = []
            await asyncio.sleep(retry_s)
    finally:
        for t in running:
            t.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await asyncio.to_thread(leadership.release)
