"""The «Счёт» page state, driven through its real handlers in-process (as Reflex runs them per tab) on a
temp-file SQLite store: forms only check and ask, confirmations act once, declined cards are not kept,
errors are worded in both languages at the field they concern."""

from __future__ import annotations

from datetime import timedelta

import pytest
from reflex.istate.data import HeaderData
from reflex.state import State
from sqlalchemy import func, select

from mts_portal.core import auth, payments, runtime
from mts_portal.core.clock import fmt_datetime
from mts_portal.core.db import read, transact
from mts_portal.core.models import Card, LoginGuard, Payment, SmsMessage, Transfer
from mts_portal.core.money import format_rub
from mts_portal.state.base import UiState
from mts_portal.state.money import MoneyState, amount_problem
from tests.conftest import T0
from tests.helpers import call, line_state, make_line, run

A, B = "79180000021", "79180000022"
OK, POOR = "4111 1111 1111 1111", "4000 0000 0000 0002"


@pytest.fixture
def world(sqlite_store, monkeypatch):
    monkeypatch.setattr(runtime, "engine", lambda: sqlite_store)
    monkeypatch.setattr(runtime, "now", lambda: T0)
    make_line(sqlite_store, A, "minimum", balance=10_000, now=T0)
    make_line(sqlite_store, B, "minimum", balance=1_000, now=T0)
    return sqlite_store


def token_for(store, msisdn: str) -> str:
    return _session(store, msisdn)[0]


def _session(store, msisdn):
    res = transact(store, lambda s: auth._start_session(s, auth.get_line(s, msisdn), "c", T0))
    return res.token, res.info


def tab(cookie: str) -> State:
    root = State(_reflex_internal_init=True)
    root.rx_router_headers = HeaderData(cookie=cookie)
    return root


async def money_tab(store, msisdn=A, lang="ru") -> MoneyState:
    root = tab(f"mts_session={token_for(store, msisdn)}")
    (await root.get_state(UiState)).lang = lang
    money = await root.get_state(MoneyState)
    await call(MoneyState.load, money)
    return money


def new_card_form(amount, pan=OK):
    return {"amount": amount, "number": pan, "expiry": "12/30", "cvc": "123"}


def payments_count(store, status=None) -> int:
    q = select(func.count()).select_from(Payment)
    if status:
        q = q.where(Payment.status == status)
    return read(store, lambda s: s.exec(q).scalar_one())


@pytest.mark.parametrize("text,key", [("1e3", "money.err.digits"), ("1_000", "money.err.digits"),
                                      ("-100", "money.err.digits"), ("100.555", "money.err.decimals"),
                                      ("100,555", "money.err.decimals"), ("", "money.err.empty"),
                                      ("   ", "money.err.empty"), ("99999999999", "money.err.too_big"),
                                      ("abc", "money.err.digits"), ("100,50", None), ("1 000", None)])
def test_amount_problems_are_named(text, key):
    assert amount_problem(text) == key


@pytest.mark.parametrize("lang,expect", [
    ("ru", {"1e3": "цифрами", "100.555": "Не больше 2 знаков после запятой", "": "Введите сумму"}),
    ("en", {"1e3": "in digits", "100.555": "At most 2 decimals", "": "Enter an amount"})])
def test_a_bad_amount_is_named_at_its_field_and_opens_nothing(world, lang, expect):
    async def go():
        money = await money_tab(world, lang=lang)
        for text, words in expect.items():
            await call(MoneyState.review_top_up, money, new_card_form(text))
            assert words in money.msg["topup-amount"], (text, money.msg)
            assert money.confirm == "" and money._pending == {}
        await call(MoneyState.confirm_top_up, money)  # nothing was asked: nothing is paid
        assert payments_count(world) == 0

    run(go())


def test_the_language_switch_rewords_a_shown_error(world):
    async def go():
        money = await money_tab(world)
        await call(MoneyState.review_top_up, money, new_card_form("100.555"))
        assert "знаков" in money.msg["topup-amount"]
        (await money.get_state(UiState)).lang = "en"
        assert "decimals" in money.msg["topup-amount"]

    run(go())


def test_enter_asks_first_and_a_double_click_pays_once(world):
    async def go():
        money = await money_tab(world)
        await call(MoneyState.review_top_up, money, new_card_form("250"))  # Enter in «Сумма» = the form's submit
        assert money.confirm == "pay" and payments_count(world) == 0
        question = money.msg["pay-question"]
        assert format_rub(25_000) in question and "Visa •••• 1111" in question and "+7 918 000-00-21" in question
        key = money._pay_key
        first = await call(MoneyState.confirm_top_up, money)
        second = await call(MoneyState.confirm_top_up, money)  # the second click of the double click
        assert payments_count(world, "succeeded") == 1
        assert line_state(world, A).balance_kopecks == 35_000
        assert sum(1 for e in first if e is not None) == 1 and [e for e in second if e is not None] == []
        assert money._pay_key != key and money.confirm == "" and money.busy == ""
        assert [c["label"] for c in money.cards] == ["Visa •••• 1111"] and money.card_choice == money.cards[0]["id"]
        # the next payment (same amount, saved card) is a new request: it pays again
        await call(MoneyState.review_top_up, money, {"amount": "250"})
        await call(MoneyState.confirm_top_up, money)
        assert line_state(world, A).balance_kopecks == 60_000

    run(go())


def test_a_declined_card_is_not_saved_and_autopay_has_no_card(world):
    async def go():
        money = await money_tab(world)
        await call(MoneyState.review_top_up, money, new_card_form("250", POOR))
        await call(MoneyState.confirm_top_up, money)
        assert "недостаточно средств" in money.msg["pay-error"]
        assert money.cards == [] and money.autopay_card == "" and money.card_choice == "new"
        assert read(world, lambda s: s.exec(select(func.count()).select_from(Card)).scalar_one()) == 0
        assert line_state(world, A).balance_kopecks == 10_000

    run(go())


def test_cards_saved_before_that_never_worked_are_not_offered(world):
    store = world
    _, info = _session(store, A)
    transact(store, lambda s: payments.add_card(s, info, payments.parse_card(POOR, "12/30", "123", T0), T0))

    async def go():
        money = await money_tab(store)
        assert money.cards == [] and money.pay_cards == [] and money.autopay_card == ""

    run(go())


def test_promise_confirmation_says_amount_fee_and_due_date(world):
    async def go():
        money = await money_tab(world)
        await call(MoneyState.set_promise_amount, money, "")
        await call(MoneyState.review_promise, money, {})
        assert money.msg["promise-amount"] == "Введите сумму" and money.confirm == ""
        await call(MoneyState.set_promise_amount, money, "10000")
        await call(MoneyState.review_promise, money, {})
        assert "Сумма обещанного платежа" in money.msg["promise-amount"] and money.confirm == ""
        await call(MoneyState.set_promise_amount, money, "200")
        await call(MoneyState.review_promise, money, {})
        q = money.msg["promise-question"]
        assert format_rub(20_000) in q and format_rub(1_000) in q and "3\u00a0дня" in q
        assert fmt_datetime(T0 + timedelta(days=3)) in q
        await call(MoneyState.confirm_promise, money)
        await call(MoneyState.confirm_promise, money)
        assert money.promise_active_text.startswith(format_rub(20_000))
        assert line_state(world, A).balance_kopecks == 9_000  # the 10 ₽ fee, once

    run(go())


def test_autopay_confirmation_says_what_is_charged_when(world):
    async def go():
        money = await money_tab(world)
        await call(MoneyState.review_top_up, money, new_card_form("10"))
        await call(MoneyState.confirm_top_up, money)
        await call(MoneyState.set_autopay_kind, money, "monthly")
        await call(MoneyState.review_autopay, money, {"day": "31", "amount": "300"})
        assert "от 1 до 28" in money.msg["autopay-day"] and money.confirm == ""
        await call(MoneyState.review_autopay, money, {"day": "пятое", "amount": "300"})
        assert "от 1 до 28" in money.msg["autopay-day"]
        await call(MoneyState.review_autopay, money, {"day": "15", "amount": "300"})
        q = money.msg["autopay-question"]
        # T0 is 22 November: the 15th has passed, the first charge is on 15 December
        assert "15-го" in q and format_rub(30_000) in q and "Visa •••• 1111" in q and "15.12.2026" in q
        await call(MoneyState.confirm_autopay, money)
        await call(MoneyState.confirm_autopay, money)
        assert [r["kind"] for r in money.autopay_rules] == ["monthly"]

    run(go())


def test_transfer_get_code_twice_starts_one_transfer(world):
    async def go():
        money = await money_tab(world)
        form = {"to": B, "amount": "50"}
        await call(MoneyState.request_transfer, money, form)
        await call(MoneyState.request_transfer, money, form)  # the double click's second submit
        assert money.transfer_step == "code"
        assert read(world, lambda s: s.exec(select(func.count()).select_from(Transfer)).scalar_one()) == 1
        assert read(world, lambda s: s.exec(select(func.count()).select_from(SmsMessage).where(
            SmsMessage.to_msisdn == A, SmsMessage.text.contains("перевода"))).scalar_one()) == 1
        await call(MoneyState.cancel_transfer, money)
        assert read(world, lambda s: s.exec(select(Transfer.status)).scalar_one()) == "cancelled"

    run(go())


def test_unknown_recipients_count_against_the_senders_transfer_guard(world):
    async def go():
        money = await money_tab(world)
        for _ in range(2):
            await call(MoneyState.request_transfer, money, {"to": "79189999999", "amount": "50"})
            assert money.msg["transfer-to"] == "Получатель не абонент МТС"
        await call(MoneyState.request_transfer, money, {"to": "79189999999", "amount": "50"})
        assert "заблокирован" in money.msg["transfer-error"]
        # locked: a real subscriber gets the same refusal now, and no code is sent
        await call(MoneyState.request_transfer, money, {"to": B, "amount": "50"})
        assert "заблокирован" in money.msg["transfer-error"] and money.transfer_step == "form"
        assert read(world, lambda s: s.exec(select(func.count()).select_from(Transfer)).scalar_one()) == 0
        guard = read(world, lambda s: s.exec(select(LoginGuard).where(~LoginGuard.msisdn.startswith("7"))).scalars()
                     .one())
        assert guard.failures == 3 and guard.locked_until is not None

    run(go())


def test_a_language_switch_keeps_the_open_question_and_the_code_step(world):
    async def go():
        money = await money_tab(world)
        await call(MoneyState.request_transfer, money, {"to": B, "amount": "50"})
        await call(MoneyState.review_top_up, money, new_card_form("250"))
        (await money.get_state(UiState)).lang = "en"
        await call(MoneyState.relang, money)
        assert money.confirm == "pay" and money.transfer_step == "code"
        assert "will be charged to card Visa •••• 1111" in money.msg["pay-question"]
        assert money.balance_text == format_rub(10_000, "en")
        await call(MoneyState.confirm_top_up, money)
        assert line_state(world, A).balance_kopecks == 35_000

    run(go())


def test_every_field_problem_shows_at_once_at_its_field(world):
    async def go():
        money = await money_tab(world, lang="en")
        await call(MoneyState.review_top_up, money, {"amount": "100.555", "number": "4111 1111 1111 1112",
                                                     "expiry": "13/30", "cvc": "1"})
        assert {k for k in money.msg} >= {"topup-amount", "card-number", "card-expiry", "card-cvc"}
        assert money.msg["card-expiry"] == "Expiry: the month is 01–12" and money.confirm == ""
        await call(MoneyState.review_top_up, money, new_card_form("20000"))
        assert money.msg["topup-amount"] == "Top-up amount: from 1.00\u00a0₽ to 15,000.00\u00a0₽"
        await call(MoneyState.request_transfer, money, {"to": "12345", "amount": "5"})
        assert money.msg["transfer-to"] == "Enter the number as +7 9XX XXX-XX-XX"
        assert money.msg["transfer-amount"].startswith("Transfer amount: from 10.00")
        # autopay needs a card that worked: pay once, then every autopay field at once
        await call(MoneyState.review_top_up, money, new_card_form("10"))
        await call(MoneyState.confirm_top_up, money)
        await call(MoneyState.set_autopay_kind, money, "monthly")
        await call(MoneyState.review_autopay, money, {"day": "31", "amount": "100.555"})
        assert money.msg["autopay-day"].startswith("Day of month: a whole number from 1 to 28")
        assert money.msg["autopay-amount"] == "At most 2 decimals (kopecks), e.g. 100.50"
        await call(MoneyState.set_autopay_kind, money, "threshold")
        await call(MoneyState.review_autopay, money, {"threshold": "5", "amount": "0"})
        assert money.msg["autopay-threshold"].startswith("Threshold: from 10.00")
        assert money.msg["autopay-amount"].startswith("Top-up amount")
        assert money.confirm == ""

    run(go())


def test_a_decline_says_why_once_and_that_the_card_was_not_kept(world):
    async def go():
        money = await money_tab(world)
        await call(MoneyState.review_top_up, money, new_card_form("250", "4000 0000 0000 0119"))
        await call(MoneyState.confirm_top_up, money)
        assert money.msg["pay-error"] == "Банк не ответил. Деньги не списаны, попробуйте позже. Карта не сохранена."
        (await money.get_state(UiState)).lang = "en"
        assert money.msg["pay-error"] == ("The bank did not answer; no money was taken, try again later. "
                                          "The card was not saved.")

    run(go())
