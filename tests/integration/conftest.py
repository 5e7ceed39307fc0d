"""Integration fixtures: a small seeded population (cached per session) and a generated
stream written as the simulator's JSONL."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mts_portal.core.db import make_engine
from mts_portal.core.migrate import migrate

# near a month end, so the stream crosses a period rollover (1 Dec 00:00 Moscow = 30 Nov 21:00 UTC)
STREAM_START = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
SEED_AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def population_template(tmp_path_factory) -> Path:
    from simulator.population import seed

    path = tmp_path_factory.mktemp("pop") / "population.db"
    eng = make_engine(f"sqlite:///{path}")
    migrate(eng)
    seed(eng, lines=300, seed=11, now=SEED_AT, progress=False)
    with eng.connect() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    eng.dispose()
    return path


def copy_store(template: Path, dest: Path) -> str:
    shutil.copy(template, dest)
    return f"sqlite:///{dest}"


def write_stream(engine_url: str, path: Path, hours: int = 10, seed: int = 5, dup_every: int = 40) -> int:
    """The simulator's JSONL: clock records and events, with some duplicates; returns the event count."""
    from simulator.traffic import TrafficGenerator, load_population

    eng = make_engine(engine_url)
    pop = load_population(eng)
    eng.dispose()
    gen = TrafficGenerator(pop, seed=seed, run_id=f"crash{seed}", scale=4.0)
    n = 0
    with open(path, "w") as f:
        for _, stop, events in gen.hours(STREAM_START, STREAM_START + timedelta(hours=hours)):
            f.write(json.dumps({"clock": stop.isoformat()}) + "\n")
            for i, e in enumerate(events):
                f.write(json.dumps(e, ensure_ascii=False) + "\n")
                n += 1
                if dup_every and i % dup_every == 0:
                    f.write(json.dumps(e, ensure_ascii=False) + "\n")
                    n += 1
    return n


@pytest.fixture
def fresh_population(population_template, tmp_path):
    def make(name: str) -> str:
        url = copy_store(population_template, tmp_path / f"{name}.db")
        migrate(make_engine(url))
        return url

    return make
