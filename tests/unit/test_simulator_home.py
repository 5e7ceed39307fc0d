"""The simulator's households (issue 17): usage by persona, seeded contracts with a past."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select

from mts_portal.core import billing, home
from mts_portal.core.db import read
from mts_portal.core.models import HomeAccount, HomeLedgerEntry, HomeLink, HomeRequest, HomeUsageDay
from simulator import home as sim_home
from simulator.population import seed
from tests.conftest import T0


def test_day_usage_follows_the_persona():
    rng = random.Random(1)
    family = [sim_home.day_usage(rng, "family") for _ in range(200)]
    elderly = [sim_home.day_usage(rng, "elderly") for _ in range(200)]
    assert sum(d[1] for d in family) > 5 * sum(d[1] for d in elderly)
    assert sum(d[3] for d in elderly) > sum(d[3] for d in family)
    assert all(n >= 0 and down >= 0 and up >= 0 and tv >= 0 for n, down, up, tv in family + elderly)
    half = sim_home.day_usage(random.Random(2), "couple", 0.5)
    assert half[1] < sim_home.day_usage(random.Random(2), "couple", 1.0)[1]


def test_seeded_contracts_have_a_past_and_demo_links(sqlite_store):
    seed(sqlite_store, lines=40, seed=5, now=T0, progress=False, history_days=40)
    count = read(sqlite_store, lambda s: s.exec(select(func.count()).select_from(HomeAccount)).scalar_one())
    assert count == len(sim_home.DEMO_HOMES) + 2
    assert read(sqlite_store, lambda s: s.exec(select(func.count()).select_from(HomeLink)).scalar_one()) == 3
    kinds = read(sqlite_store, lambda s: set(s.exec(select(HomeLedgerEntry.kind)).scalars()))
    assert {"home_fee", "topup", "cashback"} <= kinds  # a month start passed: fees and «20 % возврата»
    days = read(sqlite_store, lambda s: s.exec(select(func.count()).select_from(HomeUsageDay)).scalar_one())
    assert days >= 40 * count * 0.9
    assert read(sqlite_store, lambda s: s.exec(select(func.count()).select_from(HomeRequest)).scalar_one()) > 0
    assert read(sqlite_store, lambda s: billing.check_invariants(session=s)) == []
    # the capped demo household (home_lite) is counted up to its cap only
    lite = read(sqlite_store, lambda s: home.find_home(s, sim_home.DEMO_CONTRACTS[0]))
    assert lite.period_used_kb <= 100 * 1024 * 1024
    # a tick adds the time since the last one
    assert sim_home.tick(sqlite_store, T0) == 0
    assert sim_home.tick(sqlite_store, T0 + timedelta(hours=6)) > 0
    assert sim_home.tick(sqlite_store, T0 + timedelta(hours=6, seconds=30)) == 0  # at most once a minute
