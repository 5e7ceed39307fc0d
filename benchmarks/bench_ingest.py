"""Benchmark 2/3: events rated and durably persisted per second into a store, beside the storage limit.

  python benchmarks/bench_ingest.py --store sqlite   # 200,000 events over 20,000 lines
  python benchmarks/bench_ingest.py --store postgres

One process (one core for Python; the database server uses the other core on
PostgreSQL). Durable: every batch is committed (SQLite WAL, synchronous=NORMAL;
PostgreSQL default fsync).

In the same run, the **storage limit**: every write statement that ingestion sent
(usage rows, ledger, bonus, notices, fee marks, pool draws, bucket and line
updates, change feed — recorded as ingestion sent them) is written again into a
second copy of the same seeded store, raw: the same connection settings, the same
bulk statements (executemany on SQLite, COPY on PostgreSQL), no reads, no rating,
in transactions of `--raw-tx` events, `--raw-repeat` times into fresh copies (the
median counts: a few seconds of writes spread by ±15 % on a shared VM).
`storage_ratio` = ingest events/s ÷ raw event-equivalents/s: the share of the
storage's own speed that ingestion reaches, which means the same on a fast or a
slow machine. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections import Counter

from _common import emit, pg_store, sqlite_store, stream


class Recorder:
    """Keeps every write that charging's FastSQL sends, per batch, to replay it raw."""

    def __init__(self):
        self.batches: list[list[tuple]] = []
        self.current: list[tuple] | None = None
        self.depth = 0

    def install(self):
        from mts_portal.core import fastsql

        cls = fastsql.FastSQL
        orig = {name: getattr(cls, name) for name in ("insert", "update_many", "executemany")}
        rec = self

        def wrap(name):
            def method(fx, *args, **kwargs):
                if rec.current is not None and rec.depth == 0:
                    rec.current.append((name, args, kwargs))
                rec.depth += 1
                try:
                    return orig[name](fx, *args, **kwargs)
                finally:
                    rec.depth -= 1
            return method

        for name in orig:
            setattr(cls, name, wrap(name))
        return lambda: [setattr(cls, name, fn) for name, fn in orig.items()]

    def begin(self):
        self.current = []

    def end(self, events: int):
        self.batches.append((events, self.current))
        self.current = None


def replay_raw(url: str, batches: list, per_tx: int) -> tuple[float, int]:
    """Write the recorded statements into a fresh copy of the store; returns (seconds, row operations)."""
    from mts_portal.core.db import make_engine, write_connection
    from mts_portal.core.fastsql import FastSQL

    engine = make_engine(url)
    ops = 0
    t0 = time.perf_counter()
    conn = write_connection(engine)
    try:
        in_tx = 0
        tx = conn.begin()
        fx = FastSQL(conn)
        for events, writes in batches:
            for name, args, kwargs in writes:
                getattr(fx, name)(*args, **kwargs)
                rows = args[2] if name in ("insert", "update_many") else args[1]
                ops += len(rows)
            in_tx += events
            if in_tx >= per_tx:
                tx.commit()
                tx = conn.begin()
                in_tx = 0
        tx.commit()
    finally:
        conn.close()
    seconds = time.perf_counter() - t0
    engine.dispose()
    return seconds, ops


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--lines", type=int, default=20_000)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--raw-tx", type=int, default=10_000, help="events per transaction of the raw replay")
    ap.add_argument("--raw-repeat", type=int, default=None,
                    help="raw replays, each into a fresh copy of the store; the ratio uses their median "
                         "(default 3 on SQLite, 1 on PostgreSQL, where each copy is seeded afresh)")
    ap.add_argument("--no-raw", action="store_true", help="skip the storage-limit replay")
    args = ap.parse_args()

    from mts_portal.core import charging
    from mts_portal.core.billing import check_invariants
    from mts_portal.core.db import make_engine, read

    def store(name):
        return sqlite_store(args.lines, args.seed, name) if args.store == "sqlite" else \
            pg_store(args.lines, args.seed, name.replace("-", "_"))

    url = store("mts-bench-ingest")
    want_raw = not args.no_raw
    batches = stream(url, args.events, args.seed, args.batch)
    engine = make_engine(url)
    # The generated stream (200,000 event dicts, ~2 M objects) is the benchmark's input, held for the whole run;
    # a node parses each request's events and frees them. Left in the collected heap, every full collection
    # would walk it (12-15 of them in a run, ~1.2 s): frozen, the collector sees what a node's heap holds.
    gc.collect()
    gc.freeze()
    recorder = Recorder()
    uninstall = recorder.install() if want_raw else None
    statuses: Counter = Counter()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    for now, batch in batches:
        if uninstall:
            recorder.begin()
        for r in charging.ingest(engine, batch, now=now):
            statuses[r.status] += 1
        if uninstall:
            recorder.end(len(batch))
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    if uninstall:
        uninstall()
    n = sum(statuses.values())
    problems = read(engine, lambda s: check_invariants(session=s))
    out = {"bench": f"ingest_{args.store}", "lines": args.lines, "events": n, "batch": args.batch,
           "seconds": round(seconds, 2), "events_per_s": round(n / seconds), "python_cpu_s": round(cpu, 2),
           "processes": 1, "statuses": dict(statuses), "invariant_violations": len(problems)}
    if want_raw:
        # the raw replay is short (a few seconds) and spreads by ±15 % on a shared VM: its median of several
        # replays, each into a fresh copy of the seeded store, is what the ratio compares with
        replays = [replay_raw(store(f"mts-bench-raw-{i}"), recorder.batches, args.raw_tx)
                   for i in range(max(1, args.raw_repeat or (3 if args.store == "sqlite" else 1)))]
        raw_s = statistics.median(r[0] for r in replays)
        ops = replays[0][1]
        out.update({"raw_seconds": round(raw_s, 2), "raw_runs_s": [round(r[0], 2) for r in replays],
                    "raw_row_ops": ops, "raw_row_ops_per_event": round(ops / n, 2),
                    "raw_events_per_s": round(n / raw_s), "storage_ratio": round(raw_s / seconds, 3)})
    emit(out)


if __name__ == "__main__":
    main()
