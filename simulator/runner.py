"""Running traffic against the portal: in-process or over HTTP, live or fast-forward,
with fault injection for QA, a JSONL record of the stream, and a summary.

The JSONL stream has one event per line, plus `{"clock": ISO}` lines that say
what time it was when the following events were sent; replaying the file sends
the same batches at the same clock, so it rates the same way.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm import tqdm

from mts_portal.core.clock import as_utc, moscow_date

log = logging.getLogger("simulator.run")

TOPUP_RUB = {"student": 300, "business": 1500, "parent": 1000, "teenager": 200, "light": 300}


# ---------------------------------------------------------------- senders


class Sender(Protocol):
    def send(self, events: list[dict], now: datetime) -> list[dict]: ...
    def topup(self, msisdn: str, amount_kopecks: int, key: str, now: datetime) -> bool: ...
    def advance(self, now: datetime) -> None: ...


class InProcessSender:
    """Rates through the core in this process (the store is MTS_DB_URL or --db)."""

    def __init__(self, engine, publish=None, move_store_clock: bool = False):
        self.engine = engine
        self.publish = publish
        self.move_store_clock = move_store_clock

    def send(self, events, now):
        from mts_portal.core import charging

        return [r.to_json() for r in charging.ingest(self.engine, events, now=now, on_committed=self.publish)]

    def topup(self, msisdn, amount_kopecks, key, now):
        from mts_portal.core import billing
        from mts_portal.core.db import transact
        from mts_portal.core.errors import DomainError

        try:
            transact(self.engine, lambda s: billing.top_up(session=s, msisdn=msisdn, amount_kopecks=amount_kopecks,
                                                           key=key, now=now, description="Пополнение (симулятор)"))
            return True
        except DomainError:
            return False

    def advance(self, now):
        from mts_portal.core import jobs

        if self.move_store_clock:
            _save_store_clock(self.engine, now)
        report = jobs.run_due(self.engine, now)
        if self.publish and report.changed_line_ids:
            self.publish(report.changed_line_ids)


def _save_store_clock(engine, now: datetime) -> None:
    """Keep a demo portal's simulated clock in step with a fast-forward run (never backwards)."""
    import time as _time

    from mts_portal.core.clock import ClockSetting
    from mts_portal.core.db import transact
    from mts_portal.core.models import SimClockRow

    goal = as_utc(now).timestamp()

    def fn(s):
        row = s.get(SimClockRow, 1) or SimClockRow(id=1, offset_seconds=0.0)
        stored = ClockSetting(row.offset_seconds, row.speed, row.anchor_wall, row.session_offset)
        wall = _time.time()
        if stored.at(wall) < goal:
            new = stored.moved_to(goal, wall)
            row.offset_seconds, row.anchor_wall = new.offset, new.anchor_wall
        s.add(row)

    transact(engine, fn)


class HttpSender:
    """Sends to a running portal (or a UI-less API node) with the operator token."""

    def __init__(self, url: str, token: str, timeout: float = 60.0):
        import httpx

        self.client = httpx.Client(base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"},
                                   timeout=timeout)
        self.clock_ok = True

    def send(self, events, now):
        r = self.client.post("/api/v1/events", json={"events": events})
        r.raise_for_status()
        return r.json()["results"]

    def topup(self, msisdn, amount_kopecks, key, now):
        r = self.client.post(f"/api/v1/lines/{msisdn}/topups",
                             json={"amount_kopecks": amount_kopecks, "idempotency_key": key})
        return r.status_code == 200

    def advance(self, now):
        if not self.clock_ok:
            return
        r = self.client.post("/api/v1/clock", json={"now": as_utc(now).isoformat()})
        if r.status_code == 403:
            self.clock_ok = False
            log.warning("the portal's clock is real: fast-forward events will be judged against it")
        elif r.status_code == 422:
            pass  # the portal is already later than this
        else:
            r.raise_for_status()

    def now(self) -> datetime:
        return datetime.fromisoformat(self.client.get("/api/v1/health").json()["now"])


# ---------------------------------------------------------------- faults


@dataclass
class Faults:
    duplicates: float = 0.0
    reorder: float = 0.0
    malformed: float = 0.0
    late: float = 0.0

    def any(self) -> bool:
        return any((self.duplicates, self.reorder, self.malformed, self.late))


MALFORMATIONS = (
    lambda e: e.update(msisdn="12345"),
    lambda e: e.update(kind="fax"),
    lambda e: e.update(started_at="yesterday"),
    lambda e: e.update(zone="Mars"),
    lambda e: e.pop("zone"),
    lambda e: e.update(duration_s=-5) if e.get("kind") == "voice" else e.update(bytes="lots"),
    lambda e: e.update(event_id=""),
)


def inject(events: list[dict], faults: Faults, rng: random.Random, history: list[dict]) -> list[dict]:
    """Duplicates (re-sent earlier events), reordering, malformed and late events, in place of a clean stream."""
    if not faults.any():
        history.extend(events[-50:])
        del history[:-500]
        return events
    out: list[dict] = []
    for ev in events:
        r = rng.random()
        if r < faults.malformed:
            bad = dict(ev)
            bad["event_id"] = ev["event_id"] + "-bad"
            rng.choice(MALFORMATIONS)(bad)
            out.append(bad)
        elif r < faults.malformed + faults.late:
            late = dict(ev)
            late["event_id"] = ev["event_id"] + "-late"
            late["started_at"] = (datetime.fromisoformat(ev["started_at"]) - timedelta(days=8)).isoformat()
            out.append(late)
        out.append(ev)
        if history and rng.random() < faults.duplicates:
            out.append(dict(rng.choice(history)))
    if faults.reorder:
        for i in range(len(out) - 1):
            if rng.random() < faults.reorder:
                j = min(len(out) - 1, i + rng.randint(1, 5))
                out[i], out[j] = out[j], out[i]
    history.extend(events[-50:])
    del history[:-500]
    return out


# ---------------------------------------------------------------- stats


@dataclass
class Stats:
    generated: int = 0
    sent: int = 0
    statuses: Counter = field(default_factory=Counter)
    charged_kopecks: int = 0
    topups: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def record(self, results: list[dict], latency_ms: float) -> None:
        self.sent += len(results)
        self.latencies_ms.append(latency_ms)
        for r in results:
            self.statuses[r["status"]] += 1
            self.charged_kopecks += r.get("charged_kopecks") or 0

    def summary(self) -> dict:
        secs = max(time.perf_counter() - self.started, 1e-9)
        lat = np.array(self.latencies_ms) if self.latencies_ms else np.array([0.0])
        return {
            "generated": self.generated, "sent": self.sent, "rated": self.statuses["rated"],
            "duplicate": self.statuses["duplicate"], "rejected": self.statuses["rejected"],
            "blocked": self.statuses["blocked"], "topups": self.topups, "charged_kopecks": self.charged_kopecks,
            "seconds": round(secs, 2), "events_per_s": round(self.sent / secs, 1),
            "batch_latency_ms_p50": round(float(np.percentile(lat, 50)), 2),
            "batch_latency_ms_p95": round(float(np.percentile(lat, 95)), 2),
        }


# ---------------------------------------------------------------- the run


class Runner:
    def __init__(self, sender: Sender, *, batch: int = 500, faults: Faults | None = None, seed: int = 42,
                 out: Path | None = None, personas: dict[str, str] | None = None, topups: bool = True,
                 progress: bool = True):
        self.sender = sender
        self.batch = max(1, min(batch, 1000))
        self.faults = faults or Faults()
        self.rng = random.Random(seed)
        self.history: list[dict] = []
        self.stats = Stats()
        self.out = open(out, "w") if out else None
        self.personas = personas or {}
        self.topups_on = topups
        self.pending_topups: dict[str, int] = {}
        self.topped_today: set[tuple[str, object]] = set()
        self.progress = progress

    def close(self) -> None:
        if self.out:
            self.out.close()

    def _send(self, events: list[dict], now: datetime) -> None:
        if self.out:
            self.out.write(json.dumps({"clock": as_utc(now).isoformat()}) + "\n")
            for e in events:
                self.out.write(json.dumps(e, ensure_ascii=False) + "\n")
        for i in range(0, len(events), self.batch):
            chunk = events[i:i + self.batch]
            t0 = time.perf_counter()
            results = self.sender.send(chunk, now)
            self.stats.record(results, (time.perf_counter() - t0) * 1000)
            if self.topups_on:
                self._note_blocked(chunk, results)

    def _note_blocked(self, chunk: list[dict], results: list[dict]) -> None:
        for ev, res in zip(chunk, results, strict=False):
            if res["status"] == "blocked" and "line is lost" not in (res.get("reason") or "") \
                    and "line is blocked" not in (res.get("reason") or ""):
                msisdn = ev.get("msisdn")
                if msisdn and msisdn not in self.pending_topups and self.rng.random() < 0.7:
                    rub = TOPUP_RUB.get(self.personas.get(msisdn, "light"), 300)
                    self.pending_topups[msisdn] = rub * 100 * self.rng.choice((1, 1, 2))

    def _do_topups(self, now: datetime) -> None:
        day = moscow_date(now)
        for msisdn, amount in list(self.pending_topups.items()):
            if (msisdn, day) in self.topped_today:
                continue
            key = f"sim-{msisdn}-{as_utc(now).strftime('%Y%m%d%H%M%S')}"
            if self.sender.topup(msisdn, amount, key, now):
                self.stats.topups += 1
            self.topped_today.add((msisdn, day))
            del self.pending_topups[msisdn]

    def fast_forward(self, gen, start: datetime, days: float) -> dict:
        end = as_utc(start) + timedelta(days=days)
        hours = int((end - as_utc(start)).total_seconds() // 3600) + 1
        bar = tqdm(total=hours, unit="h", desc="simulating", disable=not self.progress)
        last_day = None
        for _, stop, events in gen.hours(start, end):
            day = moscow_date(stop)
            self.sender.advance(stop)  # clock to the end of this hour: rollovers, daily jobs
            if day != last_day:
                self.topped_today = {k for k in self.topped_today if k[1] == day}
                last_day = day
            self.stats.generated += len(events)
            self._send(inject(events, self.faults, self.rng, self.history), stop)
            self._do_topups(stop)
            bar.update(1)
            bar.set_postfix(events=self.stats.sent, refresh=False)
        bar.close()
        return self.stats.summary()

    def live(self, gen, rate: float, duration_s: float | None, now_fn) -> dict:
        """Wall-clock traffic at about `rate` events/s until `duration_s` passes (or forever)."""
        from simulator.traffic import expected_events_per_second

        t_end = time.monotonic() + duration_s if duration_s else None
        bar = tqdm(total=int(duration_s) if duration_s else None, unit="s", desc="live", disable=not self.progress)
        while t_end is None or time.monotonic() < t_end:
            tick = time.monotonic()
            now = now_fn()
            base = expected_events_per_second(gen.pop, now)
            gen.scale = rate / base if base > 0 else 1.0
            second = now.replace(microsecond=0)
            events = gen.window(second, 1)
            self.stats.generated += len(events)
            if events:
                self._send(inject(events, self.faults, self.rng, self.history), now)
            self._do_topups(now)
            bar.update(1)
            bar.set_postfix(events=self.stats.sent, refresh=False)
            time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        bar.close()
        return self.stats.summary()

    def replay(self, path: Path) -> dict:
        now = None
        pending: list[dict] = []
        with open(path) as f:
            for raw in tqdm(f, unit="line", desc="replaying", disable=not self.progress):
                rec = json.loads(raw)
                if isinstance(rec, dict) and set(rec) == {"clock"}:
                    if pending:
                        self._replay_send(pending, now)
                        pending = []
                    now = datetime.fromisoformat(rec["clock"])
                    self.sender.advance(now)
                else:
                    pending.append(rec)
        if pending:
            self._replay_send(pending, now or datetime.now().astimezone())
        return self.stats.summary()

    def _replay_send(self, events: list[dict], now: datetime) -> None:
        self.stats.generated += len(events)
        for i in range(0, len(events), self.batch):
            chunk = events[i:i + self.batch]
            t0 = time.perf_counter()
            results = self.sender.send(chunk, now)
            self.stats.record(results, (time.perf_counter() - t0) * 1000)
