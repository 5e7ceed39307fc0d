"""«Счёт» journeys: card top-ups (asked first, declines, double clicks), promised payment, full trust,
autopay, a transfer confirmed by code, history and spending charts, the tabs on a phone, and the amount
errors in both languages."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from mts_portal.core.clock import MSK
from mts_portal.core.money import format_rub
from tests.e2e.pages.login import LoginPage
from tests.e2e.pages.money import TABS, MoneyPage

pytestmark = pytest.mark.e2e


def test_top_up_by_card_declines_and_double_clicks(portal, any_context):
    msisdn = portal.line("minimum", balance_kopecks=10_000)
    page = any_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    money = MoneyPage(page, portal.url).open()
    money.top_up_with_new_card("250", "4000 0000 0000 0002")
    expect(page.locator("#pay-error")).to_contain_text("недостаточно средств")
    assert portal.summary(msisdn)["balance_kopecks"] == 10_000  # a decline changes nothing
    # ... and a declined card is not saved: no saved card, the picker offers only a new card
    expect(page.locator(".saved-card")).to_have_count(0)
    expect(page.locator("#topup-card")).to_contain_text("Новая карта")
    money.top_up_with_new_card("250", "4111 1111 1111 1111", double_click=True)
    expect(page.locator("#pay-result")).to_contain_text("250,00")
    expect(page.locator("#money-balance")).to_have_text(format_rub(35_000))
    expect(money.toasts()).to_have_count(1)  # one payment, one toast
    page.wait_for_timeout(1500)  # a second payment or toast would have arrived by now
    expect(money.toasts()).to_have_count(1)
    assert portal.summary(msisdn)["balance_kopecks"] == 35_000  # charged once
    expect(page.locator(".saved-card")).to_have_count(1)  # only the card that worked was saved
    expect(page.locator("#topup-card")).to_contain_text("•••• 1111")
    money.top_up_with_saved_card("100,50", double_click=True)
    expect(page.locator("#money-balance")).to_have_text(format_rub(45_050))
    assert portal.summary(msisdn)["balance_kopecks"] == 45_050
    page.locator("#topup-amount").fill("abc")
    page.locator("#pay-open").click()
    expect(money.field_error("topup-amount")).to_contain_text("цифрами")
    expect(page.locator("#pay-dialog")).to_have_count(0)  # a bad amount opens no confirmation
    assert portal.summary(msisdn)["balance_kopecks"] == 45_050


def test_enter_in_the_amount_asks_first_and_the_question_names_amount_and_card(portal, desktop_context):
    msisdn = portal.line("minimum", balance_kopecks=10_000)
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    money = MoneyPage(page, portal.url).open()
    money.ask_top_up("300", "5555 5555 5555 4444", press_enter=True)
    expect(money.question("pay")).to_contain_text(format_rub(30_000))
    expect(money.question("pay")).to_contain_text("Mastercard •••• 4444")
    expect(page.locator("#pay-confirm")).to_contain_text(format_rub(30_000))
    page.wait_for_timeout(500)
    assert portal.summary(msisdn)["balance_kopecks"] == 10_000  # Enter never pays by itself
    money.cancel("pay")
    assert portal.summary(msisdn)["balance_kopecks"] == 10_000
    page.locator("#topup-amount").press("Enter")  # the same form again: asked again, then paid once
    money.confirm("pay", double_click=True)
    expect(page.locator("#money-balance")).to_have_text(format_rub(40_000))
    page.locator("#topup-amount").press("Enter")  # the same amount once more is a new payment
    money.confirm("pay")
    expect(page.locator("#money-balance")).to_have_text(format_rub(70_000))
    assert portal.summary(msisdn)["balance_kopecks"] == 70_000


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_amount_errors_are_clear_in_both_languages(portal, phone_context, lang):
    msisdn = portal.line("minimum", balance_kopecks=10_000)
    page = phone_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    money = MoneyPage(page, portal.url).open()
    if lang == "en":
        page.locator("#lang-toggle").click()
        expect(page.locator("#tab-topup")).to_contain_text("Top up")
    words = {"ru": {"1e3": "цифрами", "100.555": "Не больше 2 знаков после запятой", "": "Введите сумму"},
             "en": {"1e3": "in digits", "100.555": "At most 2 decimals", "": "Enter an amount"}}[lang]
    for text, expected in words.items():
        money.ask_top_up(text, "4111 1111 1111 1111")
        expect(money.field_error("topup-amount")).to_contain_text(expected)
        expect(page.locator("#pay-dialog")).to_have_count(0)
    money.tab("transfer")
    money.ask_transfer("79990000000", "100.555")
    expect(money.field_error("transfer-amount")).to_contain_text(words["100.555"])
    money.tab("autopay")
    expect(page.locator("#autopay-need-card")).to_be_visible()  # no card has worked yet: no autopay form
    assert portal.summary(msisdn)["balance_kopecks"] == 10_000


def test_promised_payment_and_full_trust(portal, desktop_context):
    msisdn = portal.line("minimum", balance_kopecks=5_000)
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    money = MoneyPage(page, portal.url).open("promise")
    expect(page.locator("#promise-max")).to_contain_text("500,00")
    page.locator("#promise-take").click()  # no amount: asked for one, nothing opens
    expect(money.field_error("promise-amount")).to_contain_text("Введите сумму")
    expect(page.locator("#promise-dialog")).to_have_count(0)
    page.locator("#promise-amount").fill("200")
    expect(page.locator("#promise-fee")).to_contain_text("10,00")
    page.locator("#promise-amount").press("Enter")
    question = money.question("promise")
    expect(question).to_contain_text(format_rub(20_000))
    expect(question).to_contain_text(format_rub(1_000))  # the fee
    due = (portal.now().astimezone(MSK) + timedelta(days=3)).strftime("%d.%m.%Y")
    expect(question).to_contain_text(due)
    money.confirm("promise", double_click=True)
    expect(page.locator("#promise-active")).to_contain_text("200,00")
    summary = portal.summary(msisdn)
    assert summary["credit_limit_kopecks"] == 20_000 and summary["balance_kopecks"] == 4_000  # one fee
    expect(money.toasts()).to_have_count(1)
    page.locator("#full-trust-switch").click()
    expect(page.locator("#money-credit")).to_have_text(format_rub(50_000))
    assert "full_trust" in portal.summary(msisdn)["options"]


def test_autopay_is_confirmed_then_runs_and_shows_its_history(portal, desktop_context):
    msisdn = portal.line("minimum", balance_kopecks=30_000)
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    money = MoneyPage(page, portal.url).open()
    money.top_up_with_new_card("10", "5555 5555 5555 4444")
    expect(page.locator("#money-balance")).to_have_text(format_rub(31_000))
    money.tab("autopay")
    expect(page.locator("#autopay-card")).to_contain_text("•••• 4444")  # the card that worked is the default
    page.locator("#autopay-kind").get_by_role("radio", name="Раз в месяц").click()
    page.locator("#autopay-day").fill("31")
    page.locator("#autopay-amount").fill("300")
    page.locator("#autopay-save").click()
    expect(money.field_error("autopay-day")).to_contain_text("от 1 до 28")
    expect(page.locator("#autopay-dialog")).to_have_count(0)
    page.locator("#autopay-kind").get_by_role("radio", name="Ниже порога").click()
    page.locator("#autopay-threshold").fill("400")
    page.locator("#autopay-amount").fill("300")
    page.locator("#autopay-save").click()
    question = money.question("autopay")
    for words in (format_rub(40_000), format_rub(30_000), "•••• 4444", "ближайшие минуты"):
        expect(question).to_contain_text(words)
    page.wait_for_timeout(1500)
    assert portal.summary(msisdn)["balance_kopecks"] == 31_000  # nothing happens before it is confirmed
    money.confirm("autopay", double_click=True)
    expect(page.locator(".autopay-rule")).to_have_count(1)
    expect(page.locator(".autopay-rule")).to_contain_text("400,00")
    # the scheduler (every second in tests) sees 310 ₽ < 400 ₽ and tops up 300 ₽
    page.wait_for_timeout(2500)
    MoneyPage(page, portal.url).open("autopay")
    expect(page.locator(".autopay-run").first).to_contain_text("300,00")
    expect(page.locator(".autopay-run").first).to_contain_text("выполнен")  # a word, not "succeeded"
    assert portal.summary(msisdn)["balance_kopecks"] == 61_000


def test_transfer_confirmed_by_code_and_a_double_click_starts_one(portal, phone_context):
    sender = portal.line("minimum", balance_kopecks=50_000)
    receiver = portal.line("minimum", balance_kopecks=1_000)
    page = phone_context.new_page()
    LoginPage(page, portal.url).login_with_code(sender)
    money = MoneyPage(page, portal.url).open("transfer")
    money.ask_transfer(receiver, "99999")
    expect(money.field_error("transfer-amount")).to_contain_text("от 10,00")
    money.ask_transfer(receiver, "150", double_click=True)
    expect(page.locator("#transfer-summary")).to_contain_text("150,00")
    page.wait_for_timeout(1000)
    codes = money.sms_texts(sender, "Код подтверждения перевода")
    assert len(codes) == 1, codes  # one code sent ...
    with sqlite3.connect(portal.db_path) as db:  # ... for one transfer
        started = db.execute("SELECT count(*) FROM transfers JOIN lines ON lines.id = transfers.from_line_id "
                             "WHERE lines.msisdn = ?", (sender,)).fetchone()[0]
    assert started == 1
    page.locator("#transfer-code").fill(money.code_from_phone(sender, "Код подтверждения перевода"))
    page.locator("#transfer-confirm").dblclick()
    expect(page.locator("#money-balance")).to_have_text(format_rub(35_000))
    expect(money.toasts()).to_have_count(1)
    page.wait_for_timeout(1000)
    assert portal.summary(receiver)["balance_kopecks"] == 16_000
    assert portal.summary(sender)["balance_kopecks"] == 35_000


def test_history_and_spending_charts(portal, desktop_context):
    msisdn = portal.line("minimum", balance_kopecks=20_000)
    now = portal.now()
    portal.events([{"event_id": f"h-{msisdn}-{i}", "msisdn": msisdn, "kind": "voice", "direction": "out",
                    "peer": "79031112233", "started_at": now.isoformat(), "duration_s": 60, "zone": "home"}
                   for i in range(3)])
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    money = MoneyPage(page, portal.url).open("history")
    expect(page.locator(".operation")).to_have_count(4)  # 3 calls and the top-up
    expect(page.locator(".operation").first).to_contain_text("−2,50")
    money.tab("spending")
    expect(page.locator("#spending-total")).to_contain_text("7,50")
    expect(page.locator("#chart-category svg.recharts-surface")).to_be_visible()
    expect(page.locator("#chart-day svg.recharts-surface")).to_be_visible()


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_tab_is_reachable_on_a_phone_and_nothing_scrolls_sideways(portal, phone_context, lang):
    msisdn = portal.line("minimum", balance_kopecks=20_000)
    page = phone_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    money = MoneyPage(page, portal.url).open()
    money.top_up_with_new_card("10", "4111 1111 1111 1111")  # a saved card: the autopay form shows too
    expect(page.locator(".saved-card")).to_have_count(1)
    if lang == "en":
        page.locator("#lang-toggle").click()
        expect(page.locator("#tab-topup")).to_contain_text("Top up")
    for name in TABS:
        trigger = page.locator(f"#tab-{name}")
        box = trigger.bounding_box()
        # visible and whole, without scrolling the tab list sideways
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (name, box)
        money.tab(name)
        page.wait_for_timeout(300)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, (name, width)
