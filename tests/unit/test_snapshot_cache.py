"""The snapshot cache changes nothing but speed: a family rated from cached snapshots gets exactly what
fresh loads give, batch after batch, across quota changes, joins, removals, add-ons and another writer."""

from __future__ import annotations

import json
import random
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import text

from mts_portal.core import billing, charging, family
from mts_portal.core.db import make_engine, read, transact
from tests.conftest import T0
from tests.helpers import ev, make_line
from tests.unit.test_access_matrix import session_for

OWNER, M1, M2, M3, M4, LONER = (f"7958100000{i}" for i in range(6))
BORN = T0 - timedelta(days=1)
PEOPLE = (OWNER, M1, M2, M3, M4, LONER)


def _world(engine):
    make_line(engine, OWNER, "my_mts", balance=300_000, now=BORN)
    for m in (M1, M2, M3, M4):
        make_line(engine, m, "smart", balance=50_000, now=BORN)
    make_line(engine, LONER, "tarifische", balance=50_000, now=BORN)
    _, owner = session_for(engine, OWNER)
    ids = {}
    for m in (M1, M2, M3):
        member = transact(engine, lambda s, m=m: family.invite(s, owner, OWNER, m, T0))
        _, info = session_for(engine, m)
        transact(engine, lambda s, info=info, mid=member.id: family.accept(s, info, mid, T0))
        ids[m] = member.id
    return owner, ids


def _batch(rng: random.Random, step: int, at) -> list[dict]:
    out = []
    for i in range(rng.randint(3, 12)):
        who = rng.choice(PEOPLE)
        kind = rng.choice(("voice", "sms", "data", "data"))
        kw = {"event_id": f"s{step}-{i}"}
        if kind == "voice":
            kw["duration_s"] = rng.choice((30, 61, 600, 3_000))
            kw["peer"] = rng.choice((*PEOPLE, "79990001122"))
        elif kind == "sms":
            kw["peer"] = rng.choice((*PEOPLE, "79990001122"))
        else:
            kw["bytes"] = rng.choice((10 * 1024, 50 * 1024 * 1024, 900 * 1024 * 1024))
        out.append(ev(who, kind, at - timedelta(seconds=rng.randint(0, 600)), **kw))
    if rng.random() < 0.2 and out:
        out.append(dict(out[0]))  # a resend inside the batch
    return out


def _changes(engine, owner, ids):
    """What the other writers do between batches, by step (the same on both stores)."""
    def quota(m, minutes, sms, gb):
        return lambda now: transact(engine, lambda s: family.set_quotas(s, owner, OWNER, ids[m], minutes, sms, gb,
                                                                         now))

    def remove(m):
        return lambda now: transact(engine, lambda s: family.remove_member(s, owner, OWNER, ids[m], now))

    def join(m):
        def fn(now):
            member = transact(engine, lambda s: family.invite(s, owner, OWNER, m, now))
            _, info = session_for(engine, m)
            transact(engine, lambda s: family.accept(s, info, member.id, now))
            ids[m] = member.id
        return fn

    def addon(now):
        transact(engine, lambda s: billing.connect_option(session=s, line=billing.get_line_for_update(s, OWNER),
                                                         code="internet_5gb", now=now))

    return {6: quota(M1, "200", "", ""), 12: join(M4), 18: remove(M2), 24: addon, 30: quota(M1, "", "", ""),
            36: quota(M3, "", "40", "")}


def _state(engine) -> dict:
    def fn(s):
        q = lambda sql: [tuple(r) for r in s.execute(text(sql)).all()]  # noqa: E731
        return {
            "lines": q("SELECT msisdn, balance_kopecks, charged_total_kopecks, bonus_points, nbg_free_minutes_used, "
                       "low_balance_notified FROM lines ORDER BY id"),
            "buckets": q("SELECT id, line_id, kind, total, used FROM buckets ORDER BY id"),
            "draws": q("SELECT bucket_id, line_id, used FROM pool_draws ORDER BY bucket_id, line_id"),
            "usage": q("SELECT event_id, status, units, charged_kopecks, paid_by, drawn, explanation "
                       "FROM usage_records ORDER BY event_id"),
            "ledger": q("SELECT line_id, amount_kopecks, kind, CASE WHEN cause_type = 'event' THEN cause_ref END, "
                        "balance_after FROM ledger_entries ORDER BY id"),  # (a purchase's reference is random)
            "notes": q("SELECT line_id, kind, text_ru FROM notifications ORDER BY id"),
        }
    return read(engine, fn)


def _run(engine, *, cached: bool, loads: list) -> tuple[list, dict]:
    owner, ids = _world(engine)
    changes = _changes(engine, owner, ids)
    rng = random.Random(20261207)
    answers = []
    for step in range(42):
        at = T0 + timedelta(minutes=10 * (step + 1))
        if step in changes:
            changes[step](at)
        if not cached:
            charging.forget_snapshots(engine)
        loads.append(set())
        for r in charging.ingest(engine, _batch(rng, step, at), now=at):
            answers.append((r.event_id, r.status, r.charged_kopecks, json.dumps(r.drawn), r.reason, r.original))
    return answers, _state(engine)


@pytest.fixture
def two_stores(tmp_path, sqlite_template):
    engines = []
    for name in ("cached", "fresh"):
        path = tmp_path / f"{name}.db"
        shutil.copy(sqlite_template, path)
        engines.append(make_engine(f"sqlite:///{path}"))
    charging.forget_snapshots()
    yield engines
    for e in engines:
        e.dispose()


def test_family_rated_from_the_cache_exactly_as_from_fresh_loads(two_stores, monkeypatch):
    cached_engine, fresh_engine = two_stores
    loads: list[set[int]] = []
    real = charging._load_snapshots

    def counting(fx, line_ids, fam, now, catalog):
        loads[-1].update(line_ids)
        return real(fx, line_ids, fam, now, catalog)

    monkeypatch.setattr(charging, "_load_snapshots", counting)
    cached = _run(cached_engine, cached=True, loads=loads)
    cached_loads, loads[:] = list(loads), []
    fresh = _run(fresh_engine, cached=False, loads=loads)

    assert cached[0] == fresh[0]  # every answer: status, kopecks, draws, reason, what a duplicate got first
    for key in cached[1]:
        assert cached[1][key] == fresh[1][key], key  # and every row the batches left
    statuses = {a[1] for a in cached[0]}
    assert {"rated", "duplicate"} <= statuses
    assert any(a[2] > 0 for a in cached[0]) and any(a[3] != "[]" for a in cached[0])
    # the cache was used: in some batches no family line was read again, and after every change of the
    # family (quota, join, removal, add-on) the group was read afresh
    family_ids = read(cached_engine, lambda s: {r[0] for r in s.execute(text(
        "SELECT line_id FROM family_members UNION SELECT owner_line_id FROM family_groups")).all()})
    reused = [i for i, ids in enumerate(cached_loads) if not (ids & family_ids)]
    assert len(reused) >= 10, cached_loads
    for step in _changes(cached_engine, None, {}):
        assert cached_loads[step] & family_ids, (step, cached_loads[step])


def test_a_member_leaving_between_batches_is_rated_alone_from_then(two_stores):
    """A line that leaves its group must not be rated from its cached family snapshot (the pool, the
    group's free calls)."""
    engine, _ = two_stores
    owner, ids = _world(engine)
    at = T0 + timedelta(minutes=5)
    [r] = charging.ingest(engine, [ev(M1, "data", at, bytes=100 * 1024 * 1024, event_id="in-1")], now=at)
    assert r.charged_kopecks == 0 and r.drawn  # from the owner's pool
    [r] = charging.ingest(engine, [ev(M2, "voice", at, duration_s=60, peer=M1, event_id="in-2")], now=at)
    assert r.charged_kopecks == 0  # a call inside the group
    transact(engine, lambda s: family.remove_member(s, owner, OWNER, ids[M1], at))
    later = at + timedelta(minutes=1)
    out = charging.ingest(engine, [ev(M1, "data", later, bytes=100 * 1024 * 1024, event_id="out-1"),
                                   ev(M2, "voice", later, duration_s=60, peer=M1, event_id="out-2")], now=later)
    pool_ids = read(engine, lambda s: {r[0] for r in s.execute(text(
        "SELECT b.id FROM buckets b JOIN lines l ON l.id = b.line_id WHERE l.msisdn = :m"), {"m": OWNER}).all()})
    assert not {d["bucket_id"] for d in out[0].drawn} & pool_ids  # no longer from the pool
    assert out[1].charged_kopecks > 0 or out[1].drawn  # no longer a free call inside the group
