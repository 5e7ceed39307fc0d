"""Charging: the only writer of rated usage (STYLE rule 2).

`ingest()` takes a batch of raw events and, in ONE transaction:
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

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from mts_portal.core import ledger, notify
from mts_portal.core.billing import base_credit_limit, rollover_line
from mts_portal.core.catalog import Catalog, default_catalog
from mts_portal.core.clock import moscow_date
from mts_portal.core.db import with_retries, write_session
from mts_portal.core.events import Event, validate
from mts_portal.core.models import (
    BonusEntry,
    Bucket,
    ChangeLog,
    DailyFeeCharge,
    FamilyGroup,
    FamilyMember,
    LedgerEntry,
    Line,
    Notification,
    PromisedPayment,
    SmsMessage,
    Subscription,
    UsageRecord,
)
from mts_portal.core.rating import BucketState, Decision, LineSnapshot, apply, rate

log = logging.getLogger(__name__)

MAX_BATCH = 1000  # the HTTP API's limit; direct callers may pass more (benchmarks, replay)
IN_CHUNK = 900  # bound parameters per IN (...) list
LOOKBACK = timedelta(days=8)  # late events reach 7 days back

T_LINES = Line.__table__
T_BUCKETS = Bucket.__table__
T_USAGE = UsageRecord.__table__
T_LEDGER = LedgerEntry.__table__
T_BONUS = BonusEntry.__table__
T_NOTES = Notification.__table__
T_SMS = SmsMessage.__table__
T_FEES = DailyFeeCharge.__table__
T_CHANGES = ChangeLog.__table__
T_SUBS = Subscription.__table__
T_PROMISED = PromisedPayment.__table__
T_MEMBERS = FamilyMember.__table__
T_GROUPS = FamilyGroup.__table__


@dataclass(slots=True)
class EventResult:
    event_id: str | None
    status: str  # rated | duplicate | rejected | blocked
    charged_kopecks: int = 0
    drawn: list[dict] = field(default_factory=list)
    reason: str | None = None

    def to_json(self) -> dict:
        return {"event_id": self.event_id, "status": self.status, "charged_kopecks": self.charged_kopecks,
                "drawn": self.drawn, "reason": self.reason}


@dataclass(slots=True)
class BatchOutcome:
    results: list[EventResult]
    changed_line_ids: set[int]


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
) -> list[EventResult]:
    """Rate and charge a batch. One result per raw event, in order."""
    catalog = catalog or default_catalog()
    results: list[EventResult | None] = [None] * len(raw_events)
    valid: list[tuple[int, Event]] = []
    seen_in_batch: set[str] = set()
    for i, raw in enumerate(raw_events):
        ev = validate(raw)
        if isinstance(ev, str):
            eid = raw.get("event_id") if isinstance(raw, dict) else None
            results[i] = EventResult(eid if isinstance(eid, str) else None, "rejected", reason=ev)
        elif ev.event_id in seen_in_batch:
            results[i] = EventResult(ev.event_id, "duplicate", reason="event_id repeated in this batch")
        else:
            seen_in_batch.add(ev.event_id)
            valid.append((i, ev))
    if valid:
        attempt = 0
        while True:
            attempt += 1
            try:
                outcome = with_retries(lambda: _ingest_tx(engine, valid, now, catalog), what="ingest batch")
                break
            except IntegrityError:
                # Another process rated one of these event_ids between our check and our insert:
                # the whole batch rolled back; run it again and it will see that event as a duplicate.
                if attempt >= 5:
                    raise
                log.info("ingest batch raced on a unique key; retrying (attempt %d)", attempt)
        for (i, _), res in zip(valid, outcome.results, strict=True):
            results[i] = res
        if on_committed and outcome.changed_line_ids:
            on_committed(outcome.changed_line_ids)
    return results  # type: ignore[return-value]


def _ingest_tx(engine: Engine, valid: list[tuple[int, Event]], now: datetime, catalog: Catalog) -> BatchOutcome:
    with write_session(engine) as session:
        conn = session.connection()
        pg = conn.dialect.name == "postgresql"
        events = [ev for _, ev in valid]

        # -- lock the lines of this batch (PG), then the idempotency check
        msisdns = sorted({ev.msisdn for ev in events})
        line_rows: dict[str, tuple] = {}
        for chunk in _chunks(msisdns):
            stmt = select(T_LINES.c.id, T_LINES.c.msisdn, T_LINES.c.period_end).where(T_LINES.c.msisdn.in_(chunk))
            if pg:
                stmt = stmt.order_by(T_LINES.c.id).with_for_update()
            for row in conn.execute(stmt):
                line_rows[row.msisdn] = row
        seen: set[str] = set()
        ids = [ev.event_id for ev in events]
        for chunk in _chunks(ids):
            seen.update(conn.execute(select(T_USAGE.c.event_id).where(T_USAGE.c.event_id.in_(chunk))).scalars())

        # -- family: groups of the lines involved, and the owners whose pools members draw from
        line_ids = [r.id for r in line_rows.values()]
        fam = _load_family(conn, line_ids, pg)
        all_ids = sorted(set(line_ids) | fam.owner_ids)

        # -- period rollovers due for these lines (rare: once a month per line)
        due = [r.id for r in line_rows.values() if r.period_end <= now] + [
            oid for oid in fam.owner_ids if oid not in line_ids]
        if due:
            for line in session.exec(select(Line).where(Line.id.in_(due)).order_by(Line.id)).scalars().all():
                rollover_line(session=session, line=line, now=now, catalog=catalog)
            session.flush()
            session.expunge_all()

        snaps = _load_snapshots(conn, all_ids, fam, now, catalog)
        by_msisdn = {s.msisdn: s for s in snaps.values()}

        # -- rate
        out: list[EventResult] = []
        usage_rows: list[dict] = []
        ledger_rows: list[dict] = []
        bonus_rows: list[dict] = []
        note_rows: list[dict] = []
        sms_rows: list[dict] = []
        fee_rows: list[dict] = []
        for ev in events:
            if ev.event_id in seen:
                out.append(EventResult(ev.event_id, "duplicate", reason="event_id already rated"))
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
            charged = 0
            if decision.status == "rated":
                sms_notify = "sms_notify" in line.options
                for c in decision.charges:
                    if c.fee_code:
                        ref = f"{c.fee_code}:{c.fee_day.isoformat()}"
                        fee_rows.append({"line_id": line.id, "code": c.fee_code, "day": c.fee_day,
                                         "amount_kopecks": c.amount_kopecks, "cause_ref": ev.event_id})
                    else:
                        ref = ev.event_id
                    p = ledger.post(line, -c.amount_kopecks, kind=c.kind, category=c.category, cause_type="event",
                                    cause_ref=ref, description=c.description, at=ev.started_at,
                                    sms_notify=sms_notify)
                    ledger_rows.append(p.ledger)
                    if p.bonus:
                        bonus_rows.append(p.bonus)
                    note_rows.extend(p.notifications)
                    sms_rows.extend(p.sms)
                    charged += c.amount_kopecks
                for dr in decision.draws:
                    _bucket_notes(dr.bucket, ev.started_at, note_rows)
            drawn = decision.drawn_json()
            usage_rows.append(_usage_row(ev, line.id, decision, charged, drawn, now))
            out.append(EventResult(ev.event_id, decision.status, charged, drawn, decision.reason))

        # -- persist
        if usage_rows:
            conn.execute(T_USAGE.insert(), usage_rows)
        if ledger_rows:
            conn.execute(T_LEDGER.insert(), ledger_rows)
        if fee_rows:
            conn.execute(T_FEES.insert(), fee_rows)
        if bonus_rows:
            conn.execute(T_BONUS.insert(), bonus_rows)
        if note_rows:
            conn.execute(T_NOTES.insert(), note_rows)
        if sms_rows:
            conn.execute(T_SMS.insert(), sms_rows)
        dirty_buckets = [b for s in snaps.values() for kind in s.buckets.values() for b in kind if b.dirty]
        if dirty_buckets:
            unique = {b.id: b for b in dirty_buckets}
            conn.execute(
                update(T_BUCKETS).where(T_BUCKETS.c.id == bindparam("b_id")).values(
                    used=bindparam("b_used"), notified_80=bindparam("b_n80"), notified_100=bindparam("b_n100")),
                [{"b_id": b.id, "b_used": b.used, "b_n80": b.notified_80, "b_n100": b.notified_100}
                 for b in unique.values()],
            )
        changed = {s.id for s in snaps.values() if s.dirty}
        for b in dirty_buckets:  # a pool owner sees members' use live
            changed.add(b.line_id)
        if changed:
            rows = [snaps[i] for i in sorted(changed) if i in snaps]
            conn.execute(
                update(T_LINES).where(T_LINES.c.id == bindparam("l_id")).values(
                    balance_kopecks=bindparam("l_balance"), charged_total_kopecks=bindparam("l_charged"),
                    bonus_points=bindparam("l_bonus"), nbg_free_minutes_used=bindparam("l_nbg"),
                    low_balance_notified=bindparam("l_low"), version=T_LINES.c.version + 1),
                [{"l_id": s.id, "l_balance": s.balance_kopecks, "l_charged": s.charged_total_kopecks,
                  "l_bonus": s.bonus_points, "l_nbg": s.nbg_free_minutes_used, "l_low": s.low_balance_notified}
                  for s in rows],
            )
            conn.execute(T_CHANGES.insert(), [{"line_id": i, "at": now} for i in sorted(changed)])
        return BatchOutcome(out, changed)


def _usage_row(ev: Event, line_id: int, d: Decision, charged: int, drawn: list[dict], now: datetime) -> dict:
    return {
        "event_id": ev.event_id, "line_id": line_id, "kind": ev.kind, "direction": ev.direction, "peer": ev.peer,
        "started_at": ev.started_at, "duration_s": ev.duration_s, "bytes": ev.bytes, "zone": ev.zone,
        "status": d.status, "units": d.units, "charged_kopecks": charged, "paid_by": d.paid_by,
        "drawn": json.dumps(drawn), "explanation": json.dumps(d.explanation, ensure_ascii=False),
        "ingested_at": now,
    }


def _bucket_notes(b: BucketState, at: datetime, notes: list[dict]) -> None:
    if b.total <= 0:
        return
    if not b.notified_100 and b.used >= b.total:
        b.notified_100 = b.notified_80 = True
        notes.append(notify.bundle_used(b.line_id, b.kind, 100, 0, b.unit, at))
    elif not b.notified_80 and b.used * 100 >= b.total * 80:
        b.notified_80 = True
        notes.append(notify.bundle_used(b.line_id, b.kind, 80, b.total - b.used, b.unit, at))


@dataclass
class _Family:
    owner_ids: set[int] = field(default_factory=set)
    group_of: dict[int, int] = field(default_factory=dict)  # line_id -> group_id (owners and members)
    owner_of_group: dict[int, int] = field(default_factory=dict)
    members_of_group: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    quotas: dict[int, tuple] = field(default_factory=dict)  # member line_id -> (min, sms, kb)


def _load_family(conn, line_ids: list[int], pg: bool) -> _Family:
    fam = _Family()
    if not line_ids:
        return fam
    group_ids: set[int] = set()
    for chunk in _chunks(line_ids):
        for gid, in conn.execute(select(T_MEMBERS.c.group_id).where(
                T_MEMBERS.c.line_id.in_(chunk), T_MEMBERS.c.status == "active")):
            group_ids.add(gid)
        for gid, in conn.execute(select(T_GROUPS.c.id).where(T_GROUPS.c.owner_line_id.in_(chunk))):
            group_ids.add(gid)
    if not group_ids:
        return fam
    gids = sorted(group_ids)
    for chunk in _chunks(gids):
        for gid, owner in conn.execute(select(T_GROUPS.c.id, T_GROUPS.c.owner_line_id).where(T_GROUPS.c.id.in_(chunk))):
            fam.owner_of_group[gid] = owner
            fam.group_of[owner] = gid
            fam.owner_ids.add(owner)
        for gid, lid, qm, qs, qk in conn.execute(
            select(T_MEMBERS.c.group_id, T_MEMBERS.c.line_id, T_MEMBERS.c.quota_minutes, T_MEMBERS.c.quota_sms,
                   T_MEMBERS.c.quota_kb).where(T_MEMBERS.c.group_id.in_(chunk), T_MEMBERS.c.status == "active")
        ):
            fam.group_of[lid] = gid
            fam.members_of_group[gid].append(lid)
            fam.quotas[lid] = (qm, qs, qk)
    if pg:  # members draw from the owner's pool: hold the owners' rows too
        owners = sorted(fam.owner_ids - set(line_ids))
        if owners:
            conn.execute(select(T_LINES.c.id).where(T_LINES.c.id.in_(owners)).order_by(T_LINES.c.id).with_for_update())
    return fam


def _load_snapshots(conn, line_ids: list[int], fam: _Family, now: datetime, catalog: Catalog) -> dict[int, LineSnapshot]:
    if not line_ids:
        return {}
    L = T_LINES.c
    rows = []
    for chunk in _chunks(line_ids):
        rows.extend(conn.execute(select(
            L.id, L.msisdn, L.status, L.tariff_code, L.balance_kopecks, L.charged_total_kopecks, L.bonus_points,
            L.low_balance_notified, L.nbg_free_minutes_used, L.version).where(L.id.in_(chunk))))
    msisdn_of = {r.id: r.msisdn for r in rows}
    # family peers may include lines outside the batch
    extra = {lid for g in fam.members_of_group.values() for lid in g} | fam.owner_ids
    missing = sorted(extra - msisdn_of.keys())
    for chunk in _chunks(missing):
        for lid, m in conn.execute(select(L.id, L.msisdn).where(L.id.in_(chunk))):
            msisdn_of[lid] = m

    options: dict[int, set[str]] = defaultdict(set)
    promised: dict[int, int] = defaultdict(int)
    fee_days: dict[int, set] = defaultdict(set)
    buckets_of: dict[int, list[BucketState]] = defaultdict(list)
    since_day = moscow_date(now - LOOKBACK)
    B = T_BUCKETS.c
    for chunk in _chunks(line_ids):
        for lid, code in conn.execute(select(T_SUBS.c.line_id, T_SUBS.c.code).where(
                T_SUBS.c.line_id.in_(chunk), T_SUBS.c.active == True)):  # noqa: E712
            options[lid].add(code)
        for lid, amount in conn.execute(select(T_PROMISED.c.line_id, T_PROMISED.c.amount_kopecks).where(
                T_PROMISED.c.line_id.in_(chunk), T_PROMISED.c.status == "active", T_PROMISED.c.due_at > now)):
            promised[lid] += amount
        for lid, code, day in conn.execute(select(T_FEES.c.line_id, T_FEES.c.code, T_FEES.c.day).where(
                T_FEES.c.line_id.in_(chunk), T_FEES.c.day >= since_day)):
            fee_days[lid].add((code, day))
        for r in conn.execute(select(
                B.id, B.line_id, B.kind, B.unit, B.total, B.used, B.valid_from, B.valid_until, B.priority, B.source,
                B.product_code, B.notified_80, B.notified_100, B.pool_total).where(
                B.line_id.in_(chunk), B.valid_until > now - LOOKBACK)):
            buckets_of[r.line_id].append(BucketState(
                r.id, r.line_id, r.kind, r.unit, r.total, r.used, r.valid_from, r.valid_until, r.priority, r.source,
                r.product_code, r.notified_80, r.notified_100))

    snaps: dict[int, LineSnapshot] = {}
    quota_index = {"voice": 0, "sms": 1, "data": 2}
    for r in rows:
        own = buckets_of.get(r.id, [])
        by_kind: dict[str, list[BucketState]] = {"voice": [], "sms": [], "data": []}
        for b in sorted(own, key=lambda b: (b.priority, b.valid_until, b.id)):
            by_kind[b.kind].append(b)
        gid = fam.group_of.get(r.id)
        peers: frozenset[str] = frozenset()
        if gid is not None:
            owner = fam.owner_of_group[gid]
            group_lines = [owner, *fam.members_of_group.get(gid, [])]
            peers = frozenset(msisdn_of[x] for x in group_lines if x != r.id and x in msisdn_of)
            if owner != r.id:  # a member: pool buckets for kinds without a quota
                q = fam.quotas.get(r.id, (None, None, None))
                pool = [b for b in buckets_of.get(owner, []) if b.source == "tariff"]
                for kind, qi in quota_index.items():
                    if q[qi] is None:
                        by_kind[kind].extend(sorted((b for b in pool if b.kind == kind),
                                                    key=lambda b: (b.valid_until, b.id)))
        opts = frozenset(options.get(r.id, ()))
        snaps[r.id] = LineSnapshot(
            id=r.id, msisdn=r.msisdn, status=r.status, tariff=catalog.tariffs[r.tariff_code],
            balance_kopecks=r.balance_kopecks, credit_limit_kopecks=base_credit_limit(opts) + promised.get(r.id, 0),
            options=opts, buckets=by_kind, family_peers=peers, nbg_free_minutes_used=r.nbg_free_minutes_used,
            fee_days=fee_days.get(r.id, set()), charged_total_kopecks=r.charged_total_kopecks,
            bonus_points=r.bonus_points, low_balance_notified=r.low_balance_notified, version=r.version,
        )
    # the same BucketState object must stand in every list it appears in (owner and members share a pool)
    return snaps
