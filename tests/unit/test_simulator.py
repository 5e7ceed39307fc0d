"""The simulator: a reproducible population and traffic, fault injection, record and replay."""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
from collections import Counter
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import func, select, text

from mts_portal.core.billing import check_invariants
from mts_portal.core.db import make_engine, read
from mts_portal.core.events import validate
from mts_portal.core.models import Account, Line, UsageRecord
from simulator.population import seed
from simulator.runner import Faults, inject
from simulator.traffic import Population, TrafficGenerator, load_population
from tests.conftest import T0


@pytest.fixture
def seeded(sqlite_store):
    seed(sqlite_store, lines=60, seed=3, now=T0, progress=False)
    return sqlite_store


def _population(n=2000, seed_=1):
    rng = np.random.default_rng(seed_)
    personas = rng.choice(["student", "business", "parent", "teenager", "light"], n).tolist()
    return Population([f"79{i:09d}" for i in range(n)], personas, np.ones(n))


def test_seed_is_reproducible_and_realistic(sqlite_store, tmp_path, sqlite_template):
    r1 = seed(sqlite_store, lines=60, seed=3, now=T0, progress=False)
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    shutil.copy(sqlite_template, tmp_path / "other.db")
    r2 = seed(other, lines=60, seed=3, now=T0, progress=False)
    q = "SELECT l.msisdn, l.tariff_code, l.balance_kopecks, a.holder_name FROM lines l JOIN accounts a " \
        "ON a.id = l.account_id ORDER BY l.id"
    with sqlite_store.connect() as a, other.connect() as b:
        assert a.execute(text(q)).all() == b.execute(text(q)).all()
    assert r1.demo == r2.demo and len(r1.demo) == 5
    assert read(sqlite_store, lambda s: check_invariants(session=s)) == []

    def facts(s):
        msisdns = list(s.exec(select(Line.msisdn)).scalars())
        multi = s.exec(select(func.count()).select_from(
            select(Line.account_id).group_by(Line.account_id).having(func.count() > 1).subquery())).scalar_one()
        tariffs = Counter(s.exec(select(Line.tariff_code)).scalars())
        names = list(s.exec(select(Account.holder_name)).scalars())
        return msisdns, multi, tariffs, names

    msisdns, multi, tariffs, names = read(sqlite_store, facts)
    assert all(m.startswith("79") and len(m) == 11 for m in msisdns)
    assert multi >= 1 and len(tariffs) >= 3
    assert all(any("а" <= ch <= "я" for ch in name.lower()) for name in names)  # ru_RU names
    other.dispose()


def test_traffic_is_reproducible_by_seed():
    pop = _population()
    a = TrafficGenerator(pop, seed=5).window(T0, 3600)
    b = TrafficGenerator(pop, seed=5).window(T0, 3600)
    c = TrafficGenerator(pop, seed=6).window(T0, 3600)
    assert a == b and a != c


def test_traffic_is_valid_ordered_and_shaped():
    pop = _population(3000)
    gen = TrafficGenerator(pop, seed=8)
    day = []
    per_hour = []
    for _, _, evs in gen.hours(T0.replace(hour=21), T0.replace(hour=21) + timedelta(days=1)):  # a Moscow day
        day.extend(evs)
        per_hour.append(len(evs))
    assert all(not isinstance(validate(e), str) for e in day[:5000])
    starts = [e["started_at"] for e in day]
    assert starts == sorted(starts)
    assert len({e["event_id"] for e in day}) == len(day)
    assert max(per_hour[9:22]) > 5 * min(per_hour[1:5])  # busy days, quiet nights (Moscow hours)
    kinds = Counter(e["kind"] for e in day)
    assert kinds["data"] > kinds["voice"] > 0 and kinds["sms"] > 0
    durations = np.array([e["duration_s"] for e in day if e["kind"] == "voice"])
    assert np.median(durations) < durations.mean()  # lognormal: a long tail
    teen = {m for m, p in zip(pop.msisdns, pop.personas, strict=True) if p == "teenager"}
    light = {m for m, p in zip(pop.msisdns, pop.personas, strict=True) if p == "light"}
    per_teen = sum(1 for e in day if e["msisdn"] in teen) / len(teen)
    per_light = sum(1 for e in day if e["msisdn"] in light) / len(light)
    assert per_teen > 5 * per_light


def test_roaming_trips_use_the_right_zones():
    pop = _population(3000)
    gen = TrafficGenerator(pop, seed=9)
    zones = Counter()
    for _, _, evs in gen.hours(T0, T0 + timedelta(days=10)):
        zones.update(e["zone"] for e in evs)
    assert zones["home"] > zones["russia"] > 0
    abroad = {z for z in zones if z not in ("home", "russia")}
    assert abroad and all(len(z) == 2 and z.isupper() and z != "RU" for z in abroad)


def test_fault_injection():
    rng = random.Random(1)
    history: list[dict] = []
    pop = _population(500)
    events = TrafficGenerator(pop, seed=2).window(T0, 3600)
    inject(events[:100], Faults(), rng, history)  # builds history
    out = inject(events[100:], Faults(duplicates=0.2, malformed=0.1, late=0.1, reorder=0.1), rng, history)
    ids = Counter(e["event_id"] for e in out)
    reasons = [validate(e) for e in out]
    assert sum(1 for e in out if e["event_id"].endswith("-late")) > 0
    assert sum(1 for r in reasons if isinstance(r, str)) > 0  # malformed ones are rejected with a reason
    assert any(n > 1 for n in ids.values()) or any(e in events[:100] for e in out)  # re-sent
    assert out != sorted(out, key=lambda e: e.get("started_at", ""))  # reordered


def test_cli_run_records_and_replay_reproduces(seeded, tmp_path, monkeypatch, capsys):
    from simulator.cli import main

    url = str(seeded.url)
    copy = tmp_path / "copy.db"
    raw = sqlite3.connect(url.removeprefix("sqlite:///"))  # a consistent copy (the WAL included)
    raw.execute(f"VACUUM INTO '{copy}'")
    raw.close()
    stream = tmp_path / "s.jsonl"
    start = (T0 + timedelta(minutes=1)).isoformat()
    assert main(["--db", url, "-q", "run", "--days", "0.5", "--start", start, "--seed", "4", "--out", str(stream),
                 "--duplicates", "0.02", "--malformed", "0.01", "--no-topups"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["sent"] > 100 and summary["rejected"] > 0 and summary["duplicate"] > 0
    assert {"rated", "blocked", "events_per_s", "batch_latency_ms_p50", "batch_latency_ms_p95"} <= summary.keys()

    assert main(["--db", f"sqlite:///{copy}", "-q", "run", "--replay", str(stream)]) == 0
    replay = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (replay["rated"], replay["blocked"], replay["rejected"]) == \
        (summary["rated"], summary["blocked"], summary["rejected"])
    q = "SELECT event_id, status, charged_kopecks, drawn FROM usage_records ORDER BY event_id"
    a, b = make_engine(url), make_engine(f"sqlite:///{copy}")
    with a.connect() as x, b.connect() as y:
        assert x.execute(text(q)).all() == y.execute(text(q)).all()
    a.dispose()
    b.dispose()


def test_population_loads_from_store(seeded):
    pop = load_population(seeded)
    assert len(pop) == 60 and set(pop.personas) <= {"student", "business", "parent", "teenager", "light"}
    assert read(seeded, lambda s: s.exec(select(func.count()).select_from(UsageRecord)).scalar_one()) == 0
