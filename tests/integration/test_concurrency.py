"""Concurrency: 4 processes ingest overlapping streams with duplicates into the same
store (a SQLite file, and PostgreSQL when reachable). Each event is rated exactly
once, the money the workers were told about is exactly the money in the ledger,
no lock error reaches a caller, and the invariants hold."""

from __future__ import annotations

import itertools
import json
import os
import random
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text

from mts_portal.core.billing import check_invariants
from mts_portal.core.db import make_engine, read
from mts_portal.core.models import LedgerEntry, UsageRecord
from tests.integration.conftest import SEED_AT, write_stream

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4
NODE_TOKEN = "concurrency-nodes"

pytestmark = pytest.mark.slow


def split_streams(stream: Path, tmp: Path, seed: int = 3) -> tuple[list[Path], set[str]]:
    """Four overlapping streams: each takes ~60% of the events in order, plus its own re-sends."""
    rng = random.Random(seed)
    clock_batches: list[tuple[str, list[dict]]] = []
    for raw in stream.read_text().splitlines():
        rec = json.loads(raw)
        if "clock" in rec:
            clock_batches.append((rec["clock"], []))
        else:
            clock_batches[-1][1].append(rec)
    paths, union = [], set()
    for w in range(WORKERS):
        batches = []
        for now, events in clock_batches:
            mine = [e for e in events if rng.random() < 0.6]
            mine += [e for e in mine if rng.random() < 0.1]  # re-sent inside the same stream too
            union.update(e["event_id"] for e in mine)
            batches.extend((now, mine[i:i + 200]) for i in range(0, len(mine), 200))
        p = tmp / f"w{w}.json"
        p.write_text(json.dumps(batches))
        paths.append(p)
    return paths, union


def run_workers(url: str, tmp: Path, stream: Path, nodes: list[str] | None = None) -> None:
    """`nodes`: API nodes' base URLs; worker w posts its stream to nodes[w % len(nodes)] over HTTP
    instead of calling charging in its own process."""
    paths, union = split_streams(stream, tmp)
    go = tmp / "go"
    outs = [tmp / f"out{w}.json" for w in range(WORKERS)]
    targets = [nodes[w % len(nodes)] if nodes else url for w in range(WORKERS)]
    env = {**os.environ, "MTS_OPERATOR_TOKEN": NODE_TOKEN}
    procs = [subprocess.Popen([sys.executable, "-m", "tests.integration.ingest_worker", t, str(p), str(o), str(go)],
                              cwd=ROOT, stderr=subprocess.PIPE, text=True, env=env)
             for t, p, o in zip(targets, paths, outs, strict=True)]
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"a worker failed (a lock error reached the caller?):\n{err[-3000:]}"
    outcomes = [tuple(o) for out in outs for o in json.loads(out.read_text())]

    charged_told = sum(c for _, _, c in outcomes)
    first_time = [eid for eid, status, _ in outcomes if status in ("rated", "blocked")]
    assert len(first_time) == len(set(first_time)) == len(union), "an event was rated twice or never"
    assert all(status != "rejected" for _, status, _ in outcomes)

    engine = make_engine(url)

    def facts(s):
        records = s.exec(select(func.count()).select_from(UsageRecord)).scalar_one()
        ids = set(s.exec(select(UsageRecord.event_id)).scalars())
        ledger_events = -s.exec(select(func.coalesce(func.sum(LedgerEntry.amount_kopecks), 0))
                                .where(LedgerEntry.cause_type == "event")).scalar_one()
        return records, ids, ledger_events, check_invariants(session=s)

    records, ids, ledger_events, problems = read(engine, facts)
    engine.dispose()
    assert records == len(union) and ids == union
    assert ledger_events == charged_told
    assert problems == []


def test_four_processes_on_one_sqlite_file(fresh_population, tmp_path):
    url = fresh_population("concurrent")
    stream = tmp_path / "stream.jsonl"
    write_stream(url, stream, hours=8, seed=9, dup_every=0)
    run_workers(url, tmp_path, stream)
    eng = make_engine(url)
    with eng.connect() as c:
        assert c.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    eng.dispose()


class ApiNodes:
    """`count` UI-less API nodes (uvicorn, one worker each) on one store, their shared simulated clock set
    just past the stream's end (the stream is older than the wall clock, and events reach 7 days back)."""

    def __init__(self, url: str, stream: Path, tmp: Path, count: int = 2):
        last = max(datetime.fromisoformat(json.loads(r)["clock"]) for r in stream.read_text().splitlines()
                   if r.startswith('{"clock"'))
        eng = make_engine(url)
        with eng.begin() as c:
            c.execute(text("INSERT INTO sim_clock (id, offset_seconds, speed, anchor_wall, session_offset) "
                           "VALUES (1, :o, 1.0, 0, 0) ON CONFLICT (id) DO UPDATE SET offset_seconds = :o, "
                           "speed = 1.0, anchor_wall = 0"),
                      {"o": (last + timedelta(minutes=1) - datetime.now(UTC)).total_seconds()})
        eng.dispose()
        self.procs, self.bases, self.logs = [], [], []
        for i in range(count):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            log = tmp / f"node{i}.log"
            env = {**os.environ, "MTS_DB_URL": url, "MTS_SIM_CLOCK": "1", "MTS_OPERATOR_TOKEN": NODE_TOKEN,
                   "MTS_DATA_DIR": str(tmp / f"node{i}"), "MTS_LOG_LEVEL": "WARNING"}
            with open(log, "wb") as out:
                self.procs.append(subprocess.Popen(
                    [sys.executable, "-m", "uvicorn", "mts_portal.api:app", "--host", "127.0.0.1", "--port",
                     str(port), "--no-access-log"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT))
            self.bases.append(f"http://127.0.0.1:{port}")
            self.logs.append(log)
        for base, proc, log in zip(self.bases, self.procs, self.logs, strict=True):
            deadline = time.monotonic() + 90
            while True:
                try:
                    if httpx.get(f"{base}/api/v1/health", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(log.read_text(errors="replace")[-4000:])
                time.sleep(0.2)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(timeout=30)
        for log in self.logs:  # no node logged a traceback while it served
            assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-4000:]


def test_two_api_nodes_on_one_sqlite_file(fresh_population, tmp_path):
    """Four clients post overlapping streams with re-sends to two API nodes of one store over HTTP."""
    url = fresh_population("nodes")
    stream = tmp_path / "stream.jsonl"
    write_stream(url, stream, hours=8, seed=9, dup_every=0)
    nodes = ApiNodes(url, stream, tmp_path)
    try:
        run_workers(url, tmp_path, stream, nodes=nodes.bases)
    finally:
        nodes.stop()


_SCHEMAS = itertools.count()


@pytest.fixture
def pg_schema():
    """A fresh PostgreSQL schema with the 300-line population, dropped afterwards."""
    from tests.conftest import PG_BASE, _pg_ok

    if not _pg_ok():
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    from mts_portal.core.migrate import migrate
    from simulator.population import seed

    schema = f"mts_concurrency_test_{os.getpid()}_{next(_SCHEMAS)}"  # several checkouts may test at once
    admin = make_engine(PG_BASE)
    with admin.connect() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
        c.commit()
    url = f"{PG_BASE}?options=-csearch_path%3D{schema}"
    try:
        eng = make_engine(url)
        migrate(eng)
        seed(eng, lines=300, seed=11, now=SEED_AT, progress=False)
        eng.dispose()
        yield url
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            c.commit()
        admin.dispose()


@pytest.mark.postgres
def test_two_api_nodes_on_postgresql(pg_schema, tmp_path):
    """The scale-out shape of ingestion: two API nodes on one PostgreSQL, overlapping lines and re-sends."""
    stream = tmp_path / "stream.jsonl"
    write_stream(pg_schema, stream, hours=8, seed=9, dup_every=0)
    nodes = ApiNodes(pg_schema, stream, tmp_path)
    try:
        run_workers(pg_schema, tmp_path, stream, nodes=nodes.bases)
    finally:
        nodes.stop()


@pytest.mark.postgres
def test_four_processes_on_postgresql(pg_schema, tmp_path):
    stream = tmp_path / "stream.jsonl"
    write_stream(pg_schema, stream, hours=8, seed=9, dup_every=0)
    run_workers(pg_schema, tmp_path, stream)
