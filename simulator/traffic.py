"""The traffic generator: usage events for a population, reproducible by seed.

Per persona: Poisson arrivals per line and kind, shaped by a daily curve
(Moscow time), lognormal call durations, heavy-tailed (lognormal σ=1.6) data
sessions, SMS, and roaming trips (days in another region or country, with the
right zone). Generation is vectorised with numpy per time window; only the final
event dicts are built in Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from mts_portal.core.catalog import POPULAR_COUNTRIES
from mts_portal.core.clock import MSK, as_utc

KINDS = ("voice_out", "voice_in", "sms_out", "sms_in", "data")
# events per day per line: voice out, voice in, sms out, sms in, data sessions
PERSONA_RATES = {
    "student": (4.0, 3.0, 3.0, 4.0, 30.0),
    "business": (14.0, 12.0, 2.0, 3.0, 15.0),
    "parent": (6.0, 5.0, 2.0, 2.0, 10.0),
    "teenager": (2.0, 3.0, 10.0, 10.0, 40.0),
    "light": (1.0, 1.0, 0.7, 1.0, 3.0),
}
# median call seconds and data-session KB per persona
PERSONA_CALL_MEDIAN_S = {"student": 70, "business": 150, "parent": 100, "teenager": 60, "light": 80}
PERSONA_DATA_MEDIAN_KB = {"student": 2500, "business": 900, "parent": 1200, "teenager": 3500, "light": 400}
# probability per day that a trip starts, and the share of trips abroad
PERSONA_TRIPS = {"student": (0.01, 0.3), "business": (0.06, 0.5), "parent": (0.015, 0.4), "teenager": (0.005, 0.2),
                 "light": (0.005, 0.3)}
# Moscow hour weights: quiet nights, busy mornings and evenings (mean 1.0)
_CURVE = np.array([0.15, 0.08, 0.05, 0.04, 0.05, 0.1, 0.35, 0.8, 1.2, 1.4, 1.45, 1.4,
                   1.35, 1.4, 1.35, 1.3, 1.35, 1.45, 1.6, 1.7, 1.65, 1.4, 0.9, 0.45])
DAILY_CURVE = _CURVE / _CURVE.mean()
OTHER_COUNTRIES = ("US", "GB", "JP", "KR", "MX", "BR", "CA", "AU", "NO", "FI", "PT", "MA", "ZA", "AR", "SG")
POPULAR = tuple(sorted(POPULAR_COUNTRIES))
_MMSS = [f"{m:02d}:{s:02d}" for m in range(60) for s in range(60)]


@dataclass
class Population:
    msisdns: list[str]
    personas: list[str]
    activity: np.ndarray
    family_peers: dict[int, list[int]] = field(default_factory=dict)  # index -> indexes in the same group
    line_ids: list[int] = field(default_factory=list)  # the store's ids, when loaded from it

    def __len__(self) -> int:
        return len(self.msisdns)


SCENARIO_PERSONA = "scenario"  # lines a scenario made for itself: its steps are their only traffic


def load_population(engine, *, include_scenarios: bool = False) -> Population:
    """The population from the store (lines with their simulator profile). Lines that a scenario made
    for itself are left out unless asked for: random traffic would spoil its checked outcomes."""
    from sqlalchemy import select
    from sqlmodel import Session

    from mts_portal.core.models import FamilyGroup, FamilyMember, Line, SimProfile

    with Session(engine) as s:
        rows = s.exec(
            select(Line.id, Line.msisdn, SimProfile.persona, SimProfile.activity)
            .join(SimProfile, SimProfile.line_id == Line.id, isouter=True).order_by(Line.id)
        ).all()
        if not include_scenarios:
            rows = [r for r in rows if r[2] != SCENARIO_PERSONA]
        groups: dict[int, list[int]] = {}
        for gid, owner in s.exec(select(FamilyGroup.id, FamilyGroup.owner_line_id)).all():
            groups.setdefault(gid, []).append(owner)
        for gid, lid in s.exec(select(FamilyMember.group_id, FamilyMember.line_id)
                               .where(FamilyMember.status == "active")).all():
            groups.setdefault(gid, []).append(lid)
    index = {r[0]: i for i, r in enumerate(rows)}
    family: dict[int, list[int]] = {}
    for members in groups.values():
        idx = [index[m] for m in members if m in index]
        for i in idx:
            family[i] = [j for j in idx if j != i]
    return Population(
        msisdns=[r[1] for r in rows],
        personas=[r[2] or "light" for r in rows],
        activity=np.array([r[3] if r[3] is not None else 1.0 for r in rows], dtype=float),
        family_peers=family,
        line_ids=[r[0] for r in rows],
    )


class TrafficGenerator:
    """Makes the events of consecutive time windows for a population."""

    def __init__(self, population: Population, seed: int, run_id: str | None = None, scale: float = 1.0):
        self.pop = population
        self.rng = np.random.default_rng(seed)
        self.run_id = run_id or f"s{seed}"
        self.seq = 0
        self.scale = scale
        n = len(population)
        personas = population.personas
        self.rates = np.array([PERSONA_RATES.get(p, PERSONA_RATES["light"]) for p in personas]) \
            * population.activity[:, None]
        self.call_mu = np.log(np.array([PERSONA_CALL_MEDIAN_S.get(p, 80) for p in personas], dtype=float))
        self.data_mu = np.log(np.array([PERSONA_DATA_MEDIAN_KB.get(p, 500) for p in personas], dtype=float))
        trips = np.array([PERSONA_TRIPS.get(p, (0.005, 0.3)) for p in personas])
        self.trip_p, self.trip_abroad = trips[:, 0], trips[:, 1]
        self.zone = ["home"] * n
        self.trip_until = np.zeros(n)  # epoch seconds
        self._day = None
        self.offnet_prefixes = [f"79{x:02d}" for x in (0, 1, 2, 3, 5, 6, 50, 51, 52, 53, 60, 61, 62, 63, 64, 77)]

    # ---------------------------------------------------------------- trips

    def _update_trips(self, at: datetime) -> None:
        day = at.astimezone(MSK).date()
        if day == self._day:
            return
        self._day = day
        t = at.timestamp()
        ended = np.nonzero((self.trip_until > 0) & (self.trip_until <= t))[0]
        for i in ended.tolist():
            self.zone[i] = "home"
            self.trip_until[i] = 0
        home = self.trip_until == 0
        start = np.nonzero(home & (self.rng.random(len(self.zone)) < self.trip_p))[0]
        if len(start):
            days = np.clip(np.round(self.rng.lognormal(math.log(4), 0.5, len(start))), 2, 14)
            abroad = self.rng.random(len(start)) < self.trip_abroad[start]
            popular = self.rng.random(len(start)) < 0.8
            for k, i in enumerate(start.tolist()):
                if abroad[k]:
                    pool = POPULAR if popular[k] else OTHER_COUNTRIES
                    self.zone[i] = pool[int(self.rng.integers(len(pool)))]
                else:
                    self.zone[i] = "russia"
                self.trip_until[i] = t + days[k] * 86400

    # ---------------------------------------------------------------- windows

    def window(self, start: datetime, seconds: int) -> list[dict]:
        """All events starting in [start, start + seconds), in time order. seconds ≤ 3600 and the
        window must not cross a Moscow hour boundary (it uses one hour's curve)."""
        start = as_utc(start)
        self._update_trips(start)
        msk = start.astimezone(MSK)
        hour_weight = DAILY_CURVE[msk.hour]
        lam = self.rates * (hour_weight * seconds / 86400.0 * self.scale)
        counts = self.rng.poisson(lam).ravel()
        total = int(counts.sum())
        if total == 0:
            return []
        cells = np.repeat(np.arange(counts.size), counts)
        line_idx = cells // 5
        kind_idx = cells % 5
        offsets = self.rng.integers(0, seconds, total)
        order = np.argsort(offsets, kind="stable")
        line_idx, kind_idx, offsets = line_idx[order], kind_idx[order], offsets[order]
        durations = np.rint(self.rng.lognormal(self.call_mu[line_idx], 1.0)).astype(np.int64)
        kb = self.rng.lognormal(self.data_mu[line_idx], 1.6)
        nbytes = np.rint(kb * 1024).astype(np.int64)
        peer_kind = self.rng.random(total)
        onnet = self.rng.integers(0, len(self.pop), total)
        offnet = self.rng.integers(0, 10**7, total)
        return self._build(start, msk, line_idx.tolist(), kind_idx.tolist(), offsets.tolist(), durations.tolist(),
                           nbytes.tolist(), peer_kind.tolist(), onnet.tolist(), offnet.tolist())

    def _build(self, start, msk, line_idx, kind_idx, offsets, durations, nbytes, peer_kind, onnet, offnet):
        msisdns = self.pop.msisdns
        family = self.pop.family_peers
        zone = self.zone
        prefixes = self.offnet_prefixes
        npref = len(prefixes)
        base_second = msk.minute * 60 + msk.second
        prefix = msk.strftime("%Y-%m-%dT%H:")
        run = self.run_id
        seq = self.seq
        out = []
        append = out.append
        for n in range(len(line_idx)):
            li = line_idx[n]
            k = kind_idx[n]
            sec = base_second + offsets[n]
            seq += 1
            ts = prefix + _MMSS[sec] + "+03:00" if sec < 3600 else None
            if ts is None:  # window spilled over the hour: rare, format properly
                ts = (msk + timedelta(seconds=offsets[n])).isoformat()
            if k == 4:
                append({"event_id": f"{run}-{seq}", "msisdn": msisdns[li], "kind": "data", "started_at": ts,
                        "bytes": nbytes[n], "zone": zone[li]})
                continue
            pk = peer_kind[n]
            fam = family.get(li)
            if fam and pk < 0.3:
                peer = msisdns[fam[onnet[n] % len(fam)]]
            elif pk < 0.55:
                peer = msisdns[onnet[n]]
            else:
                peer = f"{prefixes[offnet[n] % npref]}{offnet[n]:07d}"
            if k < 2:
                append({"event_id": f"{run}-{seq}", "msisdn": msisdns[li], "kind": "voice",
                        "direction": "out" if k == 0 else "in", "peer": peer, "started_at": ts,
                        "duration_s": durations[n], "zone": zone[li]})
            else:
                append({"event_id": f"{run}-{seq}", "msisdn": msisdns[li], "kind": "sms",
                        "direction": "out" if k == 2 else "in", "peer": peer, "started_at": ts, "zone": zone[li]})
        self.seq = seq
        return out

    def hours(self, start: datetime, end: datetime):
        """Yield (window_start, window_end, events) for each Moscow hour in [start, end)."""
        t = as_utc(start)
        end = as_utc(end)
        while t < end:
            msk = t.astimezone(MSK)
            next_hour = (msk.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)).astimezone(t.tzinfo)
            stop = min(next_hour, end)
            seconds = int((stop - t).total_seconds())
            if seconds <= 0:
                break
            yield t, stop, self.window(t, seconds)
            t = stop


def expected_events_per_second(pop: Population, at: datetime) -> float:
    msk = as_utc(at).astimezone(MSK)
    rates = np.array([PERSONA_RATES.get(p, PERSONA_RATES["light"]) for p in pop.personas]) * pop.activity[:, None]
    return float(rates.sum() * DAILY_CURVE[msk.hour] / 86400.0)
