"""Home internet and TV (issue 17): fees, suspension and resumption, packages and options, the tariff
switch, «20 % возврата», usage caps, requests' lifecycle — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from mts_portal.core import home, jobs
from mts_portal.core.clock import MSK, moscow_date
from mts_portal.core.db import read, transact
from mts_portal.core.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited
from mts_portal.core.models import (
    Account,
    HomeAccount,
    HomeEquipment,
    HomeLedgerEntry,
    HomePayment,
    HomeRequest,
    HomeUsageDay,
    SmsMessage,
)
from mts_portal.core.money import KB_PER_GB, rub
from tests.conftest import T0  # 2026-11-22 15:00 Moscow: 9 of 30 November days left

CONTACT = "79260000001"


def make_home(engine, tariff="home_300_tv", *, opening=rub(1000), codes=(), now=T0, contract="770000000001",
              contact=CONTACT) -> int:
    def fn(s):
        acc = Account(holder_name="Ирина Домашняя", created_at=now)
        s.add(acc)
        s.flush()
        return home.provision(session=s, account_id=acc.id, address="Москва, ул. Тверская, д. 1, кв. 5",
                              contact_msisdn=contact, tariff_code=tariff, now=now, contract=contract,
                              codes=codes, opening_kopecks=opening).id
    return transact(engine, fn)


def state(engine, home_id) -> HomeAccount:
    return read(engine, lambda s: s.get(HomeAccount, home_id))


def fees(engine, home_id) -> list[tuple[str, int]]:
    return read(engine, lambda s: [(r.cause_ref.rsplit(":", 1)[1], r.amount_kopecks) for r in s.exec(
        select(HomeLedgerEntry).where(HomeLedgerEntry.home_account_id == home_id,
                                      HomeLedgerEntry.kind == "home_fee").order_by(HomeLedgerEntry.id)).scalars()])


def invariants(engine) -> list[str]:
    return read(engine, lambda s: home.check_invariants(session=s))


def sms_to(engine, number=CONTACT) -> list[str]:
    return read(engine, lambda s: list(s.exec(select(SmsMessage.text).where(SmsMessage.to_msisdn == number)
                                              .order_by(SmsMessage.id)).scalars()))


def test_catalogue_has_three_of_each_with_stable_codes(store):
    tariffs = read(store, lambda s: [t.code for t in home.tariffs(s)])
    packages = read(store, lambda s: [p.code for p in home.products(s, "tv_package")])
    options = read(store, lambda s: [p.code for p in home.products(s, "option")])
    assert tariffs == ["home_lite", "home_100", "home_300_tv", "home_500_tv"]
    assert len(packages) >= 3 and len(options) >= 3
    assert {"tv_kino", "tv_sport", "static_ip", "antivirus", "router_rent"} <= set(packages) | set(options)


def test_provision_charges_prorated_fees_through_the_ledger(store):
    hid = make_home(store, codes=("tv_kino", "router_rent"))
    # 850 ₽ × 9/30 = 255 ₽; Кино 299 × 9/30 = 89.70 ₽; router 100 × 9/30 = 30 ₽
    assert fees(store, hid) == [("home_300_tv", -25500), ("tv_kino", -8970), ("router_rent", -3000)]
    acc = state(store, hid)
    assert acc.balance_kopecks == rub(1000) - 25500 - 8970 - 3000
    assert acc.status == "active" and len(acc.contract) == 12
    kinds = read(store, lambda s: [(e.kind, e.ownership) for e in home.equipment(s, hid)])
    assert kinds == [("router", "rented")]
    assert invariants(store) == []


@pytest.mark.parametrize("kw,field", [
    (dict(address="x"), "address"), (dict(contact_msisdn="8926"), "contact_msisdn"),
    (dict(tariff_code="gold"), "tariff"), (dict(contract="12345"), "contract"),
])
def test_provision_rejects_bad_input_and_changes_nothing(store, kw, field):
    def fn(s):
        acc = Account(holder_name="X", created_at=T0)
        s.add(acc)
        s.flush()
        args = dict(address="Москва, ул. Ленина, 1", contact_msisdn=CONTACT, tariff_code="home_100") | kw
        home.provision(session=s, account_id=acc.id, now=T0, **args)
    with pytest.raises(Invalid) as exc:
        transact(store, fn)
    assert exc.value.details.get("field") == field
    assert read(store, lambda s: s.exec(select(func.count()).select_from(HomeAccount)).scalar_one()) == 0


def test_monthly_fees_by_the_scheduler_once(store):
    hid = make_home(store, codes=("tv_sport", "static_ip"), opening=rub(3000))
    before = state(store, hid).balance_kopecks
    dec1 = datetime(2026, 12, 1, tzinfo=MSK)
    jobs.run_due(store, dec1 + timedelta(minutes=1))
    jobs.run_due(store, dec1 + timedelta(minutes=2))  # nothing twice
    dec = [f for f in fees(store, hid)[3:]]
    assert dec == [("home_300_tv", -85000), ("tv_sport", -24900), ("static_ip", -15000)]
    assert state(store, hid).balance_kopecks == before - 85000 - 24900 - 15000
    assert state(store, hid).period_start == dec1
    assert invariants(store) == []


def test_negative_balance_suspends_after_grace_and_payment_resumes(store):
    hid = make_home(store, "home_100", opening=rub(200))  # 550 × 9/30 = 165 ₽ → 35 ₽ left
    dec1 = datetime(2026, 12, 1, tzinfo=MSK)
    jobs.run_due(store, dec1)  # 550 ₽ → −515 ₽
    acc = state(store, hid)
    assert acc.balance_kopecks == -51500 and acc.status == "active" and acc.negative_since == dec1
    jobs.run_due(store, dec1 + home.GRACE - timedelta(seconds=1))
    assert state(store, hid).status == "active"
    jobs.run_due(store, dec1 + home.GRACE)
    acc = state(store, hid)
    assert acc.status == "suspended" and any("приостановлены" in t for t in sms_to(store))
    # while suspended: no usage, no connecting
    with pytest.raises(Forbidden):
        transact(store, lambda s: home.connect(session=s, home=s.get(HomeAccount, hid), code="static_ip",
                                               now=dec1 + timedelta(days=6)))
    res = transact(store, lambda s: home.record_usage(session=s, home=s.get(HomeAccount, hid), day=date(2026, 12, 7),
                                                      sessions=3, bytes_down=10**9, bytes_up=10**8, tv_minutes=0,
                                                      now=dec1 + timedelta(days=6)))
    assert res.status == "suspended"
    # a payment too small keeps it suspended; enough resumes at once
    pay = dict(now=dec1 + timedelta(days=7))
    transact(store, lambda s: home.pay(session=s, home=s.get(HomeAccount, hid), amount_kopecks=rub(100), key="p1", **pay))
    assert state(store, hid).status == "suspended"
    transact(store, lambda s: home.pay(session=s, home=s.get(HomeAccount, hid), amount_kopecks=rub(500), key="p2", **pay))
    acc = state(store, hid)
    assert acc.status == "active" and acc.balance_kopecks == -51500 + 60000 and acc.negative_since is None
    assert any("возобновлены" in t for t in sms_to(store))
    assert invariants(store) == []


def test_suspended_contract_pays_no_next_fee_and_resume_charges_the_rest_prorated(store):
    hid = make_home(store, "home_100", opening=rub(165))  # exactly the November fee: 0 left
    transact(store, lambda s: home.pay(session=s, home=s.get(HomeAccount, hid), amount_kopecks=rub(1), key="x",
                                       now=T0))
    dec1 = datetime(2026, 12, 1, tzinfo=MSK)
    jobs.run_due(store, dec1 + timedelta(days=5))  # −549 ₽ since Dec 1 → suspended on Dec 6
    assert state(store, hid).status == "suspended"
    jan1 = datetime(2027, 1, 1, tzinfo=MSK)
    jobs.run_due(store, jan1 + timedelta(hours=1))
    assert [f for f in fees(store, hid) if f[0] == "home_100"] == [("home_100", -16500), ("home_100", -55000)]
    assert state(store, hid).status == "suspended"  # no January fee while suspended
    # paying on January 11 (21 of 31 days left): resumed and January charged 550 × 21/31 = 372.59 ₽
    transact(store, lambda s: home.pay(session=s, home=s.get(HomeAccount, hid), amount_kopecks=rub(1000), key="y",
                                       now=datetime(2027, 1, 11, 12, tzinfo=MSK)))
    acc = state(store, hid)
    assert acc.status == "active"
    assert fees(store, hid)[-1] == ("home_100", -37259)
    assert acc.balance_kopecks == 100 - 55000 + 100000 - 37259
    assert invariants(store) == []


def test_packages_cost_first_once_per_period_and_disconnect_refunds_nothing(store):
    hid = make_home(store)
    q = read(store, lambda s: home.quote(session=s, home=s.get(HomeAccount, hid), code="tv_kino", now=T0))
    assert (q.monthly_kopecks, q.now_kopecks, q.remaining_days, q.period_days) == (29900, 8970, 9, 30)
    transact(store, lambda s: home.connect(session=s, home=s.get(HomeAccount, hid), code="tv_kino", now=T0))
    with pytest.raises(Conflict):
        transact(store, lambda s: home.connect(session=s, home=s.get(HomeAccount, hid), code="tv_kino", now=T0))
    with pytest.raises(Conflict):  # the tariff's own package
        transact(store, lambda s: home.connect(session=s, home=s.get(HomeAccount, hid), code="tv_basic", now=T0))
    with pytest.raises(NotFound):
        transact(store, lambda s: home.connect(session=s, home=s.get(HomeAccount, hid), code="tv_gold", now=T0))
    balance = state(store, hid).balance_kopecks
    transact(store, lambda s: home.disconnect(session=s, home=s.get(HomeAccount, hid), code="tv_kino", now=T0))
    assert state(store, hid).balance_kopecks == balance  # nothing refunded
    # connecting again in the same period costs nothing more
    q2 = read(store, lambda s: home.quote(session=s, home=s.get(HomeAccount, hid), code="tv_kino", now=T0))
    assert q2.now_kopecks == 0
    transact(store, lambda s: home.connect(session=s, home=s.get(HomeAccount, hid), code="tv_kino", now=T0))
    assert [f for f in fees(store, hid) if f[0] == "tv_kino"] == [("tv_kino", -8970)]
    assert invariants(store) == []


def test_tv_packages_need_a_tariff_with_tv(store):
    hid = make_home(store, "home_100")
    with pytest.raises(Invalid):
        transact(store, lambda s: home.connect(session=s, home=s.get(HomeAccount, hid), code="tv_sport", now=T0))


def test_tariff_switch_prorated_preview_equals_the_charge(store):
    hid = make_home(store, codes=("tv_kino",))
    later = T0 + timedelta(days=2)  # Nov 24: 7 days left
    p = read(store, lambda s: home.preview_switch(session=s, home=s.get(HomeAccount, hid), new_code="home_100",
                                                  now=later))
    assert (p.now_kopecks, p.remaining_days, p.drops) == (55000 * 7 // 30 + 1, 7, ["tv_kino"])  # 128.33 → up
    before = state(store, hid).balance_kopecks
    transact(store, lambda s: home.switch_tariff(session=s, home=s.get(HomeAccount, hid), new_code="home_100",
                                                 now=later))
    acc = state(store, hid)
    assert acc.tariff_code == "home_100" and acc.balance_kopecks == before - p.now_kopecks
    assert read(store, lambda s: home.active_codes(s, hid)) == []
    with pytest.raises(Conflict):
        read(store, lambda s: home.preview_switch(session=s, home=s.get(HomeAccount, hid), new_code="home_100",
                                                  now=later))


def test_cashback_is_twenty_percent_of_the_period_fees_to_the_balance(store):
    hid = make_home(store, opening=rub(5000))
    # joined after the November tariff fee: only what is charged since counts
    transact(store, lambda s: home.join_promo(session=s, home=s.get(HomeAccount, hid), now=T0 + timedelta(hours=1)))
    with pytest.raises(Conflict):
        transact(store, lambda s: home.join_promo(session=s, home=s.get(HomeAccount, hid), now=T0))
    transact(store, lambda s: home.connect(session=s, home=s.get(HomeAccount, hid), code="tv_kids",
                                           now=T0 + timedelta(hours=2)))  # 99 × 9/30 = 29.70 ₽
    dec1 = datetime(2026, 12, 1, tzinfo=MSK)
    jobs.run_due(store, dec1)
    rows = read(store, lambda s: home.returns(s, hid))
    assert [(r.amount_kopecks, r.cause_ref) for r in rows] == [(2970 * 20 // 100, "cashback:770000000001:2026-11")]
    jobs.run_due(store, datetime(2027, 1, 1, tzinfo=MSK))
    rows = read(store, lambda s: home.returns(s, hid))
    # December: 850 + 99 = 949 ₽ → 189.80 ₽ exactly
    assert rows[0].amount_kopecks == 18980 and rows[0].created_at == datetime(2027, 1, 1, tzinfo=MSK)
    assert invariants(store) == []


def test_cashback_rounds_down_to_the_kopeck():
    # the arithmetic itself: 20 % of 89.71 ₽ is 17.942 → 17.94 ₽
    assert 8971 * home.CASHBACK_PERCENT // 100 == 1794


def test_payments_are_idempotent(store):
    hid = make_home(store)
    a = transact(store, lambda s: home.pay(session=s, home=s.get(HomeAccount, hid), amount_kopecks=rub(300), key="k",
                                           now=T0))
    b = transact(store, lambda s: home.pay(session=s, home=s.get(HomeAccount, hid), amount_kopecks=rub(300), key="k",
                                           now=T0))
    assert b.replayed and b.balance_kopecks == a.balance_kopecks
    with pytest.raises(Conflict):
        transact(store, lambda s: home.pay(session=s, home=s.get(HomeAccount, hid), amount_kopecks=rub(301), key="k",
                                           now=T0))
    with pytest.raises(Invalid):
        transact(store, lambda s: home.pay(session=s, home=s.get(HomeAccount, hid), amount_kopecks=0, key="z", now=T0))
    assert read(store, lambda s: s.exec(select(func.count()).select_from(HomePayment)).scalar_one()) == 1
    d = transact(store, lambda s: home.pay(session=s, home=s.get(HomeAccount, hid), amount_kopecks=rub(5), key="d",
                                           now=T0, declined="insufficient"))
    assert d.status == "declined" and d.balance_kopecks == a.balance_kopecks
    assert invariants(store) == []


def test_usage_is_free_but_capped_where_the_tariff_has_a_cap(store):
    hid = make_home(store, "home_lite")
    day = moscow_date(T0)
    cap = 100 * KB_PER_GB
    r1 = transact(store, lambda s: home.record_usage(session=s, home=s.get(HomeAccount, hid), day=day, sessions=5,
                                                     bytes_down=(cap - 10) * 1024, bytes_up=0, tv_minutes=90, now=T0))
    assert (r1.counted_kb, r1.throttled_bytes, r1.capped) == (cap - 10, 0, False)
    r2 = transact(store, lambda s: home.record_usage(session=s, home=s.get(HomeAccount, hid), day=day, sessions=1,
                                                     bytes_down=20 * 1024, bytes_up=1, tv_minutes=0, now=T0))
    assert (r2.counted_kb, r2.throttled_bytes, r2.capped) == (10, 10 * 1024 + 1, True)
    row = read(store, lambda s: s.exec(select(HomeUsageDay).where(HomeUsageDay.home_account_id == hid)).scalars().one())
    assert row.sessions == 6 and row.tv_minutes == 0  # no TV on an internet-only tariff
    assert fees(store, hid) == [("home_lite", -10500)]  # nothing charged per unit
    with pytest.raises(Invalid):
        transact(store, lambda s: home.record_usage(session=s, home=s.get(HomeAccount, hid), day=day, sessions=-1,
                                                    bytes_down=0, bytes_up=0, tv_minutes=0, now=T0))
    # a new period resets the cap's counter
    jobs.run_due(store, datetime(2026, 12, 1, tzinfo=MSK))
    assert state(store, hid).period_used_kb == 0


def test_requests_numbers_lifecycle_and_status_sms(store):
    hid = make_home(store)
    acc_id = state(store, hid).account_id
    c = transact(store, lambda s: home.file_connect_request(
        session=s, account_id=acc_id, address="Москва, Ленинский пр., 10", services=["internet", "tv"],
        contact="+7 926 000-00-01", call_time="9:00–12:00", now=T0))
    p = transact(store, lambda s: home.file_problem(session=s, account_id=acc_id, home=s.get(HomeAccount, hid),
                                                    service="tv", text="Нет изображения на каналах", now=T0))
    assert c.number.startswith("CN-2611-") and p.number.startswith("PR-2611-") and c.status == p.status == "new"
    for bad in (dict(services=[]), dict(services=["gold"]), dict(contact="123"), dict(address=""),
                dict(call_time="")):
        args = dict(address="Москва, Ленинский пр., 10", services=["internet"], contact=CONTACT, call_time="утро") | bad
        with pytest.raises(Invalid):
            transact(store, lambda s, args=args: home.file_connect_request(session=s, account_id=acc_id, now=T0, **args))
    with pytest.raises(Invalid):
        transact(store, lambda s: home.file_problem(session=s, account_id=acc_id, home=s.get(HomeAccount, hid),
                                                    service="tv", text="", now=T0))
    # the demo scheduler moves them: new → in_work after 2 min, → done after 10 more
    transact(store, lambda s: home.advance_due(session=s, now=T0 + timedelta(minutes=2)))
    transact(store, lambda s: home.advance_due(session=s, now=T0 + timedelta(minutes=5)))
    statuses = read(store, lambda s: {r.number: r.status for r in s.exec(select(HomeRequest)).scalars()})
    assert set(statuses.values()) == {"in_work"}
    transact(store, lambda s: home.advance_due(session=s, now=T0 + timedelta(minutes=12)))
    assert read(store, lambda s: {r.status for r in s.exec(select(HomeRequest)).scalars()}) == {"done"}
    with pytest.raises(Conflict):  # never back
        transact(store, lambda s: home.advance(session=s, number=c.number, to_status="in_work", now=T0))
    n = transact(store, lambda s: home.status_sms(session=s, account_id=acc_id, home=s.get(HomeAccount, hid),
                                                  to_msisdn=CONTACT, now=T0 + timedelta(minutes=13)))
    assert n == 2
    last = sms_to(store)[-1]
    assert last.startswith("Статус обращений") and f"{c.number} — выполнена" in last and p.number in last
    for _ in range(home.STATUS_SMS_LIMIT - 1):
        transact(store, lambda s: home.status_sms(session=s, account_id=acc_id, home=None, to_msisdn=CONTACT,
                                                  now=T0 + timedelta(minutes=14)))
    with pytest.raises(RateLimited):
        transact(store, lambda s: home.status_sms(session=s, account_id=acc_id, home=None, to_msisdn=CONTACT,
                                                  now=T0 + timedelta(minutes=15)))


def test_invariant_check_sees_a_broken_home_ledger(store):
    hid = make_home(store)

    def corrupt(s):
        acc = s.get(HomeAccount, hid)
        acc.balance_kopecks += 1
        s.add(acc)
    transact(store, corrupt)
    problems = invariants(store)
    assert problems and "770000000001" in problems[0]


def test_rent_option_brings_and_takes_the_equipment(store):
    hid = make_home(store, codes=("tv_box_rent",))
    assert read(store, lambda s: [e.kind for e in home.equipment(s, hid)]) == ["tv_box"]
    transact(store, lambda s: home.disconnect(session=s, home=s.get(HomeAccount, hid), code="tv_box_rent", now=T0))
    assert read(store, lambda s: s.exec(select(func.count()).select_from(HomeEquipment)).scalar_one()) == 0
    with pytest.raises(NotFound):
        transact(store, lambda s: home.disconnect(session=s, home=s.get(HomeAccount, hid), code="tv_box_rent", now=T0))


def test_contract_numbers(store):
    assert home.normalize_contract("7700 0000 0001") == "770000000001"
    assert home.format_contract("770000000001") == "7700 0000 0001"
    for bad in ("", "77000000000", "7700000000012", "77000000000x", None):
        with pytest.raises(Invalid):
            home.normalize_contract(bad)
    assert moscow_date(T0) == date(2026, 11, 22)


def test_the_store_wide_invariant_check_covers_home_ledgers(store):
    from mts_portal.core import billing

    hid = make_home(store)
    assert read(store, lambda s: billing.check_invariants(session=s)) == []

    def corrupt(s):
        s.add(HomeLedgerEntry(home_account_id=hid, amount_kopecks=-1, kind="home_fee", category="tariff",
                              cause_type="fee", cause_ref="forged", balance_after=0, created_at=T0))
    transact(store, corrupt)
    assert any("770000000001" in p for p in read(store, lambda s: billing.check_invariants(session=s)))
