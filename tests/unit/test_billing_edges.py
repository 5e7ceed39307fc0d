"""Edges of rating and billing found in review: each test failed before its fix (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from mts_portal.core import billing, charging, jobs
from mts_portal.core.db import read, transact
from mts_portal.core.errors import Conflict
from mts_portal.core.models import LedgerEntry, Line, Notification, Payment
from tests.conftest import T0
from tests.helpers import buckets, ev, line_state, make_line

BORN = T0 - timedelta(hours=1)
DEC1 = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)  # 1 December 00:00 Moscow
JAN1 = datetime(2026, 12, 31, 21, 0, tzinfo=UTC)


def _line(s, msisdn: str) -> Line:
    return s.exec(select(Line).where(Line.msisdn == msisdn)).scalars().one()


def _ledger(store, msisdn: str) -> list[tuple[int, str, str]]:
    def fn(s):
        line = _line(s, msisdn)
        rows = s.exec(select(LedgerEntry).where(LedgerEntry.line_id == line.id).order_by(LedgerEntry.id)).scalars()
        return [(r.amount_kopecks, r.kind, r.cause_ref) for r in rows]

    return read(store, fn)


def _invariants(store) -> list[str]:
    return read(store, lambda s: billing.check_invariants(session=s))


def _notes(store, msisdn: str) -> list[str]:
    def fn(s):
        line = _line(s, msisdn)
        return [n.kind for n in s.exec(select(Notification).where(Notification.line_id == line.id)
                                       .order_by(Notification.id)).scalars()]

    return read(store, fn)


# ---------------------------------------------------------------- ingestion


def test_an_oversized_value_rejects_that_event_only(store):
    make_line(store, "79162000001", "smart", balance=300_000, now=BORN)
    res = charging.ingest(store, [
        ev("79162000001", "sms", T0, event_id="ok-1"),
        ev("79162000001", "data", T0, bytes=2**63, event_id="big-bytes"),
        ev("79162000001", "voice", T0, duration_s=3_000_000_000, event_id="big-call"),
        ev("79162000001", "voice", T0, duration_s=86_400, event_id="day-call"),
    ], now=T0)
    assert [r.status for r in res] == ["rated", "rejected", "rejected", "rated"]
    assert res[1].reason.startswith("bytes: at most") and res[2].reason.startswith("duration_s: at most")
    assert _invariants(store) == []


def test_a_repeat_of_a_rejected_copy_is_rated_not_called_a_duplicate(store):
    make_line(store, "79162000002", "minimum", balance=10_000, now=BORN)
    late = ev("79162000002", "sms", T0 - timedelta(days=8), event_id="rep-1")
    good = ev("79162000002", "sms", T0, event_id="rep-1")
    res = charging.ingest(store, [late, good, good], now=T0)
    assert [r.status for r in res] == ["rejected", "rated", "duplicate"]
    [r] = charging.ingest(store, [good], now=T0)
    assert r.status == "duplicate"
    assert line_state(store, "79162000002").balance_kopecks == 10_000 - 200


def test_usage_before_the_line_existed_is_rejected(store):
    make_line(store, "79162000003", "minimum", balance=10_000, now=T0)
    [r] = charging.ingest(store, [ev("79162000003", "voice", T0 - timedelta(minutes=1), duration_s=61)],
                          now=T0 + timedelta(minutes=1))
    assert r.status == "rejected" and r.reason == "started_at: before the line was connected"
    assert line_state(store, "79162000003").balance_kopecks == 10_000


def test_an_event_just_after_the_period_start_uses_the_new_bundle(store):
    """The clock says 23:57 on 30 November; the call started at 00:01 on 1 December (within the 5 minutes
    an event may run ahead): it is December's, and draws from December's bundle."""
    make_line(store, "79162000004", "smart", balance=100_000, now=BORN)
    now = DEC1 - timedelta(minutes=3)
    [r] = charging.ingest(store, [ev("79162000004", "voice", DEC1 + timedelta(minutes=1), duration_s=600)],
                          now=now)
    dec_voice = next(b for b in buckets(store, "79162000004") if b.kind == "voice" and b.valid_from == DEC1)
    assert (r.status, r.charged_kopecks) == ("rated", 0)
    assert r.drawn == [{"bucket_id": dec_voice.id, "kind": "voice", "unit": "min", "amount": 10}]
    st = line_state(store, "79162000004")
    assert st.period_start == DEC1 and st.balance_kopecks == 100_000 - 55_000
    # a November event still lands in November (its bundle is still valid at its time)
    [r] = charging.ingest(store, [ev("79162000004", "voice", now - timedelta(minutes=1), duration_s=60)], now=now)
    nov_voice = next(b for b in buckets(store, "79162000004") if b.kind == "voice" and b.valid_until == DEC1)
    assert r.drawn[0]["bucket_id"] == nov_voice.id
    assert _invariants(store) == []


def test_nol_bez_granits_free_minutes_are_counted_per_period(store):
    """200 free minutes a period: a late November call after the December rollover uses November's
    allowance (spent), not December's."""
    make_line(store, "79162000005", "smart", balance=1_400_000, now=BORN, options=("nol_bez_granits",))
    nov = DEC1 - timedelta(hours=3)
    calls = [ev("79162000005", "voice", nov - timedelta(minutes=20 * i), direction="in", duration_s=600, zone="TR")
             for i in range(20)]  # 20 × 10 free minutes = 200
    res = charging.ingest(store, calls, now=nov + timedelta(minutes=1))
    assert sum(r.charged_kopecks for r in res) == 6_000  # only the daily fee
    after = DEC1 + timedelta(hours=2)
    [late, dec] = charging.ingest(store, [
        ev("79162000005", "voice", nov + timedelta(minutes=30), direction="in", duration_s=600, zone="TR"),
        ev("79162000005", "voice", after - timedelta(minutes=30), direction="in", duration_s=600, zone="TR"),
    ], now=after)
    assert late.charged_kopecks == 10 * 4_900  # November's 200 are spent; that day's fee is paid
    assert dec.charged_kopecks == 6_000  # December: 10 free minutes, the 1 December fee
    st = line_state(store, "79162000005")
    assert (st.nbg_prev_free_minutes_used, st.nbg_free_minutes_used) == (200, 10)


# ---------------------------------------------------------------- notifications


def test_bundle_notices_count_every_bundle_of_the_kind(store):
    """An add-on used up while the tariff bundle is left is not "your bundle is used up"; an event that
    crosses 80 % and 100 % at once gets the 100 % notice; 80 % comes once."""
    msisdn = "79162000006"
    make_line(store, msisdn, "smart", balance=100_000, now=BORN)
    transact(store, lambda s: billing.connect_option(session=s, line=_line(s, msisdn), code="internet_1gb", now=BORN))
    charging.ingest(store, [ev(msisdn, "data", T0, bytes=1024 * 1024 * 1024 + 10 * 1024)], now=T0)
    assert "bundle_100" not in _notes(store, msisdn) and "bundle_80" not in _notes(store, msisdn)

    voice_total = next(b for b in buckets(store, msisdn) if b.kind == "voice").total  # 150 (prorated)
    charging.ingest(store, [ev(msisdn, "voice", T0, duration_s=60 * (voice_total * 7 // 10))], now=T0)  # 70 %
    charging.ingest(store, [ev(msisdn, "voice", T0, duration_s=60 * (voice_total * 3 // 10 + 5))], now=T0)
    voice_notes = [k for k in _notes(store, msisdn) if k.startswith("bundle")]
    assert voice_notes == ["bundle_100"]

    sms_total = next(b for b in buckets(store, msisdn) if b.kind == "sms").total
    charging.ingest(store, [ev(msisdn, "sms", T0) for _ in range(sms_total * 8 // 10 + 2)], now=T0)
    assert [k for k in _notes(store, msisdn) if k.startswith("bundle")] == ["bundle_100", "bundle_80"]


# ---------------------------------------------------------------- periods and fees


def test_unpaid_fees_stay_owed_across_periods_until_paid(store):
    msisdn = "79162000007"
    make_line(store, msisdn, "smart", balance=1_000, now=T0)
    jobs.run_due(store, DEC1 + timedelta(minutes=1))
    st = line_state(store, msisdn)
    assert (st.status, st.fees_owed_kopecks) == ("suspended", 55_000)
    jobs.run_due(store, JAN1 + timedelta(minutes=1))
    st = line_state(store, msisdn)
    assert (st.status, st.fees_owed_kopecks, st.balance_kopecks) == ("suspended", 110_000, 1_000)
    # 540 ₽ pays neither month: nothing is charged, the line stays suspended
    transact(store, lambda s: billing.top_up(session=s, msisdn=msisdn, amount_kopecks=54_000, key="t1",
                                             now=JAN1 + timedelta(hours=1)))
    assert line_state(store, msisdn).status == "suspended"
    r = transact(store, lambda s: billing.top_up(session=s, msisdn=msisdn, amount_kopecks=60_000, key="t2",
                                                 now=JAN1 + timedelta(hours=2)))
    st = line_state(store, msisdn)
    assert (st.status, st.fees_owed_kopecks, st.balance_kopecks) == ("active", 0, 115_000 - 110_000)
    assert r.balance_kopecks == 5_000  # the answer is the balance after the fees it paid
    fees = [(a, ref) for a, kind, ref in _ledger(store, msisdn) if kind == "fee"]
    assert (-55_000, "tariff:smart:2026-12") in fees and (-55_000, "tariff:smart:2027-01") in fees
    jan = [b for b in buckets(store, msisdn) if b.valid_until > JAN1 + timedelta(hours=2)]
    assert {b.kind for b in jan} == {"voice", "sms", "data"}  # only January's bundles: December's are gone
    assert all(b.valid_until == datetime(2027, 1, 31, 21, 0, tzinfo=UTC) for b in jan)
    assert _invariants(store) == []


def test_a_clock_jump_charges_each_day_before_the_period_start(store):
    """22 Nov -> 2 Dec in one move: the daily content fees of 23–30 Nov are charged day by day while
    there is money, then 1 December's period start suspends the line and stops the subscription."""
    msisdn = "79162000008"
    make_line(store, msisdn, "smart", balance=9_000, now=T0, options=("content_horoscope",))
    report = jobs.run_due(store, DEC1 + timedelta(days=1))
    content = [ref for a, kind, ref in _ledger(store, msisdn) if kind == "daily_fee"]
    assert content == [f"content_horoscope:2026-11-{d}" for d in range(22, 31)]
    st = line_state(store, msisdn)
    # 90 ₽: the connection day (22 Nov) and 23–30 Nov at 10 ₽; 1 December's 550 ₽ is owed
    assert (st.status, st.balance_kopecks, st.fees_owed_kopecks) == ("suspended", 0, 55_000)
    assert report.rollovers == 1 and report.content_fees == 8 and report.content_stopped == 1
    assert _invariants(store) == []


def test_reconnecting_a_monthly_service_in_the_same_period_charges_once(store):
    msisdn = "79162000009"
    make_line(store, msisdn, "smart", balance=100_000, now=BORN)

    def connect(s):
        line = _line(s, msisdn)
        price = billing.option_connect_price(s, line, billing.default_catalog().products["goodok"], T0)
        return price, billing.connect_option(session=s, line=line, code="goodok", now=T0).charged_kopecks

    first_price, first = transact(store, connect)
    transact(store, lambda s: billing.disconnect_option(session=s, line=_line(s, msisdn), code="goodok", now=T0))
    again_price, again = transact(store, connect)
    assert first == first_price == 1_800  # 60 ₽ × 9/30
    assert again == again_price == 0  # this period's fee is paid already
    assert sum(1 for _, kind, _ in _ledger(store, msisdn) if kind == "service_fee") == 1
    assert _invariants(store) == []


def test_full_trust_credit_pays_owed_fees(store):
    msisdn = "79162000010"
    make_line(store, msisdn, "smart", balance=0, now=T0)
    jobs.run_due(store, DEC1 + timedelta(minutes=1))
    assert line_state(store, msisdn).status == "suspended"
    transact(store, lambda s: billing.top_up(session=s, msisdn=msisdn, amount_kopecks=30_000, key="ft",
                                             now=DEC1 + timedelta(minutes=2)))
    assert line_state(store, msisdn).status == "suspended"  # 300 of 550 ₽
    transact(store, lambda s: billing.connect_option(session=s, line=_line(s, msisdn), code="full_trust",
                                                     now=DEC1 + timedelta(minutes=3)))
    st = line_state(store, msisdn)
    assert (st.status, st.balance_kopecks) == ("active", 30_000 - 55_000)


# ---------------------------------------------------------------- top-ups


def test_a_top_up_replay_answers_the_same_balance(store):
    msisdn = "79162000011"
    make_line(store, msisdn, "smart", balance=0, now=T0)
    jobs.run_due(store, DEC1 + timedelta(minutes=1))
    at = DEC1 + timedelta(minutes=2)
    first = transact(store, lambda s: billing.top_up(session=s, msisdn=msisdn, amount_kopecks=60_000, key="r1", now=at))
    again = transact(store, lambda s: billing.top_up(session=s, msisdn=msisdn, amount_kopecks=60_000, key="r1", now=at))
    assert first.balance_kopecks == again.balance_kopecks == line_state(store, msisdn).balance_kopecks == 5_000
    assert again.replayed and again.payment_id == first.payment_id


def test_one_key_on_two_lines_at_once_is_a_conflict_not_an_error(store):
    make_line(store, "79162000012", "minimum", balance=0, now=T0)
    make_line(store, "79162000013", "minimum", balance=0, now=T0)
    outcomes: list[str] = []

    def pay(msisdn):
        try:
            transact(store, lambda s: billing.top_up(session=s, msisdn=msisdn, amount_kopecks=10_000, key="same",
                                                     now=T0))
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    for _ in range(3):
        threads = [threading.Thread(target=pay, args=(m,)) for m in ("79162000012", "79162000013")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    # one line's payment (later rounds: its replay, the same answer); the other line always 409
    assert outcomes.count("ok") == 3 and outcomes.count("conflict") == 3
    assert read(store, lambda s: s.exec(select(func.count()).select_from(Payment)).scalar_one()) == 1
    assert _invariants(store) == []


# ---------------------------------------------------------------- concurrency of the jobs


def test_the_daily_fee_job_never_overwrites_a_concurrent_charge(store, monkeypatch):
    """The job locks the line before reading its balance: an ingestion that arrives meanwhile waits
    and then sees the fee, instead of the job writing back a balance that misses the call."""
    msisdn = "79162000014"
    make_line(store, msisdn, "minimum", balance=100_000, now=T0, options=("content_horoscope",))
    next_day = datetime(2026, 11, 22, 21, 1, tzinfo=UTC)
    threads: list[threading.Thread] = []
    original = billing.post_money

    def post_money(session, line, amount, **kw):
        if not threads:
            t = threading.Thread(target=charging.ingest, args=(store, [ev(msisdn, "voice", next_day, duration_s=600)]),
                                 kwargs={"now": next_day + timedelta(minutes=1)})
            threads.append(t)
            t.start()
            time.sleep(0.5)  # the ingestion now waits for the job's lock
        return original(session, line, amount, **kw)

    monkeypatch.setattr(billing, "post_money", post_money)
    jobs.run_due(store, next_day + timedelta(minutes=1))
    threads[0].join(30)
    assert not threads[0].is_alive()
    # the connection day's fee, the next day's fee, the 10-minute call
    assert line_state(store, msisdn).balance_kopecks == 100_000 - 1_000 - 1_000 - 2_500
    assert _invariants(store) == []


@pytest.mark.parametrize("days", [1, 40])
def test_running_the_jobs_again_charges_nothing_twice(store, days):
    msisdn = "79162000015"
    make_line(store, msisdn, "smart", balance=200_000, now=T0, options=("content_news",))
    at = T0 + timedelta(days=days)
    jobs.run_due(store, at)
    before = _ledger(store, msisdn)
    jobs.run_due(store, at)
    jobs.run_due(store, at + timedelta(seconds=1))
    assert _ledger(store, msisdn) == before
    assert _invariants(store) == []


def test_one_lines_failing_period_start_does_not_hold_up_the_others(store, monkeypatch):
    bad = make_line(store, "79162000016", "smart", balance=100_000, now=T0)
    make_line(store, "79162000017", "smart", balance=100_000, now=T0)
    original = billing.rollover_line

    def rollover_line(*, session, line, now, catalog=None):
        if line.id == bad:
            raise RuntimeError("corrupt line")
        return original(session=session, line=line, now=now, catalog=catalog)

    monkeypatch.setattr(billing, "rollover_line", rollover_line)
    report = jobs.run_due(store, DEC1 + timedelta(minutes=1))
    assert report.rollovers == 1
    assert line_state(store, "79162000017").period_start == DEC1
    assert line_state(store, "79162000016").period_start < DEC1  # retried at the next run
    monkeypatch.setattr(billing, "rollover_line", original)
    jobs.run_due(store, DEC1 + timedelta(minutes=2))
    assert line_state(store, "79162000016").period_start == DEC1
    assert _invariants(store) == []
