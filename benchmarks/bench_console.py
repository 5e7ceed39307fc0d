"""The control room: how fast its engine panel shows what the engine did, and what an open control room
costs ingestion. Prints one JSON line per measurement.

Starts the real portal (production build, demo mode, SQLite), enters /console with a one-time link in
the load tests' browser-less tab (Reflex's websocket protocol), then:

- refresh latency: a batch of events is posted; time until the room's "last minute: rated N" moves;
- ingestion through POST /api/v1/events (batches of 500, one client) for --seconds with the room
  closed, open, closed, open (interleaved, medians), events/s each way.

    ../.venv/bin/python bench_console.py
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402
from _common import ROOT, emit  # noqa: E402

sys.path.insert(0, str(ROOT))

from loadtests.reflex_client import AppMap, Tab  # noqa: E402
from tests.e2e.server import OPERATOR_TOKEN, portal_server  # noqa: E402


def open_room(url: str, db: Path, app: AppMap) -> Tab:
    from mts_portal.core import console
    from mts_portal.core.db import make_engine, transact
    from mts_portal.core.settings import get_settings

    get_settings().demo = True
    eng = make_engine(f"sqlite:///{db}")
    ticket = transact(eng, lambda s: console.create_link(session=s, now=datetime.now().astimezone()))
    eng.dispose()
    tab = Tab(url, app, httpx.Client(timeout=60))
    tab.get("/api/v1/session/prelogin?next=/console")
    tab.get(f"/api/v1/console/establish?ticket={ticket}")
    tab.connect("/console")
    if not tab.var("console_state", "authed"):
        raise RuntimeError("the control room did not let the benchmark in")
    return tab


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--samples", type=int, default=15)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mts_console_"))
    with portal_server(work, MTS_LOG_LEVEL="WARNING") as (url, _log):
        api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}, timeout=120)
        lines = []
        for i in range(args.lines):
            m = f"7995{i:07d}"
            api.post("/api/v1/lines", json={"msisdn": m, "tariff": "smart", "holder_name": f"C {i}"})
            api.post(f"/api/v1/lines/{m}/topups", json={"amount_kopecks": 1_500_000, "idempotency_key": f"c{m}"})
            lines.append(m)
        app = AppMap.discover(url)
        seq = [0]

        def batch(n: int) -> list[dict]:
            now = datetime.fromisoformat(api.get("/api/v1/health").json()["now"])
            out = []
            for _ in range(n):
                seq[0] += 1
                out.append({"event_id": f"cb-{seq[0]}", "msisdn": lines[seq[0] % len(lines)], "kind": "data",
                            "bytes": 100_000, "zone": "home", "started_at": (now - timedelta(seconds=5)).isoformat()})
            return out

        room = open_room(url, work / "portal.db", app)
        # refresh latency: post a batch, wait for the room's counter of the last minute to move
        lat = []
        for _ in range(args.samples):
            before = room.var("console_state", "minute_rated")
            t0 = time.perf_counter()
            api.post("/api/v1/events", json={"events": batch(50)})
            while room.var("console_state", "minute_rated") == before and time.perf_counter() - t0 < 10:
                time.sleep(0.01)
            lat.append((time.perf_counter() - t0) * 1000)
            time.sleep(1.2)
        s = sorted(lat)
        emit({"bench": "console_refresh", "samples": len(s), "p50_ms": round(statistics.median(s)),
              "p95_ms": round(s[min(len(s) - 1, int(0.95 * (len(s) - 1) + 0.5))]), "max_ms": round(s[-1])})

        def ingest(seconds: float) -> float:
            t0 = time.perf_counter()
            n = 0
            while time.perf_counter() - t0 < seconds:
                r = api.post("/api/v1/events", json={"events": batch(500)})
                r.raise_for_status()
                n += 500
            return n / (time.perf_counter() - t0)

        closed, opened = [], []
        room.close()
        for _ in range(args.rounds):
            closed.append(ingest(args.seconds))
            room = open_room(url, work / "portal.db", app)
            opened.append(ingest(args.seconds))
            room.close()
        emit({"bench": "ingest_with_console", "seconds_each": args.seconds, "rounds": args.rounds,
              "closed_events_per_s": round(statistics.median(closed)), "open_events_per_s": round(statistics.median(opened)),
              "ratio_open_to_closed": round(statistics.median(opened) / statistics.median(closed), 3),
              "closed_runs": [round(x) for x in closed], "open_runs": [round(x) for x in opened]})


if __name__ == "__main__":
    main()
