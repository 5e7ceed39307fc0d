"""A demo population: Faker ru_RU holders, +7 9xx numbers, a realistic tariff mix,
accounts with several numbers, some low balances and a few debtors.

Everything goes through the real core services (provisioning, ledger, options),
so the invariant check holds for every seeded line. Reproducible by --seed.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from faker import Faker
from sqlalchemy import Engine, select
from sqlmodel import Session
from tqdm import tqdm

from mts_portal.core import billing
from mts_portal.core.auth import hash_password
from mts_portal.core.catalog import default_catalog
from mts_portal.core.clock import period_of, prorate_up
from mts_portal.core.db import transact
from mts_portal.core.models import Credential, Line, SimProfile

log = logging.getLogger("simulator.seed")

DEMO_PASSWORD = "mts-demo-2026"
MTS_CODES = [*range(910, 920), *range(980, 990)]

# persona -> (weight, tariff weights, options with probabilities, median balance ₽)
PERSONAS: dict[str, tuple[float, dict[str, float], dict[str, float], int]] = {
    "student": (0.20, {"smart": 0.6, "minimum": 0.3, "tarifische": 0.1},
                {"sms_notify": 0.05, "turbo": 0.0, "content_games": 0.1}, 250),
    "business": (0.15, {"tarifische": 0.6, "smart": 0.3, "my_mts": 0.1},
                 {"vezde_kak_doma": 0.4, "nol_bez_granits": 0.15, "zabugorishche": 0.15, "full_trust": 0.3,
                  "voicemail": 0.2}, 1500),
    "parent": (0.15, {"my_mts": 0.5, "tarifische": 0.3, "smart": 0.2},
               {"full_trust": 0.2, "parental_control": 0.2, "blacklist": 0.1, "second_memory": 0.1}, 800),
    "teenager": (0.15, {"smart": 0.5, "minimum": 0.5},
                 {"content_horoscope": 0.2, "content_games": 0.2, "goodok": 0.1}, 150),
    "light": (0.35, {"minimum": 0.7, "smart": 0.3}, {"sms_notify": 0.1, "goodok": 0.05}, 200),
}


@dataclass
class SeedResult:
    lines: int
    accounts: int
    seconds: float
    demo: list[dict]
    history: object | None = None  # simulator.history.HistoryStats when the world was given a past


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


class NumberPool:
    def __init__(self, rng: random.Random, taken: set[str]):
        self.rng = rng
        self.taken = taken

    def next(self) -> str:
        while True:
            msisdn = f"7{self.rng.choice(MTS_CODES)}{self.rng.randrange(10**7):07d}"
            if msisdn not in self.taken:
                self.taken.add(msisdn)
                return msisdn


def _plan(n_lines: int, rng: random.Random, fake: Faker, numbers: NumberPool) -> list[dict]:
    """Accounts with their lines, before touching the store."""
    accounts: list[dict] = []
    made = 0
    personas = list(PERSONAS)
    weights = [PERSONAS[p][0] for p in personas]
    while made < n_lines:
        persona = rng.choices(personas, weights=weights)[0]
        size = 1
        r = rng.random()
        if persona == "parent":
            size = 1 + (r < 0.6) + (r < 0.25)
        elif r < 0.08:
            size = 2 + (r < 0.02)
        size = min(size, n_lines - made)
        holder = fake.name()
        lines = []
        for i in range(size):
            p = persona if i == 0 else rng.choice(["teenager", "light", "student"])
            lines.append({"msisdn": numbers.next(), "persona": p, "tariff": _pick(rng, PERSONAS[p][1]),
                          "options": [o for o, prob in PERSONAS[p][2].items() if rng.random() < prob],
                          "balance": _balance(rng, PERSONAS[p][3]), "activity": round(rng.lognormvariate(0, 0.5), 3)})
        accounts.append({"holder": holder, "email": fake.free_email(), "lines": lines})
        made += size
    return accounts


def _balance(rng: random.Random, median_rub: int) -> int:
    r = rng.random()
    if r < 0.03:
        return -1  # a debtor: cannot pay the fee, starts suspended
    if r < 0.13:
        return rng.randrange(500, 4900)  # low balance (< 50 ₽)
    return int(rng.lognormvariate(0, 0.8) * median_rub) * 100 + rng.randrange(100)


DEMO_SPECS = [
    # (label, persona, tariff, options, leftover balance ₽, second number)
    ("demo-1", "student", "smart", ["sms_notify", "goodok", "content_music"], 742, False),
    ("demo-2", "parent", "tarifische", ["full_trust", "parental_control", "second_memory"], 1530, True),
    ("demo-3", "parent", "my_mts", [], 2350, True),
    ("demo-4", "light", "minimum", [], 38, False),
    ("demo-5", "business", "smart", ["vezde_kak_doma", "nol_bez_granits"], 3100, False),
]


def _provision(s: Session, line: dict, account_id: int | None, holder: str, email: str, now: datetime,
               catalog) -> Line:
    tariff = catalog.tariffs[line["tariff"]]
    p = period_of(now)
    fee = prorate_up(tariff.fee_kopecks, p.remaining_days(now), p.days)
    balance = line["balance"]
    if balance < 0:
        initial = fee // 3  # not enough for the fee: suspended
    else:
        initial = balance + fee
    created = billing.provision_line(session=s, msisdn=line["msisdn"], tariff_code=line["tariff"], now=now,
                                     holder_name=holder, account_id=account_id, email=email,
                                     initial_balance_kopecks=initial, catalog=catalog)
    for code in line["options"]:
        if code in catalog.products and created.status == "active":
            try:
                billing.connect_option(session=s, line=created, code=code, now=now, catalog=catalog)
            except Exception:  # not enough money for a service: the subscriber simply does not have it
                log.debug("option %s skipped for %s", code, created.msisdn)
    s.add(SimProfile(line_id=created.id, persona=line["persona"], demo_login=line.get("demo"),
                     activity=line.get("activity", 1.0)))
    return created


def seed(engine: Engine, *, lines: int, seed: int, now: datetime, progress: bool = True,
         batch: int = 250, history_days: float = 0, background_days: float = 0,
         background_scale: float = 0.5) -> SeedResult:
    """A population of `lines` lines (the demo accounts first). With `history_days`, the demo accounts
    are provisioned that long ago and the others `background_days` ago, and the simulator fast-forwards
    everyone through the real engine up to `now` (simulator/history.py): a world with a past."""
    from simulator.history import History, demo_story, first_tariff, generator_for, scheduled

    t0 = time.perf_counter()
    rng = random.Random(seed)
    fake = Faker("ru_RU")
    fake.seed_instance(seed)
    catalog = default_catalog()
    with Session(engine) as s:
        taken = set(s.exec(select(Line.msisdn)).scalars())
    numbers = NumberPool(rng, taken)
    demo_accounts = []
    for label, persona, tariff, options, rub_left, second in DEMO_SPECS:
        first = first_tariff(label, tariff) if history_days else tariff
        demo_lines = [{"msisdn": numbers.next(), "persona": persona, "tariff": first, "options": options,
                       "balance": rub_left * 100, "demo": int(label[-1]), "activity": 1.0}]
        if second:
            demo_lines.append({"msisdn": numbers.next(), "persona": "teenager", "tariff": "smart",
                               "options": ["content_horoscope"], "balance": 9000, "activity": 1.0})
        if tariff == "my_mts":  # the family demo: the owner and two members
            demo_lines.append({"msisdn": numbers.next(), "persona": "student", "tariff": "minimum",
                               "options": [], "balance": 15000, "activity": 1.0})
        demo_accounts.append({"holder": fake.name(), "email": fake.free_email(), "lines": demo_lines,
                              "label": label, "final_tariff": tariff})
    n_demo = sum(len(a["lines"]) for a in demo_accounts)
    rest = _plan(max(0, lines - n_demo), rng, fake, numbers)
    bar = tqdm(total=n_demo + sum(len(a["lines"]) for a in rest), unit="line", disable=not progress,
               desc="seeding")
    pwd_hash = hash_password(DEMO_PASSWORD)
    demo = demo_logins_from_plan(demo_accounts)
    history = None
    if history_days:
        start = now - timedelta(days=history_days)
        bg_start = now - timedelta(days=min(background_days, history_days)) if background_days else now
        made = _seed_accounts(engine, demo_accounts, start, pwd_hash, catalog, bar, batch)
        history = History(engine, seed=seed, demo=demo, progress=progress)
        history.note_personas({ln["msisdn"]: ln["persona"] for a in demo_accounts + rest for ln in a["lines"]})
        run = f"h{seed}-{int(time.time())}"
        demo_gen = generator_for(engine, {m for d in demo for m in d["lines"]}, seed=seed, run_id=f"{run}d")
        story = scheduled(demo_story(), start)
        history.run(start, bg_start, [demo_gen], [a for a in story if a[0] < bg_start], step_h=6)
        made += _seed_accounts(engine, rest, bg_start, pwd_hash, catalog, bar, batch)
        gens = [demo_gen]
        if rest and bg_start < now:
            gens.append(generator_for(engine, {ln["msisdn"] for a in rest for ln in a["lines"]}, seed=seed + 1,
                                      run_id=f"{run}b", scale=background_scale))
        history.run(bg_start, now, gens, [a for a in story if a[0] >= bg_start], step_h=6)
    else:
        made = _seed_accounts(engine, demo_accounts + rest, now, pwd_hash, catalog, bar, batch)
    bar.close()
    from simulator.home import (
        seed_homes,  # home internet and TV contracts, some linked to demo logins 1–3
    )

    seed_homes(engine, now=now, seed=seed, history_days=int(history_days), extra=min(50, max(0, lines // 20)),
               password_hash=pwd_hash)
    if engine.dialect.name == "postgresql":  # fresh statistics, or the planner guesses from empty tables
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    return SeedResult(made, len(demo_accounts) + len(rest), time.perf_counter() - t0, demo,
                      history.stats if history else None)


def _seed_accounts(engine: Engine, plan: list[dict], now: datetime, pwd_hash: str, catalog, bar,
                   batch: int) -> int:
    made = 0
    for i in range(0, len(plan), batch):
        chunk = plan[i:i + batch]

        def fn(s: Session, chunk=chunk) -> int:
            n = 0
            for acc in chunk:
                account_id = None
                lines = []
                for line in acc["lines"]:
                    created = _provision(s, line, account_id, acc["holder"], acc["email"], now, catalog)
                    account_id = created.account_id
                    if line.get("demo"):
                        s.add(Credential(line_id=created.id, password_hash=pwd_hash, updated_at=now))
                    lines.append(created)
                    n += 1
                _family(s, lines, now)
                _services(s, acc["lines"], lines, now)
            return n

        made += transact(engine, fn, what="seed batch")
        bar.update(sum(len(a["lines"]) for a in chunk))
    return made


def _family(s: Session, lines: list[Line], now: datetime) -> None:
    """A «МЫ МТС» owner shares with the other numbers of the same contract (the family's phones)."""
    from mts_portal.core import family
    from mts_portal.core.errors import DomainError

    owner = lines[0]
    if owner.tariff_code != "my_mts" or owner.status != "active":
        return
    for line in lines[1:]:
        try:
            family.enrol(s, owner, line, now)
        except DomainError:
            log.debug("family: %s not enrolled", line.msisdn)


INCLUDED_MELODIES = ("vivaldi_spring", "tchaikovsky_flowers", "mozart_serenade", "beethoven_elise", "kalinka", "birds")


def _services(s: Session, planned: list[dict], lines: list[Line], now: datetime) -> None:
    """What is behind the seeded services: a GOOD'OK melody (the demo's own one bought, others an included
    one), a parent's «Родительский контроль» over the account's teenagers' numbers with limits, and a first
    «Вторая память» backup of the demo parent's phone."""
    from mts_portal.core import goodok, memory, parental
    from mts_portal.core.errors import DomainError

    options = {ln.id: set(billing.active_options(s, ln.id)) for ln in lines}
    for plan, line in zip(planned, lines, strict=True):
        if "goodok" in options[line.id] and line.status == "active":
            code = "summer_evening" if plan.get("demo") else INCLUDED_MELODIES[line.id % len(INCLUDED_MELODIES)]
            try:
                goodok.set_melody(s, line, goodok.melody(code), now)
            except DomainError:
                log.debug("goodok: no melody for %s", line.msisdn)
    parent = lines[0]
    if "parental_control" in options[parent.id]:
        for plan, line in zip(planned[1:], lines[1:], strict=True):
            if plan["persona"] != "teenager" or line.tariff_code == "my_mts_member":
                continue
            try:
                link = parental._link(s, parent, line, "account", now)
            except DomainError:
                continue
            link.spend_limit_kopecks, link.night_data_off = 30_000, True
            link.blocked_content = '["content_games"]'
            s.add(link)
    if planned[0].get("demo") and "second_memory" in options[parent.id]:
        memory.make_backup(s, parent, now, "manual")


def demo_logins_from_plan(accounts: list[dict]) -> list[dict]:
    out = []
    for acc in accounts:
        first = acc["lines"][0]
        out.append({"label": acc["label"], "msisdn": first["msisdn"], "tariff": acc.get("final_tariff", first["tariff"]),
                    "holder": acc["holder"], "lines": [ln["msisdn"] for ln in acc["lines"]]})
    return out
