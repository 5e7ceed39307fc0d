"""Services with something behind them (issue 17, second half), on SQLite and PostgreSQL: GOOD'OK
melodies, «Вторая память» backups, «Родительский контроль» limits honoured by the rating engine,
content subscriptions with their charges, an SMS to several recipients, the tariff history."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from mts_portal.core import (
    billing,
    cabinet,
    charging,
    content,
    family,
    goodok,
    jobs,
    memory,
    parental,
)
from mts_portal.core.clock import moscow_midnight, period_of
from mts_portal.core.db import read, transact
from mts_portal.core.errors import (
    Conflict,
    InsufficientFunds,
    Invalid,
    Locked,
    NotFound,
    Unauthorized,
)
from mts_portal.core.models import (
    LedgerEntry,
    MemoryBackup,
    ParentalLink,
    PhoneCall,
    PhoneContact,
    SmsMessage,
    Subscription,
    TariffChange,
    UsageRecord,
)
from tests.conftest import T0
from tests.helpers import ev, line_state, make_line
from tests.unit.test_access_matrix import session_for

PARENT, CHILD, OTHER, STRANGER = "79250000001", "79250000002", "79250000003", "79250000004"
BORN = T0 - timedelta(days=2)
NIGHT = datetime(2026, 11, 21, 21, 30, tzinfo=UTC)  # 00:30 on 22 Nov in Moscow
DAY = T0 - timedelta(hours=1)  # 14:00 Moscow


def connect(store, info, msisdn, code, now=T0):
    return transact(store, lambda s: cabinet.connect(s, info, msisdn, code, now))


def count(store, model, *where) -> int:
    return read(store, lambda s: s.exec(select(func.count()).select_from(model).where(*where)).scalar_one())


def last_code(store, msisdn: str) -> str:
    return read(store, lambda s: re.search(r"\d{6}", s.exec(select(SmsMessage.text).where(
        SmsMessage.to_msisdn == msisdn).order_by(SmsMessage.id.desc())).scalars().first()).group(0))


def check(store) -> None:
    assert read(store, lambda s: billing.check_invariants(session=s)) == []


# ---------------------------------------------------------------- GOOD'OK


@pytest.fixture
def subscriber(store):
    make_line(store, PARENT, "smart", balance=10_000, now=BORN)
    _, info = session_for(store, PARENT)
    return store, info


def test_goodok_choose_an_included_melody_then_a_paid_one_bought_once(subscriber):
    store, info = subscriber
    with pytest.raises(Conflict):  # the service first
        transact(store, lambda s: goodok.choose(s, info, PARENT, "vivaldi_spring", T0))
    connect(store, info, PARENT, "goodok")
    before = line_state(store, PARENT).balance_kopecks
    res = transact(store, lambda s: goodok.choose(s, info, PARENT, "vivaldi_spring", T0))
    assert res.charged_kopecks == 0 and line_state(store, PARENT).balance_kopecks == before
    assert read(store, lambda s: goodok.view(s, info, PARENT)).current == "vivaldi_spring"
    with pytest.raises(Conflict) as again:
        transact(store, lambda s: goodok.choose(s, info, PARENT, "vivaldi_spring", T0))
    assert again.value.code == "already_set"
    res = transact(store, lambda s: goodok.choose(s, info, PARENT, "blue_note", T0))  # 35 ₽
    assert res.charged_kopecks == 3_500 and line_state(store, PARENT).balance_kopecks == before - 3_500
    transact(store, lambda s: goodok.choose(s, info, PARENT, "kalinka", T0))
    res = transact(store, lambda s: goodok.choose(s, info, PARENT, "blue_note", T0 + timedelta(minutes=1)))
    assert res.charged_kopecks == 0  # bought before: choosing it again is free
    v = read(store, lambda s: goodok.view(s, info, PARENT))
    assert v.current == "blue_note" and v.owned == {"blue_note"}
    assert count(store, LedgerEntry, LedgerEntry.cause_ref == "goodok:blue_note") == 1
    check(store)


def test_goodok_refusals_change_nothing(subscriber):
    store, info = subscriber
    connect(store, info, PARENT, "goodok")
    with pytest.raises(Invalid) as bad:
        transact(store, lambda s: goodok.choose(s, info, PARENT, "no-such-melody", T0))
    assert bad.value.details["field"] == "melody"
    make_line(store, OTHER, "smart", balance=3_000, now=BORN, account_id=line_state(store, PARENT).account_id)
    connect(store, info, OTHER, "goodok")
    poor = line_state(store, OTHER).balance_kopecks  # 30 ₽ less the service fee (18 ₽ for 9 of 30 days)
    with pytest.raises(InsufficientFunds):
        transact(store, lambda s: goodok.choose(s, info, OTHER, "road_home", T0))  # 29 ₽
    assert read(store, lambda s: goodok.view(s, info, OTHER)).current is None
    assert line_state(store, OTHER).balance_kopecks == poor
    make_line(store, STRANGER, "smart", balance=10_000, now=BORN)
    with pytest.raises(NotFound):  # another account's number
        transact(store, lambda s: goodok.choose(s, info, STRANGER, "kalinka", T0))


# ---------------------------------------------------------------- «Вторая память»


@pytest.fixture
def phone_owner(store):
    make_line(store, PARENT, "smart", balance=50_000, now=BORN)
    make_line(store, OTHER, "smart", balance=10_000, now=BORN)
    charging.ingest(store, [ev(PARENT, "voice", T0 - timedelta(hours=h), peer=OTHER, duration_s=90) for h in (1, 2, 3)]
                    + [ev(PARENT, "voice", T0 - timedelta(hours=4), peer="74951234567", direction="in",
                          duration_s=30)], now=T0)
    _, info = session_for(store, PARENT)
    return store, info


def test_the_phone_has_contacts_and_a_call_log_from_real_usage(phone_owner):
    store, info = phone_owner

    def look(s):
        line = billing.get_line(s, PARENT)
        memory.phone(s, line, T0)
        return memory.contacts(s, line), memory.calls(s, line)

    people, log = transact(store, look)
    assert len(people) >= 14 and OTHER in {c.number for c in people}  # who the line really calls
    assert [(c.peer, c.direction) for c in log] == [(OTHER, "out")] * 3 + [("74951234567", "in")]
    again, _ = transact(store, look)  # set up once; the same book every time
    assert [(c.name, c.number) for c in again] == [(c.name, c.number) for c in people]
    charging.ingest(store, [ev(PARENT, "voice", T0 - timedelta(minutes=5), peer=OTHER, duration_s=10)], now=T0)
    _, log = transact(store, look)
    assert len(log) == 5  # a new call reaches the log


def test_backup_on_demand_list_restore_preview_and_restore(phone_owner):
    store, info = phone_owner
    with pytest.raises(Conflict):
        transact(store, lambda s: memory.backup_now(s, info, PARENT, T0))
    connect(store, info, PARENT, "second_memory")
    first = transact(store, lambda s: memory.backup_now(s, info, PARENT, T0)).backup
    assert first.contacts_count >= 14 and first.calls_count == 4 and first.trigger == "manual"
    assert first.size_bytes == len(first.payload.encode()) > 500
    repeat = transact(store, lambda s: memory.backup_now(s, info, PARENT, T0 + timedelta(seconds=2)))
    assert repeat.repeated and repeat.backup.id == first.id  # a double click makes one backup
    # the phone loses a contact and its call log
    victim = read(store, lambda s: memory.contacts(s, billing.get_line(s, PARENT))[0])
    transact(store, lambda s: memory.delete_contact(s, info, PARENT, victim.id))
    assert transact(store, lambda s: memory.clear_call_log(s, info, PARENT, T0)) == 4
    plan = transact(store, lambda s: memory.restore_preview(s, info, PARENT, first.id, T0))
    assert plan.contacts == [{"name": victim.name, "number": victim.number}] and len(plan.calls) == 4
    transact(store, lambda s: memory.restore(s, info, PARENT, first.id, T0))
    line_id = line_state(store, PARENT).id
    assert count(store, PhoneContact, PhoneContact.line_id == line_id) == first.contacts_count
    assert count(store, PhoneCall, PhoneCall.line_id == line_id) == 4
    assert transact(store, lambda s: memory.restore_preview(s, info, PARENT, first.id, T0)).empty
    # a newer backup is listed first; the list keeps the newest 10
    for i in range(12):
        transact(store, lambda s, i=i: memory.add_contact(s, info, PARENT, f"Новый {i}", f"7916000{i:04d}", T0))
        transact(store, lambda s, i=i: memory.backup_now(s, info, PARENT, T0 + timedelta(minutes=5 + i)))
    listed = read(store, lambda s: memory.backups(s, billing.get_line(s, PARENT)))
    assert len(listed) == memory.KEEP_BACKUPS and listed[0].contacts_count == first.contacts_count + 12
    assert all(a.created_at > b.created_at for a, b in zip(listed, listed[1:], strict=False))


def test_contact_input_and_backups_of_others(phone_owner, store):
    store, info = phone_owner
    for name, number, fld in (("", "79161234567", "name"), ("Вася", "abc", "number"), ("Вася", "12", "number"),
                              ("x" * 81, "79161234567", "name")):
        with pytest.raises(Invalid) as exc:
            transact(store, lambda s, n=name, m=number: memory.add_contact(s, info, PARENT, n, m, T0))
        assert exc.value.details["field"] == fld
    c = transact(store, lambda s: memory.add_contact(s, info, PARENT, "  Вася   Пупкин ", "8 (916) 123-45-67", T0))
    assert (c.name, c.number) == ("Вася Пупкин", "79161234567")
    make_line(store, STRANGER, "smart", balance=10_000, now=BORN)
    _, stranger = session_for(store, STRANGER)
    with pytest.raises(NotFound):
        transact(store, lambda s: memory.delete_contact(s, stranger, STRANGER, c.id))
    connect(store, info, PARENT, "second_memory")
    b = transact(store, lambda s: memory.backup_now(s, info, PARENT, T0)).backup
    with pytest.raises(NotFound):
        transact(store, lambda s: memory.restore_preview(s, stranger, STRANGER, b.id, T0))


def test_scheduled_backups_daily_weekly_off(phone_owner):
    store, info = phone_owner
    connect(store, info, PARENT, "second_memory")  # Sunday 15:00 Moscow
    line_id = line_state(store, PARENT).id
    n = lambda: count(store, MemoryBackup, MemoryBackup.line_id == line_id, MemoryBackup.trigger == "schedule")  # noqa: E731
    jobs.run_due(store, T0 + timedelta(minutes=1))
    assert n() == 0
    three = moscow_midnight((T0 + timedelta(days=1)).date()) + timedelta(hours=3)  # Monday 03:00 Moscow
    assert read(store, lambda s: memory.schedule(s, billing.get_line(s, PARENT), T0)).next_at == three
    report = jobs.run_due(store, three)
    assert n() == 1 and report.backups == 1
    jobs.run_due(store, three + timedelta(hours=5))
    assert n() == 1  # once a day
    jobs.run_due(store, three + timedelta(days=3, hours=1))  # a long pause: one backup, not three
    assert n() == 2
    view = transact(store, lambda s: memory.set_schedule(s, info, PARENT, "weekly", three + timedelta(days=3, hours=2)))
    assert view.next_at == three + timedelta(days=4)
    jobs.run_due(store, three + timedelta(days=4))
    jobs.run_due(store, three + timedelta(days=9))
    assert n() == 3  # the week after the first weekly one has not come yet
    jobs.run_due(store, three + timedelta(days=11))
    assert n() == 4
    transact(store, lambda s: memory.set_schedule(s, info, PARENT, "off", three + timedelta(days=11, hours=1)))
    jobs.run_due(store, three + timedelta(days=20))
    assert n() == 4
    with pytest.raises(Invalid):
        transact(store, lambda s: memory.set_schedule(s, info, PARENT, "hourly", T0))


# ---------------------------------------------------------------- «Родительский контроль»


@pytest.fixture
def family_account(store):
    """A parent with a child's number in the same account (pay as you go, 10 ₽ on it)."""
    account_id = None

    def acc(s):
        return billing.get_line(s, PARENT).account_id

    make_line(store, PARENT, "smart", balance=50_000, now=BORN)
    account_id = read(store, acc)
    make_line(store, CHILD, "minimum", balance=1_000, now=BORN, account_id=account_id)
    _, info = session_for(store, PARENT)
    connect(store, info, PARENT, "parental_control")
    return store, info


def attach(store, info):
    return transact(store, lambda s: parental.attach_own(s, info, PARENT, CHILD, T0))


def test_child_data_at_night_is_refused_by_the_rating_engine(family_account):
    store, info = family_account
    link = attach(store, info)
    [r] = charging.ingest(store, [ev(CHILD, "data", NIGHT, bytes=200_000)], now=T0)
    assert r.status == "rated"  # no limit yet
    transact(store, lambda s: parental.set_limits(s, info, PARENT, link.id, "", True, [], T0))
    before = line_state(store, CHILD)
    night, day = charging.ingest(store, [ev(CHILD, "data", NIGHT + timedelta(minutes=5), bytes=200_000),
                                         ev(CHILD, "data", DAY, bytes=1024)], now=T0)
    assert (night.status, night.charged_kopecks, night.drawn) == ("blocked", 0, [])
    assert "23:00 to 07:00" in night.reason
    assert day.status == "rated" and day.charged_kopecks == 1
    after = line_state(store, CHILD)
    assert after.balance_kopecks == before.balance_kopecks - 1
    rec = read(store, lambda s: s.exec(select(UsageRecord).where(UsageRecord.event_id == night.event_id)).scalars().one())
    assert rec.status == "blocked" and json.loads(rec.explanation)["blocked"] == "parental_night"
    [call] = charging.ingest(store, [ev(CHILD, "voice", NIGHT + timedelta(minutes=9), duration_s=30)], now=T0)
    assert call.status == "rated"  # calls at night are not limited
    kids = read(store, lambda s: parental.children(s, info, PARENT, T0))
    assert kids[0].refused_count == 1 and kids[0].refused[0].event_id == night.event_id
    check(store)


def test_child_spending_limit_counts_the_month_and_refuses_over_it(family_account):
    store, info = family_account
    link = attach(store, info)
    charging.ingest(store, [ev(CHILD, "voice", DAY - timedelta(minutes=30), duration_s=60)], now=T0)  # a cached snapshot
    transact(store, lambda s: parental.set_limits(s, info, PARENT, link.id, "7,50", False, [], T0))
    # 2,50 ₽ already spent this month; 7,50 ₽ allowed: two more minutes, then refused
    results = charging.ingest(store, [ev(CHILD, "voice", DAY - timedelta(minutes=20 - i), duration_s=60)
                                      for i in range(3)], now=T0)
    assert [r.status for r in results] == ["rated", "rated", "blocked"]
    assert results[2].reason.startswith("parental control: monthly spending limit of 750 kopecks (spent 750")
    assert [r.charged_kopecks for r in results] == [250, 250, 0]
    # SMS from the bundle-less tariff costs money too: refused; an incoming call is free: rated
    sms, incoming = charging.ingest(store, [ev(CHILD, "sms", DAY - timedelta(minutes=5)),
                                            ev(CHILD, "voice", DAY - timedelta(minutes=4), direction="in")], now=T0)
    assert (sms.status, incoming.status) == ("blocked", "rated")
    kid = read(store, lambda s: parental.children(s, info, PARENT, T0))[0]
    assert kid.spent_kopecks == 750 and kid.left_kopecks == 0 and kid.by_category == {"voice": 750}
    assert kid.refused_count == 2
    # a new month starts from nothing; a late event of the old month still counts against the old one
    dec = period_of(T0).end
    later = dec + timedelta(days=2)
    late, fresh = charging.ingest(store, [ev(CHILD, "voice", dec - timedelta(days=2), duration_s=60),
                                          ev(CHILD, "voice", dec + timedelta(days=1), duration_s=60)], now=later)
    assert (late.status, fresh.status) == ("blocked", "rated")
    # detaching lifts the limits at once
    transact(store, lambda s: billing.top_up(session=s, msisdn=CHILD, amount_kopecks=5_000, key="kid", now=later))
    transact(store, lambda s: parental.set_limits(s, info, PARENT, link.id, "0", False, [], later))
    [r] = charging.ingest(store, [ev(CHILD, "voice", later - timedelta(minutes=9), duration_s=60)], now=later)
    assert r.status == "blocked"
    transact(store, lambda s: parental.detach(s, info, PARENT, link.id, later))
    [r] = charging.ingest(store, [ev(CHILD, "voice", later - timedelta(minutes=8), duration_s=60)], now=later)
    assert r.status == "rated"
    check(store)


def test_blocked_content_and_the_limit_on_subscriptions(family_account):
    store, info = family_account
    _, child_info = session_for(store, CHILD)
    transact(store, lambda s: billing.top_up(session=s, msisdn=CHILD, amount_kopecks=10_000, key="kid", now=T0))
    connect(store, child_info, CHILD, "content_games")  # 15 ₽ a day, before any control
    link = attach(store, info)
    transact(store, lambda s: parental.set_limits(s, info, PARENT, link.id, "", False, ["content_games"], T0))
    subs = read(store, lambda s: s.exec(select(Subscription).where(Subscription.code == "content_games")).scalars().all())
    assert [s.active for s in subs] == [False]  # stopped at once
    with pytest.raises(Conflict) as blocked:
        connect(store, child_info, CHILD, "content_games")
    assert blocked.value.code == "parental_blocked"
    connect(store, child_info, CHILD, "content_news")  # 7 ₽, not blocked
    transact(store, lambda s: parental.set_limits(s, info, PARENT, link.id, "20", False, [], T0))
    with pytest.raises(Conflict) as over:  # 15 + 7 already spent this month; 15 more would pass 20
        connect(store, child_info, CHILD, "content_horoscope")
    assert over.value.code == "parental_limit"
    # the next daily fee of «Новости+» would pass the limit too: the scheduler stops it, charging nothing
    balance = line_state(store, CHILD).balance_kopecks
    jobs.run_due(store, moscow_midnight((T0 + timedelta(days=1)).date()) + timedelta(minutes=1))
    assert line_state(store, CHILD).balance_kopecks == balance
    news = read(store, lambda s: s.exec(select(Subscription).where(Subscription.code == "content_news")).scalars().one())
    assert not news.active
    with pytest.raises(Conflict):  # the parent's service cannot go while a child is attached
        transact(store, lambda s: cabinet.disconnect(s, info, PARENT, "parental_control", T0))
    check(store)


def test_attach_another_number_by_code_with_the_same_answers_for_unknown_ones(family_account):
    store, info = family_account
    make_line(store, OTHER, "smart", balance=5_000, now=BORN)
    with pytest.raises(Conflict):  # a number of the account is chosen from the list: no code
        transact(store, lambda s: parental.request_attach(s, info, PARENT, CHILD, "t", T0))
    with pytest.raises(Invalid) as bad:
        transact(store, lambda s: parental.request_attach(s, info, PARENT, "12345", "t", T0))
    assert bad.value.details["field"] == "child"
    req = transact(store, lambda s: parental.request_attach(s, info, PARENT, "+7 925 000-00-03", "t", T0))
    assert "Родительскому контролю" in read(store, lambda s: s.exec(select(SmsMessage.text).where(
        SmsMessage.to_msisdn == OTHER).order_by(SmsMessage.id.desc())).scalars().first())
    with pytest.raises(Unauthorized):
        transact(store, lambda s: parental.confirm_attach(s, info, PARENT, req.attempt_id, OTHER, "000000", T0),
                 keep_on=(Unauthorized, Locked))
    link = transact(store, lambda s: parental.confirm_attach(s, info, PARENT, req.attempt_id, OTHER,
                                                             last_code(store, OTHER), T0))
    assert link.via == "code" and count(store, ParentalLink, ParentalLink.status == "active") == 1
    # an unknown number: the same answer when asking, no SMS, and the confirmation is refused like a wrong code
    ghost = "79259999999"
    req = transact(store, lambda s: parental.request_attach(s, info, PARENT, ghost, "t", T0))
    assert count(store, SmsMessage, SmsMessage.to_msisdn == ghost) == 0
    with pytest.raises(Unauthorized):
        transact(store, lambda s: parental.confirm_attach(s, info, PARENT, req.attempt_id, ghost, "123456", T0),
                 keep_on=(Unauthorized, Locked))
    # the child sees who controls it; a stranger cannot touch the link
    _, other_info = session_for(store, OTHER)
    seen = read(store, lambda s: parental.controlled(s, other_info, OTHER, T0))
    assert seen.parent_msisdn == PARENT
    with pytest.raises(NotFound):
        transact(store, lambda s: parental.set_limits(s, other_info, OTHER, link.id, "1", True, [], T0))
    attach(store, info)
    with pytest.raises(Conflict):  # already under control
        attach(store, info)
    assert [c.msisdn for c in read(store, lambda s: parental.children(s, info, PARENT, T0))] == [OTHER, CHILD]


def test_limit_input_is_checked_beside_the_field(family_account):
    store, info = family_account
    link = attach(store, info)
    for text in ("abc", "-5", "100001", "1,234"):
        with pytest.raises(Invalid) as exc:
            transact(store, lambda s, t=text: parental.set_limits(s, info, PARENT, link.id, t, False, [], T0))
        assert exc.value.details["field"] == "limit"
    with pytest.raises(Invalid):
        transact(store, lambda s: parental.set_limits(s, info, PARENT, link.id, "", False, ["goodok"], T0))
    saved = transact(store, lambda s: parental.set_limits(s, info, PARENT, link.id, "0", False, ["*"], T0))
    assert saved.spend_limit_kopecks == 0 and parental.blocked_codes(saved) == ["*"]


# ---------------------------------------------------------------- content subscriptions


def test_content_subscription_history_and_cancel_says_the_last_charge(subscriber):
    store, info = subscriber
    connect(store, info, PARENT, "content_horoscope")  # 10 ₽ now, for today
    midnight = moscow_midnight((T0 + timedelta(days=1)).date())
    jobs.run_due(store, midnight + timedelta(minutes=1))  # the scheduler: the next day's 10 ₽
    [v] = read(store, lambda s: content.subscriptions(s, info, PARENT, midnight + timedelta(hours=1)))
    assert v.provider_ru == "ООО «Астро-Медиа»" and v.fee_unit == "day" and v.active
    assert [c.amount_kopecks for c in v.charges] == [1_000, 1_000] and v.last_charge.at == midnight
    assert v.next_charge_at == midnight + timedelta(days=1) and v.started_at == T0
    ended = transact(store, lambda s: content.cancel(s, info, PARENT, "content_horoscope", midnight + timedelta(hours=2)))
    assert not ended.active and ended.next_charge_at is None and ended.last_charge.at == midnight
    balance = line_state(store, PARENT).balance_kopecks
    jobs.run_due(store, midnight + timedelta(days=2))
    assert line_state(store, PARENT).balance_kopecks == balance  # no charge after cancelling
    with pytest.raises(Conflict):
        transact(store, lambda s: content.cancel(s, info, PARENT, "content_horoscope", midnight + timedelta(days=2)))
    with pytest.raises(Invalid):
        transact(store, lambda s: content.cancel(s, info, PARENT, "goodok", midnight + timedelta(days=2)))


def test_a_monthly_content_subscription_is_charged_at_each_period_start(subscriber):
    store, info = subscriber
    transact(store, lambda s: billing.top_up(session=s, msisdn=PARENT, amount_kopecks=100_000, key="more", now=T0))
    connect(store, info, PARENT, "content_music")  # 199 ₽ a month: 9 of 30 days now
    next_period = period_of(T0).end
    jobs.run_due(store, next_period + timedelta(minutes=1))
    [v] = read(store, lambda s: content.subscriptions(s, info, PARENT, next_period + timedelta(hours=1)))
    assert [c.amount_kopecks for c in v.charges] == [19_900, -(-19_900 * 9 // 30)]
    rows = read(store, lambda s: s.exec(select(LedgerEntry.category).where(
        LedgerEntry.cause_ref.like("service:content_music:%"))).scalars().all())
    assert set(rows) == {"content"}
    assert v.next_charge_at == period_of(next_period).end


# ---------------------------------------------------------------- SMS to several recipients


def test_an_sms_to_several_recipients_each_rated_and_delivered(subscriber):
    store, info = subscriber
    people = ["79250000011", "+7 925 000-00-12", "8 925 000 00 13"]
    cost = read(store, lambda s: cabinet.sms_cost(s, info, 3, T0))
    assert (cost.from_bundle, cost.paid, cost.total_kopecks) == (3, 0, 0)
    sent = cabinet.send_sms_many(store, info, people + [""], "Встреча в 19:00", T0, "req-many")
    assert [(x.status, x.to) for x in sent] == [("rated", f"792500000{n}") for n in (11, 12, 13)]
    for n in (11, 12, 13):
        assert count(store, SmsMessage, SmsMessage.to_msisdn == f"792500000{n}", SmsMessage.sender == PARENT) == 1
    assert count(store, UsageRecord, UsageRecord.event_id.like(f"portal-sms:{PARENT}:%")) == 3
    again = cabinet.send_sms_many(store, info, people, "Встреча в 19:00", T0, "req-many")
    assert {x.status for x in again} == {"duplicate"}
    assert count(store, SmsMessage, SmsMessage.sender == PARENT) == 3
    _, problems = cabinet.recipient_problems(["79250000011", "abc", "79250000011", PARENT, ""], PARENT)
    assert {i: p.details["field"] for i, p in problems.items()} == {1: "to-1", 2: "to-2", 3: "to-3"}
    _, problems = cabinet.recipient_problems([f"7925000001{i}" for i in range(6)], PARENT)
    assert list(problems) == [5]
    with pytest.raises(Invalid):
        cabinet.send_sms_many(store, info, [f"7925000001{i}" for i in range(6)], "x", T0, "req-6")


def test_several_recipients_without_money_for_all_rate_each_on_its_own(store):
    make_line(store, PARENT, "minimum", balance=450, now=BORN)  # 2 ₽ an SMS: two of three
    _, info = session_for(store, PARENT)
    cost = read(store, lambda s: cabinet.sms_cost(s, info, 3, T0))
    assert (cost.paid, cost.rate_kopecks, cost.total_kopecks) == (3, 200, 600)
    sent = cabinet.send_sms_many(store, info, ["79250000011", "79250000012", "79250000013"], "hi", T0, "k")
    assert [x.status for x in sent] == ["rated", "rated", "blocked"] and sent[2].charged_kopecks == 0
    assert count(store, SmsMessage, SmsMessage.to_msisdn == "79250000013") == 0  # never delivered
    assert line_state(store, PARENT).balance_kopecks == 50
    check(store)


# ---------------------------------------------------------------- tariff history


def test_every_tariff_change_is_recorded(store):
    make_line(store, PARENT, "smart", balance=300_000, now=BORN)
    make_line(store, CHILD, "minimum", balance=10_000, now=BORN)
    transact(store, lambda s: billing.switch_tariff(session=s, line=billing.get_line_for_update(s, PARENT),
                                                    new_code="my_mts", now=T0, request_key="sw"))
    transact(store, lambda s: family.enrol(s, billing.get_line(s, PARENT), billing.get_line(s, CHILD), T0))
    _, child_info = session_for(store, CHILD)
    transact(store, lambda s: family.leave(s, child_info, CHILD, T0 + timedelta(hours=1)))

    def history(msisdn):
        return read(store, lambda s: [(c.from_code, c.to_code, c.reason, c.fee_kopecks) for c in
                                      billing.tariff_history(s, billing.get_line(s, msisdn))])

    fee = -(-100_000 * 9 // 30)  # «МЫ МТС» for 9 of 30 days
    assert history(PARENT) == [("smart", "my_mts", "switch", fee), (None, "smart", "provision", 0)]
    assert history(CHILD) == [("my_mts_member", "minimum", "family_leave", 0),
                              ("minimum", "my_mts_member", "family_join", 0), (None, "minimum", "provision", 0)]


def test_seeding_records_the_tariff_history_of_every_line(sqlite_store):
    from simulator.population import seed

    seed(sqlite_store, lines=40, seed=7, now=T0, progress=False)
    lines = read(sqlite_store, lambda s: s.exec(select(func.count()).select_from(billing.Line)).scalar_one())
    provisions = count(sqlite_store, TariffChange, TariffChange.reason == "provision")
    assert provisions == lines == 40
    members = count(sqlite_store, TariffChange, TariffChange.reason == "family_join")
    assert members == read(sqlite_store, lambda s: s.exec(select(func.count()).select_from(billing.Line).where(
        billing.Line.tariff_code == "my_mts_member")).scalar_one())


def test_no_account_reaches_anothers_melody_backups_children_or_subscriptions(family_account):
    """Another subscriber names the parent's numbers and objects: every answer is «not found» and nothing
    changes; a child attached by code gives the parent its spending only, not its cabinet."""
    store, info = family_account
    link = attach(store, info)
    connect(store, info, PARENT, "second_memory")
    connect(store, info, PARENT, "goodok")
    connect(store, info, PARENT, "content_news")
    backup = transact(store, lambda s: memory.backup_now(s, info, PARENT, T0)).backup
    contact = read(store, lambda s: memory.contacts(s, billing.get_line(s, PARENT))[0])
    make_line(store, STRANGER, "smart", balance=10_000, now=BORN)
    _, stranger = session_for(store, STRANGER)
    connect(store, stranger, STRANGER, "parental_control")
    attempts = [
        lambda s: goodok.choose(s, stranger, PARENT, "kalinka", T0),
        lambda s: memory.backup_now(s, stranger, PARENT, T0),
        lambda s: memory.restore(s, stranger, STRANGER, backup.id, T0),
        lambda s: memory.delete_contact(s, stranger, STRANGER, contact.id),
        lambda s: memory.set_schedule(s, stranger, PARENT, "off", T0),
        lambda s: parental.children(s, stranger, PARENT, T0),
        lambda s: parental.set_limits(s, stranger, STRANGER, link.id, "1", True, [], T0),
        lambda s: parental.detach(s, stranger, STRANGER, link.id, T0),
        lambda s: parental.attach_own(s, stranger, STRANGER, CHILD, T0),
        lambda s: content.cancel(s, stranger, PARENT, "content_news", T0),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound):
            transact(store, attempt)
    assert read(store, lambda s: s.get(ParentalLink, link.id)).status == "active"
    assert count(store, MemoryBackup) == 1 and count(store, PhoneContact, PhoneContact.id == contact.id) == 1
    # a number attached by code stays out of the parent's cabinet
    make_line(store, OTHER, "smart", balance=5_000, now=BORN)
    req = transact(store, lambda s: parental.request_attach(s, info, PARENT, OTHER, "t", T0))
    transact(store, lambda s: parental.confirm_attach(s, info, PARENT, req.attempt_id, OTHER, last_code(store, OTHER), T0))
    with pytest.raises(NotFound):
        read(store, lambda s: cabinet.selected_line(s, type(info)(**{**info.__dict__, "selected_msisdn": OTHER})))
