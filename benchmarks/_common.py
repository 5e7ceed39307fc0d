"""Shared benchmark setup: seeded stores (cached as templates), generated streams, machine facts."""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CACHE = Path(os.environ.get("MTS_BENCH_CACHE", "/tmp/mts_bench"))
START = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)  # 09:00 Moscow
PG_URL = os.environ.get("MTS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def machine() -> dict:
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "python": platform.python_version(),
            "machine": platform.machine()}


def emit(result: dict) -> None:
    print(json.dumps({**result, **machine()}, ensure_ascii=False))


def sqlite_store(lines: int, seed: int, name: str) -> str:
    """A fresh copy of a seeded SQLite store (the seeded template is cached between runs)."""
    from mts_portal.core.db import make_engine
    from mts_portal.core.migrate import migrate
    from simulator.population import seed as seed_population

    CACHE.mkdir(parents=True, exist_ok=True)
    template = CACHE / f"template-{lines}-{seed}.db"
    if not template.exists():
        tmp = CACHE / f"building-{os.getpid()}.db"
        eng = make_engine(f"sqlite:///{tmp}")
        migrate(eng)
        t0 = time.perf_counter()
        seed_population(eng, lines=lines, seed=seed, now=START, progress=False)
        with eng.connect() as c:
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        eng.dispose()
        print(f"# seeded template {template.name} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        tmp.rename(template)
        for suffix in ("-wal", "-shm"):
            Path(str(tmp) + suffix).unlink(missing_ok=True)
    path = CACHE / f"{name}.db"
    drop_sqlite_store(f"sqlite:///{path}")
    shutil.copy(template, path)
    return f"sqlite:///{path}"


def drop_sqlite_store(url: str) -> None:
    """Remove a copy made by `sqlite_store` (the file and its WAL and shared-memory files)."""
    path = url.removeprefix("sqlite:///")
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)


def pg_store(lines: int, seed: int, schema: str) -> str:
    """A fresh PostgreSQL schema, seeded (no template: schemas are cheap to rebuild)."""
    from sqlalchemy import text

    from mts_portal.core.db import make_engine
    from mts_portal.core.migrate import migrate
    from simulator.population import seed as seed_population

    admin = make_engine(PG_URL)
    with admin.connect() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
        c.commit()
    admin.dispose()
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    eng = make_engine(url)
    migrate(eng)
    t0 = time.perf_counter()
    seed_population(eng, lines=lines, seed=seed, now=START, progress=False)
    eng.dispose()
    print(f"# seeded PostgreSQL schema {schema} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return url


def stream(url: str, events: int, seed: int, batch: int) -> list[tuple[datetime, list[dict]]]:
    """Generated traffic for the store's population: (now, batch) in time order, `events` in all."""
    from mts_portal.core.db import make_engine
    from simulator.traffic import TrafficGenerator, load_population

    eng = make_engine(url)
    pop = load_population(eng)
    eng.dispose()
    gen = TrafficGenerator(pop, seed=seed, run_id=f"bench{seed}")
    out: list[tuple[datetime, list[dict]]] = []
    pending: list[dict] = []
    total = 0
    t = START
    while total < events:
        for _, stop, evs in gen.hours(t, t + timedelta(hours=1)):
            pending.extend(evs)
            while len(pending) >= batch and total < events:
                chunk, pending = pending[:batch], pending[batch:]
                chunk = chunk[: events - total]
                out.append((stop, chunk))
                total += len(chunk)
        t += timedelta(hours=1)
    return out
