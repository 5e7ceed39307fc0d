"""Benchmark 2/3: events rated and durably persisted per second into a store.

  python benchmarks/bench_ingest.py --store sqlite   # 200,000 events over 20,000 lines
  python benchmarks/bench_ingest.py --store postgres

One process (one core for Python; the database server uses the other core on
PostgreSQL). Durable: every batch is committed (SQLite WAL, synchronous=NORMAL;
PostgreSQL default fsync). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from _common import emit, pg_store, sqlite_store, stream


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--lines", type=int, default=20_000)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    from mts_portal.core import charging
    from mts_portal.core.billing import check_invariants
    from mts_portal.core.db import make_engine, read

    url = sqlite_store(args.lines, args.seed, "bench-ingest") if args.store == "sqlite" else \
        pg_store(args.lines, args.seed, "mts_bench_ingest")
    batches = stream(url, args.events, args.seed, args.batch)
    engine = make_engine(url)
    statuses: Counter = Counter()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    for now, batch in batches:
        for r in charging.ingest(engine, batch, now=now):
            statuses[r.status] += 1
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    n = sum(statuses.values())
    problems = read(engine, lambda s: check_invariants(session=s))
    emit({"bench": f"ingest_{args.store}", "lines": args.lines, "events": n, "batch": args.batch,
          "seconds": round(seconds, 2), "events_per_s": round(n / seconds), "python_cpu_s": round(cpu, 2),
          "processes": 1, "statuses": dict(statuses), "invariant_violations": len(problems)})


if __name__ == "__main__":
    main()
