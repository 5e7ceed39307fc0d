"""Demo traffic inside a running portal (MTS_DEMO_TRAFFIC events/s): the same generator
and runner as the CLI, sending in-process and waking open cabinets at once."""

from __future__ import annotations

import asyncio
import logging
import time

log = logging.getLogger("simulator.live")


async def run_in_process(rate: float, seed: int = 7) -> None:
    from mts_portal.core import runtime
    from mts_portal.core.live import HUB
    from simulator.runner import InProcessSender, Runner
    from simulator.traffic import TrafficGenerator, expected_events_per_second, load_population

    engine = runtime.engine()
    pop = await asyncio.to_thread(load_population, engine)
    if not len(pop):
        log.warning("demo traffic: the store has no lines; nothing to simulate")
        return
    gen = TrafficGenerator(pop, seed=seed, run_id=f"live{int(time.time())}")
    personas = dict(zip(pop.msisdns, pop.personas, strict=True))
    runner = Runner(InProcessSender(engine, publish=HUB.publish), batch=500, seed=seed, personas=personas,
                    progress=False)
    log.info("demo traffic started for %d lines at %.1f events/s", len(pop), rate)
    last_report = time.monotonic()
    while True:
        tick = time.monotonic()
        now = runtime.now()
        base = expected_events_per_second(pop, now)
        gen.scale = rate / base if base > 0 else 1.0
        events = gen.window(now.replace(microsecond=0), 1)
        runner.stats.generated += len(events)
        try:
            if events:
                await asyncio.to_thread(runner._send, events, now)
            await asyncio.to_thread(runner._do_topups, now)
        except Exception:
            log.exception("demo traffic batch failed; continuing")
        if tick - last_report > 60:
            log.info("demo traffic: %s", runner.stats.summary())
            last_report = tick
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
