"""Provisioning, top-ups, periods and invariants on the store (SQLite and PostgreSQL)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mts_portal.core import billing
from mts_portal.core.db import read, transact
from mts_portal.core.errors import Conflict, Invalid
from mts_portal.core.models import LedgerEntry, Line, Payment
from tests.conftest import T0
from tests.helpers import buckets, line_state, make_line


def _count(engine, model):
    return read(engine, lambda s: s.exec(select(func.count()).select_from(model)).scalar_one())


def test_provision_prorates_fee_and_bundles(store):
    make_line(store, "79160000001", "smart", balance=10000, now=T0)
    line = line_state(store, "79160000001")
    assert line.status == "active" and line.balance_kopecks == 10000
    # 9 of 30 days left in November: fee 550 * 9/30 = 165 ₽, bundles rounded down
    fees = read(store, lambda s: s.exec(select(LedgerEntry.amount_kopecks).where(
        LedgerEntry.line_id == line.id, LedgerEntry.kind == "fee")).scalars().all())
    assert fees == [-16500]
    got = {(b.kind, b.total) for b in buckets(store, "79160000001")}
    assert got == {("voice", 150), ("sms", 150), ("data", 15 * 1024 * 1024 * 9 // 30)}


def test_unpaid_line_is_suspended_until_topped_up(store):
    transact(store, lambda s: billing.provision_line(session=s, msisdn="79160000002", tariff_code="tarifische",
                                                     now=T0))
    line = line_state(store, "79160000002")
    assert line.status == "suspended" and line.fees_owed_kopecks == 24000 and line.balance_kopecks == 0
    assert buckets(store, "79160000002") == []
    # a top-up too small keeps it suspended
    transact(store, lambda s: billing.top_up(session=s, msisdn="79160000002", amount_kopecks=10000, key="a", now=T0))
    assert line_state(store, "79160000002").status == "suspended"
    transact(store, lambda s: billing.top_up(session=s, msisdn="79160000002", amount_kopecks=20000, key="b",
                                             now=T0 + timedelta(hours=1)))
    line = line_state(store, "79160000002")
    assert line.status == "active" and line.balance_kopecks == 6000 and line.fees_owed_kopecks == 0
    assert {b.kind for b in buckets(store, "79160000002")} == {"voice", "sms", "data"}


@pytest.mark.parametrize("msisdn,tariff,exc", [
    ("7916000000", "smart", Invalid),       # 10 digits
    ("89160000003", "smart", Invalid),      # starts with 8
    ("7916000000x", "smart", Invalid),
    ("79160000003", "gold", Invalid),       # unknown tariff
    ("79160000003", "my_mts_member", Invalid),
])
def test_provision_rejects_bad_input_and_changes_nothing(store, msisdn, tariff, exc):
    before = _count(store, Line)
    with pytest.raises(exc):
        transact(store, lambda s: billing.provision_line(session=s, msisdn=msisdn, tariff_code=tariff, now=T0))
    assert _count(store, Line) == before


def test_duplicate_msisdn_is_a_conflict(store):
    make_line(store, "79160000004", "minimum", now=T0)
    ledger_before = _count(store, LedgerEntry)
    with pytest.raises(Conflict):
        transact(store, lambda s: billing.provision_line(session=s, msisdn="79160000004", tariff_code="smart",
                                                         now=T0))
    assert _count(store, Line) == 1 and _count(store, LedgerEntry) == ledger_before


def test_topup_is_idempotent(store):
    make_line(store, "79160000005", "minimum", now=T0)
    a = transact(store, lambda s: billing.top_up(session=s, msisdn="79160000005", amount_kopecks=50000, key="k-1",
                                                 now=T0))
    b = transact(store, lambda s: billing.top_up(session=s, msisdn="79160000005", amount_kopecks=50000, key="k-1",
                                                 now=T0))
    assert (a.payment_id, a.balance_kopecks) == (b.payment_id, b.balance_kopecks) and b.replayed
    assert line_state(store, "79160000005").balance_kopecks == 50000
    assert _count(store, Payment) == 1
    with pytest.raises(Conflict):
        transact(store, lambda s: billing.top_up(session=s, msisdn="79160000005", amount_kopecks=100, key="k-1",
                                                 now=T0))
    assert line_state(store, "79160000005").balance_kopecks == 50000


@pytest.mark.parametrize("amount", [0, -100, 1_500_001, 10.5, True])
def test_topup_rejects_bad_amounts(store, amount):
    make_line(store, "79160000006", "minimum", now=T0)
    with pytest.raises(Invalid):
        transact(store, lambda s: billing.top_up(session=s, msisdn="79160000006", amount_kopecks=amount, key="x",
                                                 now=T0))
    assert line_state(store, "79160000006").balance_kopecks == 0


def test_rollover_charges_fee_and_grants_new_bundles(store):
    make_line(store, "79160000007", "smart", balance=100000, now=T0)
    dec1 = T0.replace(day=30, hour=21, minute=0)  # 1 December 00:00 Moscow
    line = transact(store, lambda s: (billing.rollover_line(
        session=s, line=s.exec(select(Line).where(Line.msisdn == "79160000007")).scalars().one(), now=dec1), )[0])
    assert line == 1
    st = line_state(store, "79160000007")
    assert st.balance_kopecks == 100000 - 55000 and st.status == "active"
    dec = [b for b in buckets(store, "79160000007") if b.valid_from == dec1]
    assert {(b.kind, b.total) for b in dec} == {("voice", 500), ("sms", 500), ("data", 15 * 1024 * 1024)}
    # running it again charges nothing twice
    transact(store, lambda s: billing.rollover_line(
        session=s, line=s.exec(select(Line).where(Line.msisdn == "79160000007")).scalars().one(), now=dec1))
    assert line_state(store, "79160000007").balance_kopecks == 45000
    assert read(store, lambda s: billing.check_invariants(session=s)) == []


def test_rollover_without_money_suspends(store):
    make_line(store, "79160000008", "smart", balance=1000, now=T0)
    dec1 = T0.replace(day=30, hour=21, minute=0)
    transact(store, lambda s: billing.rollover_line(
        session=s, line=s.exec(select(Line).where(Line.msisdn == "79160000008")).scalars().one(), now=dec1))
    st = line_state(store, "79160000008")
    assert st.status == "suspended" and st.balance_kopecks == 1000 and st.fees_owed_kopecks == 55000
    assert not [b for b in buckets(store, "79160000008") if b.valid_from == dec1]


def test_summary_reports_real_data(store):
    make_line(store, "79160000009", "tarifische", balance=12345, now=T0)
    sm = read(store, lambda s: billing.line_summary(session=s, msisdn="79160000009", now=T0))
    assert sm.balance_kopecks == 12345 and sm.tariff == "tarifische" and sm.status == "active"
    assert {b.kind: b.total for b in sm.buckets} == {"voice": 300, "sms": 300, "data": 30 * 1024 * 1024 * 9 // 30}
    assert sm.bonus_points == 24000 // 500


def test_invariants_catch_a_tampered_balance(store):
    make_line(store, "79160000010", "minimum", balance=500, now=T0)

    def tamper(s):
        line = s.exec(select(Line).where(Line.msisdn == "79160000010")).scalars().one()
        line.balance_kopecks += 1
        s.add(line)

    transact(store, tamper)
    problems = read(store, lambda s: billing.check_invariants(session=s))
    assert any("79160000010" in p for p in problems)


def test_switching_back_and_forth_at_once_charges_each_switch(store):
    """Found by the stateful test: smart → minimum → smart at the same instant."""
    make_line(store, "79160000011", "smart", balance=200_000, now=T0)

    def switch(code):
        def fn(s):
            line = s.exec(select(Line).where(Line.msisdn == "79160000011")).scalars().one()
            return billing.switch_tariff(session=s, line=line, new_code=code, now=T0)
        return transact(store, fn)

    switch("minimum")
    p = switch("smart")
    assert p.fee_kopecks == 16500
    assert line_state(store, "79160000011").balance_kopecks == 200_000 - 16500
    assert read(store, lambda s: billing.check_invariants(session=s)) == []


def test_a_repeated_switch_request_switches_once(store):
    make_line(store, "79160000012", "minimum", balance=100_000, now=T0)

    def fn(s):
        line = s.exec(select(Line).where(Line.msisdn == "79160000012")).scalars().one()
        return billing.switch_tariff(session=s, line=line, new_code="smart", now=T0, request_key="click-1")

    transact(store, fn)
    with pytest.raises(Conflict):
        transact(store, fn)
    assert line_state(store, "79160000012").balance_kopecks == 100_000 - 16500
