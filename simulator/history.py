"""A demo world with a past: the seeded lines' last weeks, made by the real simulator and rated by the
real engine.

`python -m simulator seed` provisions the demo accounts (every number the login page and `run.sh`
list, their extra numbers and family members) `demo_days` ago and the rest of the population
`background_days` ago, then fast-forwards through charging hour by hour up to now: the traffic
generator's calls, SMS and sessions go through `charging.ingest` with the clock at the end of each
hour, the scheduler's jobs (`jobs.run_due`: period starts, daily fees, autopay, promised-payment
expiry) run at each hour, and each demo account lives a small scripted story through the same core
services a subscriber uses in the cabinet (a card saved and paid with, a tariff changed, autopay
rules, a promised payment, a trip abroad with «Забугорище», points exchanged). Nothing is written
around the engine: the invariant check holds for every row.

The store's simulated clock is not touched: everything happens before now.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlmodel import Session
from tqdm import tqdm

from mts_portal.core.clock import as_utc, moscow_date

log = logging.getLogger("simulator.history")

TEST_CARD = ("4111 1111 1111 1111", "12/30", "123")  # the gateway's always-approving test card
TOPUP_RUB = {"student": 500, "business": 2000, "parent": 1000, "teenager": 300, "light": 200}


@dataclass
class Action:
    """One scripted step of a demo account's story, at `day` days (and `hour`) after the history starts."""

    day: float
    label: str  # the demo account's label (demo-1 …)
    what: str
    args: dict = field(default_factory=dict)
    line: int = 0  # which of the account's numbers (0: the demo login)


def demo_story() -> list[Action]:
    """What each demo account did over its 60 days, besides its everyday traffic."""
    return [
        # demo-1, a student: joined on «Минимум», saved a card, moved to «Smart» after two weeks
        Action(0.1, "demo-1", "card_topup", {"rub": 300, "new_card": True}),
        Action(17.4, "demo-1", "card_topup", {"rub": 700}),
        Action(17.45, "demo-1", "switch_tariff", {"to": "smart"}),
        Action(29.5, "demo-1", "option", {"code": "content_games"}),  # a paid subscription (10 ₽ a day)
        Action(31.6, "demo-1", "card_topup", {"rub": 600}),
        Action(38.3, "demo-1", "trip", {"zone": "russia", "days": 4}),  # Sochi, without «Везде как дома»
        Action(46.5, "demo-1", "card_topup", {"rub": 500}),
        Action(58.4, "demo-1", "card_topup", {"rub": 400}),
        # demo-2, a parent with a second number: autopay whenever the balance falls below 300 ₽
        Action(0.2, "demo-2", "card_topup", {"rub": 1000, "new_card": True}),
        Action(2.5, "demo-2", "autopay_threshold", {"threshold_rub": 300, "rub": 1000}),
        Action(21.3, "demo-2", "card_topup", {"rub": 300}, line=1),
        Action(44.6, "demo-2", "card_topup", {"rub": 300}, line=1),
        # demo-3, the «МЫ МТС» owner: the family's fee paid by a monthly autopay on the 1st
        Action(0.3, "demo-3", "card_topup", {"rub": 1500, "new_card": True}),
        Action(1.5, "demo-3", "autopay_monthly", {"day": 1, "rub": 1500}),
        Action(9.5, "demo-3", "option", {"code": "internet_1gb"}),
        Action(33.5, "demo-3", "card_topup", {"rub": 200}, line=1),
        # demo-4, a light user who keeps the balance low: a promised payment when it ran out
        Action(0.4, "demo-4", "card_topup", {"rub": 150, "new_card": True}),
        Action(26.5, "demo-4", "promise", {}),
        Action(28.5, "demo-4", "card_topup", {"rub": 300}),
        Action(47.5, "demo-4", "card_topup", {"rub": 200}),
        # demo-5, on business trips: Turkey with «Забугорище» for five days, then points for +1 GB
        Action(0.5, "demo-5", "card_topup", {"rub": 3000, "new_card": True}),
        Action(3.5, "demo-5", "autopay_monthly", {"day": 5, "rub": 2000}),
        Action(19.35, "demo-5", "option", {"code": "zabugorishche"}),
        Action(19.4, "demo-5", "trip", {"zone": "TR", "days": 5}),
        Action(24.7, "demo-5", "option_off", {"code": "zabugorishche"}),
        Action(52.5, "demo-5", "bonus", {"code": "internet_1gb"}),
    ]


def first_tariff(label: str, final: str) -> str:
    """The tariff a demo account started on (its story may switch it later)."""
    for a in demo_story():
        if a.label == label and a.what == "switch_tariff":
            return "minimum" if a.args["to"] != "minimum" else "smart"
    return final


@dataclass
class HistoryStats:
    events: int = 0
    rated: int = 0
    blocked: int = 0
    rejected: int = 0
    topups: int = 0
    actions: int = 0
    failed_actions: int = 0
    seconds: float = 0.0
    hours: int = 0
    timings: dict = field(default_factory=lambda: {"rating": 0.0, "jobs": 0.0, "topups": 0.0, "story": 0.0,
                                                    "generation": 0.0})

    def line(self) -> str:
        def n(x: int) -> str:
            return f"{x:,}".replace(",", "\u202f")

        return (f"{n(self.events)} events through charging ({n(self.rated)} rated, {n(self.blocked)} blocked), "
                f"{n(self.topups)} top-ups, {self.actions} story steps, {n(self.hours)} simulated hours "
                f"in {self.seconds:.1f} s ("
                + ", ".join(f"{k} {v:.1f} s" for k, v in self.timings.items()) + ")")


class History:
    """Fast-forwards a population through the real engine, hour by hour."""

    def __init__(self, engine: Engine, *, seed: int, demo: list[dict], progress: bool = False,
                 job_every_h: int = 1, background_scale: float = 0.5):
        from simulator.runner import InProcessSender

        self.engine = engine
        self.sender = InProcessSender(engine, move_store_clock=False)
        self.rng = random.Random(seed)
        self.seed = seed
        self.demo = demo  # [{label, lines: [msisdn…], holder}]
        self.progress = progress
        self.job_every_h = job_every_h
        self.background_scale = background_scale
        self.stats = HistoryStats()
        self._demo_numbers = {m: d for d in demo for m in d["lines"]}
        self._cards: dict[str, int] = {}  # label -> saved card id
        self._personas: dict[str, str] = {}
        self._topped: set[tuple[str, object]] = set()

    # ---------------------------------------------------------------- the loop

    def run(self, start: datetime, end: datetime, generators: list, actions: list[tuple[datetime, Action]],
            step_h: int = 1) -> None:
        """Fast-forward [start, end): every `step_h` hours the scheduler's jobs run, the story steps due
        run, and that stretch's events are rated in one batch with the clock at its end (up to `step_h`
        hours late, as a switch that forwards records in bulk: the engine rates late events by their
        own time). Subscribers blocked for lack of money top up before the next stretch."""
        t0 = time.perf_counter()
        start, end = as_utc(start), as_utc(end)
        todo = sorted(actions, key=lambda a: a[0])
        hours = int((end - start).total_seconds() // 3600) + 1
        bar = tqdm(total=hours, unit="h", desc="history", disable=not self.progress)
        t = start
        while t < end:
            stop = min(end, (t + timedelta(hours=step_h)).replace(minute=0, second=0, microsecond=0))
            c = time.perf_counter()
            self._jobs(t)
            c1 = time.perf_counter()
            while todo and todo[0][0] < stop:
                at, action = todo.pop(0)
                self._act(max(at, t), action, generators)
            c2 = time.perf_counter()
            self.stats.timings["jobs"] += c1 - c
            self.stats.timings["story"] += c2 - c1
            events: list[dict] = []
            h = t
            while h < stop:  # the generator makes one Moscow hour at a time
                h_end = min(stop, (h + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0))
                for gen in generators:
                    events.extend(gen.window(h, int((h_end - h).total_seconds())))
                self.stats.hours += 1
                bar.update(1)
                h = h_end
            self.stats.timings["generation"] += time.perf_counter() - c2
            if events:
                events.sort(key=lambda e: e["started_at"])
                self._send(events, stop)
            t = stop
        self._jobs(end)
        bar.close()
        self.stats.seconds += time.perf_counter() - t0

    def _jobs(self, now: datetime) -> None:
        from mts_portal.core import jobs

        jobs.run_due(self.engine, now)

    def _send(self, events: list[dict], now: datetime) -> None:
        blocked = []
        c = time.perf_counter()
        for i in range(0, len(events), 10_000):
            chunk = events[i:i + 10_000]
            results = self.sender.send(chunk, now)
            self.stats.events += len(results)
            for ev, res in zip(chunk, results, strict=True):
                st = res["status"]
                if st == "rated":
                    self.stats.rated += 1
                elif st == "blocked":
                    self.stats.blocked += 1
                    blocked.append(ev["msisdn"])
                elif st == "rejected":
                    self.stats.rejected += 1
        c1 = time.perf_counter()
        self._top_up_blocked(blocked, now)
        self.stats.timings["rating"] += c1 - c
        self.stats.timings["topups"] += time.perf_counter() - c1

    def _top_up_blocked(self, msisdns: list[str], now: datetime) -> None:
        """Subscribers who ran out of money pay: demo accounts always, with their saved card; others
        7 times in 10, at most once a day. The others' top-ups of one stretch share a transaction."""
        from mts_portal.core import billing
        from mts_portal.core.db import transact
        from mts_portal.core.errors import DomainError

        day = moscow_date(now)
        plain: list[tuple[str, int]] = []
        for msisdn in dict.fromkeys(msisdns):
            if (msisdn, day) in self._topped:
                continue
            self._topped.add((msisdn, day))
            demo = self._demo_numbers.get(msisdn)
            rub = min(15_000, TOPUP_RUB.get(self._personas.get(msisdn, "light"), 300) * self.rng.choice((3, 5, 8)))
            if demo is not None and demo["label"] in self._cards:
                try:
                    self.stats.topups += bool(self._card_topup(demo, msisdn, rub, now))
                except DomainError as exc:  # the bank or the limits said no: life goes on
                    log.info("card top-up of %s refused: %s", msisdn, exc.message_en)
            elif demo is not None or self.rng.random() < 0.7:
                plain.append((msisdn, rub * 100))
        if not plain:
            return

        def fn(s: Session) -> int:
            n = 0
            for msisdn, amount in plain:
                try:
                    with s.begin_nested():
                        billing.top_up(session=s, msisdn=msisdn, amount_kopecks=amount, now=now,
                                       key=f"hist-{msisdn}-{now:%Y%m%d%H%M%S}", description="Пополнение наличными",
                                       description_en="Cash top-up")
                    n += 1
                except DomainError:
                    pass
            return n

        self.stats.topups += transact(self.engine, fn, what="history top-ups")

    # ---------------------------------------------------------------- the demo accounts' stories

    def _info(self, demo: dict, msisdn: str, s: Session):
        from mts_portal.core import auth
        from mts_portal.core.models import Line

        login = s.exec(select(Line).where(Line.msisdn == demo["lines"][0])).scalars().one()
        line = s.exec(select(Line).where(Line.msisdn == msisdn)).scalars().one()
        return auth.SessionInfo(0, login.account_id, login.id, line.id, login.msisdn, line.msisdn, login.created_at,
                                login.created_at, True)

    def _card_topup(self, demo: dict, msisdn: str, rub: int, now: datetime, new_card: bool = False) -> bool:
        from mts_portal.core import payments
        from mts_portal.core.db import transact

        key = f"hist-{msisdn}-{now:%Y%m%d%H%M%S}"

        def fn(s: Session):
            info = self._info(demo, msisdn, s)
            if new_card or demo["label"] not in self._cards:
                card = payments.tokenize(payments.parse_card(*TEST_CARD, now))
                res = payments.top_up_by_new_card(s, info, msisdn, card, rub * 100, key, now, save=True)
                self._cards[demo["label"]] = res.card_id
                return res.status == "succeeded"
            res = payments.top_up_by_card(s, info, msisdn, self._cards[demo["label"]], rub * 100, key, now)
            return res.status == "succeeded"

        return transact(self.engine, fn, what="history card top-up")

    def _act(self, at: datetime, action: Action, generators: list) -> None:
        from mts_portal.core import billing, bonus, payments
        from mts_portal.core.db import transact
        from mts_portal.core.errors import DomainError

        demo = next((d for d in self.demo if d["label"] == action.label), None)
        if demo is None or action.line >= len(demo["lines"]):
            return
        msisdn = demo["lines"][action.line]
        a = action.args
        self.stats.actions += 1
        try:
            if action.what == "card_topup":
                self._card_topup(demo, msisdn, a["rub"], at, new_card=a.get("new_card", False))
            elif action.what == "switch_tariff":
                transact(self.engine, lambda s: billing.switch_tariff(
                    session=s, line=billing.get_line_for_update(s, msisdn), new_code=a["to"], now=at))
            elif action.what in ("autopay_threshold", "autopay_monthly"):
                kind = "threshold" if action.what == "autopay_threshold" else "monthly"
                transact(self.engine, lambda s: payments.save_autopay(
                    s, self._info(demo, msisdn, s), msisdn, kind, self._cards[demo["label"]], a["rub"] * 100, at,
                    threshold_kopecks=a["threshold_rub"] * 100 if kind == "threshold" else None,
                    day_of_month=a.get("day") if kind == "monthly" else None))
            elif action.what == "option":
                transact(self.engine, lambda s: billing.connect_option(
                    session=s, line=billing.get_line_for_update(s, msisdn), code=a["code"], now=at))
            elif action.what == "option_off":
                transact(self.engine, lambda s: billing.disconnect_option(
                    session=s, line=billing.get_line_for_update(s, msisdn), code=a["code"], now=at))
            elif action.what == "promise":
                def take(s):
                    info = self._info(demo, msisdn, s)
                    offer = payments.promise_offer(s, info, msisdn, at)
                    return payments.take_promise(s, info, msisdn, min(offer.max_kopecks, 30_000), at)

                transact(self.engine, take)
            elif action.what == "bonus":
                transact(self.engine, lambda s: bonus.exchange(s, self._info(demo, msisdn, s), msisdn, a["code"], at))
            elif action.what == "trip":
                for gen in generators:
                    if msisdn in gen.pop.msisdns:
                        i = gen.pop.msisdns.index(msisdn)
                        gen.zone[i] = a["zone"]
                        gen.trip_until[i] = at.timestamp() + a["days"] * 86400
            else:
                raise ValueError(f"unknown story step {action.what}")
        except DomainError as exc:  # the subscriber could not do it then (no money, no points): life goes on
            self.stats.failed_actions += 1
            log.info("story step %s %s of %s refused: %s", action.what, a, action.label, exc.message_en)

    def note_personas(self, personas: dict[str, str]) -> None:
        self._personas.update(personas)


def scheduled(actions: list[Action], start: datetime) -> list[tuple[datetime, Action]]:
    return [(as_utc(start) + timedelta(days=a.day), a) for a in actions]


def generator_for(engine: Engine, msisdns: set[str], *, seed: int, run_id: str, scale: float = 1.0,
                  keep: Callable[[str], bool] | None = None):
    """A traffic generator over the store's lines in `msisdns` (with their family peers)."""
    from simulator.traffic import Population, TrafficGenerator, load_population

    pop = load_population(engine)
    idx = [i for i, m in enumerate(pop.msisdns) if m in msisdns]
    where = {old: new for new, old in enumerate(idx)}
    sub = Population(
        msisdns=[pop.msisdns[i] for i in idx], personas=[pop.personas[i] for i in idx], activity=pop.activity[idx],
        family_peers={where[i]: [where[j] for j in peers if j in where] for i, peers in pop.family_peers.items()
                      if i in where})
    return TrafficGenerator(sub, seed=seed, run_id=run_id, scale=scale)
