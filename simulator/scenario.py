"""Scenarios: stories with checked outcomes, for demos and for tests.

A scenario is data (`simulator/scenarios/*.toml`): a title and a story in Russian and English, the
subscribers it makes for itself (fresh numbers each run, so runs never meet each other or the demo
accounts), timed steps, and the outcomes it expects, checked against the store at the end. This
module runs them through the same core services and rating engine as everything else:

- **live** (the control room, `scenario run --url`, `--speed N`): steps are paced in wall time
  (scenario time ÷ speed) on the portal's clock, and every change wakes the open cabinets;
- **fast** (`--speed 0`, the tests): no waiting; the clock jumps from step to step.

Step kinds (`do`): note, usage, burst, storm, resend, connect, disconnect, topup, promise,
autopay, invite, reply, quota, clock, jobs, traffic. A step starts `at` a scenario time, or `after`
a pause following the step before, or right after it. Checks (`check`): balance, status, event, statuses,
notification, daily_fees, ledger, bucket, storm, nothing_lost, money_adds_up, invariants. Each is
documented where it is implemented below (`_do_*`, `_check_*`).

Amounts in expectations are kopecks, as integers or arithmetic over them (`start - 5 * 4900`):
`start` is the subscriber's balance when the story began (set exactly: the subscriber is topped up
so that what is left after the first period's prorated fee is its `balance_rub`).
"""

from __future__ import annotations

import ast
import json
import logging
import operator
import random
import re
import threading
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

log = logging.getLogger("simulator.scenario")

DIR = Path(__file__).with_name("scenarios")
OFFNET_PEER = "79031234567"
TEST_CARD = ("4111 1111 1111 1111", "12/30", "123")


class ScenarioError(Exception):
    """A scenario file that does not say what it means (shown with the file and the step)."""


# ---------------------------------------------------------------- definitions


def parse_duration(text) -> float:
    """'90s', '2m', '1h30m', '1d', or a number of seconds."""
    if isinstance(text, int | float):
        return float(text)
    s = str(text).strip().lower()
    if not s:
        raise ScenarioError("an empty duration")
    total = 0.0
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([smhd])", s):
        total += float(amount) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    if not re.fullmatch(r"(\s*\d+(?:\.\d+)?\s*[smhd])+\s*", s):
        raise ScenarioError(f"a duration like 90s, 2m, 1h30m or 1d, not {text!r}")
    return total


@dataclass
class Scenario:
    name: str
    title_ru: str
    title_en: str
    story_ru: str
    story_en: str
    subscribers: list[dict]
    steps: list[dict]
    expect: list[dict]
    path: Path | None = None

    def title(self, lang: str = "ru") -> str:
        return self.title_en if lang == "en" else self.title_ru

    def story(self, lang: str = "ru") -> str:
        return self.story_en if lang == "en" else self.story_ru

    @property
    def duration_s(self) -> float:
        """Scenario time of the last step (when nothing jumps the clock)."""
        t = 0.0
        for st in self.steps:
            if "at" in st:
                t = max(t, parse_duration(st["at"]))
            n = int(st.get("repeat", 1)) if "until" not in st else int(st.get("max_repeat", 1))
            if n > 1 and "every" in st:
                t += (n - 1) * parse_duration(st["every"])
            if st.get("do") in ("burst", "storm") and "over" in st:
                t += parse_duration(st["over"])
        return t


STEP_KINDS = {"note", "usage", "burst", "storm", "resend", "connect", "disconnect", "topup", "promise", "autopay",
              "invite", "reply", "quota", "clock", "jobs", "traffic"}
CHECK_KINDS = {"balance", "status", "event", "statuses", "notification", "daily_fees", "ledger", "bucket", "storm",
               "nothing_lost", "money_adds_up", "invariants"}


def load(path_or_name: str | Path) -> Scenario:
    path = Path(path_or_name)
    if not path.suffix:
        path = DIR / f"{path_or_name}.toml"
    if not path.exists():
        raise ScenarioError(f"no scenario {path.stem!r} (see `python -m simulator scenario list`)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path.name}: {exc}") from exc
    for key in ("title_ru", "title_en", "story_ru", "story_en"):
        if not str(data.get(key, "")).strip():
            raise ScenarioError(f"{path.name}: `{key}` is missing")
    subs = data.get("subscribers") or []
    ids = [s.get("id") for s in subs]
    if not subs or len(set(ids)) != len(ids) or not all(ids):
        raise ScenarioError(f"{path.name}: every subscriber needs a unique `id`")
    for i, st in enumerate(data.get("steps") or []):
        if st.get("do") not in STEP_KINDS:
            raise ScenarioError(f"{path.name}: step {i + 1}: `do` must be one of {sorted(STEP_KINDS)}")
        for key in ("who", "owner", "member"):
            if key in st and st[key] not in ids and st[key] != "all":
                raise ScenarioError(f"{path.name}: step {i + 1}: no subscriber {st[key]!r}")
    for i, ex in enumerate(data.get("expect") or []):
        if ex.get("check") not in CHECK_KINDS:
            raise ScenarioError(f"{path.name}: expectation {i + 1}: `check` must be one of {sorted(CHECK_KINDS)}")
    return Scenario(data.get("name", path.stem), data["title_ru"], data["title_en"], data["story_ru"].strip(),
                    data["story_en"].strip(), subs, data.get("steps") or [], data.get("expect") or [], path)


def all_scenarios() -> list[Scenario]:
    out = [load(p) for p in sorted(DIR.glob("*.toml"))]
    order = {n: i for i, n in enumerate(ORDER)}
    return sorted(out, key=lambda s: (order.get(s.name, 99), s.name))


ORDER = ["turkey_trip", "family_out_of_data", "zero_balance", "new_year_surge", "network_storm", "month_end"]


# ---------------------------------------------------------------- safe arithmetic for expectations

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv,
        ast.USub: operator.neg, ast.UAdd: operator.pos}


def evaluate(expr, names: dict[str, int]) -> int:
    """Integer arithmetic (+ − × //, parentheses) over numbers and the given names; nothing else."""
    if isinstance(expr, bool):
        raise ScenarioError("an amount, not true/false")
    if isinstance(expr, int):
        return expr
    try:
        tree = ast.parse(str(expr), mode="eval")
    except SyntaxError as exc:
        raise ScenarioError(f"cannot read the amount {expr!r}") from exc

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise ScenarioError(f"unknown name {node.id!r} in {expr!r} (known: {', '.join(sorted(names))})")
            return names[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.operand))
        raise ScenarioError(f"only integer arithmetic is allowed in {expr!r}")

    return int(ev(tree))


# ---------------------------------------------------------------- a run


@dataclass
class Sent:
    event: dict
    result: dict
    who: str
    step: str
    kind: str = "clean"  # clean | duplicate | malformed | late | replay


@dataclass
class Outcome:
    check: str
    met: bool
    text_ru: str
    text_en: str
    expected: str = ""
    actual: str = ""

    def to_json(self) -> dict:
        return {"check": self.check, "met": self.met, "text_ru": self.text_ru, "text_en": self.text_en,
                "expected": self.expected, "actual": self.actual}


@dataclass
class Report:
    scenario: str
    status: str  # passed | failed | stopped | error
    outcomes: list[Outcome]
    timeline: list[dict]
    subscribers: dict[str, str]
    error: str | None = None
    run_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "passed"


class Stopped(Exception):
    pass


def _rub(kopecks: int, lang: str = "ru") -> str:
    from mts_portal.core.money import format_rub

    return format_rub(kopecks, lang)


class Run:
    """One run of a scenario against a store, with a clock: `fast` (speed 0) or `live` (speed > 0)."""

    def __init__(self, scenario: Scenario, engine, clock, *, speed: float = 0.0, publish: Callable | None = None,
                 seed: int | None = None, run_row: int | None = None, on_progress: Callable | None = None,
                 demo_traffic: bool = False):
        self.sc = scenario
        self.engine = engine
        self.clock = clock
        self.speed = float(speed)
        self.publish = publish
        self.rng = random.Random(seed if seed is not None else time.time_ns())
        self.run_row = run_row
        self.on_progress = on_progress
        self.demo_traffic = demo_traffic  # a live portal with demo traffic that `traffic` steps may change
        self.stop_event = threading.Event()
        self.msisdn: dict[str, str] = {}
        self.line_id: dict[str, int] = {}
        self.start: dict[str, int] = {}
        self.sent: list[Sent] = []
        self.by_step: dict[str, list[Sent]] = {}
        self.timeline: list[dict] = []
        self.storms: dict[str, dict] = {}
        self.t0_wall = 0.0
        self.t0_clock: datetime | None = None
        self.jumped = timedelta(0)
        self.step_no = 0
        self.tag = f"sc{self.rng.randrange(10**9):09d}"
        self._seq = 0
        self._saved_traffic = None

    # ---------------------------------------------------------------- time

    @property
    def live(self) -> bool:
        return self.speed > 0

    def now(self) -> datetime:
        return self.clock.now()

    def _set_clock(self, target: datetime) -> None:
        if hasattr(self.clock, "set"):  # FrozenClock (tests)
            self.clock.set(target)
        elif target > self.clock.now():
            self.clock.move_to(target)

    def wait_until(self, at_s: float) -> None:
        if self.stop_event.is_set():
            raise Stopped()
        if self.live:
            deadline = self.t0_wall + at_s / self.speed
            while (left := deadline - time.monotonic()) > 0:
                if self.stop_event.wait(min(left, 0.25)):
                    raise Stopped()
                self._check_stop_row()
        else:
            target = self.t0_clock + self.jumped + timedelta(seconds=at_s)
            if target > self.now():
                self._set_clock(target)

    def _check_stop_row(self) -> None:
        if self.run_row is None:
            return
        from mts_portal.core.db import read
        from mts_portal.core.models import ScenarioRun

        if time.monotonic() - getattr(self, "_row_checked", 0) < 1.0:
            return
        self._row_checked = time.monotonic()
        if read(self.engine, lambda s: s.get(ScenarioRun, self.run_row).stop_requested):
            self.stop_event.set()

    # ---------------------------------------------------------------- record

    def note(self, text_ru: str, text_en: str, who: str | None = None, **extra) -> None:
        entry = {"t": round(self._scenario_time(), 1), "at": self.now().isoformat(), "ru": text_ru, "en": text_en,
                 "who": who or "", "msisdn": self.msisdn.get(who or "", ""), **extra}
        self.timeline.append(entry)
        log.info("%s: %s", self.sc.name, text_en)

    def _scenario_time(self) -> float:
        if self.live:
            return (time.monotonic() - self.t0_wall) * self.speed
        return (self.now() - self.t0_clock - self.jumped).total_seconds() if self.t0_clock else 0.0

    def _progress(self) -> None:
        if self.on_progress:
            self.on_progress(self)

    def _touched(self, *who: str) -> None:
        if self.publish:
            ids = {self.line_id[w] for w in who if w in self.line_id}
            if ids:
                self.publish(ids)

    # ---------------------------------------------------------------- the run

    def run(self) -> Report:
        from mts_portal.core.db import read

        self.t0_wall = time.monotonic()
        self.t0_clock = self.now()
        status, error = "passed", None
        outcomes: list[Outcome] = []
        try:
            self._provision()
            self._progress()
            for i, st in enumerate(self.sc.steps):
                self.step_no = i + 1
                if "at" in st:
                    self.wait_until(parse_duration(st["at"]))
                elif "after" in st:
                    self.wait_until(self._scenario_time() + parse_duration(st["after"]))
                if self.stop_event.is_set():
                    raise Stopped()
                getattr(self, f"_do_{st['do']}")(st, st.get("name") or f"step{i + 1}")
                self._progress()
            self.note("Проверяем итоги", "Checking the outcomes")
            outcomes = read(self.engine, self._check_all)
            status = "passed" if all(o.met for o in outcomes) else "failed"
        except Stopped:
            status = "stopped"
            self.note("Сценарий остановлен", "The scenario was stopped")
        except Exception as exc:  # a broken step: the run says so instead of hanging
            log.exception("scenario %s failed at step %d", self.sc.name, self.step_no)
            status, error = "error", f"step {self.step_no}: {type(exc).__name__}: {exc}"
            self.note(f"Ошибка на шаге {self.step_no}: {exc}", f"Error at step {self.step_no}: {exc}")
        finally:
            self._restore_traffic()
        report = Report(self.sc.name, status, outcomes, self.timeline, dict(self.msisdn), error, self.run_row)
        self._progress()
        return report

    # ---------------------------------------------------------------- subscribers

    def _new_msisdn(self, s: Session) -> str:
        from mts_portal.core.models import Line

        while True:
            msisdn = f"7958{self.rng.randrange(10**7):07d}"
            if s.exec(select(Line.id).where(Line.msisdn == msisdn)).first() is None:
                return msisdn

    def _provision(self) -> None:
        from faker import Faker

        from mts_portal.core import billing
        from mts_portal.core.db import transact
        from mts_portal.core.models import SimProfile
        from simulator.traffic import SCENARIO_PERSONA

        fake = Faker("ru_RU")
        fake.seed_instance(self.rng.randrange(1 << 30))
        now = self.now() - timedelta(hours=1)  # customers since an hour ago: their first calls started before now
        for sub in self.sc.subscribers:
            count = int(sub.get("count", 1))
            for k in range(count):
                sid = sub["id"] if count == 1 else f"{sub['id']}{k + 1}"
                holder = sub.get("holder") or fake.name()
                target = int(round(float(sub.get("balance_rub", 0)) * 100))

                def fn(s: Session, holder=holder, target=target, sub=sub) -> tuple[str, int]:
                    msisdn = self._new_msisdn(s)
                    line = billing.provision_line(session=s, msisdn=msisdn, tariff_code=sub.get("tariff", "smart"),
                                                  now=now, holder_name=holder)
                    for code in sub.get("options", []):
                        billing.connect_option(session=s, line=line, code=code, now=now)
                    s.add(SimProfile(line_id=line.id, persona=SCENARIO_PERSONA, activity=0.0))
                    s.flush()
                    # what is left after the first period's fee is exactly the story's balance
                    need = target - line.balance_kopecks
                    part = 0
                    while need > 0:
                        chunk = min(need, 1_500_000)
                        billing.top_up(session=s, msisdn=msisdn, amount_kopecks=chunk, now=now,
                                       key=f"{self.tag}-start-{msisdn}-{part}", description="Пополнение",
                                       description_en="Top-up")
                        need -= chunk
                        part += 1
                    return msisdn, line.id

                msisdn, line_id = transact(self.engine, fn, what="scenario subscriber")
                self.msisdn[sid], self.line_id[sid] = msisdn, line_id
                self.start[sid] = self._balance(sid)
                from mts_portal.core.auth import format_msisdn

                self.note(f"Новый абонент {holder}: {format_msisdn(msisdn)}, «{self._tariff_name(sub, 'ru')}», "
                          f"{_rub(self.start[sid])}",
                          f"New subscriber {holder}: {format_msisdn(msisdn)}, {self._tariff_name(sub, 'en')}, "
                          f"{_rub(self.start[sid], 'en')}", sid)
        self._touched(*self.line_id)

    @staticmethod
    def _tariff_name(sub: dict, lang: str) -> str:
        from mts_portal.core.catalog import default_catalog

        t = default_catalog().tariffs[sub.get("tariff", "smart")]
        return t.name_en if lang == "en" else t.name_ru

    def _whos(self, who) -> list[str]:
        if who == "all":
            return list(self.msisdn)
        if isinstance(who, list):
            return [w for x in who for w in self._whos(x)]
        if who in self.msisdn:
            return [who]
        group = [w for w in self.msisdn if re.fullmatch(re.escape(str(who)) + r"\d+", w)]
        if not group:
            raise ScenarioError(f"no subscriber {who!r}")
        return group

    def _balance(self, who: str) -> int:
        from mts_portal.core.db import read
        from mts_portal.core.models import Line

        return read(self.engine, lambda s: s.get(Line, self.line_id[who]).balance_kopecks)

    def _info(self, s: Session, who: str):
        from mts_portal.core import auth
        from mts_portal.core.models import Line

        line = s.get(Line, self.line_id[who])
        return auth.SessionInfo(0, line.account_id, line.id, line.id, line.msisdn, line.msisdn, line.created_at,
                                line.created_at, False)

    # ---------------------------------------------------------------- events

    def _event(self, who: str, spec: dict, now: datetime) -> dict:
        self._seq += 1
        kind = spec.get("kind", "voice")
        ev = {"event_id": f"{self.tag}-{self._seq}", "msisdn": self.msisdn[who], "kind": kind,
              "zone": spec.get("zone", "home")}
        lasts = 1.0
        if kind in ("voice", "sms"):
            ev["direction"] = spec.get("direction", "out")
            peer = str(spec.get("peer", "offnet"))
            ev["peer"] = self.msisdn[peer[1:]] if peer.startswith("@") else (OFFNET_PEER if peer == "offnet" else peer)
        if kind == "voice":
            ev["duration_s"] = int(parse_duration(spec.get("duration", "60s")))
            lasts = ev["duration_s"]
        if kind == "data":
            if "mb" in spec:
                ev["bytes"] = int(float(spec["mb"]) * 1024 * 1024)
            elif "gb" in spec:
                ev["bytes"] = int(float(spec["gb"]) * 1024 * 1024 * 1024)
            else:
                ev["bytes"] = int(spec.get("kb", 1024) * 1024) if "kb" in spec else int(spec.get("bytes", 1024))
        ev["started_at"] = (now - timedelta(seconds=lasts + 1)).isoformat()
        return ev

    def _rate(self, events: list[dict], whos: list[str], step: str, kinds: list[str] | None = None) -> list[dict]:
        from mts_portal.core import charging

        if not events:
            return []
        now = self.now()
        results = [r.to_json() for r in charging.ingest(self.engine, events, now=now, on_committed=self.publish)]
        for i, (ev, res) in enumerate(zip(events, results, strict=True)):
            sent = Sent(ev, res, whos[i], step, kinds[i] if kinds else "clean")
            self.sent.append(sent)
            self.by_step.setdefault(step, []).append(sent)
        return results

    def _describe(self, ev: dict, res: dict, lang: str) -> str:
        from mts_portal.core.words import country

        kind, zone = ev.get("kind"), ev.get("zone", "home")
        where = "" if zone == "home" else (
            (" по России" if lang == "ru" else " in Russia") if zone == "russia"
            else (f" — {country(zone, lang)}" if lang == "ru" else f" in {country(zone, lang)}"))
        if kind == "voice":
            m, s = divmod(int(ev.get("duration_s", 0)), 60)
            what = (f"{'Исходящий' if ev.get('direction') == 'out' else 'Входящий'} звонок {m}:{s:02d}"
                    if lang == "ru" else f"{'Outgoing' if ev.get('direction') == 'out' else 'Incoming'} call {m}:{s:02d}")
        elif kind == "sms":
            what = "SMS" if ev.get("direction") == "out" else ("входящее SMS" if lang == "ru" else "incoming SMS")
        else:
            from mts_portal.core.money import format_data

            what = ("Интернет " if lang == "ru" else "Data ") + format_data(-(-int(ev.get("bytes", 0)) // 1024), lang)
        st = res["status"]
        if st == "rated":
            if res["charged_kopecks"]:
                tail = f"списано {_rub(res['charged_kopecks'])}" if lang == "ru" else \
                    f"charged {_rub(res['charged_kopecks'], 'en')}"
            elif res.get("drawn"):
                tail = "из пакета" if lang == "ru" else "from the bundle"
            else:
                tail = "бесплатно" if lang == "ru" else "free"
        elif st == "blocked":
            tail = "не прошло: недостаточно средств" if lang == "ru" else "blocked: not enough money"
        elif st == "duplicate":
            tail = "повтор — не списано" if lang == "ru" else "a duplicate — nothing charged"
        else:
            tail = (f"отклонено: {res.get('reason')}" if lang == "ru" else f"rejected: {res.get('reason')}")
        return f"{what}{where}: {tail}"

    # ---------------------------------------------------------------- steps

    def _do_note(self, st: dict, name: str) -> None:
        """A line of the story in the timeline: `ru`, `en`, optional `who`."""
        self.note(st.get("ru", ""), st.get("en", st.get("ru", "")), st.get("who"))

    def _do_usage(self, st: dict, name: str) -> None:
        """Events of one subscriber: `events` (kind, direction, duration, mb|gb|kb|bytes, zone, peer: a number,
        "offnet" or "@subscriber"), `repeat` times every `every`, or `until` = blocked | pool_empty
        (at most `max_repeat` times)."""
        who = st["who"]
        until = st.get("until")
        times = int(st.get("max_repeat", 50)) if until else int(st.get("repeat", 1))
        every = parse_duration(st["every"]) if "every" in st else 0.0
        base = self._scenario_time() if self.live else (self.now() - self.t0_clock - self.jumped).total_seconds()
        for n in range(times):
            if n and every:
                self.wait_until(base + n * every)
            events = [self._event(who, spec, self.now()) for spec in st.get("events", [])]
            results = self._rate(events, [who] * len(events), name)
            for ev, res in zip(events, results, strict=True):
                self.note(self._describe(ev, res, "ru"), self._describe(ev, res, "en"), who,
                          status=res["status"], charged=res["charged_kopecks"])
            self._progress()
            if until == "blocked" and any(r["status"] == "blocked" for r in results):
                return
            if until == "pool_empty" and self._data_left(who) <= 0:
                return
        if until:
            raise ScenarioError(f"step {self.step_no}: `until = {until}` not reached in {times} repeats")

    def _data_left(self, who: str) -> int:
        return self._kind_totals(who, "data")["remaining"]

    def _events_for(self, whos: list[str], count: int, kinds: list[str], over: float, now: datetime) -> list[dict]:
        out = []
        for i in range(count):
            who = whos[i % len(whos)]
            kind = kinds[self.rng.randrange(len(kinds))]
            spec = {"kind": kind, "direction": "out" if self.rng.random() < 0.7 else "in",
                    "duration": f"{self.rng.randrange(20, 400)}s", "kb": self.rng.randrange(50, 5000),
                    "peer": "offnet"}
            ev = self._event(who, spec, now)
            ev["_who"] = who
            # spread over the last `over` seconds of scenario time (at most 4 minutes back)
            back = self.rng.random() * min(over, 240.0)
            ev["started_at"] = (datetime.fromisoformat(ev["started_at"]) - timedelta(seconds=back)).isoformat()
            out.append(ev)
        return out

    def _do_burst(self, st: dict, name: str) -> None:
        """`count` events of `kinds` (voice, sms, data) from `who` (default all), sent over `over` in
        batches of `batch`: a surge. Records throughput and batch latency in the timeline."""
        whos = self._whos(st.get("who", "all"))
        count, over = int(st.get("count", 1000)), parse_duration(st.get("over", "2m"))
        kinds = st.get("kinds", ["sms", "voice", "data"])
        batch = int(st.get("batch", 500))
        rounds = max(1, -(-count // batch))
        start_t = self._scenario_time()
        t0 = time.perf_counter()
        latencies = []
        sent = 0
        for r in range(rounds):
            if r:
                self.wait_until(start_t + over * r / rounds)
            n = min(batch, count - sent)
            events = self._events_for(whos, n, kinds, over / rounds, self.now())
            who_list = [e.pop("_who") for e in events]
            c = time.perf_counter()
            self._rate(events, who_list, name)
            latencies.append((time.perf_counter() - c) * 1000)
            sent += n
            self._progress()
        secs = time.perf_counter() - t0
        stats = Counter(x.result["status"] for x in self.by_step.get(name, []))
        lat = sorted(latencies)
        p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))]
        self.note(f"Всплеск: {sent} событий за {secs:.1f} с, оценено {stats['rated']}, заблокировано "
                  f"{stats['blocked']}; задержка пачки p95 {p95:.0f} мс",
                  f"Surge: {sent} events in {secs:.1f} s, {stats['rated']} rated, {stats['blocked']} blocked; "
                  f"batch latency p95 {p95:.0f} ms", events=sent, p95_ms=round(p95, 1))

    def _do_storm(self, st: dict, name: str) -> None:
        """`count` clean events from `who` (default all), with the fault mix `duplicates`, `reorder`,
        `malformed`, `late` injected (simulator.runner.inject), in batches of `batch`. Every copy is
        remembered, so `check = "storm"` can say each duplicate was answered `duplicate` and each bad
        event `rejected` with a reason."""
        from simulator.runner import MALFORMATIONS, Faults

        whos = self._whos(st.get("who", "all"))
        count = int(st.get("count", 500))
        faults = Faults(float(st.get("duplicates", 0)), float(st.get("reorder", 0)), float(st.get("malformed", 0)),
                        float(st.get("late", 0)))
        clean = self._events_for(whos, count, st.get("kinds", ["sms", "voice", "data"]), 240.0, self.now())
        owner = {e["event_id"]: e.pop("_who") for e in clean}
        stream: list[tuple[dict, str]] = []
        history: list[dict] = []
        for ev in clean:
            r = self.rng.random()
            if r < faults.malformed:
                bad = dict(ev)
                bad["event_id"] = ev["event_id"] + "-bad"
                self.rng.choice(MALFORMATIONS)(bad)
                stream.append((bad, "malformed"))
            elif r < faults.malformed + faults.late:
                late = dict(ev)
                late["event_id"] = ev["event_id"] + "-late"
                late["started_at"] = (datetime.fromisoformat(ev["started_at"]) - timedelta(days=8)).isoformat()
                stream.append((late, "late"))
            stream.append((ev, "clean"))
            if history and self.rng.random() < faults.duplicates:
                stream.append((dict(self.rng.choice(history)), "duplicate"))
            history.append(ev)
        for i in range(len(stream) - 1):
            if self.rng.random() < faults.reorder:
                j = min(len(stream) - 1, i + self.rng.randint(1, 5))
                stream[i], stream[j] = stream[j], stream[i]
        # a duplicate that moved before its original is the original's first copy: label by order of arrival
        seen: set[str] = set()
        labelled = []
        for ev, kind in stream:
            eid = ev.get("event_id")
            if kind in ("clean", "duplicate"):
                kind = "duplicate" if eid in seen else "clean"
                seen.add(eid)
            labelled.append((ev, kind))
        batch = int(st.get("batch", 250))
        for i in range(0, len(labelled), batch):
            part = labelled[i:i + batch]
            self._rate([e for e, _ in part], [owner.get(str(e.get("event_id", "")).removesuffix("-bad")
                                                         .removesuffix("-late"), whos[0]) for e, _ in part],
                       name, [k for _, k in part])
            self._progress()
        kinds = Counter(k for _, k in labelled)
        self.storms[name] = dict(kinds)
        self.note(f"Шторм: {len(labelled)} событий — {kinds['clean']} чистых, {kinds['duplicate']} повторов, "
                  f"{kinds['malformed']} битых, {kinds['late']} опоздавших",
                  f"Storm: {len(labelled)} events — {kinds['clean']} clean, {kinds['duplicate']} duplicates, "
                  f"{kinds['malformed']} malformed, {kinds['late']} late")

    def _do_resend(self, st: dict, name: str) -> None:
        """The events of step `step` sent again (a switch replaying after a crash): each must be `duplicate`."""
        earlier = [x for x in self.by_step.get(st["step"], []) if x.kind == "clean"]
        events = [dict(x.event) for x in earlier]
        results = self._rate(events, [x.who for x in earlier], name, ["replay"] * len(events))
        dup = sum(r["status"] == "duplicate" for r in results)
        self.note(f"Повторная отправка {len(events)} событий: {dup} — повторы, ничего не списано",
                  f"Sent {len(events)} events again: {dup} answered as duplicates, nothing charged")

    def _do_connect(self, st: dict, name: str) -> None:
        from mts_portal.core import billing
        from mts_portal.core.catalog import default_catalog
        from mts_portal.core.db import transact

        who, code = st["who"], st["option"]
        msisdn = self.msisdn[who]
        res = transact(self.engine, lambda s: billing.connect_option(
            session=s, line=billing.get_line_for_update(s, msisdn), code=code, now=self.now()))
        p = default_catalog().products[code]
        self.note(f"Подключена «{p.name_ru}»" + (f": списано {_rub(res.charged_kopecks)}" if res.charged_kopecks else ""),
                  f"{p.name_en} connected" + (f": {_rub(res.charged_kopecks, 'en')} charged" if res.charged_kopecks
                                              else ""), who)
        self._touched(who)

    def _do_disconnect(self, st: dict, name: str) -> None:
        from mts_portal.core import billing
        from mts_portal.core.catalog import default_catalog
        from mts_portal.core.db import transact

        who, code = st["who"], st["option"]
        msisdn = self.msisdn[who]
        transact(self.engine, lambda s: billing.disconnect_option(
            session=s, line=billing.get_line_for_update(s, msisdn), code=code, now=self.now()))
        p = default_catalog().products[code]
        self.note(f"Отключена «{p.name_ru}»", f"{p.name_en} disconnected", who)
        self._touched(who)

    def _do_topup(self, st: dict, name: str) -> None:
        """A payment from the gateway: `who`, `rub`."""
        from mts_portal.core import billing
        from mts_portal.core.db import transact

        who = st["who"]
        amount = int(round(float(st["rub"]) * 100))
        self._seq += 1
        transact(self.engine, lambda s: billing.top_up(session=s, msisdn=self.msisdn[who], amount_kopecks=amount,
                                                       key=f"{self.tag}-topup-{self._seq}", now=self.now()))
        self.note(f"Пополнение на {_rub(amount)}", f"Top-up of {_rub(amount, 'en')}", who)
        self._touched(who)

    def _do_promise(self, st: dict, name: str) -> None:
        """«Обещанный платёж» of `rub`, taken by the subscriber as in the cabinet."""
        from mts_portal.core import payments
        from mts_portal.core.db import transact

        who = st["who"]
        amount = int(round(float(st["rub"]) * 100))
        transact(self.engine, lambda s: payments.take_promise(s, self._info(s, who), self.msisdn[who], amount,
                                                              self.now()))
        self.note(f"Обещанный платёж {_rub(amount)} на {payments.PROMISE_DAYS} дня",
                  f"Promised payment of {_rub(amount, 'en')} for {payments.PROMISE_DAYS} days", who)
        self._touched(who)

    def _do_autopay(self, st: dict, name: str) -> None:
        """A card saved and a threshold autopay: `threshold_rub`, `rub` (the subscriber, as in the cabinet)."""
        from mts_portal.core import payments
        from mts_portal.core.db import transact

        who = st["who"]
        threshold, amount = int(round(float(st["threshold_rub"]) * 100)), int(round(float(st["rub"]) * 100))

        def fn(s: Session):
            info = self._info(s, who)
            card = payments.add_card(s, info, payments.parse_card(*TEST_CARD, self.now()), self.now())
            return payments.save_autopay(s, info, self.msisdn[who], "threshold", card.id, amount, self.now(),
                                         threshold_kopecks=threshold)

        transact(self.engine, fn)
        self.note(f"Автоплатёж: {_rub(amount)}, когда на счёте меньше {_rub(threshold)}",
                  f"Autopay: {_rub(amount, 'en')} when the balance is below {_rub(threshold, 'en')}", who)

    def _do_invite(self, st: dict, name: str) -> None:
        """The «МЫ МТС» `owner` invites `member` (who then shares the pool until a `quota` step)."""
        from mts_portal.core import family
        from mts_portal.core.db import transact

        owner, member = st["owner"], st["member"]
        transact(self.engine, lambda s: family.invite(s, self._info(s, owner), self.msisdn[owner],
                                                      self.msisdn[member], self.now()))
        self.note("Приглашение в «МЫ МТС» отправлено", "Invitation to the family group sent", owner, peer=member)
        self._touched(owner, member)

    def _do_quota(self, st: dict, name: str) -> None:
        """The owner gives a member of the group quotas: `minutes`, `sms`, `gb` (as on the family page)."""
        from mts_portal.core import family
        from mts_portal.core.db import transact

        owner, member = st["owner"], st["member"]

        def fn(s: Session):
            found = family.active_membership(s, self.line_id[member])
            if found is None:
                raise ScenarioError(f"step {self.step_no}: {member} is not in a group")
            return family.set_quotas(s, self._info(s, owner), self.msisdn[owner], found[0].id, st.get("minutes"),
                                     st.get("sms"), st.get("gb"), self.now())

        transact(self.engine, fn)
        self.note(f"Квоты участнику: {st.get('minutes', '—')} мин, {st.get('sms', '—')} SMS, {st.get('gb', '—')} ГБ",
                  f"Member quotas: {st.get('minutes', '—')} min, {st.get('sms', '—')} SMS, {st.get('gb', '—')} GB",
                  owner, peer=member)
        self._touched(owner, member)

    def _do_reply(self, st: dict, name: str) -> None:
        """The subscriber answers the service number by SMS (`text`, e.g. «Да»)."""
        from mts_portal.core import family
        from mts_portal.core.db import transact

        who = st["who"]
        answer = transact(self.engine, lambda s: family.sms_reply(s, self.msisdn[who], st.get("text", "Да"),
                                                                  self.now()))
        self.note(f"Ответ «{st.get('text', 'Да')}» по SMS: {answer}", f"Replied «{st.get('text', 'Да')}» by SMS",
                  who)
        self._touched(*self.line_id)

    def _do_clock(self, st: dict, name: str) -> None:
        """Move the clock forward: `advance` (1d, 2h) or `to` = next_midnight | period_end, `minus` before
        it; then run what fell due (jobs.run_due) and say what it was."""
        from mts_portal.core.clock import moscow_date, moscow_midnight, period_of

        now = self.now()
        if "advance" in st:
            target = now + timedelta(seconds=parse_duration(st["advance"]))
        elif st.get("to") == "next_midnight":
            target = moscow_midnight(moscow_date(now) + timedelta(days=1))
        elif st.get("to") == "period_end":
            target = period_of(now).end
        else:
            raise ScenarioError(f"step {self.step_no}: clock needs `advance` or `to` = next_midnight | period_end")
        target -= timedelta(seconds=parse_duration(st.get("minus", "0s")) if st.get("minus") else 0)
        target += timedelta(seconds=parse_duration(st.get("plus", "0s")) if st.get("plus") else 0)
        if target > now:
            self._set_clock(target)
            self.jumped += target - now
        report = self._jobs()
        from mts_portal.core.clock import fmt_datetime

        self.note(f"Часы переведены на {fmt_datetime(target)} (МСК). {self._job_words(report, 'ru')}",
                  f"Clock moved to {fmt_datetime(target)} (Moscow). {self._job_words(report, 'en')}",
                  jobs=report.to_json())

    def _jobs(self):
        from mts_portal.core import jobs

        report = jobs.run_due(self.engine, self.now())
        if self.publish and report.changed_line_ids:
            self.publish(report.changed_line_ids)
        return report

    @staticmethod
    def _job_words(report, lang: str) -> str:
        j = report.to_json()
        if lang == "ru":
            return (f"Начало периода: {j['rollovers']}, суточных плат: {j['content_fees']}, автоплатежей: "
                    f"{j['autopay_runs']}, истёкших обещанных платежей: {j['promised_expired']}.")
        return (f"Period starts: {j['rollovers']}, daily fees: {j['content_fees']}, autopays: {j['autopay_runs']}, "
                f"promised payments expired: {j['promised_expired']}.")

    def _do_jobs(self, st: dict, name: str) -> None:
        """Run what is due now (the scheduler's work: autopay, daily fees …)."""
        report = self._jobs()
        self.note(f"Планировщик: {self._job_words(report, 'ru')}", f"Scheduler: {self._job_words(report, 'en')}",
                  jobs=report.to_json())

    def _do_traffic(self, st: dict, name: str) -> None:
        """Live runs in a demo portal: the demo traffic × `factor` (restore = true puts it back). Fast runs
        have no demo traffic: the step only notes it."""
        from mts_portal.core import console
        from mts_portal.core.db import read, transact

        if not (self.live and self.demo_traffic):
            self.note("Фонового демо-трафика в этом прогоне нет", "No background demo traffic in this run")
            return
        if st.get("restore"):
            self._restore_traffic()
            self.note("Демо-трафик вернулся к обычному", "Demo traffic back to normal")
            return
        current = read(self.engine, console.traffic)
        if self._saved_traffic is None:
            self._saved_traffic = current.rate_per_s
        rate = min(console.MAX_RATE, max(current.rate_per_s, 1.0) * float(st.get("factor", 10)))
        transact(self.engine, lambda s: console.set_traffic(session=s, operator_session_id=None, now=self.now(),
                                                            rate_per_s=rate))
        self.note(f"Демо-трафик ×{st.get('factor', 10)}: {rate:g} событий/с",
                  f"Demo traffic ×{st.get('factor', 10)}: {rate:g} events/s")

    def _restore_traffic(self) -> None:
        if self._saved_traffic is None:
            return
        from mts_portal.core import console
        from mts_portal.core.db import transact

        saved, self._saved_traffic = self._saved_traffic, None
        try:
            transact(self.engine, lambda s: console.set_traffic(session=s, operator_session_id=None, now=self.now(),
                                                                rate_per_s=saved))
        except Exception:
            log.exception("could not restore the demo traffic rate")

    # ---------------------------------------------------------------- checks

    def _check_all(self, s: Session) -> list[Outcome]:
        out = []
        for ex in self.sc.expect:
            try:
                out.append(getattr(self, f"_check_{ex['check']}")(s, ex))
            except ScenarioError:
                raise
            except Exception as exc:
                out.append(Outcome(ex["check"], False, f"Проверка не выполнена: {exc}", f"Check failed: {exc}"))
        return out

    def _names(self, who: str | None) -> dict[str, int]:
        names = {f"start_{w}": v for w, v in self.start.items()}
        if who:
            names["start"] = self.start[who]
            names["charged"] = sum(x.result["charged_kopecks"] for x in self.sent if x.who == who)
        return names

    def _line(self, s: Session, who: str):
        from mts_portal.core.models import Line

        return s.get(Line, self.line_id[who], populate_existing=True)

    def _check_balance(self, s: Session, ex: dict) -> Outcome:
        """`who`'s balance equals `equals` (kopecks: names start, charged, start_<id>)."""
        who = ex["who"]
        want = evaluate(ex["equals"], self._names(who))
        got = self._line(s, who).balance_kopecks
        return Outcome("balance", got == want, f"Баланс {who}: {_rub(got)} (ожидалось {_rub(want)})",
                       f"Balance of {who}: {_rub(got, 'en')} (expected {_rub(want, 'en')})", str(want), str(got))

    def _check_status(self, s: Session, ex: dict) -> Outcome:
        who = ex["who"]
        got = self._line(s, who).status
        return Outcome("status", got == ex["equals"], f"Статус {who}: {got} (ожидалось {ex['equals']})",
                       f"Status of {who}: {got} (expected {ex['equals']})", ex["equals"], got)

    def _check_event(self, s: Session, ex: dict) -> Outcome:
        """One answered event of step `step` (`index`, default the last): `status`, `charged` (kopecks),
        `from_bundle` (true: drawn from a bundle)."""
        items = [x for x in self.by_step.get(ex["step"], []) if x.kind in ("clean", "replay")]
        if not items:
            return Outcome("event", False, f"Шаг {ex['step']}: событий нет", f"Step {ex['step']}: no events")
        x = items[int(ex.get("index", -1))]
        res = x.result
        problems = []
        if "status" in ex and res["status"] != ex["status"]:
            problems.append(f"status {res['status']} ≠ {ex['status']}")
        if "charged" in ex and res["charged_kopecks"] != evaluate(ex["charged"], self._names(x.who)):
            problems.append(f"charged {res['charged_kopecks']} ≠ {evaluate(ex['charged'], self._names(x.who))}")
        if "from_bundle" in ex and bool(res.get("drawn")) != bool(ex["from_bundle"]):
            problems.append(f"from a bundle: {bool(res.get('drawn'))}")
        text = self._describe(x.event, res, "ru")
        return Outcome("event", not problems, f"{ex.get('ru', 'Событие')}: {text}",
                       f"{ex.get('en', 'Event')}: {self._describe(x.event, res, 'en')}",
                       json.dumps({k: ex[k] for k in ("status", "charged", "from_bundle") if k in ex}),
                       "; ".join(problems) or "ok")

    def _check_statuses(self, s: Session, ex: dict) -> Outcome:
        """The answers of step `step` by status: each given status (rated, blocked, duplicate, rejected)
        occurred that many times (an integer) or at least once (true)."""
        got = Counter(x.result["status"] for x in self.by_step.get(ex["step"], []))
        problems = []
        for status in ("rated", "blocked", "duplicate", "rejected"):
            if status in ex:
                want = ex[status]
                if (want is True and got[status] < 1) or (want is not True and got[status] != int(want)):
                    problems.append(f"{status}: {got[status]} (expected {want})")
        summary = ", ".join(f"{k} {v}" for k, v in sorted(got.items()))
        return Outcome("statuses", not problems, f"{ex.get('ru', 'Ответы шага ' + ex['step'])}: {summary}",
                       f"{ex.get('en', 'Answers of step ' + ex['step'])}: {summary}", "", "; ".join(problems) or "ok")

    def _check_notification(self, s: Session, ex: dict) -> Outcome:
        """`who` got a notice whose text contains `contains` (Russian): `exactly` N or `at_least` N (1)."""
        from mts_portal.core.models import Notification

        who = ex["who"]
        n = s.exec(select(func.count()).select_from(Notification).where(
            Notification.line_id == self.line_id[who], Notification.text_ru.contains(ex["contains"]))).scalar_one()
        ok = n == int(ex["exactly"]) if "exactly" in ex else n >= int(ex.get("at_least", 1))
        want = f"= {ex['exactly']}" if "exactly" in ex else f"≥ {ex.get('at_least', 1)}"
        return Outcome("notification", ok, f"Уведомления {who} «{ex['contains']}»: {n} ({want})",
                       f"Notices to {who} with «{ex['contains']}»: {n} ({want})", want, str(n))

    def _check_daily_fees(self, s: Session, ex: dict) -> Outcome:
        """`who` paid the daily fee of option `code` on `count` days, `sum` kopecks in all (optional)."""
        from mts_portal.core.models import DailyFeeCharge

        who = ex["who"]
        rows = s.exec(select(DailyFeeCharge.amount_kopecks).where(DailyFeeCharge.line_id == self.line_id[who],
                                                                  DailyFeeCharge.code == ex["code"])).scalars().all()
        n, total = len(rows), sum(rows)
        ok = n == int(ex["count"]) and ("sum" not in ex or total == evaluate(ex["sum"], self._names(who)))
        return Outcome("daily_fees", ok, f"Суточная плата «{ex['code']}» у {who}: {n} раз, {_rub(total)}",
                       f"Daily fee of {ex['code']} for {who}: {n} times, {_rub(total, 'en')}",
                       f"{ex['count']}", f"{n}")

    def _check_ledger(self, s: Session, ex: dict) -> Outcome:
        """`who`'s ledger rows of `kind` (fee, usage, topup …): `count` rows and/or `sum` (kopecks, signed)."""
        from mts_portal.core.models import LedgerEntry

        who = ex["who"]
        q = select(LedgerEntry.amount_kopecks).where(LedgerEntry.line_id == self.line_id[who],
                                                    LedgerEntry.kind == ex["kind"])
        if "cause_like" in ex:  # {period}: the billing period the clock is in now ('2026-12')
            from mts_portal.core.clock import period_of

            q = q.where(LedgerEntry.cause_ref.like(ex["cause_like"].replace("{period}", period_of(self.now()).label())))
        rows = s.exec(q).scalars().all()
        ok = ("count" not in ex or len(rows) == int(ex["count"])) and \
             ("sum" not in ex or sum(rows) == evaluate(ex["sum"], self._names(who)))
        return Outcome("ledger", ok, f"{ex.get('ru', 'Проводки ' + ex['kind'])} у {who}: {len(rows)}, {_rub(sum(rows))}",
                       f"{ex.get('en', 'Ledger rows ' + ex['kind'])} of {who}: {len(rows)}, {_rub(sum(rows), 'en')}",
                       json.dumps({k: ex[k] for k in ("count", "sum") if k in ex}), f"{len(rows)}, {sum(rows)}")

    def _kind_totals(self, who: str, kind: str) -> dict[str, int]:
        from mts_portal.core import billing, family
        from mts_portal.core.db import read
        from mts_portal.core.models import Line

        def fn(s):
            line = s.get(Line, self.line_id[who])
            own = billing.current_buckets(s, line, self.now())
            views = [v for v in own if v.kind == kind]
            views += [v for v in family.pool_views_for_member(session=s, line=line, now=self.now(), own=[])
                      if v.kind == kind]
            return {"total": sum(v.total for v in views), "used": sum(v.used for v in views),
                    "remaining": sum(v.remaining for v in views)}

        return read(self.engine, fn)

    def _check_bucket(self, s: Session, ex: dict) -> Outcome:
        """`who`'s bundles of `kind` (voice, sms, data; family pool and the owner's add-ons included):
        `remaining` / `used` / `total` compared with `op` (eq, gt, ge, lt, le) to `value`."""
        who, kind, fld = ex["who"], ex["kind"], ex.get("field", "remaining")
        got = self._kind_totals(who, kind)[fld]
        want = evaluate(ex.get("value", 0), self._names(who))
        op = ex.get("op", "eq")
        ok = {"eq": got == want, "gt": got > want, "ge": got >= want, "lt": got < want, "le": got <= want}[op]
        sign = {"eq": "=", "gt": ">", "ge": "≥", "lt": "<", "le": "≤"}[op]
        unit = {"voice": ("мин", "min"), "sms": ("SMS", "SMS"), "data": ("КБ", "KB")}[kind]
        return Outcome("bucket", ok, f"{ex.get('ru', 'Пакет ' + kind)} у {who}: {got} {unit[0]} ({sign} {want})",
                       f"{ex.get('en', 'Bundle ' + kind)} of {who}: {got} {unit[1]} ({sign} {want})",
                       f"{sign} {want}", str(got))

    def _check_storm(self, s: Session, ex: dict) -> Outcome:
        """Step `step` (a storm): each duplicate answered `duplicate` with nothing charged, each malformed
        and late event `rejected` with a reason, each clean event rated or blocked exactly once."""
        items = self.by_step.get(ex["step"], [])
        bad = []
        for x in items:
            st, charged = x.result["status"], x.result["charged_kopecks"]
            if x.kind == "duplicate" and (st != "duplicate" or charged):
                bad.append(f"duplicate {x.event.get('event_id')} → {st}")
            elif x.kind in ("malformed", "late") and (st != "rejected" or not x.result.get("reason")):
                bad.append(f"{x.kind} {x.event.get('event_id')} → {st}")
            elif x.kind == "clean" and st not in ("rated", "blocked"):
                bad.append(f"clean {x.event.get('event_id')} → {st}")
        kinds = Counter(x.kind for x in items)
        return Outcome("storm", not bad,
                       f"Шторм: {kinds['duplicate']} повторов — все «duplicate», {kinds['malformed'] + kinds['late']} "
                       f"битых и опоздавших — все «rejected» с причиной, {kinds['clean']} чистых — по одному разу",
                       f"Storm: {kinds['duplicate']} duplicates all answered duplicate, "
                       f"{kinds['malformed'] + kinds['late']} malformed and late all rejected with a reason, "
                       f"{kinds['clean']} clean events rated once each", "0 wrong answers", "; ".join(bad[:5]) or "0")

    def _check_nothing_lost(self, s: Session, ex: dict) -> Outcome:
        """Every clean event sent (of step `step`, or of the whole run) is in the store exactly once, with
        the status and kopecks it was answered with."""
        from mts_portal.core.models import UsageRecord

        items = [x for x in (self.by_step.get(ex["step"], []) if "step" in ex else self.sent) if x.kind == "clean"]
        ids = [x.event["event_id"] for x in items]
        stored: dict[str, tuple[str, int]] = {}
        for i in range(0, len(ids), 900):
            for eid, st, ch in s.exec(select(UsageRecord.event_id, UsageRecord.status, UsageRecord.charged_kopecks)
                                      .where(UsageRecord.event_id.in_(ids[i:i + 900]))).all():
                stored[eid] = (st, ch)
        wrong = [x.event["event_id"] for x in items
                 if stored.get(x.event["event_id"]) != (x.result["status"], x.result["charged_kopecks"])]
        return Outcome("nothing_lost", not wrong,
                       f"Ничего не потеряно: {len(stored)} из {len(items)} событий в хранилище, как на них ответили",
                       f"Nothing lost: {len(stored)} of {len(items)} events stored as they were answered",
                       str(len(items)), f"{len(stored)} stored, {len(wrong)} differ")

    def _check_money_adds_up(self, s: Session, ex: dict) -> Outcome:
        """For every subscriber (or `who`): balance = start + payments since − everything charged since (the
        ledger), and what the answers said was charged for events equals the usage rows of the ledger."""
        from mts_portal.core.models import LedgerEntry

        bad = []
        for who in self._whos(ex.get("who", "all")):
            line = self._line(s, who)
            answered = sum(x.result["charged_kopecks"] for x in self.sent if x.who == who)
            usage = -sum(s.exec(select(LedgerEntry.amount_kopecks).where(
                LedgerEntry.line_id == line.id, LedgerEntry.cause_type == "event")).scalars().all())
            if answered != usage:
                bad.append(f"{who}: answered {answered} ≠ ledger {usage}")
        return Outcome("money_adds_up", not bad, "Списания по событиям сходятся с ответами до копейки",
                       "What the answers said was charged equals the ledger, to the kopeck", "0", "; ".join(bad) or "0")

    def _check_invariants(self, s: Session, ex: dict) -> Outcome:
        from mts_portal.core.billing import check_invariants

        problems = check_invariants(session=s, line_ids=sorted(self.line_id.values()))
        return Outcome("invariants", not problems, "Инварианты (DESIGN §5) выполняются для всех абонентов сценария",
                       "DESIGN §5 invariants hold for every subscriber of the scenario", "0",
                       "; ".join(problems[:3]) or "0")


# ---------------------------------------------------------------- runs kept in the store (control room, API)


def start_row(engine, sc: Scenario, mode: str, now: datetime) -> int:
    from mts_portal.core.db import transact
    from mts_portal.core.models import ScenarioRun

    def fn(s: Session) -> int:
        row = ScenarioRun(name=sc.name, status="running", mode=mode, started_at=now, steps=len(sc.steps),
                          heartbeat_at=now)
        s.add(row)
        s.flush()
        return row.id

    return transact(engine, fn, what="scenario run")


def save_row(engine, run: Run, report: Report | None = None) -> None:
    from datetime import UTC

    from mts_portal.core.db import transact
    from mts_portal.core.models import ScenarioRun

    def fn(s: Session) -> None:
        row = s.get(ScenarioRun, run.run_row)
        if row is None:
            return
        row.progress = run.step_no
        row.timeline = json.dumps(run.timeline[-400:], ensure_ascii=False)
        row.subscribers = json.dumps(run.msisdn)
        row.heartbeat_at = datetime.now(UTC)
        if report is not None:
            row.status = report.status
            row.outcomes = json.dumps([o.to_json() for o in report.outcomes], ensure_ascii=False)
            row.error = report.error
            row.ended_at = run.now()
        s.add(row)

    transact(engine, fn, what="scenario progress")


_RUNNING: dict[int, Run] = {}  # run id -> the run in this process (the control room can stop it at once)


def start_in_background(engine, clock, name: str, *, speed: float, publish=None, demo_traffic: bool = False) -> int:
    """Start a live run in a thread of this process; its progress is kept in scenario_runs. Returns its id."""
    sc = load(name)
    row = start_row(engine, sc, "live" if speed > 0 else "fast", clock.now())
    last = [0.0]

    def progress(r: Run) -> None:
        if time.monotonic() - last[0] >= 0.5:
            last[0] = time.monotonic()
            save_row(engine, r)

    run = Run(sc, engine, clock, speed=speed, publish=publish, run_row=row, on_progress=progress,
              demo_traffic=demo_traffic)
    _RUNNING[row] = run

    def work() -> None:
        try:
            report = run.run()
            save_row(engine, run, report)
        finally:
            _RUNNING.pop(row, None)

    threading.Thread(target=work, name=f"scenario-{row}", daemon=True).start()
    return row


def request_stop(engine, run_id: int) -> bool:
    from mts_portal.core.db import transact
    from mts_portal.core.models import ScenarioRun

    local = _RUNNING.get(run_id)
    if local is not None:
        local.stop_event.set()

    def fn(s: Session) -> bool:
        row = s.get(ScenarioRun, run_id)
        if row is None or row.status != "running":
            return False
        row.stop_requested = True
        s.add(row)
        return True

    return transact(engine, fn)


STALE = timedelta(seconds=30)


def run_view(row, now_wall: datetime) -> dict:
    """A stored run as plain data (the room, the API, the CLI following a run over HTTP)."""
    status = row.status
    if status == "running" and row.heartbeat_at is not None and now_wall - row.heartbeat_at > STALE:
        status = "interrupted"  # its process went away mid-run
    return {"id": row.id, "name": row.name, "status": status, "mode": row.mode, "progress": row.progress,
            "steps": row.steps, "started_at": row.started_at.isoformat(),
            "ended_at": row.ended_at.isoformat() if row.ended_at else None,
            "timeline": json.loads(row.timeline or "[]"), "outcomes": json.loads(row.outcomes or "[]"),
            "subscribers": json.loads(row.subscribers or "{}"), "error": row.error}
