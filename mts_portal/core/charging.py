"""Charging: the only writer of rated usage (STYLE rule 2).

`ingest()` takes a batch of raw events and, in ONE transaction (on PostgreSQL, two when another node
holds some of its lines: `_lock_lines`):
  1. drops events already seen (the idempotency check, by event_id),
  2. locks the lines involved (PostgreSQL: FOR UPDATE in id order; SQLite: the
     write lock taken at BEGIN IMMEDIATE),
  3. runs any period rollover that is due for those lines,
  4. loads one snapshot per line, rates each event with the pure rater, and
     applies the decision to the snapshot so the next event sees it,
  5. writes usage records, ledger rows (via ledger.post), daily-fee marks, bucket
     and line updates, bonus rows, notifications and the change feed.

A crash anywhere before COMMIT leaves nothing behind; a replay after a crash
answers `duplicate` for what committed and rates the rest exactly once. The
unique constraint on usage_records.event_id is the last line of defence against
two processes rating the same event: the loser's transaction fails and is
retried from scratch, and then sees the event as a duplicate.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import operator
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from mts_portal.core import ledger, notify, parental
from mts_portal.core.billing import base_credit_limit, rollover_line
from mts_portal.core.catalog import Catalog, default_catalog
from mts_portal.core.clock import moscow_date
from mts_portal.core.db import with_retries, write_session
from mts_portal.core.events import Event, validate
from mts_portal.core.fastsql import FastSQL
from mts_portal.core.metrics import METRICS
from mts_portal.core.models import (
    Line,
)
from mts_portal.core.rating import (
    FUTURE_LIMIT,
    BucketState,
    LineSnapshot,
    ParentalLimits,
    apply,
    rate,
)

log = logging.getLogger(__name__)

MAX_BATCH = 1000  # the HTTP API's limit; direct callers may pass more (benchmarks, replay)
IN_CHUNK = 900  # bound parameters per IN (...) list
LOOKBACK = timedelta(days=8)  # late events reach 7 days back

USAGE_DAY_OPTIONS = ("nol_bez_granits", "zabugorishche")
POOL_ADDON_SOURCES = ("addon", "bonus")  # an owner's internet add-ons, bought with money or points  # daily fees that bonus points can prepay


class SnapshotCache:
    """Line snapshots kept between batches of this process, reused only while the line's
    version in the store is unchanged (every writer bumps it). Bounded, LRU.

    A family's snapshots share objects (a member draws from the owner's pool buckets, the very
    objects in the owner's snapshot), so they are kept per group, as the unit one load made, and
    reused only all together: while the group's make-up (owner, members, quotas, joining times) is
    the same and no line of it has moved (a member drawing from the pool moves the owner's
    version; joining, leaving and quota changes move every line of the group).

    Line ids are never reused by the store, so (id, msisdn, version) identifies a state. After
    restoring a backup into a running deployment, restart its processes (or call forget_snapshots)."""

    def __init__(self, size: int = 100_000, groups: int = 20_000):
        self.size = size
        self.group_size = groups
        self.items: OrderedDict[int, LineSnapshot] = OrderedDict()
        self.groups: OrderedDict[int, tuple[tuple, dict[int, LineSnapshot]]] = OrderedDict()
        self.lock = threading.Lock()

    def get_many(self, line_ids: list[int]) -> list[LineSnapshot | None]:
        """The cached snapshots of these lines (None where not cached), under one acquisition of the lock."""
        with self.lock:
            items = self.items
            out = []
            for lid in line_ids:
                snap = items.get(lid)
                if snap is not None:
                    items.move_to_end(lid)
                out.append(snap)
            return out

    def get_group(self, group_id: int) -> tuple[tuple, dict[int, LineSnapshot]] | None:
        with self.lock:
            entry = self.groups.get(group_id)
            if entry is not None:
                self.groups.move_to_end(group_id)
            return entry

    def put_all(self, snaps: list[LineSnapshot], groups: dict[int, tuple[tuple, dict[int, LineSnapshot]]]) -> None:
        with self.lock:
            for snap in snaps:
                self.items[snap.id] = snap
                self.items.move_to_end(snap.id)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
            for gid, entry in groups.items():
                self.groups[gid] = entry
                self.groups.move_to_end(gid)
            while len(self.groups) > self.group_size:
                self.groups.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.groups.clear()


_caches: dict[str, SnapshotCache] = {}
_ingest_lock = threading.Lock()  # one batch at a time per process: snapshots are shared objects


def _cache_for(engine: Engine) -> SnapshotCache:
    key = str(engine.url)
    cache = _caches.get(key)
    if cache is None:
        cache = _caches[key] = SnapshotCache()
    return cache


def forget_snapshots(engine: Engine | None = None) -> None:
    """Drop cached snapshots (tests that rewrite the store behind the engine's back)."""
    if engine is None:
        for c in _caches.values():
            c.clear()
    else:
        _cache_for(engine).clear()


@dataclass(slots=True)
class EventResult:
    event_id: str | None
    status: str  # rated | duplicate | rejected | blocked
    charged_kopecks: int = 0
    drawn: list[dict] = field(default_factory=list)
    reason: str | None = None
    # a duplicate: what the first delivery got (status rated | blocked, charged_kopecks, drawn), so a client
    # recovering from a crash reconciles from the answers; `charged_kopecks` stays what this delivery charged (0)
    original: tuple[str, int, list] | None = None

    def to_json(self) -> dict:
        out = {"event_id": self.event_id, "status": self.status, "charged_kopecks": self.charged_kopecks,
               "drawn": self.drawn, "reason": self.reason}
        if self.original is not None:
            out["original_status"], out["original_charged_kopecks"], out["original_drawn"] = self.original
        return out


@dataclass(slots=True)
class BatchOutcome:
    results: list[EventResult]  # one per event of `done`, in order
    changed_line_ids: set[int]
    done: list[tuple[int, Event]]  # the events this transaction answered
    later: list[tuple[int, Event]] = field(default_factory=list)  # left for the next one: their lines were busy


def _chunks(values: list, n: int = IN_CHUNK) -> Iterable[list]:
    for i in range(0, len(values), n):
        yield values[i:i + n]


def ingest(
    engine: Engine,
    raw_events: list,
    *,
    now: datetime,
    catalog: Catalog | None = None,
    on_committed: Callable[[set[int]], None] | None = None,
    messages: dict[str, dict] | None = None,
    defer_busy: bool = False,
) -> list[EventResult]:
    """Rate and charge a batch. One result per raw event, in order.

    `messages` maps an event_id to the SMS it carries ({to_msisdn, sender, text}: an SMS sent from the
    portal): it is delivered to the recipient's inbox in the same transaction, if and only if that event
    is rated, so a message is never charged without being delivered, nor delivered twice.

    On PostgreSQL the lines are first locked without waiting: the accounts another transaction holds
    (another node rating the same lines) are left out and rated in a second transaction that waits for
    them, so the first commits what was free meanwhile (`_lock_lines`). A failure of the second leaves the
    first committed; sending the batch again answers those `duplicate` with their first answers and rates
    the rest, so nothing is lost or charged twice. `on_committed` is called after each commit.
    With `defer_busy`, the events left out are not waited for: their results are None, for the caller to
    send them again, before anything newer for the same lines (the group committer does)."""
    started = time.perf_counter()
    catalog = catalog or default_catalog()
    results: list[EventResult | None] = [None] * len(raw_events)
    valid: list[tuple[int, Event]] = []
    for i, raw in enumerate(raw_events):
        ev = validate(raw)
        if isinstance(ev, str):
            eid = raw.get("event_id") if isinstance(raw, dict) else None
            results[i] = EventResult(eid if isinstance(eid, str) else None, "rejected", reason=ev)
        else:
            valid.append((i, ev))
    if valid:
        part, skip_busy = valid, engine.dialect.name != "sqlite"  # PostgreSQL: rate what is free first
        while part:
            outcome = _commit(engine, part, now, catalog, messages or {}, skip_busy)
            for (i, _), res in zip(outcome.done, outcome.results, strict=True):
                results[i] = res
            if on_committed and outcome.changed_line_ids:
                on_committed(outcome.changed_line_ids)
            if defer_busy and outcome.later:
                break  # the caller sends them again (first in its next batch: core/intake.py)
            part, skip_busy = outcome.later, False
    METRICS.record([r for r in results if r is not None] if defer_busy else results,
                   time.perf_counter() - started)  # the control room's engine chart (core/metrics.py)
    return results  # type: ignore[return-value]


def _commit(engine: Engine, valid: list[tuple[int, Event]], now: datetime, catalog: Catalog,
            messages: dict[str, dict], skip_busy: bool = False) -> BatchOutcome:
    """Steps 1-5 for these events in one transaction, run again from scratch when it lost a race."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return with_retries(lambda: _locked_tx(engine, valid, now, catalog, messages, skip_busy),
                                what="ingest batch")
        except IntegrityError:
            # Another process rated one of these event_ids between our check and our insert:
            # the whole transaction rolled back; run it again and it will see that event as a duplicate.
            if attempt >= 5:
                raise
            log.info("ingest batch raced on a unique key; retrying (attempt %d)", attempt)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic collector off for one batch, back on after it (unless it was off already).

    A batch allocates hundreds of thousands of short-lived objects; refcounting frees them as it goes, but
    the allocations alone trigger the collector, and every full collection walks the whole heap, the snapshot
    cache included (2026-12-07: 13 full collections, 1.2 s of an 11.6-s run of 200,000 events; paused, 2 of
    them, 0.2 s). What a batch leaves in cycles is collected after it. Batches of one process run one at a time
    (`_ingest_lock`), so the pause lasts one batch: other threads' garbage waits that long at most."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _locked_tx(engine: Engine, valid: list[tuple[int, Event]], now: datetime, catalog: Catalog,
               messages: dict[str, dict], skip_busy: bool = False) -> BatchOutcome:
    with _ingest_lock, _collector_paused():
        try:
            return _ingest_tx(engine, valid, now, catalog, messages, skip_busy)
        except BaseException:
            _cache_for(engine).clear()  # snapshots may hold this failed batch's changes
            raise


def _ingest_tx(engine: Engine, valid: list[tuple[int, Event]], now: datetime, catalog: Catalog,
               messages: dict[str, dict], skip_busy: bool = False) -> BatchOutcome:
    """The steps of the module docstring, in one transaction. With `skip_busy` (PostgreSQL), the accounts
    whose lines another transaction holds are left out and returned in `later`, for a transaction that
    waits for them (`_lock_lines`)."""
    with write_session(engine) as session:
        fx = FastSQL(session.connection())
        events = [ev for _, ev in valid]
        line_rows, fam, busy = _lock_lines(fx, events, skip_busy)
        later: list[tuple[int, Event]] = []
        if busy:
            valid, later = _without_busy(valid, line_rows, fam, busy)
            if not valid:
                return BatchOutcome([], set(), [], later)
            events = [ev for _, ev in valid]
            line_rows = {ev.msisdn: line_rows[ev.msisdn] for ev in events if ev.msisdn in line_rows}
            fam = fam.of_lines(lid for lid, _, _ in line_rows.values())  # the kept accounts: all held
        seen = _seen(fx, events)
        all_ids, versions, rolled = _roll_due(session, fx, events, line_rows, fam, now, catalog)
        cache = _cache_for(engine)
        snaps, groups = _snapshots(fx, cache, line_rows, fam, all_ids, versions, rolled, now, catalog)
        out, rows = _rate_all(fx, events, seen, snaps, now, catalog, messages)
        changed = _persist(fx, rows, snaps)
        fresh = _settle(snaps, changed, fam)
        session.commit()
        cache.put_all(fresh, groups)
        return BatchOutcome(out, changed, valid, later)


_SELECT_LINES = "SELECT id, msisdn, period_end, version FROM lines WHERE msisdn IN ({in})"
_LOCK_LINES = "SELECT id FROM lines WHERE id IN ({in}) ORDER BY id FOR UPDATE"
_LOCK_FREE_LINES = "SELECT id FROM lines WHERE id IN ({in}) ORDER BY id FOR UPDATE SKIP LOCKED"


def _lock_lines(fx: FastSQL, events: list[Event], skip_busy: bool = False
                ) -> tuple[dict[str, tuple], _Family, set[int]]:
    """Step 2: the lines of this batch ({msisdn: (id, period_end, version)}) and their families, locked with
    the family owners whose pools they draw from — one statement in id order on PostgreSQL (SQLite holds
    the write lock since BEGIN IMMEDIATE); what was read before the lock is read again under it.

    With `skip_busy` (PostgreSQL), lines another transaction holds are skipped instead of waited for and
    returned as the third value: another node rating some of the same lines then holds this batch up only
    for its accounts, not for all of it (issue 18 goal 6; `_without_busy`)."""
    msisdns = sorted({ev.msisdn for ev in events})

    def lines() -> dict[str, tuple]:
        return {m: (lid, fx.parse_dt(pe), ver) for lid, m, pe, ver in fx.select_in(_SELECT_LINES, msisdns)}

    line_rows = lines()
    line_ids = sorted(lid for lid, _, _ in line_rows.values())
    fam = _load_family(fx, line_ids)
    busy: set[int] = set()
    if not fx.sqlite:
        locked = sorted(set(line_ids) | fam.owner_ids)
        got = fx.select_in(_LOCK_FREE_LINES if skip_busy else _LOCK_LINES, locked)
        if skip_busy and len(got) < len(locked):
            busy = set(locked).difference(r[0] for r in got)
        line_rows = lines()
        fam = _load_family(fx, line_ids)
        late = sorted(fam.owner_ids - set(locked))  # a group formed meanwhile (rare): lock its owner too
        if late:
            fx.select_in(_LOCK_LINES, late)
    return line_rows, fam, busy


def _without_busy(valid: list[tuple[int, Event]], line_rows: dict[str, tuple], fam: _Family, busy: set[int]
                  ) -> tuple[list[tuple[int, Event]], list[tuple[int, Event]]]:
    """The events this transaction can rate now, and those it leaves for the next: every event of an account
    (a line, or a whole family: its lines share the owner's pools) one of whose lines is busy. Each line's
    events stay together and in order, so every line sees them as in one transaction; a repeated event_id
    goes with its first occurrence, so the repeat is answered as one inside the batch."""
    busy_groups = {fam.group_of[lid] for lid in busy if lid in fam.group_of}
    now_part: list[tuple[int, Event]] = []
    later: list[tuple[int, Event]] = []
    first: dict[str, bool] = {}
    for item in valid:
        ev = item[1]
        free = first.get(ev.event_id)
        if free is None:
            row = line_rows.get(ev.msisdn)  # an unknown number is answered now: it touches no line
            free = first[ev.event_id] = row is None or (
                row[0] not in busy and fam.group_of.get(row[0]) not in busy_groups)
        (now_part if free else later).append(item)
    return now_part, later


def _seen(fx: FastSQL, events: list[Event]) -> dict[str, tuple]:
    """Step 1 (under the lock): the event_ids already rated — the idempotency check — with what each got the
    first time (status, charged_kopecks, drawn): a replay answers it, so a client recovering from a crash can
    reconcile from the answers (as an idempotent payments API returns the first response)."""
    return {r[0]: r[1:] for r in fx.select_in(
        "SELECT event_id, status, charged_kopecks, drawn FROM usage_records WHERE event_id IN ({in})",
        [ev.event_id for ev in events])}


def _roll_due(session, fx: FastSQL, events: list[Event], line_rows: dict[str, tuple], fam: _Family, now: datetime,
              catalog: Catalog) -> tuple[list[int], dict[int, int], bool]:
    """Step 3: period rollovers due for these lines (rare: once a month per line). An event may start up to
    5 minutes ahead of the clock, in a period the scheduler has not opened yet: open it for that line (and
    for the family owner whose pool it draws) so the event finds the new period's bundles. Returns every
    line id the batch reads, their versions as read under the lock and whether anything rolled (then the
    versions are out of date)."""
    all_ids = sorted({lid for lid, _, _ in line_rows.values()} | fam.owner_ids)
    horizon = {lid: now for lid in all_ids}
    for ev in events:
        row = line_rows.get(ev.msisdn)
        if row is not None and now < ev.started_at <= now + FUTURE_LIMIT and ev.started_at > horizon[row[0]]:
            horizon[row[0]] = ev.started_at
            gid = fam.group_of.get(row[0])
            if gid is not None:
                owner = fam.owner_of_group[gid]
                horizon[owner] = max(horizon[owner], ev.started_at)
    period_end_of = {lid: pe for lid, pe, _ in line_rows.values()}
    versions = {lid: ver for lid, _, ver in line_rows.values()}
    others = [lid for lid in all_ids if lid not in period_end_of]  # family owners outside the batch
    for lid, pe, ver in fx.select_in("SELECT id, period_end, version FROM lines WHERE id IN ({in})", others):
        period_end_of[lid] = fx.parse_dt(pe)
        versions[lid] = ver
    due = [lid for lid in all_ids if lid in period_end_of and period_end_of[lid] <= horizon[lid]]
    rolled = False
    if due:
        for line in session.exec(select(Line).where(Line.id.in_(due)).order_by(Line.id)).scalars().all():
            if line.period_end <= horizon[line.id]:
                rolled |= rollover_line(session=session, line=line, now=horizon[line.id], catalog=catalog) > 0
        session.flush()
        session.expunge_all()
    return all_ids, versions, rolled


def _snapshots(fx: FastSQL, cache: SnapshotCache, line_rows: dict[str, tuple], fam: _Family, all_ids: list[int],
               versions: dict[int, int], rolled: bool, now: datetime, catalog: Catalog
               ) -> tuple[dict[int, LineSnapshot], dict[int, tuple[tuple, dict[int, LineSnapshot]]]]:
    """Step 4a: one snapshot per line — from the cache when the store's version says nothing changed since;
    a family's lines come from the cache only all together (SnapshotCache). Returns the snapshots and the
    family groups to cache once the batch commits (the groups loaded afresh)."""
    versions = dict(versions)
    msisdn_of = {lid: m for m, (lid, _, _) in line_rows.items()}
    wanted: dict[int, list[int]] = defaultdict(list)  # group -> its lines this batch reads
    for lid in all_ids:
        gid = fam.group_of.get(lid)
        if gid is not None:
            wanted[gid].append(lid)
    if rolled or wanted:
        # every line of each group: a cached group is reused only if none of its lines moved. The batch's lines
        # and owners were read under the lock (`_lock_lines`, `_roll_due`): only a rollover since moved them.
        ids = set(all_ids).union(*(fam.lines_of(gid) for gid in wanted))
        if not rolled:
            ids -= versions.keys()
        versions.update(dict(fx.select_in("SELECT id, version FROM lines WHERE id IN ({in})", sorted(ids))))
    snaps: dict[int, LineSnapshot] = {}
    need = []
    group_of = fam.group_of
    singles = [lid for lid in all_ids if lid not in group_of]
    for lid, hit in zip(singles, cache.get_many(singles), strict=True):
        if hit is not None and hit.version == versions.get(lid) and hit.msisdn == msisdn_of.get(lid, hit.msisdn):
            snaps[lid] = hit
        else:
            need.append(lid)
    reload: dict[int, tuple] = {}
    for gid, lids in wanted.items():
        sig = _group_signature(fam, gid)
        entry = cache.get_group(gid)
        if entry is not None and entry[0] == sig and all(x in entry[1] for x in lids) \
                and all(snap.version == versions.get(x) for x, snap in entry[1].items()):
            for x in lids:
                snaps[x] = entry[1][x]
        else:
            reload[gid] = sig
            need.extend(lids)
    loaded = _load_snapshots(fx, sorted(need), fam, now, catalog)
    snaps.update(loaded)
    groups = {gid: (sig, {x: loaded[x] for x in wanted[gid] if x in loaded}) for gid, sig in reload.items()}
    for snap in snaps.values():  # most lines have no promised payment: then the limit is the option's base
        snap.credit_limit_kopecks = snap.credit_at(now) if snap.promises else snap.base_credit_kopecks
    return snaps, groups


def _group_signature(fam: _Family, gid: int) -> tuple:
    """What a family's snapshots are built from besides its lines' rows: owner, members, quotas, joining times."""
    members = fam.members_of_group.get(gid, [])
    return (fam.owner_of_group[gid], tuple(members), tuple(fam.quotas.get(m) for m in members),
            tuple(fam.joined.get(m) for m in members))


@dataclass
class _Rows:
    """What a batch writes (step 5), as plain tuples for executemany/COPY."""
    ingested: object = None  # the batch's time, in the store's form
    usage: list[tuple] = field(default_factory=list)
    ledger: list[tuple] = field(default_factory=list)
    bonus: list[tuple] = field(default_factory=list)
    notes: list[tuple] = field(default_factory=list)
    sms: list[tuple] = field(default_factory=list)
    fees: list[tuple] = field(default_factory=list)
    pool_draws: dict[tuple[int, int], int] = field(default_factory=dict)
    moved_lines: set[int] = field(default_factory=set)  # snapshots a rated event changed (rating.apply)
    moved_buckets: dict[int, BucketState] = field(default_factory=dict)  # buckets it drew from, by id


def _rate_all(fx: FastSQL, events: list[Event], seen: dict[str, tuple], snaps: dict[int, LineSnapshot], now: datetime,
              catalog: Catalog, messages: dict[str, dict]) -> tuple[list[EventResult], _Rows]:
    """Step 4b: rate each event with the pure rater and apply the decision to its snapshot, so the next
    event of the batch sees it; collect the rows to write. One result per event, in order."""
    by_msisdn = {s.msisdn: s for s in snaps.values()}
    out: list[EventResult] = []
    ingested = fx.dt(now)
    rows = _Rows(ingested=ingested)
    recorded: dict[str, EventResult] = {}  # event_ids recorded by this batch (a later copy is a duplicate)
    for ev in events:
        if ev.event_id in seen:
            status, charged, drawn = seen[ev.event_id]
            out.append(EventResult(ev.event_id, "duplicate", reason=f"event_id already {status}; nothing charged "
                                   "again", original=(status, charged, orjson.loads(drawn or "[]"))))
            continue
        first = recorded.get(ev.event_id)
        if first is not None:
            out.append(EventResult(ev.event_id, "duplicate", reason=f"event_id repeated in this batch ("
                                   f"{first.status}); nothing charged again",
                                   original=(first.status, first.charged_kopecks, first.drawn)))
            continue
        line = by_msisdn.get(ev.msisdn)
        if line is None:
            out.append(EventResult(ev.event_id, "rejected", reason="msisdn: unknown number"))
            continue
        decision = rate(ev, line, catalog, now)
        if decision.status == "rejected":
            out.append(EventResult(ev.event_id, "rejected", reason=decision.reason))
            continue
        apply(decision, line)
        if decision.status == "rated":  # what apply() changed, kept here so no step scans every bucket
            rows.moved_lines.add(line.id)
            for dr in decision.draws:
                rows.moved_buckets[dr.bucket.id] = dr.bucket
        at = fx.dt(ev.started_at)
        charged = _collect_rated(fx, ev, decision, line, snaps, rows, at, ingested, messages) \
            if decision.status == "rated" else 0
        drawn = decision.drawn_json()
        rows.usage.append((
            ev.event_id, line.id, ev.kind, ev.direction, ev.peer, at, ev.duration_s, ev.bytes, ev.zone,
            decision.status, decision.units, charged, decision.paid_by, orjson.dumps(drawn).decode() if drawn else "[]",
            orjson.dumps(decision.explanation).decode(), ingested))
        out.append(EventResult(ev.event_id, decision.status, charged, drawn, decision.reason))
        recorded[ev.event_id] = out[-1]
    return out, rows


def _collect_rated(fx: FastSQL, ev: Event, decision, line: LineSnapshot, snaps: dict[int, LineSnapshot],
                   rows: _Rows, at, ingested, messages: dict[str, dict]) -> int:
    """A rated event's money (through ledger.post: ledger, bonus, notices, SMS), daily-fee marks, the SMS
    it carries, bundle notices and pool draws. Returns the kopecks charged."""
    charged = 0
    sms_notify = "sms_notify" in line.options
    for c in decision.charges:
        if c.fee_code:
            ref = f"{c.fee_code}:{c.fee_day.isoformat()}"
            rows.fees.append((line.id, c.fee_code, fx.day(c.fee_day), c.amount_kopecks, ev.event_id))
        else:
            ref = ev.event_id
        p = ledger.post(line, -c.amount_kopecks, kind=c.kind, category=c.category, cause_type="event",
                        cause_ref=ref, description=c.description, at=ev.started_at,
                        sms_notify=sms_notify, description_en=c.description_en)
        lg = p.ledger
        rows.ledger.append((lg["line_id"], lg["amount_kopecks"], lg["kind"], lg["category"], "event",
                            ref, lg["description"], lg["description_en"], lg["balance_after"], at))
        if p.bonus:
            b = p.bonus
            rows.bonus.append((b["line_id"], b["points"], b["reason"], b["description"],
                               b["description_en"], b["cause_ref"], at))
        for n in p.notifications:
            rows.notes.append((n["line_id"], n["kind"], n["text_ru"], n["text_en"], ingested))
        for m in p.sms:
            rows.sms.append((m["to_msisdn"], m["sender"], m["text"], ingested))
        charged += c.amount_kopecks
    carried = messages.get(ev.event_id)
    if carried is not None:
        rows.sms.append((carried["to_msisdn"], carried["sender"], carried["text"], ingested))
    if decision.draws:
        for n in _bundle_notes(decision, line, snaps, ev.started_at):
            rows.notes.append((n["line_id"], n["kind"], n["text_ru"], n["text_en"], ingested))
    for dr in decision.draws:
        if dr.bucket.line_id != line.id:  # a member drawing from the owner's pool
            key = (dr.bucket.id, line.id)
            rows.pool_draws[key] = rows.pool_draws.get(key, 0) + dr.amount
    return charged


def _persist(fx: FastSQL, rows: _Rows, snaps: dict[int, LineSnapshot]) -> set[int]:
    """Step 5: write usage records, ledger rows, daily-fee marks, bonus rows, notices and SMS, pool draws,
    the buckets and lines that moved (version + 1) and the change feed. Returns the changed line ids."""
    fx.insert("usage_records", USAGE_COLUMNS, rows.usage)
    fx.insert("ledger_entries", LEDGER_COLUMNS, rows.ledger)
    fx.insert("daily_fee_charges", ("line_id", "code", "day", "amount_kopecks", "cause_ref"), rows.fees)
    fx.insert("bonus_entries", ("line_id", "points", "reason", "description", "description_en", "cause_ref",
                                "created_at"), rows.bonus)
    fx.insert("notifications", ("line_id", "kind", "text_ru", "text_en", "created_at"), rows.notes)
    fx.insert("sms_messages", ("to_msisdn", "sender", "text", "created_at"), rows.sms)
    if rows.pool_draws:
        fx.executemany("INSERT INTO pool_draws (bucket_id, line_id, used) VALUES ({ph}, {ph}, {ph}) "
                       "ON CONFLICT (bucket_id, line_id) DO UPDATE SET used = pool_draws.used + excluded.used",
                       [(b, ln, used) for (b, ln), used in sorted(rows.pool_draws.items())])
    drawn = rows.moved_buckets
    if drawn:
        fx.update_many("buckets", (("used", "bigint"),), [(drawn[i].used, i) for i in sorted(drawn)])
    changed = rows.moved_lines | {b.line_id for b in drawn.values()}
    if changed:
        moved = [snaps[i] for i in sorted(changed) if i in snaps]
        fx.update_many(
            "lines", (("balance_kopecks", "bigint"), ("charged_total_kopecks", "bigint"), ("bonus_points", "integer"),
                      ("nbg_free_minutes_used", "integer"), ("nbg_prev_free_minutes_used", "integer"),
                      ("low_balance_notified", "boolean")),
            [(s.balance_kopecks, s.charged_total_kopecks, s.bonus_points, s.nbg_free_minutes_used,
              s.nbg_prev_free_minutes_used, s.low_balance_notified, s.id) for s in moved], increment="version")
        fx.insert("change_log", ("line_id", "at"), [(i, rows.ingested) for i in sorted(changed)])
    return changed


def _settle(snaps: dict[int, LineSnapshot], changed: set[int], fam: _Family) -> list[LineSnapshot]:
    """After the writes: the snapshots match the store again (version + 1 where written); returns the lines
    to cache once committed (family lines are cached by group: `_snapshots`)."""
    for lid in changed:
        snap = snaps.get(lid)
        if snap is not None:
            snap.version += 1
    group_of = fam.group_of
    return [snap for lid, snap in snaps.items() if lid not in group_of]


USAGE_COLUMNS = ("event_id", "line_id", "kind", "direction", "peer", "started_at", "duration_s", "bytes", "zone",
                 "status", "units", "charged_kopecks", "paid_by", "drawn", "explanation", "ingested_at")
LEDGER_COLUMNS = ("line_id", "amount_kopecks", "kind", "category", "cause_type", "cause_ref", "description",
                  "description_en", "balance_after", "created_at")


def _bundle_notes(decision, line: LineSnapshot, snaps: dict[int, LineSnapshot], at: datetime) -> list[dict]:
    """80 % / 100 % notices, judged on all of a kind's bundles the line can use at `at` (add-ons, tariff
    bundle, family share or pool) as this event crosses the mark. An event that crosses both marks at
    once gets the 100 % notice only ("80 % used, 0 left" would say nothing).
    A member drawing from the owner's pool moves the owner's figures too: the owner is told as well."""
    drawn = {dr.bucket.id: dr.amount for dr in decision.draws}
    kind = decision.draws[0].bucket.kind
    unit = decision.draws[0].bucket.unit
    notes = []
    lines = [line]
    for dr in decision.draws:
        other = snaps.get(dr.bucket.line_id)
        if other is not None and other is not line and other not in lines:
            lines.append(other)
    for who in lines:
        total = after = taken = 0
        for b in who.buckets[kind]:
            if b.valid_from <= at < b.valid_until:
                total += b.total
                after += b.used
                taken += drawn.get(b.id, 0)
        if total <= 0 or taken <= 0:
            continue
        before = after - taken
        if before < total <= after:
            notes.append(notify.bundle_used(who.id, kind, 100, 0, unit, at))
        elif before * 100 < total * 80 <= after * 100:
            notes.append(notify.bundle_used(who.id, kind, 80, total - after, unit, at))
    return notes


@dataclass
class _Family:
    owner_ids: set[int] = field(default_factory=set)
    group_of: dict[int, int] = field(default_factory=dict)  # line_id -> group_id (owners and members)
    owner_of_group: dict[int, int] = field(default_factory=dict)
    members_of_group: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    quotas: dict[int, tuple] = field(default_factory=dict)  # member line_id -> (min, sms, kb)
    joined: dict[int, datetime] = field(default_factory=dict)  # member line_id -> joined_at

    def lines_of(self, gid: int) -> list[int]:
        """The group's owner, then its active members."""
        return [self.owner_of_group[gid], *self.members_of_group.get(gid, [])]

    def of_lines(self, line_ids: Iterable[int]) -> _Family:
        """What `_load_family(line_ids)` gives for a subset of the lines this was loaded for."""
        out = _Family()
        for gid in {self.group_of[lid] for lid in line_ids if lid in self.group_of}:
            owner = out.owner_of_group[gid] = self.owner_of_group[gid]
            out.owner_ids.add(owner)
            out.group_of[owner] = gid
            members = out.members_of_group[gid] = self.members_of_group.get(gid, [])
            for lid in members:
                out.group_of[lid] = gid
                out.quotas[lid] = self.quotas[lid]
                if lid in self.joined:
                    out.joined[lid] = self.joined[lid]
        return out


def _load_family(fx: FastSQL, line_ids: list[int]) -> _Family:
    fam = _Family()
    if not line_ids:
        return fam
    group_ids = {r[0] for r in fx.select_in(
        "SELECT group_id FROM family_members WHERE line_id IN ({in}) AND status = 'active'", line_ids)}
    group_ids |= {r[0] for r in fx.select_in("SELECT id FROM family_groups WHERE owner_line_id IN ({in})",
                                             line_ids)}
    if not group_ids:
        return fam
    gids = sorted(group_ids)
    for gid, owner in fx.select_in("SELECT id, owner_line_id FROM family_groups WHERE id IN ({in})", gids):
        fam.owner_of_group[gid] = owner
        fam.group_of[owner] = gid
        fam.owner_ids.add(owner)
    for gid, lid, qm, qs, qk, joined in fx.select_in(
            "SELECT group_id, line_id, quota_minutes, quota_sms, quota_kb, joined_at FROM family_members "
            "WHERE group_id IN ({in}) AND status = 'active' ORDER BY id", gids):
        fam.group_of[lid] = gid
        fam.members_of_group[gid].append(lid)
        fam.quotas[lid] = (qm, qs, qk)
        if joined is not None:
            fam.joined[lid] = fx.parse_dt(joined)
    return fam


def _load_snapshots(fx: FastSQL, line_ids: list[int], fam: _Family, now: datetime,
                    catalog: Catalog) -> dict[int, LineSnapshot]:
    if not line_ids:
        return {}
    rows = fx.select_in(
        "SELECT id, msisdn, status, tariff_code, balance_kopecks, charged_total_kopecks, bonus_points, "
        "low_balance_notified, nbg_free_minutes_used, nbg_prev_free_minutes_used, period_start, created_at, version "
        "FROM lines WHERE id IN ({in})", line_ids)
    msisdn_of = {r[0]: r[1] for r in rows}
    extra = sorted(({lid for g in fam.members_of_group.values() for lid in g} | fam.owner_ids) - msisdn_of.keys())
    for lid, m in fx.select_in("SELECT id, msisdn FROM lines WHERE id IN ({in})", extra):
        msisdn_of[lid] = m

    options: dict[int, set[str]] = defaultdict(set)
    prepaid: dict[int, dict[str, datetime]] = defaultdict(dict)
    for lid, code, paid_until in fx.select_in(
            "SELECT line_id, code, paid_until FROM subscriptions WHERE line_id IN ({in}) AND active = {ph}",
            line_ids, (True,)):
        options[lid].add(code)
        if paid_until is not None and code in USAGE_DAY_OPTIONS:
            prepaid[lid][code] = fx.parse_dt(paid_until)
    promised: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for lid, amount, due_at in fx.select_in(
            "SELECT line_id, amount_kopecks, due_at FROM promised_payments WHERE line_id IN ({in}) "
            "AND status = 'active'", line_ids):
        promised[lid].append((amount, fx.parse_dt(due_at)))
    fee_days: dict[int, set] = defaultdict(set)
    since_day = moscow_date(now - LOOKBACK)
    for lid, code, day in fx.select_in(
            "SELECT line_id, code, day FROM daily_fee_charges WHERE line_id IN ({in}) AND day >= {ph}",
            line_ids, (fx.day(since_day),)):
        fee_days[lid].add((code, fx.parse_day(day)))
    limits = parental.load_limits(fx, line_ids, now)  # «Родительский контроль»: children's lines only
    buckets_of: dict[int, list[BucketState]] = defaultdict(list)
    parse = fx.parse_dt
    for (bid, lid, kind, unit, total, used, vf, vu, prio, source, product) in fx.select_in(
            "SELECT id, line_id, kind, unit, total, used, valid_from, valid_until, priority, source, product_code "
            "FROM buckets WHERE line_id IN ({in}) AND valid_until > {ph}",
            line_ids, (fx.dt(now - LOOKBACK),)):
        buckets_of[lid].append(BucketState(bid, lid, kind, unit, total, used, parse(vf), parse(vu), prio, source,
                                           product))

    snaps: dict[int, LineSnapshot] = {}
    quota_index = {"voice": 0, "sms": 1, "data": 2}
    order = operator.attrgetter("priority", "valid_until", "id")
    for (lid, msisdn, status, tariff_code, balance, charged_total, bonus, low, nbg, nbg_prev, period_start,
         created_at, version) in rows:
        by_kind: dict[str, list[BucketState]] = {"voice": [], "sms": [], "data": []}
        for b in sorted(buckets_of.get(lid, ()), key=order):
            by_kind[b.kind].append(b)
        gid = fam.group_of.get(lid)
        peers: dict[str, datetime | None] = {}
        if gid is not None:
            owner = fam.owner_of_group[gid]
            mine = fam.joined.get(lid)
            for x in fam.lines_of(gid):  # a call is inside the group from when both ends were in it
                if x != lid and x in msisdn_of:
                    theirs = fam.joined.get(x)
                    peers[msisdn_of[x]] = max(mine, theirs) if mine and theirs else (mine or theirs)
            if owner != lid:  # a member: the owner's pool for kinds without a quota (same objects: shared)
                q = fam.quotas.get(lid, (None, None, None))
                owners = buckets_of.get(owner, ())
                pool = sorted((b for b in owners if b.source == "tariff"), key=operator.attrgetter("valid_until", "id"))
                # the owner's internet add-ons top the pool up for the members who share it: first, as for the
                # owner (add-ons before the tariff bundle)
                addons = sorted((b for b in owners if b.source in POOL_ADDON_SOURCES and b.kind == "data"), key=order)
                for kind, qi in quota_index.items():
                    if q[qi] is None:
                        if kind == "data":
                            by_kind[kind].extend(addons)
                        by_kind[kind].extend(b for b in pool if b.kind == kind)
        opts = frozenset(options.get(lid, ()))
        snaps[lid] = LineSnapshot(
            id=lid, msisdn=msisdn, status=status, tariff=catalog.tariffs[tariff_code], balance_kopecks=balance,
            credit_limit_kopecks=0, options=opts, buckets=by_kind,
            family_peers=peers, family_since=fam.joined.get(lid) if gid is not None else None,
            nbg_free_minutes_used=nbg, nbg_prev_free_minutes_used=nbg_prev,
            period_start=parse(period_start), connected_at=parse(created_at), fee_days=fee_days.get(lid, set()),
            charged_total_kopecks=charged_total, bonus_points=bonus, low_balance_notified=bool(low), version=version,
            base_credit_kopecks=base_credit_limit(opts), promises=promised.get(lid, []),
            prepaid=prepaid.get(lid, {}),
            parental=ParentalLimits(*limits[lid]) if lid in limits else None,
        )
    return snaps
