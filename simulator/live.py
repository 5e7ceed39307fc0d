"""Demo traffic inside a running portal: the same generator and runner as the CLI, sending in-process
and waking open cabinets at once.

Every second it reads what the control room set (core/console.py TrafficSettings: events per
second, the fault mix) and, when the simulated clock runs fast, spreads the second's events over
the simulated time that passed (at ×3600, an hour a second; none while the clock is paused). The
audience is followed: each line shown in an open cabinet of any portal process (the store's
presence rows) gets MTS_DEMO_FOCUS_RATE events a second of its persona's kinds, on top of the
background traffic of the whole population — so an open home screen changes every few seconds.
Lines that a running scenario made for itself get no random traffic (their outcomes are checked).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import datetime, timedelta

log = logging.getLogger("simulator.live")

MAX_FOCUS_LINES = 200
RELOAD_POPULATION_S = 60.0


def _hours(start: datetime, end: datetime):
    """[start, end) cut at Moscow hour boundaries (the generator makes one hour's curve at a time)."""
    t = start
    while t < end:
        nxt = min(end, (t + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0))
        if nxt <= t:
            break
        yield t, nxt
        t = nxt


class LiveTraffic:
    def __init__(self, engine, rate: float, seed: int = 7, publish=None):
        from simulator.runner import Faults, InProcessSender, Runner

        self.engine = engine
        self.default_rate = rate
        self.seed = seed
        self.rng = random.Random(seed)
        self.runner = Runner(InProcessSender(engine, publish=publish), batch=1000, seed=seed, progress=False)
        self.faults = Faults()
        self.gen = None
        self.pop = None
        self.focus_gen = None
        self.focus_lines: tuple[int, ...] = ()
        self.loaded_at = -1e9
        self.n_lines = -1

    def load(self) -> None:
        from simulator.traffic import TrafficGenerator, load_population

        pop = load_population(self.engine)
        if len(pop) != self.n_lines:
            self.pop = pop
            self.n_lines = len(pop)
            self.gen = TrafficGenerator(pop, seed=self.seed, run_id=f"live{int(time.time())}")
            self.runner.personas = dict(zip(pop.msisdns, pop.personas, strict=True))
            self.focus_lines = ()
        self.loaded_at = time.monotonic()

    def _focus(self, line_ids: set[int], focus_rate: float):
        """A generator over the lines the audience is looking at, scaled to `focus_rate` events/s each."""
        from simulator.traffic import Population, TrafficGenerator, expected_events_per_second

        wanted = tuple(sorted(line_ids & set(self.pop.line_ids)))[:MAX_FOCUS_LINES]
        if wanted != self.focus_lines:
            self.focus_lines = wanted
            if not wanted:
                self.focus_gen = None
            else:
                index = {lid: i for i, lid in enumerate(self.pop.line_ids)}
                idx = [index[lid] for lid in wanted]
                sub = Population([self.pop.msisdns[i] for i in idx], [self.pop.personas[i] for i in idx],
                                 self.pop.activity[idx], line_ids=list(wanted))
                self.focus_gen = TrafficGenerator(sub, seed=self.rng.randrange(1 << 30),
                                                  run_id=f"focus{int(time.time())}")
        if self.focus_gen is None:
            return None
        return self.focus_gen, focus_rate, expected_events_per_second

    def tick(self, sim_from: datetime, sim_to: datetime, wall_s: float, settings, audience: set[int],
             focus_rate: float) -> int:
        """The events of one wall-clock tick covering simulated [sim_from, sim_to). Returns how many."""
        from simulator.runner import Faults, inject
        from simulator.traffic import expected_events_per_second

        if time.monotonic() - self.loaded_at > RELOAD_POPULATION_S or self.gen is None:
            self.load()
        if not len(self.pop) or sim_to <= sim_from:
            return 0
        sim_s = (sim_to - sim_from).total_seconds()
        events: list[dict] = []
        wanted = settings.rate_per_s * wall_s  # background events this tick
        base = expected_events_per_second(self.pop, sim_from) * sim_s
        self.gen.scale = wanted / base if base > 0 else 0.0
        for a, b in _hours(sim_from, sim_to):
            events.extend(self.gen.window(a, max(1, int((b - a).total_seconds()))))
        if settings.focus and audience and focus_rate > 0:
            f = self._focus(audience, focus_rate)
            if f is not None:
                gen, rate, expected = f
                per = expected(gen.pop, sim_from) * sim_s
                gen.scale = rate * wall_s * len(gen.pop) / per if per > 0 else 0.0
                for a, b in _hours(sim_from, sim_to):
                    events.extend(gen.window(a, max(1, int((b - a).total_seconds()))))
        if not events:
            return 0
        events.sort(key=lambda e: e["started_at"])
        faults = Faults(settings.duplicates, settings.reorder, settings.malformed, settings.late)
        self.runner.faults = faults
        events = inject(events, faults, self.runner.rng, self.runner.history)
        self.runner.stats.generated += len(events)
        self.runner._send(events, sim_to)
        self.runner._do_topups(sim_to)
        return len(events)


async def run_in_process(rate: float, seed: int = 7) -> None:
    from mts_portal.core import console, runtime
    from mts_portal.core.db import read
    from mts_portal.core.live import HUB, read_presence
    from mts_portal.core.settings import get_settings

    engine = runtime.engine()
    live = LiveTraffic(engine, rate, seed=seed, publish=HUB.publish)
    await asyncio.to_thread(live.load)
    if not len(live.pop):
        log.warning("demo traffic: the store has no lines yet; it starts when there are some")
    log.info("demo traffic started for %d lines at %.1f events/s", len(live.pop), rate)
    settings_ = get_settings()
    last_sim = runtime.now()
    last_wall = time.monotonic()
    last_report = last_wall
    audience: set[int] = set()
    audience_at = -1e9
    while True:
        tick = time.monotonic()
        try:
            control = await asyncio.to_thread(read, engine, console.traffic)
            if tick - audience_at > 2.0:
                _, audience = await asyncio.to_thread(read_presence, engine)
                audience_at = tick
            now = runtime.now()
            if now > last_sim:
                await asyncio.to_thread(live.tick, last_sim, now, tick - last_wall, control, audience,
                                        settings_.demo_focus_rate)
            last_sim = max(last_sim, now)
        except Exception:
            log.exception("demo traffic tick failed; continuing")
        last_wall = tick
        if tick - last_report > 60:
            log.info("demo traffic: %s", live.runner.stats.summary())
            last_report = tick
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
