"""Benchmark 4: events per second through POST /api/v1/events in batches of 500.

Starts a UI-less API node (uvicorn, one worker) on 127.0.0.1 over a copy of the
seeded 20,000-line SQLite store (or --url for a running portal), moves its
simulated clock past the stream, and posts the stream from --concurrency client
threads. The server process uses one core for Python; the client the other.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
from _common import ROOT, drop_sqlite_store, emit, sqlite_store, stream

TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=20_000)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--url", help="a running portal instead of a fresh API node (its store must be seeded alike)")
    ap.add_argument("--token", default=TOKEN)
    args = ap.parse_args()

    url = sqlite_store(args.lines, args.seed, "bench-http")
    batches = stream(url, args.events, args.seed, args.batch)
    proc = None
    base = args.url
    last = max(now for now, _ in batches) + timedelta(minutes=1)
    if base is None:
        # the node's simulated clock starts at the stream's end: the clock only moves forward, and a
        # stream generated from START would otherwise be older than 7 days (late) on a later date
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.execute("INSERT OR REPLACE INTO sim_clock (id, offset_seconds) VALUES (1, ?)",
                       ((last - datetime.now(UTC)).total_seconds(),))
        port = free_port()
        env = dict(os.environ, MTS_DB_URL=url, MTS_OPERATOR_TOKEN=args.token, MTS_SIM_CLOCK="1",
                   MTS_LOG_LEVEL="WARNING")
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "mts_portal.api:app", "--host", "127.0.0.1",
                                 "--port", str(port), "--log-level", "warning", "--no-access-log"],
                                cwd=ROOT, env=env, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
    try:
        client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {args.token}"}, timeout=120)
        for _ in range(200):
            try:
                if client.get("/api/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        if args.url:  # a running portal: its simulated clock must be moved past the stream
            r = client.post("/api/v1/clock", json={"now": last.isoformat()})
            r.raise_for_status()  # a clock behind the stream would reject every event as late
        # bodies serialized before the clock starts and answers parsed after it stops: the client shares the
        # machine's two cores with the node, and its own JSON work is not the node's cost
        work: queue.Queue = queue.Queue()
        for _, b in batches:
            work.put(json.dumps({"events": b}).encode())
        latencies: list[float] = []
        answers: list[bytes] = []
        lock = threading.Lock()
        headers = {"Authorization": f"Bearer {args.token}", "Content-Type": "application/json"}

        def worker() -> None:
            c = httpx.Client(base_url=base, headers=headers, timeout=120)
            while True:
                try:
                    body = work.get_nowait()
                except queue.Empty:
                    return
                t = time.perf_counter()
                r = c.post("/api/v1/events", content=body)
                dt = time.perf_counter() - t
                r.raise_for_status()
                with lock:
                    latencies.append(dt * 1000)
                    answers.append(r.content)

        t0 = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        seconds = time.perf_counter() - t0
        counts: dict[str, int] = {}
        for body in answers:
            for res in json.loads(body)["results"]:
                counts[res["status"]] = counts.get(res["status"], 0) + 1
        n = sum(counts.values())
        if counts.get("rated", 0) < n // 2:
            sys.exit(f"bench_http: most events were not rated ({counts}): the node's clock or store is off")
        lat = np.array(latencies)
        emit({"bench": "http_events", "target": "portal" if args.url else "api node (uvicorn, 1 worker)",
              "lines": args.lines, "events": n, "batch": args.batch, "concurrency": args.concurrency,
              "seconds": round(seconds, 2), "events_per_s": round(n / seconds),
              "request_ms_p50": round(float(np.percentile(lat, 50)), 1),
              "request_ms_p95": round(float(np.percentile(lat, 95)), 1), "statuses": counts})
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        drop_sqlite_store(url)


if __name__ == "__main__":
    main()
