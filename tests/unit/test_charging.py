"""Charging on the store (SQLite and PostgreSQL): what a rated event leaves behind."""

from __future__ import annotations

import gc
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mts_portal.core import billing, charging
from mts_portal.core.db import read, transact
from mts_portal.core.models import (
    BonusEntry,
    DailyFeeCharge,
    LedgerEntry,
    Line,
    Notification,
    SmsMessage,
    UsageRecord,
)
from tests.conftest import T0
from tests.helpers import buckets, ev, line_state, make_line

BORN = T0 - timedelta(hours=1)  # lines exist before their events
AT = T0 - timedelta(minutes=5)


def _rows(store, model, **where):
    def fn(s):
        q = select(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return list(s.exec(q).scalars())

    return read(store, fn)


def test_rated_event_leaves_record_ledger_and_bucket(store):
    line_id = make_line(store, "79161000001", "minimum", balance=10_000, now=BORN)
    charging.forget_snapshots()
    [r] = charging.ingest(store, [ev("79161000001", "voice", AT, duration_s=61, event_id="e-1")], now=T0)
    assert (r.status, r.charged_kopecks, r.drawn) == ("rated", 500, [])
    [rec] = _rows(store, UsageRecord, event_id="e-1")
    assert rec.line_id == line_id and rec.units == 2 and rec.paid_by == "money" and rec.charged_kopecks == 500
    assert json.loads(rec.explanation)["rule"] == "voice_out"
    [le] = _rows(store, LedgerEntry, cause_ref="e-1")
    assert (le.amount_kopecks, le.kind, le.cause_type, le.balance_after) == (-500, "usage", "event", 9_500)
    assert line_state(store, "79161000001").balance_kopecks == 9_500
    assert read(store, lambda s: billing.check_invariants(session=s)) == []


def test_drawn_from_bucket_is_recorded(store):
    make_line(store, "79161000002", "smart", balance=10_000, now=BORN)
    [r] = charging.ingest(store, [ev("79161000002", "data", AT, bytes=5000, event_id="e-2")], now=T0)
    data_bucket = next(b for b in buckets(store, "79161000002") if b.kind == "data")
    assert r.drawn == [{"bucket_id": data_bucket.id, "kind": "data", "unit": "KB", "amount": 5}]
    assert next(b for b in buckets(store, "79161000002") if b.kind == "data").used == 5
    [rec] = _rows(store, UsageRecord, event_id="e-2")
    assert json.loads(rec.drawn) == r.drawn and rec.paid_by == "bundle"


def test_duplicates_and_unknown_numbers(store):
    make_line(store, "79161000003", "minimum", balance=10_000, now=BORN)
    e = ev("79161000003", "sms", AT, event_id="dup-1")
    r1 = charging.ingest(store, [e, e], now=T0)
    r2 = charging.ingest(store, [e, ev("79169999999", "sms", AT, event_id="x-1")], now=T0)
    assert [r.status for r in r1] == ["rated", "duplicate"]
    assert [r.status for r in r2] == ["duplicate", "rejected"] and "msisdn" in r2[1].reason
    assert line_state(store, "79161000003").balance_kopecks == 10_000 - 200
    assert len(_rows(store, UsageRecord, event_id="dup-1")) == 1


def test_blocked_event_is_recorded_and_charges_nothing(store):
    make_line(store, "79161000004", "minimum", balance=100, now=BORN)
    [r] = charging.ingest(store, [ev("79161000004", "voice", AT, duration_s=60, event_id="b-1")], now=T0)
    assert r.status == "blocked" and r.charged_kopecks == 0 and "insufficient funds" in r.reason
    [rec] = _rows(store, UsageRecord, event_id="b-1")
    assert rec.status == "blocked" and rec.charged_kopecks == 0
    assert _rows(store, LedgerEntry, cause_ref="b-1") == []
    # a resend after a top-up is still the same event: duplicate
    transact(store, lambda s: billing.top_up(session=s, msisdn="79161000004", amount_kopecks=10_000, key="k", now=T0))
    [r] = charging.ingest(store, [ev("79161000004", "voice", AT, duration_s=60, event_id="b-1")], now=T0)
    assert r.status == "duplicate"


def test_daily_fee_rows_and_once_per_day(store):
    make_line(store, "79161000005", "smart", balance=100_000, now=BORN, options=("zabugorishche",))
    res = charging.ingest(store, [ev("79161000005", "data", AT, bytes=2048, zone="TR", event_id="z-1"),
                                  ev("79161000005", "sms", AT, zone="TR", event_id="z-2")], now=T0)
    res += charging.ingest(store, [ev("79161000005", "voice", AT, duration_s=30, zone="TR", event_id="z-3")], now=T0)
    assert [r.charged_kopecks for r in res] == [35000, 0, 0]
    [fee] = _rows(store, DailyFeeCharge)
    assert (fee.code, fee.amount_kopecks, fee.cause_ref) == ("zabugorishche", 35000, "z-1")
    fee_rows = _rows(store, LedgerEntry, kind="daily_fee")
    assert [(f.amount_kopecks, f.cause_ref) for f in fee_rows] == [(-35000, "zabugorishche:2026-11-22")]


def test_bonus_points_from_usage(store):
    make_line(store, "79161000006", "minimum", balance=100_000, now=BORN)
    charging.ingest(store, [ev("79161000006", "voice", AT, duration_s=600, event_id=f"bp-{i}") for i in range(3)],
                    now=T0)  # 3 × 10 min × 2.50 = 75 ₽ -> 15 points
    assert line_state(store, "79161000006").bonus_points == 15
    assert sum(b.points for b in _rows(store, BonusEntry)) == 15


def test_low_balance_notification_once_per_crossing(store):
    line_id = make_line(store, "79161000007", "minimum", balance=5_400, now=BORN)
    charging.ingest(store, [ev("79161000007", "voice", AT, duration_s=60, event_id=f"lb-{i}") for i in range(4)],
                    now=T0)  # 54.00 -> 51.50 -> 49.00 (notify) -> 46.50 -> 44.00
    notes = [n for n in _rows(store, Notification, line_id=line_id) if n.kind == "low_balance"]
    assert len(notes) == 1 and "49,00" in notes[0].text_ru


def test_bundle_80_and_100_percent_notifications(store):
    line_id = make_line(store, "79161000008", "smart", balance=10_000, now=BORN)
    sms_total = next(b for b in buckets(store, "79161000008") if b.kind == "sms").total  # 150
    events = [ev("79161000008", "sms", AT, event_id=f"s80-{i}") for i in range(sms_total + 1)]
    charging.ingest(store, events, now=T0)
    kinds = [n.kind for n in _rows(store, Notification, line_id=line_id)]
    assert kinds.count("bundle_80") == 1 and kinds.count("bundle_100") == 1


def test_debit_notifications_with_sms_notify(store):
    line_id = make_line(store, "79161000009", "minimum", balance=10_000, now=BORN, options=("sms_notify",))
    charging.ingest(store, [ev("79161000009", "voice", AT, duration_s=60, event_id="n-1")], now=T0)
    debit_notes = [n for n in _rows(store, Notification, line_id=line_id) if n.kind == "debit"]
    assert len(debit_notes) == 1 and "2,50" in debit_notes[0].text_ru
    sms = _rows(store, SmsMessage, to_msisdn="79161000009")
    assert any("Списание 2,50" in m.text for m in sms)


def test_rollover_runs_inside_ingestion(store):
    make_line(store, "79161000010", "smart", balance=100_000, now=BORN)
    dec1 = T0.replace(day=30, hour=21)  # 1 December 00:00 Moscow
    later = dec1 + timedelta(hours=2)
    [r] = charging.ingest(store, [ev("79161000010", "voice", later - timedelta(minutes=1), duration_s=60,
                                     event_id="ro-1")], now=later)
    assert r.status == "rated" and r.charged_kopecks == 0
    st = line_state(store, "79161000010")
    assert st.balance_kopecks == 100_000 - 55_000 and st.period_end > later
    dec = [b for b in buckets(store, "79161000010") if b.valid_from == dec1 and b.kind == "voice"]
    assert dec[0].total == 500 and dec[0].used == 1
    # a late event from November still draws from November's bundle
    [r] = charging.ingest(store, [ev("79161000010", "voice", dec1 - timedelta(hours=1), duration_s=60,
                                     event_id="ro-2")], now=later)
    nov = next(b for b in buckets(store, "79161000010") if b.kind == "voice" and b.valid_until == dec1)
    assert r.drawn == [{"bucket_id": nov.id, "kind": "voice", "unit": "min", "amount": 1}]


def test_cache_sees_changes_made_by_other_writers(store):
    """The snapshot cache is reused only while the line's version is unchanged."""
    make_line(store, "79161000011", "minimum", balance=1_000, now=BORN)
    charging.ingest(store, [ev("79161000011", "voice", AT, duration_s=60, event_id="c-1")], now=T0)
    transact(store, lambda s: billing.top_up(session=s, msisdn="79161000011", amount_kopecks=50_000, key="c",
                                             now=T0))
    [r] = charging.ingest(store, [ev("79161000011", "voice", AT, duration_s=600, event_id="c-2")], now=T0)
    assert r.status == "rated"  # 25 ₽ would have been blocked on the cached 7.50 ₽ balance
    assert line_state(store, "79161000011").balance_kopecks == 1_000 - 250 + 50_000 - 2_500

    def mark_lost(s):
        line = s.exec(select(Line).where(Line.msisdn == "79161000011")).scalars().one()
        line.is_lost = True
        billing.recompute_status(line)
        billing.touch(s, line, T0)

    transact(store, mark_lost)
    [r] = charging.ingest(store, [ev("79161000011", "sms", AT, event_id="c-3")], now=T0)
    assert r.status == "blocked" and r.reason == "line is lost"
    assert read(store, lambda s: s.exec(select(func.count()).select_from(UsageRecord)).scalar_one()) == 3


def test_statement_texts_in_both_languages(store):
    """What each charge was, in Russian and English, with people's words: a formatted number, the
    country's name, the month's name."""
    make_line(store, "79161000012", "smart", balance=100_000, now=BORN)
    charging.ingest(store, [ev("79161000012", "voice", AT, duration_s=61, zone="TR", peer="79031112233",
                               event_id="tr-1")], now=T0)
    [usage] = _rows(store, LedgerEntry, cause_ref="tr-1")
    assert usage.description == "Звонок на +7 903 111-22-33, Турция, 2 мин"
    assert usage.description_en == "Call to +7 903 111-22-33, Türkiye, 2 min"  # CLDR: the official name
    [fee] = _rows(store, LedgerEntry, kind="fee")
    assert fee.description == "Абонентская плата «Smart» за ноябрь 2026"
    assert fee.description_en == "Monthly fee, Smart, for November 2026"


def test_the_collector_is_paused_for_a_batch_only(store, monkeypatch):
    """A batch runs with Python's cyclic collector off and gives it back on every exit: after a batch, after a
    failed batch, and it leaves the collector off where the caller had turned it off."""
    make_line(store, "79161000077", "minimum", balance=10_000, now=BORN)
    charging.forget_snapshots()
    during = []
    rate = charging.rate
    monkeypatch.setattr(charging, "rate", lambda *a: (during.append(gc.isenabled()), rate(*a))[1])
    assert gc.isenabled()
    [r] = charging.ingest(store, [ev("79161000077", "sms", AT, event_id="gc-1")], now=T0)
    assert r.status == "rated" and during == [False] and gc.isenabled()

    def boom(*a):
        raise RuntimeError("the rater failed")

    monkeypatch.setattr(charging, "rate", boom)
    with pytest.raises(RuntimeError, match="the rater failed"):
        charging.ingest(store, [ev("79161000077", "sms", AT, event_id="gc-2")], now=T0)
    assert gc.isenabled()
    monkeypatch.setattr(charging, "rate", rate)
    gc.disable()
    try:
        [r] = charging.ingest(store, [ev("79161000077", "sms", AT, event_id="gc-3")], now=T0)
        assert r.status == "rated" and not gc.isenabled()
    finally:
        gc.enable()
