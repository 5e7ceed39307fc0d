"""Money: cards and the simulated gateway, promised payment, autopay, transfers, history."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mts_portal.core import billing, jobs, payments
from mts_portal.core.db import read, transact
from mts_portal.core.errors import Conflict, Invalid, Locked, NotFound, Unauthorized
from mts_portal.core.models import AutopayRun, LedgerEntry, Payment, PromisedPayment, SmsMessage
from tests.conftest import T0
from tests.helpers import line_state, make_line
from tests.unit.test_access_matrix import session_for

A, B = "79190000001", "79190000002"
OK_CARD, POOR_CARD, OLD_CARD, DOWN_CARD = "4111111111111111", "4000000000000002", "4000000000000069", \
    "4000000000000119"


@pytest.fixture
def money(store):
    make_line(store, A, "minimum", balance=10_000, now=T0)
    make_line(store, B, "smart", balance=20_000, now=T0)
    _, info = session_for(store, A)
    return store, info


def add(store, info, pan=OK_CARD, expiry="12/29"):
    return transact(store, lambda s: payments.add_card(s, info, payments.parse_card(pan, expiry, "123", T0), T0))


def test_card_validation(money):
    store, info = money
    for pan, exp, cvc in (("4111111111111112", "12/29", "123"), ("4111", "12/29", "123"),
                          (OK_CARD, "13/29", "123"), (OK_CARD, "10/26", "123"), (OK_CARD, "12/29", "12")):
        with pytest.raises(Invalid):
            payments.parse_card(pan, exp, cvc, T0)
    card = add(store, info)
    assert (card.brand, card.last4) == ("Visa", "1111") and card.token.startswith("tok_")
    assert payments.card_brand("2200123412341234") == "Мир"
    assert add(store, info).id == card.id  # the same card is not saved twice


def test_top_up_by_card_is_idempotent(money):
    store, info = money
    card = add(store, info)
    pay = lambda key: transact(store, lambda s: payments.top_up_by_card(s, info, A, card.id, 50_000, key, T0))  # noqa
    first, again = pay("click-1"), pay("click-1")
    assert first.status == again.status == "succeeded" and again.replayed
    assert line_state(store, A).balance_kopecks == 60_000
    pay("click-2")
    assert line_state(store, A).balance_kopecks == 110_000
    with pytest.raises(Conflict):
        transact(store, lambda s: payments.top_up_by_card(s, info, A, card.id, 1_000, "click-1", T0))


@pytest.mark.parametrize("pan,reason", [(POOR_CARD, "недостаточно средств"), (OLD_CARD, "срок действия"),
                                        (DOWN_CARD, "не ответил")])
def test_declines_change_nothing_but_are_recorded(money, pan, reason):
    store, info = money
    card = add(store, info, pan)
    res = transact(store, lambda s: payments.top_up_by_card(s, info, A, card.id, 50_000, "k", T0))
    assert res.status == "declined" and reason in res.reason_ru
    assert line_state(store, A).balance_kopecks == 10_000
    assert read(store, lambda s: s.exec(select(func.count()).select_from(Payment).where(
        Payment.status == "declined")).scalar_one()) == 1
    again = transact(store, lambda s: payments.top_up_by_card(s, info, A, card.id, 50_000, "k", T0))
    assert again.status == "declined" and again.replayed


def test_promised_payment_rules_fee_and_repayment(money):
    store, info = money
    offer = read(store, lambda s: payments.promise_offer(s, info, A, T0))
    assert offer.available and offer.max_kopecks == 50_000
    with pytest.raises(Invalid):
        transact(store, lambda s: payments.take_promise(s, info, A, 50_001, T0))
    with pytest.raises(Invalid):
        transact(store, lambda s: payments.take_promise(s, info, A, 4_999, T0))
    transact(store, lambda s: payments.take_promise(s, info, A, 30_000, T0))  # fee 10 ₽
    line = line_state(store, A)
    assert line.balance_kopecks == 10_000 - 1_000
    assert read(store, lambda s: billing.credit_limit(s, line, T0)) == 30_000
    with pytest.raises(Conflict):
        transact(store, lambda s: payments.take_promise(s, info, A, 5_000, T0))
    assert payments.promise_fee(10_000) == 0 and payments.promise_fee(50_001) == 5_000
    # after 3 days the credit ends: expired
    jobs.run_due(store, T0 + timedelta(days=3, minutes=1))
    status = read(store, lambda s: s.exec(select(PromisedPayment.status)).scalar_one())
    assert status == "expired"


def test_promised_payment_repaid_by_a_top_up(money):
    store, info = money
    transact(store, lambda s: payments.take_promise(s, info, A, 5_000, T0))
    transact(store, lambda s: billing.top_up(session=s, msisdn=A, amount_kopecks=100, key="t", now=T0))
    assert read(store, lambda s: s.exec(select(PromisedPayment.status)).scalar_one()) == "repaid"


def test_promise_not_offered_with_money(store):
    make_line(store, A, "minimum", balance=50_000, now=T0)
    _, info = session_for(store, A)
    offer = read(store, lambda s: payments.promise_offer(s, info, A, T0))
    assert not offer.available and "300" in offer.reason_ru


def test_threshold_autopay_runs_once_and_declines_are_kept(money):
    store, info = money
    good = add(store, info)
    transact(store, lambda s: payments.save_autopay(s, info, A, "threshold", good.id, 30_000, T0,
                                                    threshold_kopecks=20_000))
    jobs.run_due(store, T0 + timedelta(minutes=1))
    jobs.run_due(store, T0 + timedelta(minutes=2))
    assert line_state(store, A).balance_kopecks == 40_000  # ran once: now above the threshold
    poor = add(store, info, POOR_CARD)
    transact(store, lambda s: payments.save_autopay(s, info, A, "monthly", poor.id, 10_000, T0, day_of_month=1))
    jobs.run_due(store, T0.replace(day=30, hour=22))  # 1 December in Moscow
    runs = read(store, lambda s: list(s.exec(select(AutopayRun.status).order_by(AutopayRun.id)).scalars()))
    assert runs == ["succeeded", "declined"]
    rules, history = read(store, lambda s: payments.autopay_view(s, info, A))
    assert {r.kind for r in rules} == {"threshold", "monthly"} and len(history) == 2


def test_autopay_validation(money):
    store, info = money
    card = add(store, info)
    with pytest.raises(Invalid):
        transact(store, lambda s: payments.save_autopay(s, info, A, "threshold", card.id, 30_000, T0,
                                                        threshold_kopecks=500))
    with pytest.raises(Invalid):
        transact(store, lambda s: payments.save_autopay(s, info, A, "monthly", card.id, 30_000, T0, day_of_month=31))
    with pytest.raises(Invalid):
        transact(store, lambda s: payments.save_autopay(s, info, A, "weekly", card.id, 30_000, T0))


def test_transfer_needs_the_code_and_moves_money_exactly(money):
    store, info = money
    transfer, req = transact(store, lambda s: payments.request_transfer(s, info, A, "+7 919 000-00-02", 2_500, "c",
                                                                        T0))
    code = read(store, lambda s: re.search(r"(\d{6})\.?$", s.exec(select(SmsMessage.text).where(
        SmsMessage.to_msisdn == A).order_by(SmsMessage.id.desc())).scalars().first()).group(1))
    with pytest.raises(Unauthorized):
        transact(store, lambda s: payments.confirm_transfer(s, info, transfer.id, req.attempt_id, "000000", T0),
                 keep_on=(Unauthorized, Locked))
    assert line_state(store, A).balance_kopecks == 10_000
    transact(store, lambda s: payments.confirm_transfer(s, info, transfer.id, req.attempt_id, code, T0))
    assert line_state(store, A).balance_kopecks == 7_500 and line_state(store, B).balance_kopecks == 22_500
    with pytest.raises(Conflict):
        transact(store, lambda s: payments.confirm_transfer(s, info, transfer.id, req.attempt_id, code, T0))
    assert read(store, lambda s: billing.check_invariants(session=s)) == []


@pytest.mark.parametrize("to,amount,exc", [(A, 1_000, Invalid), ("79199999999", 1_000, Invalid),
                                           (B, 999, Invalid), (B, 500_001, Invalid), (B, 10_001, Conflict)])
def test_transfer_refusals(money, to, amount, exc):
    store, info = money
    with pytest.raises(exc):
        transact(store, lambda s: payments.request_transfer(s, info, A, to, amount, "c", T0))


def test_operations_and_spending(money):
    store, info = money
    from mts_portal.core import charging
    from tests.helpers import ev

    charging.ingest(store, [ev(A, "voice", T0 + timedelta(minutes=1), duration_s=60),
                            ev(A, "sms", T0 + timedelta(minutes=2))], now=T0 + timedelta(minutes=5))
    ops = read(store, lambda s: payments.operations(s, info, A))
    assert [o.amount_kopecks for o in ops[:2]] == [-200, -250] and ops[-1].kind == "topup"
    sp = read(store, lambda s: payments.spending(s, info, A, T0 + timedelta(minutes=5)))
    assert sp.by_category == {"voice": 250, "sms": 200} and sp.total == 450
    assert sum(v for _, v in sp.by_day) == 450 and len(sp.by_day) == 31


def test_other_accounts_cards_and_rules_are_not_found(money):
    store, info = money
    card = add(store, info)
    _, info_b = session_for(store, B)
    for fn in (lambda s: payments.get_card(s, info_b, card.id), lambda s: payments.remove_card(s, info_b, card.id, T0),
               lambda s: payments.top_up_by_card(s, info_b, B, card.id, 1_000, "x", T0),
               lambda s: payments.top_up_by_card(s, info_b, A, card.id, 1_000, "x", T0)):
        with pytest.raises(NotFound):
            transact(store, fn)
    assert read(store, lambda s: s.exec(select(func.count()).select_from(LedgerEntry)
                                        .where(LedgerEntry.kind == "topup")).scalar_one()) == 2
