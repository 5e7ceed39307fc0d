"""Benchmark 1: rating decisions per second on one core (pure rating, no store).

20,000 in-memory line snapshots with their buckets, a generated stream; times
rate() + apply() (what charging does per event, minus persistence). Validation
of the raw events is timed separately. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta

import numpy as np
from _common import START, emit

from mts_portal.core.catalog import default_catalog
from mts_portal.core.clock import period_of, prorate_down
from mts_portal.core.events import validate
from mts_portal.core.rating import BucketState, LineSnapshot, apply, rate
from simulator.population import PERSONAS
from simulator.traffic import Population, TrafficGenerator


def snapshots(n: int, seed: int) -> tuple[Population, dict[str, LineSnapshot]]:
    rng = np.random.default_rng(seed)
    cat = default_catalog()
    personas = rng.choice(list(PERSONAS), n).tolist()
    msisdns = [f"79{i:09d}" for i in range(n)]
    period = period_of(START)
    snaps = {}
    bid = 0
    for i, (m, p) in enumerate(zip(msisdns, personas, strict=True)):
        tariffs = PERSONAS[p][1]
        code = rng.choice(list(tariffs), p=np.array(list(tariffs.values())) / sum(tariffs.values()))
        t = cat.tariffs[str(code)]
        by_kind = {"voice": [], "sms": [], "data": []}
        for kind, unit in (("voice", "min"), ("sms", "sms"), ("data", "KB")):
            amount = prorate_down(t.bundle(kind), 9, 30)
            if amount:
                bid += 1
                by_kind[kind].append(BucketState(bid, i, kind, unit, amount, 0, period.start, period.end, 1, "tariff"))
        opts = frozenset(o for o in PERSONAS[p][2] if rng.random() < 0.3)
        snaps[m] = LineSnapshot(id=i, msisdn=m, status="active", tariff=t, balance_kopecks=int(rng.integers(0, 200000)),
                                credit_limit_kopecks=0, options=opts, buckets=by_kind)
    return Population(msisdns, personas, np.ones(n)), snaps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=20_000)
    ap.add_argument("--events", type=int, default=500_000)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    pop, snaps = snapshots(args.lines, args.seed)
    gen = TrafficGenerator(pop, seed=args.seed)
    raw: list[dict] = []
    t = START
    while len(raw) < args.events:
        for _, _, evs in gen.hours(t, t + timedelta(hours=1)):
            raw.extend(evs)
        t += timedelta(hours=1)
    raw = raw[: args.events]
    t0 = time.process_time()
    events = [validate(r) for r in raw]
    validate_s = time.process_time() - t0
    now = t
    cat = default_catalog()
    statuses: dict[str, int] = {}
    t0 = time.process_time()
    for ev in events:
        line = snaps[ev.msisdn]
        d = rate(ev, line, cat, now)
        apply(d, line)
        statuses[d.status] = statuses.get(d.status, 0) + 1
    rate_s = time.process_time() - t0
    emit({"bench": "rating", "lines": args.lines, "events": len(events), "cores": 1,
          "decisions_per_s": round(len(events) / rate_s), "rate_cpu_s": round(rate_s, 2),
          "validate_per_s": round(len(events) / validate_s), "statuses": statuses})


if __name__ == "__main__":
    main()
