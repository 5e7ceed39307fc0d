"""The simulator's home internet and TV side (issue 17): households by persona, their daily internet
sessions, bytes and TV viewing, and the seeded contracts (some linked to the demo mobile numbers) with a
past: usage, monthly fees, payments and requests through the real domain (core/home.py).

Usage is not charged per unit; on the capped tariff (home_lite) the engine counts it up to the cap.
`tick()` adds the household traffic of the time that passed since the last call (the demo scheduler).
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from faker import Faker
from sqlalchemy import Engine, select
from sqlmodel import Session

from mts_portal.core import auth, home
from mts_portal.core.clock import moscow_date
from mts_portal.core.db import transact
from mts_portal.core.models import Account, HomeAccount, HomeCredential, HomeLink, Line

log = logging.getLogger(__name__)
GB = 1024 ** 3
# persona: (GB down a day (median), share uploaded, sessions a day, TV minutes a day)
PERSONAS = {
    "single": (3.0, 0.08, 6, 60),
    "couple": (6.0, 0.10, 12, 150),
    "family": (14.0, 0.12, 30, 300),
    "gamer": (25.0, 0.20, 20, 30),
    "elderly": (0.8, 0.05, 3, 360),
}
# the demo contracts: (demo login they are linked to or None, persona, tariff, packages and options)
DEMO_HOMES = [
    (1, "single", "home_lite", ("antivirus",)),
    (2, "family", "home_300_tv", ("tv_kids", "router_rent", "tv_box_rent")),
    (3, "couple", "home_500_tv", ("tv_kino", "tv_sport", "static_ip")),
    (None, "elderly", "home_300_tv", ("tv_box_rent",)),
    (None, "gamer", "home_100", ("static_ip", "router_rent")),
]
DEMO_CONTRACTS = [f"7700000000{i:02d}" for i in range(1, len(DEMO_HOMES) + 1)]


def day_usage(rng: random.Random, persona: str, fraction: float = 1.0) -> tuple[int, int, int, int]:
    """(sessions, bytes_down, bytes_up, tv_minutes) of a household for `fraction` of a day."""
    gb, up_share, sessions, tv = PERSONAS.get(persona, PERSONAS["couple"])
    down = int(rng.lognormvariate(0, 0.5) * gb * GB * fraction)
    n = max(0, round(rng.gauss(sessions, sessions / 4) * fraction))
    minutes = max(0, round(rng.gauss(tv, tv / 4) * fraction))
    return n, down, int(down * up_share), minutes


def _record(s: Session, acc: HomeAccount, rng: random.Random, at: datetime, fraction: float = 1.0) -> None:
    n, down, up, tv = day_usage(rng, acc.persona, fraction)
    home.record_usage(session=s, home=acc, day=moscow_date(at), sessions=n, bytes_down=down, bytes_up=up,
                      tv_minutes=tv, now=at)


def seed_homes(engine: Engine, *, now: datetime, seed: int, history_days: int = 45, extra: int = 20,
               password_hash: str | None = None) -> list[str]:
    """The demo contracts (three linked to demo logins 1–3, password `DEMO_PASSWORD`) and `extra` others,
    provisioned `history_days` ago and walked day by day to `now`: usage, period fees, «20 % возврата»,
    payments when the balance runs low, and a request or two. Returns the contracts made."""
    rng = random.Random(seed * 7 + 17)
    fake = Faker("ru_RU")
    fake.seed_instance(seed + 17)
    start = now - timedelta(days=history_days)

    def demo_account(s: Session, login: int | None) -> tuple[int, str] | None:
        from mts_portal.core.models import SimProfile

        if login is None:
            return None
        row = s.exec(select(Line.account_id, Line.msisdn).join(SimProfile, SimProfile.line_id == Line.id)
                     .where(SimProfile.demo_login == login)).first()
        return (row[0], row[1]) if row else None

    def make(s: Session) -> list[int]:
        ids = []
        specs = [(c, *spec) for c, spec in zip(DEMO_CONTRACTS, DEMO_HOMES, strict=True)]
        specs += [(None, None, rng.choice(list(PERSONAS)), rng.choice(["home_lite", "home_100", "home_300_tv",
                                                                       "home_500_tv"]), ()) for _ in range(extra)]
        for contract, login, persona, tariff, codes in specs:
            if contract and home.find_home(s, contract) is not None:
                continue
            linked = demo_account(s, login)
            if linked:
                account_id, contact = linked
            else:
                acc = Account(holder_name=fake.name(), created_at=start)
                s.add(acc)
                s.flush()
                account_id, contact = acc.id, f"79{rng.randrange(10 ** 9):09d}"
            if not tariff.endswith("_tv"):
                codes = tuple(c for c in codes if not c.startswith("tv_") or c == "tv_box_rent")
            acc = home.provision(session=s, account_id=account_id, address=f"{fake.city_name()}, {fake.street_address()}",
                                 contact_msisdn=contact, tariff_code=tariff, now=start, contract=contract,
                                 codes=codes, persona=persona, opening_kopecks=rng.choice([150_000, 200_000, 300_000]))
            if linked:
                s.add(HomeLink(account_id=account_id, home_account_id=acc.id, created_at=start))
            if contract:
                s.add(HomeCredential(home_account_id=acc.id, password_hash=password_hash or auth.hash_password(
                    "mts-demo-2026"), updated_at=start))
                if rng.random() < 0.8 or contract == DEMO_CONTRACTS[1]:
                    home.join_promo(session=s, home=acc, now=start)
            ids.append(acc.id)
        return ids

    ids = transact(engine, make, what="seed home accounts")
    day = start
    while day < now:
        day = min(now, day + timedelta(days=1))

        def step(s: Session, at=day) -> None:
            for home_id in ids:
                acc = home.lock_home(s, home_id)
                home.rollover(session=s, home=acc, now=at)
                _record(s, acc, rng, at)
                if acc.balance_kopecks < 20_000 and rng.random() < 0.7:
                    home.pay(session=s, home=acc, amount_kopecks=rng.choice([100_000, 150_000, 200_000]),
                             key=f"seed-home-{acc.contract}-{at:%Y%m%d}", now=at, what_ru="Оплата картой",
                             what_en="Card payment")
        transact(engine, step, what="home history day")
    transact(engine, lambda s: _requests(s, ids, rng, now), what="seed home requests")
    with Session(engine) as s:
        return [s.get(HomeAccount, i).contract for i in ids]


def _requests(s: Session, ids: list[int], rng: random.Random, now: datetime) -> None:
    for home_id in ids[:6]:
        acc = s.get(HomeAccount, home_id)
        req = home.file_problem(session=s, account_id=acc.account_id, home=acc, service=rng.choice(home.PROBLEM_SERVICES),
                                text=rng.choice(["Пропадает Wi-Fi вечером", "Нет изображения на части каналов",
                                                 "Низкая скорость интернета", "Не прошла оплата"]),
                                now=now - timedelta(days=rng.randrange(2, 9)))
        home.advance(session=s, number=req.number, to_status="in_work", now=req.created_at + timedelta(hours=2))
        if rng.random() < 0.6:
            home.advance(session=s, number=req.number, to_status="done", now=req.created_at + timedelta(days=1))


_last_tick: dict[str, datetime] = {}
TICK_EVERY = timedelta(minutes=1)


def tick(engine: Engine, now: datetime, *, seed: int = 0) -> int:
    """Demo mode: every contract's household traffic since the last tick of this process (at most a day),
    at most once a simulated minute."""
    key = str(engine.url)
    last = _last_tick.get(key)
    if last is not None and last < now < last + TICK_EVERY:
        return 0  # a write for every household at most once a simulated minute
    _last_tick[key] = now
    if last is None or now <= last:
        return 0
    fraction = min(1.0, (now - last).total_seconds() / 86_400)
    rng = random.Random(hash((seed, now.timestamp())))
    with Session(engine) as s:
        ids = list(s.exec(select(HomeAccount.id).where(HomeAccount.status == "active")).scalars())

    def fn(s: Session) -> int:
        for home_id in ids:
            _record(s, home.lock_home(s, home_id), rng, now, fraction)
        return len(ids)

    return transact(engine, fn, what="home usage") if ids else 0
