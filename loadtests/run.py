"""One command for a bounded load run with a report and a gate: `bash scripts/loadtest.sh PROFILE [--host URL]`.

Without --host it starts a fresh demo portal (production build, embedded SQLite) on a free 127.0.0.1
port and stops it afterwards; with --host it drives a running one (127.0.0.1 only; it must be in demo
mode with MTS_SMS_PER_CLIENT_PER_HOUR raised, and --log PATH lets the gate read its log).

Writes under reports/<profile>-<time>/: Locust's HTML report (report.html) and CSVs (locust_*.csv),
summary.json (per request name: count, failures, p50/p95/p99; the gates and whether each held; for
the capacity profile each step with the backend's CPU and RSS), and prints a short table. Exits 1 when
a gate is breached: handler p95 ≤ 300 ms, event→screen p95 ≤ 1 s, failures ≤ 0.1 %, no server error
in the portal's log.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
GATES = {"handler_p95_ms": 300.0, "e2s_p95_ms": 1000.0, "failure_ratio": 0.001, "server_errors": 0}

PROFILES = {
    # portal sessions, spawn rate, duration, other users (env)
    "smoke": {"users": 20, "rate": 5, "time": "30s", "env": {"LOAD_PORTAL_LINES": "20", "LOAD_WEIGHT_APP": "0",
                                                            "LOAD_JOURNEY_EVERY": "5",
                                                            "LOAD_WEIGHT_INGEST": "0", "LOAD_INGEST_NODES": "1",
                                                            "LOAD_BATCH": "50", "LOAD_LINES": "30"}},
    "standard": {"users": 300, "rate": 10, "time": "4m", "env": {"LOAD_PORTAL_LINES": "300", "LOAD_WEIGHT_APP": "0",
                                                                "LOAD_WEIGHT_INGEST": "0", "LOAD_INGEST_NODES": "2",
                                                                "LOAD_PROBES": "2", "LOAD_BATCH": "200"}},
    "capacity": {"users": None, "rate": None, "time": "45m",
                 "env": {"LOAD_SHAPE": "capacity", "LOAD_STEPS": "50,100,200,400,800,1200,1600,2000",
                         "LOAD_STEP_S": "60", "LOAD_PORTAL_LINES": "500", "LOAD_WEIGHT_APP": "0",
                         "LOAD_WEIGHT_INGEST": "0", "LOAD_INGEST_NODES": "1", "LOAD_PROBES": "2",
                         "LOAD_BATCH": "200", "LOAD_SPAWN_RATE": "10"}},
}
FIXED_USERS = {"smoke": 2, "standard": 4}  # probes + ingestion nodes on top of the portal sessions


def is_handler(name: str) -> bool:
    return name.startswith("page ") or bool(re.match(r"^[A-Z]\w+State\.\w+$", name))


def read_stats(path: Path) -> dict[str, dict]:
    out = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            def num(key, row=row):
                v = row.get(key, "")
                try:
                    return float(v)
                except (TypeError, ValueError):
                    return None
            out[row["Name"]] = {"type": row["Type"], "count": int(row["Request Count"]),
                                "failures": int(row["Failure Count"]), "p50_ms": num("50%"), "p95_ms": num("95%"),
                                "p99_ms": num("99%"), "max_ms": num("Max Response Time")}
    return out


def server_errors(log_text: str) -> list[str]:
    """Lines of the portal's log that say it failed (tracebacks, ERROR records)."""
    return [ln for ln in log_text.splitlines() if "Traceback" in ln or re.search(r"\bERROR\b", ln)]


def evaluate(summary: dict) -> list[str]:
    """The gates a run's summary breaches (empty: the run passes). Missing figures breach too: a load
    run that measured nothing has not shown anything."""
    breaches = []
    g = summary["gates_measured"]
    if g.get("handler_p95_ms") is None:
        breaches.append("no handler round trip was measured")
    elif g["handler_p95_ms"] > GATES["handler_p95_ms"]:
        breaches.append(f"handler p95 {g['handler_p95_ms']:.0f} ms > {GATES['handler_p95_ms']:.0f} ms")
    if g.get("e2s_p95_ms") is None:
        breaches.append("no event→screen time was measured")
    elif g["e2s_p95_ms"] > GATES["e2s_p95_ms"]:
        breaches.append(f"event→screen p95 {g['e2s_p95_ms']:.0f} ms > {GATES['e2s_p95_ms']:.0f} ms")
    if g["requests"] == 0:
        breaches.append("no request at all")
    elif g["failure_ratio"] > GATES["failure_ratio"]:
        breaches.append(f"failures {g['failure_ratio'] * 100:.2f} % > {GATES['failure_ratio'] * 100:.1f} %")
    if g.get("server_errors") is None:
        pass  # a --host run without --log: said so in the summary, not a breach
    elif g["server_errors"] > GATES["server_errors"]:
        breaches.append(f"{g['server_errors']} server errors in the portal's log")
    return breaches


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, int(round(q * (len(s) - 1))))], 1)


def summarize(stats: dict[str, dict], log_text: str | None, samples: dict | None = None) -> dict:
    """`samples`: every handler and event→screen time of the run ({"handlers": [...], "e2s": [...]}): the
    gates use their pooled p95; without them, the worst per-name p95 of Locust's CSV."""
    handlers = {k: v for k, v in stats.items() if is_handler(k) and v["count"]}
    total = stats.get("Aggregated", {"count": 0, "failures": 0})
    worst = max(handlers.items(), key=lambda kv: kv[1]["p95_ms"] or 0, default=(None, None))
    e2s = stats.get("event→screen")
    errors = server_errors(log_text) if log_text is not None else None
    samples = dict(samples or {})
    warmup = {k: samples.pop("warmup_" + k, []) for k in ("handlers", "e2s")}
    for k in ("handlers", "e2s"):  # a run too short to leave its warm-up is judged on all it measured
        if not samples.get(k) and warmup[k]:
            samples[k], warmup[k] = warmup[k], []
    if samples.get("handlers"):
        handler_p95 = pct(samples["handlers"], 0.95)
    else:
        handler_p95 = worst[1]["p95_ms"] if worst[1] else None
    if samples.get("e2s"):
        e2s_p95 = pct(samples["e2s"], 0.95)
    else:
        e2s_p95 = e2s["p95_ms"] if e2s and e2s["count"] else None
    return {
        "requests": stats,
        "gates": GATES,
        "gates_measured": {
            "handler_p95_ms": handler_p95, "handler_p50_ms": pct(samples.get("handlers", []), 0.5),
            "handler_samples": len(samples.get("handlers", [])),
            "slowest_handler": worst[0], "slowest_handler_p95_ms": worst[1]["p95_ms"] if worst[1] else None,
            "e2s_p95_ms": e2s_p95, "e2s_p50_ms": pct(samples.get("e2s", []), 0.5),
            # while sessions were still logging in (not gated; Locust's CSV and report include them)
            "warmup_handler_p95_ms": pct(warmup["handlers"], 0.95), "warmup_handler_samples": len(warmup["handlers"]),
            "warmup_e2s_p95_ms": pct(warmup["e2s"], 0.95),
            "requests": total["count"], "failures": total["failures"],
            "failure_ratio": (total["failures"] / total["count"]) if total["count"] else 0.0,
            "server_errors": None if errors is None else len(errors),
            "server_error_samples": (errors or [])[:5],
        },
    }


class Sampler(threading.Thread):
    """CPU and RSS of the portal's processes (its process group), once a second."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[dict] = []
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil

        procs: dict[int, psutil.Process] = {}
        while not self.stop.wait(1.0):
            try:
                root = psutil.Process(self.pid)
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                return
            cpu = rss = 0.0
            backend_rss = backend_total = 0.0
            workers = 0
            for p in tree:
                p = procs.setdefault(p.pid, p)
                try:
                    c = p.cpu_percent(None)
                    m = p.memory_info().rss
                    cmd = " ".join(p.cmdline()[:3])
                except psutil.Error:
                    continue
                cpu += c
                rss += m
                if "bun" not in cmd and "node" not in cmd:
                    backend_rss = max(backend_rss, m)
                    if m > 100 * 2**20:  # a backend worker (the launcher and the reloader are small)
                        backend_total += m
                        workers += 1
            self.samples.append({"t": time.time(), "cpu_pct": round(cpu, 1), "rss_mb": round(rss / 2**20, 1),
                                 "backend_rss_mb": round(backend_rss / 2**20, 1),
                                 "backend_rss_total_mb": round(backend_total / 2**20, 1), "workers": workers})


def _window(samples: list[dict], start: float, end: float) -> dict:
    inside = [s for s in samples if start <= s["t"] <= end]
    if not inside:
        return {"cpu_pct": None, "backend_rss_mb": None}
    cpus = sorted(s["cpu_pct"] for s in inside)
    return {"cpu_pct": round(cpus[len(cpus) // 2], 1), "backend_rss_mb": max(s["backend_rss_mb"] for s in inside),
            "backend_rss_total_mb": max(s.get("backend_rss_total_mb", 0) for s in inside),
            "workers": max(s.get("workers", 0) for s in inside)}


@contextmanager
def _scaleout_store():
    """A fresh PostgreSQL schema and an empty Redis database for one scale-out run; dropped afterwards."""
    import socket
    import uuid

    for port, what in ((5432, "PostgreSQL"), (6379, "Redis")):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            raise SystemExit(f"--scaleout needs {what} at 127.0.0.1:{port}; it is not reachable") from None
    import redis
    from sqlalchemy import text

    from mts_portal.core.db import make_engine

    pg = os.environ.get("MTS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    schema = f"mts_load_{uuid.uuid4().hex[:8]}"
    admin = make_engine(pg)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = 8 + uuid.uuid4().int % 8
    red = redis.Redis(host="127.0.0.1", port=6379, db=db)
    red.flushdb()
    try:
        yield {"MTS_DB_URL": f"{pg}?options=-csearch_path%3D{schema}", "REFLEX_REDIS_URL": f"redis://127.0.0.1:6379/{db}"}
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
        red.flushdb()


def print_table(summary: dict, breaches: list[str]) -> None:
    print()
    print(f"{'request':<34} {'count':>7} {'fail':>5} {'p50 ms':>8} {'p95 ms':>8}")
    for name, r in sorted(summary["requests"].items(), key=lambda kv: (kv[0] == "Aggregated", kv[0])):
        if not r["count"]:
            continue
        p50 = "" if r["p50_ms"] is None else f"{r['p50_ms']:.0f}"
        p95 = "" if r["p95_ms"] is None else f"{r['p95_ms']:.0f}"
        print(f"{name[:34]:<34} {r['count']:>7} {r['failures']:>5} {p50:>8} {p95:>8}")
    for st in summary.get("steps", []):
        print(f"  step {st['sessions_target']:>5} sessions (open {st.get('sessions_open')}): handler p95 "
              f"{st['handler_p95_ms']} ms, event→screen p95 {st['e2s_p95_ms']} ms, CPU {st.get('cpu_pct')} %, "
              f"RSS {st.get('backend_rss_total_mb') or st.get('backend_rss_mb')} MB"
              f"{'' if (st.get('workers') or 0) < 2 else ' in ' + str(st['workers']) + ' workers'}, "
              f"failures {st['failures']} — {'meets the gates' if st.get('meets_gates') else 'BREACHED'}")
    g = summary["gates_measured"]
    print(f"\ngates: handler p95 ≤ 300 ms ({g['handler_p95_ms']} over {g.get('handler_samples')} round trips; slowest "
          f"{g['slowest_handler']} {g.get('slowest_handler_p95_ms')}), event→screen p95 ≤ 1 s "
          f"({g['e2s_p95_ms']}), failures ≤ 0.1 % ({g['failures']}/{g['requests']}), server errors 0 "
          f"({'not read' if g['server_errors'] is None else g['server_errors']})")
    if g.get("warmup_handler_samples"):
        print(f"warm-up (sessions still logging in, not gated): handler p95 {g['warmup_handler_p95_ms']} ms over "
              f"{g['warmup_handler_samples']} round trips")
    print("PASS" if not breaches else "FAIL: " + "; ".join(breaches))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scripts/loadtest.sh", description=__doc__.split("\n\n")[0])
    ap.add_argument("profile", nargs="?", default="smoke", choices=sorted(PROFILES))
    ap.add_argument("--host", help="a running portal on 127.0.0.1 (default: start a fresh one)")
    ap.add_argument("--log", help="with --host: the portal's log, for the server-error gate")
    ap.add_argument("--out", help="report folder (default reports/<profile>-<time>)")
    ap.add_argument("--steps", help="capacity: the session steps, e.g. 50,100,200")
    ap.add_argument("--step-s", help="capacity: seconds each step is held")
    ap.add_argument("--scaleout", action="store_true",
                    help="without --host: start the scale-out shape (PostgreSQL + Redis + several backend workers) "
                         "instead of one process on SQLite; needs both at 127.0.0.1")
    args = ap.parse_args(argv)
    prof = PROFILES[args.profile]
    out = Path(args.out) if args.out else ROOT / "reports" / f"{args.profile}-{datetime.now():%Y%m%d-%H%M%S}"
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, **prof["env"], LOAD_STEPS_OUT=str(out / "steps.json"),
               LOAD_SAMPLES_OUT=str(out / "samples.json"), PYTHONPATH=str(ROOT))
    if args.steps:
        env["LOAD_STEPS"] = args.steps
    if args.step_s:
        env["LOAD_STEP_S"] = args.step_s
    with ExitStack() as stack:
        if args.host:
            host = args.host.rstrip("/")
            if urlsplit(host).hostname not in ("127.0.0.1", "localhost"):
                print("load tests target 127.0.0.1 only", file=sys.stderr)
                return 2
            log_path = Path(args.log) if args.log else None
            pid = None
            log_from = log_path.stat().st_size if log_path and log_path.exists() else 0  # only this run's lines
        else:
            sys.path.insert(0, str(ROOT))
            from tests.e2e.server import OPERATOR_TOKEN, portal_server

            work = Path(tempfile.mkdtemp(prefix="mts_load_"))
            store = stack.enter_context(_scaleout_store()) if args.scaleout else {}
            shape = "scale-out: PostgreSQL + Redis + several workers" if store else "SQLite, one backend process"
            print(f"starting a fresh demo portal (production build, {shape}) in {work} …", flush=True)
            host, log_path = stack.enter_context(portal_server(
                work, MTS_LOG_LEVEL="WARNING", MTS_SMS_PER_CLIENT_PER_HOUR="1000000",
                MTS_SMS_PER_NUMBER_PER_HOUR="1000", **store))
            env["MTS_OPERATOR_TOKEN"] = OPERATOR_TOKEN
            pid = _portal_pid(host)
            log_from = 0
            print(f"portal up at {host}", flush=True)
        sampler = Sampler(pid) if pid else None
        if sampler:
            sampler.start()
        cmd = [sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests/locustfile.py"), "--headless", "--host",
               host, "-t", prof["time"], "--csv", str(out / "locust"), "--html", str(out / "report.html"),
               "--only-summary", "--stop-timeout", "15", "--exit-code-on-error", "0"]
        if prof["users"] is not None:
            cmd += ["-u", str(prof["users"] + FIXED_USERS.get(args.profile, 0)), "-r", str(prof["rate"])]
        started = time.time()
        run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        (out / "locust.log").write_text(run.stdout + run.stderr)
        if sampler:
            sampler.stop.set()
        log_text = None
        if log_path and log_path.exists():
            with open(log_path, "rb") as f:
                f.seek(log_from)
                log_text = f.read().decode(errors="replace")
        if log_path and log_text is not None:
            (out / "portal.log").write_text(log_text)
    stats_file = out / "locust_stats.csv"
    if run.returncode != 0 or not stats_file.exists():
        print(run.stderr[-3000:], file=sys.stderr)
        print(f"locust failed (exit {run.returncode}); its output is in {out / 'locust.log'}", file=sys.stderr)
        return 1
    samples_file = out / "samples.json"
    samples = json.loads(samples_file.read_text()) if samples_file.exists() else None
    summary = summarize(read_stats(stats_file), log_text, samples)
    summary.update({"profile": args.profile, "shape": "scaleout" if args.scaleout else ("given" if args.host else
                                                                                       "sqlite"), "host": host, "started": started, "seconds": round(time.time() - started),
                    "report": str(out / "report.html")})
    if sampler:
        summary["backend"] = {"samples": len(sampler.samples),
                              **_window(sampler.samples, started, time.time())}
    steps_file = out / "steps.json"
    if steps_file.exists():
        steps = json.loads(steps_file.read_text())
        for st in steps:
            if sampler:
                st.update(_window(sampler.samples, st["start"], st["end"]))
            sessions = st.get("sessions_open") or 0
            rss = st.get("backend_rss_total_mb") or st.get("backend_rss_mb")  # all workers on the scale-out shape
            st["rss_per_session_kb"] = round(rss * 1024 / sessions, 1) if sessions and rss else None
            st["meets_gates"] = bool(st["handler_p95_ms"] is not None and st["handler_p95_ms"] <= 300
                                     and (st["e2s_p95_ms"] is None or st["e2s_p95_ms"] <= 1000)
                                     and st["failures"] <= max(1, 0.001 * st["requests"]))
        summary["steps"] = steps
        ok_steps = [s["sessions_open"] for s in steps if s["meets_gates"]]
        summary["capacity_sessions"] = max(ok_steps) if ok_steps else 0
    breaches = evaluate(summary)
    if args.profile == "capacity":  # the capacity run reports its largest good step; it fails only if none was good
        breaches = [] if summary.get("capacity_sessions") else ["no step met the thresholds"] + breaches
    summary["breaches"] = breaches
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1))
    print_table(summary, breaches)
    print(f"\nreport: {out / 'report.html'}  ·  summary: {out / 'summary.json'}")
    return 1 if breaches else 0


def _portal_pid(host: str) -> int | None:
    """The process listening on the portal's port (its backend), or the parent of several workers."""
    import psutil

    port = urlsplit(host).port
    pids = {c.pid for c in psutil.net_connections(kind="tcp")
            if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN and c.pid}
    if len(pids) > 1:  # several workers share the socket: sample their common parent's whole tree
        parents = {psutil.Process(p).ppid() for p in pids}
        return parents.pop() if len(parents) == 1 else os.getpgid(min(pids))
    return pids.pop() if pids else None


if __name__ == "__main__":
    raise SystemExit(main())
