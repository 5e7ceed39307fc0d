"""Live traffic (placeholder until the traffic generator lands): nothing yet."""

from __future__ import annotations

import asyncio


async def run_in_process(rate: float) -> None:
    while True:
        await asyncio.sleep(3600)
