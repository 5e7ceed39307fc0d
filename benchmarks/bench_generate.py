"""Benchmark 5: simulator generation, events per second (one core): event dicts built
for a 20,000-line population over simulated hours, nothing sent. Prints one JSON line."""

from __future__ import annotations

import argparse
import time
from datetime import timedelta

import numpy as np
from _common import START, emit

from simulator.population import PERSONAS
from simulator.traffic import Population, TrafficGenerator


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=20_000)
    ap.add_argument("--hours", type=int, default=24)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    personas = rng.choice(list(PERSONAS), args.lines).tolist()
    pop = Population([f"79{i:09d}" for i in range(args.lines)], personas, rng.lognormal(0, 0.5, args.lines))
    gen = TrafficGenerator(pop, seed=args.seed)
    total = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    for _, _, evs in gen.hours(START, START + timedelta(hours=args.hours)):
        total += len(evs)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    emit({"bench": "generate", "lines": args.lines, "simulated_hours": args.hours, "events": total, "cores": 1,
          "events_per_s": round(total / wall), "cpu_s": round(cpu, 2)})


if __name__ == "__main__":
    main()
