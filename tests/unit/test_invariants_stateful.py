"""DESIGN §5 invariants under random sequences (Hypothesis stateful testing):
usage events (with duplicates and malformed ones), top-ups (with replayed keys),
option changes, tariff switches, family joins / quotas / removals, and clock moves
across period boundaries.

After every step: balance = sum of ledger, charged total and bonus points agree
with their ledgers, no bucket below zero or over its total, each event_id rated
at most once, money reported by ingestion = money in the ledger, and no line
below its credit limit.
"""

from __future__ import annotations

import shutil
from datetime import timedelta

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import func, select

from mts_portal.core import billing, charging, jobs
from mts_portal.core.db import make_engine, read, transact
from mts_portal.core.errors import DomainError
from mts_portal.core.models import LedgerEntry, Line, Payment, UsageRecord
from tests.conftest import T0
from tests.helpers import make_line

MSISDNS = ["79160000001", "79160000002", "79160000003"]
OPTIONS = ["vezde_kak_doma", "nol_bez_granits", "zabugorishche", "full_trust", "goodok", "internet_1gb",
           "turbo_2gb", "sms_notify", "content_news"]
ZONES = ["home", "home", "home", "russia", "TR", "US"]


class Invariants(RuleBasedStateMachine):
    template = None

    @initialize(seed_balance=st.integers(0, 200_000))
    def setup(self, seed_balance):
        import tempfile
        from pathlib import Path

        self.dir = Path(tempfile.mkdtemp(prefix="mts_hyp_"))
        path = self.dir / "s.db"
        shutil.copy(Invariants.template, path)
        self.engine = make_engine(f"sqlite:///{path}")
        charging.forget_snapshots()
        self.now = T0
        make_line(self.engine, MSISDNS[0], "minimum", balance=seed_balance, now=T0)
        make_line(self.engine, MSISDNS[1], "smart", balance=seed_balance // 2, now=T0)
        make_line(self.engine, MSISDNS[2], "my_mts", balance=seed_balance + 150_000, now=T0)
        self.sent_ids: list[str] = []
        self.reported_event_money = 0
        self.seq = 0
        self.keys: dict[str, tuple[str, int]] = {}

    def teardown(self):
        if hasattr(self, "engine"):
            self.engine.dispose()
            shutil.rmtree(self.dir, ignore_errors=True)

    @rule(data=st.data(), n=st.integers(1, 12))
    def events(self, data, n):
        batch = []
        for _ in range(n):
            choice = data.draw(st.sampled_from(["voice", "sms", "data", "dup", "bad"]))
            if choice == "dup" and self.sent_ids:
                batch.append({**data.draw(st.sampled_from(self._history()))})
                continue
            self.seq += 1
            at = self.now - timedelta(minutes=data.draw(st.integers(0, 60 * 24 * 3)))
            e = {"event_id": f"h{self.seq}", "msisdn": data.draw(st.sampled_from(MSISDNS)),
                 "started_at": at.isoformat(), "zone": data.draw(st.sampled_from(ZONES))}
            if choice == "bad":
                e.update(kind="voice", direction="out", peer="7903", duration_s=-1)
            elif choice == "data":
                e.update(kind="data", bytes=data.draw(st.integers(0, 30 * 1024 * 1024)))
            else:
                e.update(kind=choice if choice != "dup" else "sms", direction=data.draw(st.sampled_from(["out", "in"])),
                         peer=data.draw(st.sampled_from(["79031234567", MSISDNS[0], "88005553535"])))
                if e["kind"] == "voice":
                    e["duration_s"] = data.draw(st.integers(0, 3600))
            batch.append(e)
        results = charging.ingest(self.engine, batch, now=self.now)
        assert len(results) == len(batch)
        for e, r in zip(batch, results, strict=True):
            if r.status in ("rated", "blocked"):
                self.sent_ids.append(e["event_id"])
                self._remember(e)
            self.reported_event_money += r.charged_kopecks
            assert r.status != "duplicate" or r.charged_kopecks == 0

    def _history(self):
        return getattr(self, "_events", [])

    def _remember(self, e):
        self._events = (self._history() + [e])[-50:]

    @rule(msisdn=st.sampled_from(MSISDNS), amount=st.integers(-100, 300_000), key=st.sampled_from("abcdefgh"))
    def top_up(self, msisdn, amount, key):
        try:
            transact(self.engine, lambda s: billing.top_up(session=s, msisdn=msisdn, amount_kopecks=amount, key=key,
                                                           now=self.now))
            prev = self.keys.setdefault(key, (msisdn, amount))
            assert prev == (msisdn, amount)
        except DomainError:
            pass

    @rule(msisdn=st.sampled_from(MSISDNS), code=st.sampled_from(OPTIONS), on=st.booleans())
    def option(self, msisdn, code, on):
        def fn(s):
            line = billing.get_line_for_update(s, msisdn)
            if on:
                billing.connect_option(session=s, line=line, code=code, now=self.now)
            else:
                billing.disconnect_option(session=s, line=line, code=code, now=self.now)

        try:
            transact(self.engine, fn)
        except DomainError:
            pass

    @rule(msisdn=st.sampled_from(MSISDNS), tariff=st.sampled_from(["minimum", "smart", "tarifische", "my_mts"]))
    def switch(self, msisdn, tariff):
        def fn(s):
            line = billing.get_line_for_update(s, msisdn)
            billing.switch_tariff(session=s, line=line, new_code=tariff, now=self.now)

        try:
            transact(self.engine, fn)
        except DomainError:
            pass

    def _owner_info(self, s):
        from mts_portal.core import auth

        owner = s.exec(select(Line).where(Line.msisdn == MSISDNS[2])).scalars().one()
        return owner, auth.SessionInfo(0, owner.account_id, owner.id, owner.id, owner.msisdn, owner.msisdn, T0, T0,
                                       False)

    @rule(member=st.sampled_from(MSISDNS[:2]))
    def family_join(self, member):
        from mts_portal.core import family

        def fn(s):
            owner, _ = self._owner_info(s)
            line = s.exec(select(Line).where(Line.msisdn == member)).scalars().one()
            family.enrol(s, owner, line, self.now)

        try:
            transact(self.engine, fn)
        except DomainError:
            pass

    @rule(member=st.sampled_from(MSISDNS[:2]), minutes=st.sampled_from(["", "0", "30", "400"]),
          gb=st.sampled_from(["", "0", "0.5", "3", "60"]))
    def family_quota(self, member, minutes, gb):
        from mts_portal.core import family
        from mts_portal.core.models import FamilyMember

        def fn(s):
            owner, info = self._owner_info(s)
            line = s.exec(select(Line).where(Line.msisdn == member)).scalars().one()
            m = s.exec(select(FamilyMember).where(FamilyMember.line_id == line.id,
                                                  FamilyMember.status == "active")).scalars().first()
            if m is not None:
                family.set_quotas(s, info, owner.msisdn, m.id, minutes, "", gb, self.now)

        try:
            transact(self.engine, fn)
        except DomainError:
            pass

    @rule(member=st.sampled_from(MSISDNS[:2]))
    def family_remove(self, member):
        from mts_portal.core import family
        from mts_portal.core.models import FamilyMember

        def fn(s):
            owner, info = self._owner_info(s)
            line = s.exec(select(Line).where(Line.msisdn == member)).scalars().one()
            m = s.exec(select(FamilyMember).where(FamilyMember.line_id == line.id,
                                                  FamilyMember.status == "active")).scalars().first()
            if m is not None:
                family.remove_member(s, info, owner.msisdn, m.id, self.now)

        try:
            transact(self.engine, fn)
        except DomainError:
            pass

    @rule(minutes=st.sampled_from([1, 30, 60 * 5, 60 * 24, 60 * 24 * 6, 60 * 24 * 12]))
    def clock(self, minutes):
        self.now += timedelta(minutes=minutes)
        jobs.run_due(self.engine, self.now)

    @invariant()
    def store_invariants(self):
        if not hasattr(self, "engine"):
            return
        problems = read(self.engine, lambda s: billing.check_invariants(session=s))
        assert problems == [], problems

    @invariant()
    def each_event_once_and_money_matches(self):
        if not hasattr(self, "engine"):
            return

        def fn(s):
            records = s.exec(select(func.count()).select_from(UsageRecord)).scalar_one()
            distinct = s.exec(select(func.count(func.distinct(UsageRecord.event_id)))).scalar_one()
            event_money = -(s.exec(select(func.coalesce(func.sum(LedgerEntry.amount_kopecks), 0))
                                   .where(LedgerEntry.cause_type == "event")).scalar_one())
            topups = s.exec(select(func.coalesce(func.sum(LedgerEntry.amount_kopecks), 0))
                            .where(LedgerEntry.kind == "topup", LedgerEntry.cause_ref.in_(list("abcdefgh")))).scalar_one()
            paid = s.exec(select(func.coalesce(func.sum(Payment.amount_kopecks), 0))).scalar_one()
            return records, distinct, event_money, topups, paid

        records, distinct, event_money, topups, paid = read(self.engine, fn)
        assert records == distinct == len(set(self.sent_ids))
        assert event_money == self.reported_event_money
        assert topups == paid  # one credit per idempotency key

    @invariant()
    def nobody_below_credit_limit(self):
        if not hasattr(self, "engine"):
            return

        def fn(s):
            out = []
            for line in s.exec(select(Line)).scalars():
                out.append((line.msisdn, line.balance_kopecks, billing.credit_limit(s, line, self.now)))
            return out

        for msisdn, balance, limit in read(self.engine, fn):
            assert balance >= -limit, (msisdn, balance, limit)


TestInvariants = Invariants.TestCase
TestInvariants.settings = settings(max_examples=25, stateful_step_count=20, deadline=None,
                                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


import pytest  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _template(sqlite_template):
    Invariants.template = sqlite_template
    yield
