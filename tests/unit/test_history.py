"""The seeded demo world has a past: 60 days of the demo accounts' usage and a lighter week for the
others, made by the traffic generator and rated by the engine (never rows written around it)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from mts_portal.core import payments
from mts_portal.core.billing import check_invariants
from mts_portal.core.clock import as_utc
from mts_portal.core.db import read
from mts_portal.core.models import (
    AutopayRun,
    BonusEntry,
    LedgerEntry,
    Line,
    Notification,
    Payment,
    SimProfile,
    UsageRecord,
)
from simulator.history import History
from simulator.population import seed
from tests.conftest import T0


def test_demo_accounts_have_sixty_days_of_rated_life(store):
    now = T0 + timedelta(days=20)
    result = seed(store, lines=40, seed=5, now=now, progress=False, history_days=60, background_days=7,
                  background_scale=0.3)
    stats = result.history
    assert stats.rated > 5_000 and stats.failed_actions <= 2
    assert read(store, lambda s: check_invariants(session=s)) == []
    demo_numbers = [m for d in result.demo for m in d["lines"]]
    assert len(result.demo) == 5 and len(demo_numbers) >= 8

    def facts(s):
        ids = {m: i for i, m in s.exec(select(Line.id, Line.msisdn)).all()}
        span = {m: s.exec(select(func.min(UsageRecord.started_at), func.max(UsageRecord.started_at))
                          .where(UsageRecord.line_id == ids[m])).one() for m in demo_numbers}
        others = [i for m, i in ids.items() if m not in demo_numbers]
        other_first = s.exec(select(UsageRecord.line_id, func.min(UsageRecord.started_at))
                             .where(UsageRecord.line_id.in_(others)).group_by(UsageRecord.line_id)).all()
        # every usage row is an event the generator made, answered by charging
        records = s.exec(select(func.count()).select_from(UsageRecord)).scalar_one()
        foreign = s.exec(select(func.count()).select_from(UsageRecord)
                         .where(UsageRecord.event_id.not_like("h5-%"))).scalar_one()
        return ids, span, other_first, records, foreign

    ids, span, other_first, records, foreign = read(store, facts)
    assert foreign == 0 and records == stats.rated + stats.blocked
    for m, (first, last) in span.items():
        assert first is not None, f"{m} has no usage"
        assert as_utc(first) <= now - timedelta(days=59), (m, first)
        assert as_utc(last) >= now - timedelta(days=1), (m, last)
    assert len(other_first) >= 0.8 * (len(ids) - len(demo_numbers))
    assert min(as_utc(t) for _, t in other_first) <= now - timedelta(days=6.5)

    demo1 = result.demo[0]["msisdn"]

    def demo_facts(s):
        line = s.exec(select(Line).where(Line.msisdn == demo1)).scalars().one()
        info = History(store, seed=0, demo=result.demo)._info(result.demo[0], demo1, s)
        spent = payments.spending(s, info, demo1, now, days=30)
        kinds = Counter(s.exec(select(LedgerEntry.kind).where(LedgerEntry.line_id == line.id)).scalars())
        switched = s.exec(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.line_id == line.id, LedgerEntry.cause_ref.like("switch:%"))).scalar_one()
        cards = s.exec(select(func.count()).select_from(Payment).where(
            Payment.line_id == line.id, Payment.method == "card", Payment.status == "succeeded")).scalar_one()
        bonus = s.exec(select(func.count()).select_from(BonusEntry).where(BonusEntry.line_id == line.id)).scalar_one()
        autopays = s.exec(select(func.count()).select_from(AutopayRun).where(AutopayRun.status == "succeeded")
                          ).scalar_one()
        notes = s.exec(select(func.count()).select_from(Notification)
                       .where(Notification.line_id.in_([ids[m] for m in demo_numbers]))).scalar_one()
        demo_marked = s.exec(select(func.count()).select_from(SimProfile)
                             .where(SimProfile.demo_login.is_not(None))).scalar_one()
        return line, spent, kinds, switched, cards, bonus, autopays, notes, demo_marked

    line, spent, kinds, switched, cards, bonus, autopays, notes, demo_marked = read(store, demo_facts)
    assert line.tariff_code == "smart" and switched == 1  # demo-1 moved from «Минимум» to «Smart»
    assert cards >= 3 and bonus >= 5 and autopays >= 1 and notes >= 3 and demo_marked == 5
    assert kinds["fee"] >= 2 and kinds["usage"] >= 50 and kinds["topup"] >= 3
    assert sum(1 for _, kopecks in spent.by_day if kopecks > 0) >= 15  # the spending chart by day is not flat
