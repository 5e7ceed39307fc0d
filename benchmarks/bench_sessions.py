"""Live sessions on one backend process: how many open home screens it holds, what an idle one costs,
and whether closing tabs gives everything back. Prints one JSON line per measurement.

Starts the real portal (production build, demo mode, SQLite, one backend process) on 127.0.0.1,
makes logged-in sessions through the core on its store (the same code path as the login page) and
opens each one's home screen with the browser-less tab of the load tests (loadtests/reflex_client.py,
Reflex's own websocket protocol; gevent, so thousands of tabs fit in this process). Then, per step:

- idle backend CPU (median of 1-s samples over --idle-s) and RSS with every tab open, nothing happening;
- live event→delta: one chargeable event posted for a watched line at a time while ingestion runs in
  the background (--ingest events/s over other lines), time until that tab receives its new balance;
- handler round trips of a few tabs walking to /money and back while the rest sit open.

`--leak N` instead opens and closes N tabs in rounds of 500 and compares idle CPU and RSS before (after one
warm-up round, also reported cold) and after.

    ../.venv/bin/python bench_sessions.py --steps 50,200,500,1000,2000
    ../.venv/bin/python bench_sessions.py --leak 5000
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import gevent.pool  # noqa: E402
import httpx  # noqa: E402
import psutil  # noqa: E402
from _common import ROOT, emit  # noqa: E402

sys.path.insert(0, str(ROOT))

from loadtests.reflex_client import AppMap, Tab  # noqa: E402
from tests.e2e.server import OPERATOR_TOKEN, portal_server  # noqa: E402


def pct(values, q):
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, int(round(q * (len(s) - 1))))], 1)


class World:
    def __init__(self, url: str, db: Path):
        from mts_portal.core.db import make_engine

        self.url = url
        self.api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}, timeout=120)
        self.engine = make_engine(f"sqlite:///{db}")
        self.app = AppMap.discover(url)
        self.lines: list[str] = []
        self.pid = self._backend_pid()
        self.proc = psutil.Process(self.pid)

    def _backend_pid(self) -> int:
        from urllib.parse import urlsplit

        port = urlsplit(self.url).port
        for c in psutil.net_connections(kind="tcp"):
            if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN and c.pid:
                return c.pid
        raise RuntimeError("no process listens on the portal's port")

    def provision(self, n: int, prefix: str = "7996") -> None:
        for i in range(len(self.lines), n):
            msisdn = f"{prefix}{i:07d}"
            r = self.api.post("/api/v1/lines", json={"msisdn": msisdn, "tariff": "smart", "holder_name": f"S {i}"})
            if r.status_code in (201, 409):
                self.api.post(f"/api/v1/lines/{msisdn}/topups",
                              json={"amount_kopecks": 1_500_000, "idempotency_key": f"sess-{msisdn}"})
                self.lines.append(msisdn)

    def session(self, msisdn: str) -> str:
        from mts_portal.core import auth
        from mts_portal.core.clock import SystemClock
        from mts_portal.core.db import transact

        now = SystemClock().now()
        return transact(self.engine, lambda s: auth._start_session(s, auth.get_line(s, msisdn), "bench", now)).token

    def open_tab(self, msisdn: str) -> Tab:
        http = httpx.Client(timeout=60)
        tab = Tab(self.url, self.app, http, connect_timeout=60)
        tab.cookies["mts_session"] = self.session(msisdn)
        tab.msisdn = msisdn
        try:
            tab.connect("/")
        except BaseException:
            tab.close()  # a tab that did not open is closed too: a benchmark must not leave sockets behind
            raise
        return tab

    def cpu(self, seconds: float) -> float:
        """Median CPU % of the backend process (one core = 100) over `seconds`."""
        self.proc.cpu_percent(None)
        samples = []
        for _ in range(int(seconds)):
            gevent.sleep(1.0)
            samples.append(self.proc.cpu_percent(None))
        return round(statistics.median(samples), 1) if samples else 0.0

    def rss_mb(self) -> float:
        return round(self.proc.memory_info().rss / 2**20, 1)

    def live(self) -> dict:
        r = self.api.get("/api/v1/live")  # what the process holds (absent from code before 2026-12-03)
        return r.json() if r.status_code == 200 else {}


def open_many(world: World, msisdns: list[str], concurrency: int = 20) -> list[Tab]:
    tabs: list[Tab] = []
    errors: list[str] = []
    pool = gevent.pool.Pool(concurrency)

    def one(m):
        try:
            tabs.append(world.open_tab(m))
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{m}: {exc}")

    for m in msisdns:
        pool.spawn(one, m)
    pool.join()
    if errors:
        print(f"{len(errors)} tabs failed to open, e.g. {errors[:2]}", file=sys.stderr)
    return tabs


def close_all(tabs: list[Tab]) -> None:
    pool = gevent.pool.Pool(100)
    for t in tabs:
        pool.spawn(t.close)
    pool.join()


def event_to_screen(world: World, tabs: list[Tab], n: int) -> list[float]:
    out = []
    for k in range(n):
        tab = tabs[(k * 7919) % len(tabs)]
        before = tab.var("home_state", "balance_text")
        done = threading.Event()
        arrived = []

        def on_update(update, tab=tab, before=before, done=done, arrived=arrived):
            if tab.var("home_state", "balance_text") != before and not done.is_set():
                arrived.append(update.at)
                done.set()

        tab.on_update = on_update
        now = world.now()
        t0 = time.perf_counter()
        world.api.post("/api/v1/events", json={"events": [{
            "event_id": f"e2d-{tab.msisdn}-{time.time_ns()}", "msisdn": tab.msisdn, "kind": "sms", "direction": "out",
            "peer": "79031234567", "zone": "TR", "started_at": (now - timedelta(seconds=2)).isoformat()}]})
        if done.wait(10):
            out.append((arrived[0] - t0) * 1000)
        tab.on_update = None
        gevent.sleep(0.05)
    return out


def handlers(tabs: list[Tab], rounds: int) -> list[float]:
    out = []
    for k in range(rounds):
        tab = tabs[(k * 31) % len(tabs)]
        out.append(tab.navigate("/money") * 1000)
        out.append(tab.navigate("/") * 1000)
    return out


def ingest_in_background(world: World, rate: float, stop: threading.Event, lines: list[str]) -> None:
    """Other lines' usage at about `rate` events/s (batches of 100)."""
    n = 0
    while not stop.is_set() and rate > 0:
        t0 = time.perf_counter()
        now = world.now()
        batch = [{"event_id": f"bg-{time.time_ns()}-{i}", "msisdn": lines[(n + i) % len(lines)], "kind": "data",
                  "bytes": 200_000, "zone": "home", "started_at": (now - timedelta(seconds=5)).isoformat()}
                 for i in range(100)]
        n += 100
        try:
            world.api.post("/api/v1/events", json={"events": batch})
        except httpx.HTTPError:
            pass
        gevent.sleep(max(0.0, 100 / rate - (time.perf_counter() - t0)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", default="50,200,500")
    ap.add_argument("--idle-s", type=float, default=20)
    ap.add_argument("--events", type=int, default=40)
    ap.add_argument("--handler-rounds", type=int, default=20)
    ap.add_argument("--ingest", type=float, default=300.0, help="background ingestion, events/s")
    ap.add_argument("--leak", type=int, default=0, help="open and close this many tabs, then compare")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mts_sessions_"))
    with portal_server(work, MTS_LOG_LEVEL="WARNING") as (url, _log):
        world = World(url, work / "portal.db")
        world.now = lambda: __import__("datetime").datetime.fromisoformat(world.api.get("/api/v1/health").json()["now"])
        if args.leak:
            leak(world, args)
            return
        steps = [int(x) for x in args.steps.split(",")]
        world.provision(max(steps) + 200)
        bg_lines = world.lines[max(steps):]
        tabs: list[Tab] = []
        gevent.sleep(2)
        base_cpu, base_rss = world.cpu(args.idle_s / 2), world.rss_mb()
        emit({"bench": "sessions_baseline", "open_tabs": 0, "idle_cpu_pct": base_cpu, "rss_mb": base_rss})
        for n in steps:
            t0 = time.perf_counter()
            tabs += open_many(world, world.lines[len(tabs):n])
            opened_s = time.perf_counter() - t0
            gevent.sleep(3)
            idle = world.cpu(args.idle_s)
            rss = world.rss_mb()
            stop = threading.Event()
            ing = gevent.spawn(ingest_in_background, world, args.ingest, stop, bg_lines)
            e2d = event_to_screen(world, tabs, args.events)
            hs = handlers(tabs, args.handler_rounds)
            stop.set()
            ing.join()
            live = world.live()
            emit({"bench": "sessions", "open_tabs": len(tabs), "opened_in_s": round(opened_s, 1),
                  "idle_cpu_pct": idle, "idle_cpu_pct_per_tab": round((idle - base_cpu) / max(1, len(tabs)), 4),
                  "rss_mb": rss, "rss_kb_per_tab": round((rss - base_rss) * 1024 / max(1, len(tabs)), 1),
                  "e2d_n": len(e2d), "e2d_p50_ms": pct(e2d, 0.5), "e2d_p95_ms": pct(e2d, 0.95),
                  "handler_p50_ms": pct(hs, 0.5), "handler_p95_ms": pct(hs, 0.95), "ingest_per_s": args.ingest,
                  "server": live, "disconnected": sum(t.disconnected for t in tabs)})
        close_all(tabs)


def leak(world: World, args) -> None:
    batch = 500
    world.provision(batch)
    gevent.sleep(5)
    cold_cpu, cold_rss = world.cpu(args.idle_s), world.rss_mb()
    # one round first, not counted: the first tabs warm the process up once (lazy imports, compiled
    # page code, the allocator's arenas at the height of one round) — that is not a leak; what must not
    # happen is growth with every further round
    close_all(open_many(world, world.lines[:batch]))
    gevent.sleep(45)
    cpu0, rss0 = world.cpu(args.idle_s), world.rss_mb()
    live0 = world.live()
    opened = 0
    while opened < args.leak:
        tabs = open_many(world, world.lines[:batch])
        opened += len(tabs)
        close_all(tabs)
    gevent.sleep(45)  # past the disconnect grace (30 s) and a sweep
    cpu1, rss1 = world.cpu(args.idle_s), world.rss_mb()
    if os.environ.get("MTS_BENCH_SPY"):  # where an idle process spends its CPU (py-spy in the venv)
        import subprocess

        spy = Path(sys.executable).with_name("py-spy")
        out = subprocess.run([str(spy), "dump", "--pid", str(world.pid)], capture_output=True, text=True)
        Path(os.environ["MTS_BENCH_SPY"]).write_text(out.stdout + out.stderr)
        out = subprocess.run([str(spy), "record", "--pid", str(world.pid), "-d", "10", "-f", "raw", "-o",
                              os.environ["MTS_BENCH_SPY"] + ".raw"], capture_output=True, text=True)
    emit({"bench": "sessions_leak", "tabs_opened_and_closed": opened, "cold_idle_cpu_pct": cold_cpu,
          "cold_rss_mb": cold_rss, "warm_up_tabs": batch, "idle_cpu_pct_before": cpu0,
          "idle_cpu_pct_after": cpu1, "rss_mb_before": rss0, "rss_mb_after": rss1,
          "rss_ratio": round(rss1 / rss0, 3), "server_before": live0, "server_after": world.live()})


if __name__ == "__main__":
    main()
