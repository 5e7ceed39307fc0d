"""Benchmark: several ingestion (API) nodes on one PostgreSQL, against one node, side by side.

  python benchmarks/bench_nodes.py                      # 1 node, then 2 nodes (disjoint, overlapping)
  python benchmarks/bench_nodes.py --lines 5000 --events 100000 --nodes 2

Each shape gets a freshly seeded PostgreSQL schema (the same population, the same generated stream)
and its own UI-less API nodes (uvicorn, one worker each) on 127.0.0.1; the stream is posted in
batches of --batch through POST /api/v1/events from --clients-per-node client threads per node:

- `1 node`: every batch to the one node;
- `2 nodes, disjoint`: each line's events always go to the same node, and the lines of one family to the
  same node (split by account, as a mediation layer would route by subscriber partition);
- `2 nodes, disjoint_by_number`: each line's events always go to the same node, split by number alone
  (a family's lines land on both nodes, which then wait for each other on the owner's pool);
- `2 nodes, overlapping`: each batch goes to either node at random (both nodes touch the same lines in
  the same seconds) and 10 % of the events are delivered again to the other node as well.

Checked after each shape, from the store: every distinct event_id has exactly one usage record, the
answers of the first deliveries (rated / blocked) are exactly one per event, the money the nodes
answered equals the ledger's, and the invariants hold. Prints one JSON line per shape and a ratio line.
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
from _common import ROOT, emit, pg_store, stream

TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nodes(url: str, n: int) -> tuple[list[subprocess.Popen], list[str]]:
    procs, bases = [], []
    for _ in range(n):
        port = free_port()
        env = dict(os.environ, MTS_DB_URL=url, MTS_OPERATOR_TOKEN=TOKEN, MTS_SIM_CLOCK="1", MTS_LOG_LEVEL="WARNING")
        procs.append(subprocess.Popen([sys.executable, "-m", "uvicorn", "mts_portal.api:app", "--host", "127.0.0.1",
                                       "--port", str(port), "--log-level", "warning", "--no-access-log"],
                                      cwd=ROOT, env=env, start_new_session=True))
        bases.append(f"http://127.0.0.1:{port}")
    for base in bases:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            sys.exit(f"bench_nodes: the node at {base} did not start")
    return procs, bases


def set_clock(url: str, at: datetime) -> None:
    """The nodes' shared simulated clock at the stream's end (the stream is older than the wall clock)."""
    from sqlalchemy import text

    from mts_portal.core.db import make_engine

    eng = make_engine(url)
    with eng.begin() as c:
        c.execute(text("INSERT INTO sim_clock (id, offset_seconds, speed, anchor_wall, session_offset) "
                       "VALUES (1, :o, 1.0, 0, 0) ON CONFLICT (id) DO UPDATE SET offset_seconds = :o, speed = 1.0, "
                       "anchor_wall = 0"), {"o": (at - datetime.now(UTC)).total_seconds()})
    eng.dispose()


def family_keys(url: str) -> dict[str, int]:
    """msisdn → the line id whose row guards its money: the family owner's for a member (a member draws on
    the owner's pool, so rating it locks the owner's line), its own otherwise."""
    from sqlalchemy import text

    from mts_portal.core.db import make_engine

    eng = make_engine(url)
    with eng.connect() as c:
        rows = c.execute(text(
            "SELECT l.msisdn, coalesce(g.owner_line_id, l.id) FROM lines l "
            "LEFT JOIN family_members m ON m.line_id = l.id AND m.status = 'active' "
            "LEFT JOIN family_groups g ON g.id = m.group_id")).all()
    eng.dispose()
    return {m: int(k) for m, k in rows}


def plan(batches: list[list[dict]], shape: str, nodes: int, seed: int,
         keys: dict[str, int] | None = None) -> list[list[list[dict]]]:
    """Per node, the batches it is sent."""
    rng = random.Random(seed)
    work: list[list[list[dict]]] = [[] for _ in range(nodes)]
    if shape in ("disjoint", "disjoint_by_number"):
        for b in batches:
            parts: list[list[dict]] = [[] for _ in range(nodes)]
            for e in b:
                key = int(e["msisdn"]) if shape == "disjoint_by_number" else keys.get(e["msisdn"], int(e["msisdn"]))
                parts[key % nodes].append(e)
            for i, p in enumerate(parts):
                if p:
                    work[i].append(p)
    elif shape == "overlapping":
        for b in batches:
            i = rng.randrange(nodes)
            work[i].append(b)
            again = [e for e in b if rng.random() < 0.1]
            if again:
                work[(i + 1) % nodes].append(again)
    else:
        work[0] = list(batches)
    return work


def post_all(bases: list[str], work: list[list[list[dict]]], clients: int) -> tuple[float, list[tuple], dict]:
    """Post every node's batches from `clients` threads per node. The bodies are serialized before the
    clock starts and the answers parsed after it stops: the client shares the machine's two cores with
    the nodes and PostgreSQL, and its own JSON work would otherwise be counted against the nodes."""
    import json

    import psutil

    raw: list[bytes] = []
    lock = threading.Lock()
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    def client(base: str, q: queue.Queue) -> None:
        c = httpx.Client(base_url=base, headers=headers, timeout=300)
        while True:
            try:
                body = q.get_nowait()
            except queue.Empty:
                return
            r = c.post("/api/v1/events", content=body)
            if r.status_code != 200:
                errors.append(f"{base}: {r.status_code} {r.text[:300]}")
                return
            with lock:
                raw.append(r.content)

    threads = []
    for base, batches in zip(bases, work, strict=True):
        q: queue.Queue = queue.Queue()
        for b in batches:
            q.put(json.dumps({"events": b}).encode())
        threads += [threading.Thread(target=client, args=(base, q)) for _ in range(clients)]
    psutil.cpu_percent(None)
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    seconds = time.perf_counter() - t0
    machine_cpu = psutil.cpu_percent(None) * psutil.cpu_count()  # % of one core, all processes
    if errors:
        sys.exit("bench_nodes: a node refused a batch: " + errors[0])
    answers = [(x["event_id"], x["status"], x["charged_kopecks"]) for body in raw for x in json.loads(body)["results"]]
    return seconds, answers, {"machine_cpu_pct": round(machine_cpu), "cores": psutil.cpu_count()}


def facts(url: str) -> tuple[int, int, int]:
    """(usage records, distinct event_ids among them, kopecks charged for events) in the store now."""
    from sqlalchemy import text

    from mts_portal.core.db import make_engine

    eng = make_engine(url)
    with eng.connect() as c:
        n, distinct = c.execute(text("SELECT count(*), count(DISTINCT event_id) FROM usage_records")).one()
        money = -c.execute(text("SELECT coalesce(sum(amount_kopecks), 0) FROM ledger_entries "
                                "WHERE cause_type = 'event'")).scalar_one()
    eng.dispose()
    return int(n), int(distinct), int(money)


def check(url: str, before: tuple[int, int, int], answers: list[tuple], union: set[str]) -> dict:
    from mts_portal.core.billing import check_invariants
    from mts_portal.core.db import make_engine, read

    first = [eid for eid, status, _ in answers if status in ("rated", "blocked")]
    told = sum(c for _, _, c in answers)
    after = facts(url)
    records, distinct, money = (a - b for a, b in zip(after, before, strict=True))
    eng = make_engine(url)
    problems = read(eng, lambda s: check_invariants(session=s))
    eng.dispose()
    return {"distinct_events": len(union), "first_answers": len(first), "first_answers_distinct": len(set(first)),
            "duplicate_answers": sum(1 for _, s, _ in answers if s == "duplicate"),
            "new_usage_records": records, "new_distinct_event_ids": distinct,
            "money_answered_kopecks": told, "money_in_ledger_kopecks": money,
            "invariant_violations": len(problems),
            "exactly_once": len(first) == len(set(first)) == len(union) == records == distinct
            and told == money and not problems}


def run_shape(args, shape: str, nodes: int) -> dict:
    schema = f"mts_bench_nodes_{shape}_{nodes}"
    url = pg_store(args.lines, args.seed, schema)
    batches = [b for _, b in stream(url, args.events, args.seed, args.batch)]
    last = datetime.fromisoformat(max(e["started_at"] for b in batches for e in b)) + timedelta(minutes=1)
    set_clock(url, last)
    work = plan(batches, shape, nodes, args.seed, family_keys(url) if shape == "disjoint" else None)
    union = {e["event_id"] for b in batches for e in b}
    before = facts(url)
    procs, bases = start_nodes(url, nodes)
    try:
        seconds, answers, cpu = post_all(bases, work, args.clients_per_node)
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(20)
    result = {"bench": "ingest_nodes_postgres", "shape": shape, "nodes": nodes, "lines": args.lines,
              "events": len(union), "deliveries": len(answers), "batch": args.batch,
              "clients_per_node": args.clients_per_node, "seconds": round(seconds, 2),
              "events_per_s": round(len(union) / seconds), **cpu, **check(url, before, answers, union)}
    emit(result)
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=5000)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--clients-per-node", type=int, default=4)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--shapes", default="one,disjoint,disjoint_by_number,overlapping")
    args = ap.parse_args()
    out = {}
    for shape in args.shapes.split(","):
        out[shape] = run_shape(args, shape, 1 if shape == "one" else args.nodes)
    if "one" in out:
        base = out["one"]["events_per_s"]
        emit({"bench": "ingest_nodes_ratio", "nodes": args.nodes,
              **{f"{s}_vs_one": round(r["events_per_s"] / base, 2) for s, r in out.items() if s != "one"},
              "all_exactly_once": all(r["exactly_once"] for r in out.values())})


if __name__ == "__main__":
    main()
