"""Six lines of one family group consume the last 100 MB of the shared pool at the same
time, from six processes: the pool never gives more than it has, every KB drawn is
accounted for, and the invariants hold — on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from mts_portal.core import billing, family
from mts_portal.core.db import make_engine, read, transact
from mts_portal.core.migrate import migrate
from mts_portal.core.models import Bucket, PoolDraw
from tests.conftest import PG_BASE, T0, _pg_ok
from tests.helpers import make_line
from tests.unit.test_access_matrix import session_for

ROOT = Path(__file__).resolve().parents[2]
LINES = ["79400000000", *(f"7940000000{i}" for i in range(1, 6))]  # the owner first
LAST_KB = 100 * 1024
BORN = T0 - timedelta(days=1)

pytestmark = pytest.mark.slow


def build_group(url: str) -> None:
    engine = make_engine(url)
    migrate(engine)
    make_line(engine, LINES[0], "my_mts", balance=1_000_000, now=BORN)
    for m in LINES[1:]:
        make_line(engine, m, "minimum", balance=1_000_000, now=BORN)
    _, owner = session_for(engine, LINES[0])
    for m in LINES[1:]:
        member = transact(engine, lambda s, m=m: family.invite(s, owner, LINES[0], m, T0))
        _, info = session_for(engine, m)
        transact(engine, lambda s, i=info, mid=member.id: family.accept(s, i, mid, T0))
    # the pool has exactly 100 MB left
    with engine.begin() as c:
        c.execute(text(f"UPDATE buckets SET used = total - {LAST_KB} WHERE kind = 'data' AND pool_total IS NOT NULL"))
        c.execute(text("UPDATE lines SET version = version + 1"))
    engine.dispose()


def race(url: str, tmp: Path) -> None:
    now = (T0 + timedelta(minutes=5)).isoformat()
    go = tmp / "go"
    procs, outs = [], []
    for i, msisdn in enumerate(LINES):
        # each line asks for 3 × 20 MB, one event per transaction: 360 MB wanted, 100 MB left
        batches = [(now, [{"event_id": f"race-{msisdn}-{k}", "msisdn": msisdn, "kind": "data",
                           "started_at": (T0 + timedelta(minutes=1, seconds=k)).isoformat(),
                           "bytes": 20 * 1024 * 1024, "zone": "home"}]) for k in range(3)]
        src, out = tmp / f"in{i}.json", tmp / f"out{i}.json"
        src.write_text(json.dumps(batches))
        outs.append(out)
        procs.append(subprocess.Popen([sys.executable, "-m", "tests.integration.ingest_worker", url, str(src), str(out),
                                       str(go)], cwd=ROOT, stderr=subprocess.PIPE, text=True))
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]

    engine = make_engine(url)
    pool = read(engine, lambda s: s.exec(select(Bucket).where(Bucket.kind == "data",
                                                              Bucket.pool_total.is_not(None))).scalars().one())
    assert pool.used == pool.total  # all of it, and not a KB more
    outcomes = [tuple(o) for out in outs for o in json.loads(out.read_text())]
    assert len(outcomes) == 18 and all(status == "rated" for _, status, _ in outcomes)

    def drawn_kb(s):
        members = sum(d.used for d in s.exec(select(PoolDraw).where(PoolDraw.bucket_id == pool.id)).scalars())
        return members

    members_kb = read(engine, drawn_kb)
    assert members_kb <= LAST_KB
    assert read(engine, lambda s: billing.check_invariants(session=s)) == []
    engine.dispose()


def test_family_pool_race_on_sqlite(tmp_path, sqlite_template):
    import shutil

    path = tmp_path / "race.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    build_group(url)
    race(url, tmp_path)


@pytest.mark.postgres
def test_family_pool_race_on_postgresql(tmp_path):
    if not _pg_ok():
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    schema = f"mts_family_race_{os.getpid()}"  # several checkouts may test at once
    admin = make_engine(PG_BASE)
    with admin.connect() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
        c.commit()
    try:
        url = f"{PG_BASE}?options=-csearch_path%3D{schema}"
        build_group(url)
        race(url, tmp_path)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            c.commit()
        admin.dispose()
