"""Money: cards and the simulated gateway, promised payment, autopay, transfers, history."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from mts_portal.core import billing, jobs, payments
from mts_portal.core.db import read, transact
from mts_portal.core.errors import Conflict, Invalid, Locked, NotFound, Unauthorized
from mts_portal.core.models import (
    AutopayRun,
    Card,
    LedgerEntry,
    Payment,
    PromisedPayment,
    SmsMessage,
    Transfer,
)
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


# ---------------------------------------------------------------- cards that worked, asked-first flows


def new(pan=OK_CARD, expiry="12/29"):
    return payments.tokenize(payments.parse_card(pan, expiry, "123", T0))


def pay_new(store, info, card, key, amount=50_000, save=True):
    return transact(store, lambda s: payments.top_up_by_new_card(s, info, A, card, amount, key, T0, save=save))


def saved(store, info):
    return read(store, lambda s: [c.last4 for c in payments.cards(s, info)])


def test_tokenized_card_keeps_no_number_or_cvc():
    card = new()
    assert (card.brand, card.last4, card.exp_month, card.exp_year, card.profile) == ("Visa", "1111", 12, 2029, "ok")
    assert not any("4111111111111111" in str(v) or v == "123" for v in vars(card).values())


@pytest.mark.parametrize("pan", [POOR_CARD, OLD_CARD, DOWN_CARD])
def test_a_declined_new_card_is_never_saved(money, pan):
    store, info = money
    res = pay_new(store, info, new(pan), "k1")
    assert res.status == "declined" and res.card_id is None
    assert read(store, lambda s: s.exec(select(func.count()).select_from(Card)).scalar_one()) == 0
    assert line_state(store, A).balance_kopecks == 10_000
    assert pay_new(store, info, new(pan), "k1").replayed  # the same click again: the same answer


def test_an_approved_new_card_is_saved_when_asked_and_once(money):
    store, info = money
    res = pay_new(store, info, new(), "k1")
    assert res.status == "succeeded" and res.card_id is not None and saved(store, info) == ["1111"]
    again = pay_new(store, info, new(), "k1")  # double click
    assert again.replayed and line_state(store, A).balance_kopecks == 60_000
    pay_new(store, info, new(), "k2")  # the same card typed again: paid as the saved one, not saved twice
    assert saved(store, info) == ["1111"] and line_state(store, A).balance_kopecks == 110_000
    # typed again with «save» off: still paid, and the saved card stays saved
    pay_new(store, info, new(), "k3", save=False)
    assert saved(store, info) == ["1111"]
    res = pay_new(store, info, new("5555555555554444"), "k4", save=False)
    assert res.status == "succeeded" and res.card_id is None and saved(store, info) == ["1111"]
    with pytest.raises(Conflict):
        pay_new(store, info, new(), "k4", amount=1_000)  # a used key with another amount


def test_only_cards_that_worked_are_listed_and_expired_ones_are_not_usable(money):
    store, info = money
    never = add(store, info, POOR_CARD)  # saved before declines stopped being saved
    assert saved(store, info) == []
    ok = add(store, info, OK_CARD, expiry="12/26")
    transact(store, lambda s: payments.top_up_by_card(s, info, A, ok.id, 1_000, "k", T0))
    transact(store, lambda s: payments.top_up_by_card(s, info, A, never.id, 1_000, "k2", T0))  # declined again
    assert saved(store, info) == ["1111"]
    later = T0.replace(year=2027, month=1)
    assert read(store, lambda s: payments.usable_cards(s, info, T0))[0].id == ok.id
    assert read(store, lambda s: payments.usable_cards(s, info, later)) == []


def test_card_and_amount_errors_name_their_field(money):
    store, info = money
    for args, name in ((("4111111111111112", "12/29", "123"), "card_number"), ((OK_CARD, "13/29", "123"),
                                                                                "card_expiry"),
                       ((OK_CARD, "12/29", "12"), "card_cvc")):
        with pytest.raises(Invalid) as e:
            payments.parse_card(*args, T0)
        assert e.value.details["field"] == name
    for amount in (0, 99, 1_500_001, True, "100"):
        with pytest.raises(Invalid) as e:
            payments.check_topup_amount(amount)
        assert e.value.details["field"] == "amount"
        assert e.value.message("en") == "Top-up amount: from 1.00\u00a0₽ to 15,000.00\u00a0₽"
        assert e.value.message("ru") == "Сумма пополнения: от 1,00\u00a0₽ до 15\u00a0000,00\u00a0₽"
    with pytest.raises(NotFound) as e:
        read(store, lambda s: payments.get_card(s, info, "x"))
    assert e.value.details["field"] == "card"


def test_promise_quote_says_fee_and_due_date_and_checks_like_taking_it(money):
    store, info = money
    quote = read(store, lambda s: payments.promise_quote(s, info, A, 20_000, T0))
    assert (quote.amount_kopecks, quote.fee_kopecks, quote.due_at, quote.days) == (20_000, 1_000,
                                                                                   T0 + timedelta(days=3), 3)
    with pytest.raises(Invalid) as e:
        read(store, lambda s: payments.promise_quote(s, info, A, 50_001, T0))
    assert e.value.details["field"] == "amount" and "500,00" in e.value.message("ru")


def test_autopay_quote_says_what_is_charged_when(money):
    store, info = money
    card = add(store, info)
    quote = read(store, lambda s: payments.autopay_quote(s, info, A, "threshold", card.id, 30_000, T0,
                                                         threshold_kopecks=20_000))
    assert quote.below_now and not quote.replaces and quote.card_label == "Visa •••• 1111"  # 100 ₽ < 200 ₽
    # T0 is 22 November (Moscow): a rule for the 25th charges on 25 Nov, one for the 15th on 15 Dec
    for day, first in ((25, date(2026, 11, 25)), (22, date(2026, 11, 22)), (15, date(2026, 12, 15))):
        q = read(store, lambda s, d=day: payments.autopay_quote(s, info, A, "monthly", card.id, 30_000, T0,
                                                               day_of_month=d))
        assert q.first_run == first, day
    assert payments.monthly_first_run(1, date(2026, 12, 2)) == date(2027, 1, 1)
    transact(store, lambda s: payments.save_autopay(s, info, A, "monthly", card.id, 30_000, T0, day_of_month=15))
    q = read(store, lambda s: payments.autopay_quote(s, info, A, "monthly", card.id, 30_000, T0, day_of_month=20))
    assert q.replaces
    for kw, name in (({"threshold_kopecks": 500}, "threshold"), ({"day_of_month": 29}, "day")):
        kind = "threshold" if "threshold_kopecks" in kw else "monthly"
        with pytest.raises(Invalid) as e:
            read(store, lambda s, k=kind, w=kw: payments.autopay_quote(s, info, A, k, card.id, 30_000, T0, **w))
        assert e.value.details["field"] == name
    with pytest.raises(Invalid) as e:
        read(store, lambda s: payments.autopay_quote(s, info, A, "monthly", card.id, 0, T0, day_of_month=5))
    assert e.value.details["field"] == "amount"


def test_a_monthly_rule_saved_after_its_day_waits_for_next_month(money):
    store, info = money
    card = add(store, info)
    transact(store, lambda s: payments.save_autopay(s, info, A, "monthly", card.id, 10_000, T0, day_of_month=15))
    jobs.run_due(store, T0 + timedelta(minutes=1))  # 22 November: the 15th has passed, nothing is charged
    assert line_state(store, A).balance_kopecks == 10_000
    dec15 = T0.replace(month=12, day=15, hour=9)
    jobs.run_due(store, dec15)
    assert line_state(store, A).balance_kopecks == 20_000
    jobs.run_due(store, dec15 + timedelta(days=1))  # once a month
    assert line_state(store, A).balance_kopecks == 20_000


def test_autopay_runs_keep_a_reason_code_worded_in_both_languages(money):
    store, info = money
    poor = add(store, info, POOR_CARD)
    transact(store, lambda s: payments.save_autopay(s, info, A, "threshold", poor.id, 10_000, T0,
                                                    threshold_kopecks=20_000))
    jobs.run_due(store, T0 + timedelta(minutes=1))
    reason = read(store, lambda s: s.exec(select(AutopayRun.reason)).scalar_one())
    assert reason == "insufficient"
    assert payments.run_reason(reason, "en") == "the bank declined: insufficient funds on the card"
    assert payments.run_reason(reason, "ru").startswith("Банк отклонил платёж")
    # a run recorded before the codes kept the Russian text: worded in English too
    assert payments.run_reason(payments.DECLINES["expired"][1], "en") == payments.DECLINES["expired"][0]
    assert payments.run_reason("threshold", "ru") == "баланс ниже порога"


def _transfer_sms(store):
    return read(store, lambda s: s.exec(select(func.count()).select_from(SmsMessage).where(
        SmsMessage.to_msisdn == A, SmsMessage.text.contains("перевода"))).scalar_one())


def test_a_transfer_request_key_starts_one_transfer_and_sends_one_code(money):
    store, info = money
    start = lambda key, amount=2_500: transact(store, lambda s: payments.request_transfer(  # noqa: E731
        s, info, A, B, amount, "c", T0, request_key=key))
    first, again = start("click"), start("click")
    assert first[0].id == again[0].id and first[1].attempt_id == again[1].attempt_id
    assert read(store, lambda s: s.exec(select(func.count()).select_from(Transfer)).scalar_one()) == 1
    assert _transfer_sms(store) == 1
    with pytest.raises(Conflict):
        start("click", amount=3_000)
    transact(store, lambda s: payments.cancel_transfer(s, info, first[0].id, T0))
    assert read(store, lambda s: s.exec(select(Transfer.status)).scalar_one()) == "cancelled"
    with pytest.raises(Conflict):  # cancelled: the key no longer answers with a code
        start("click")
    code = read(store, lambda s: re.search(r"(\d{6})\.?$", s.exec(select(SmsMessage.text).where(
        SmsMessage.to_msisdn == A).order_by(SmsMessage.id.desc())).scalars().first()).group(1))
    with pytest.raises((Conflict, Unauthorized)):  # its code stopped working
        transact(store, lambda s: payments.confirm_transfer(s, info, first[0].id, first[1].attempt_id, code, T0))
    assert line_state(store, A).balance_kopecks == 10_000


def test_unknown_recipients_count_against_the_senders_transfer_guard(money):
    store, info = money
    keep = (Unauthorized, Locked)
    ask = lambda to: transact(store, lambda s: payments.request_transfer(s, info, A, to, 1_000, "c", T0),  # noqa
                              keep_on=keep)
    for _ in range(2):
        with pytest.raises(payments.RecipientRefused) as e:
            ask("79199999999")
        assert isinstance(e.value, Invalid) and e.value.details == {"field": "to"} and e.value.http_status == 422
    with pytest.raises(Locked):  # the third miss locks
        ask("79199999999")
    with pytest.raises(Locked):  # locked: a real subscriber gets the same refusal, and no code goes out
        ask(B)
    assert _transfer_sms(store) == 0
    # the lock ends after 10 minutes; a real recipient then works
    transact(store, lambda s: payments.request_transfer(s, info, A, B, 1_000, "c", T0 + timedelta(minutes=11)))
    assert _transfer_sms(store) == 1
