"""Concurrency: 4 processes ingest overlapping streams with duplicates into the same
store (a SQLite file, and PostgreSQL when reachable). Each event is rated exactly
once, the money the workers were told about is exactly the money in the ledger,
no lock error reaches a caller, and the invariants hold."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from mts_portal.core.billing import check_invariants
from mts_portal.core.db import make_engine, read
from mts_portal.core.models import LedgerEntry, UsageRecord
from tests.integration.conftest import SEED_AT, write_stream

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4

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


def run_workers(url: str, tmp: Path, stream: Path) -> None:
    paths, union = split_streams(stream, tmp)
    go = tmp / "go"
    outs = [tmp / f"out{w}.json" for w in range(WORKERS)]
    procs = [subprocess.Popen([sys.executable, "-m", "tests.integration.ingest_worker", url, str(p), str(o), str(go)],
                              cwd=ROOT, stderr=subprocess.PIPE, text=True) for p, o in zip(paths, outs, strict=True)]
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


@pytest.mark.postgres
def test_four_processes_on_postgresql(tmp_path):
    from tests.conftest import PG_BASE, _pg_ok

    if not _pg_ok():
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    from mts_portal.core.migrate import migrate
    from simulator.population import seed

    schema = f"mts_concurrency_test_{os.getpid()}"  # several checkouts may test at once
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
        stream = tmp_path / "stream.jsonl"
        write_stream(url, stream, hours=8, seed=9, dup_every=0)
        run_workers(url, tmp_path, stream)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            c.commit()
        admin.dispose()
