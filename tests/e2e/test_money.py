"""«Счёт» journeys: card top-ups (declines, double clicks), promised payment, full trust,
autopay, a transfer confirmed by code, history and spending charts."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mts_portal.core.money import format_rub
from tests.e2e.pages.login import LoginPage
from tests.e2e.pages.money import MoneyPage

pytestmark = pytest.mark.e2e


def test_top_up_by_card_declines_and_double_clicks(portal, any_context):
    msisdn = portal.line("minimum", balance_kopecks=10_000)
    page = any_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    money = MoneyPage(page, portal.url).open()
    money.top_up_with_new_card("250", "4000 0000 0000 0002")
    expect(page.locator("#pay-error")).to_contain_text("недостаточно средств")
    assert portal.summary(msisdn)["balance_kopecks"] == 10_000  # a decline changes nothing
    page.locator("#topup-card").click()
    page.get_by_role("option", name="Новая карта").click()
    money.top_up_with_new_card("250", "4111 1111 1111 1111", double_click=True)
    expect(page.locator("#pay-result")).to_contain_text("250,00")
    expect(page.locator("#money-balance")).to_have_text(format_rub(35_000))
    assert portal.summary(msisdn)["balance_kopecks"] == 35_000  # charged once
    expect(page.locator(".saved-card")).to_have_count(2)  # both cards were saved
    money.top_up_with_saved_card("100,50")
    expect(page.locator("#money-balance")).to_have_text(format_rub(45_050))
    page.locator("#topup-amount").fill("abc")
    page.locator("#pay-open").click()
    page.locator("#pay-confirm").click()
    expect(page.locator("#pay-error")).to_be_visible()
    assert portal.summary(msisdn)["balance_kopecks"] == 45_050


def test_promised_payment_and_full_trust(portal, desktop_context):
    msisdn = portal.line("minimum", balance_kopecks=5_000)
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    MoneyPage(page, portal.url).open("promise")
    expect(page.locator("#promise-max")).to_contain_text("500,00")
    page.locator("#promise-amount").fill("200")
    expect(page.locator("#promise-fee")).to_contain_text("10,00")
    page.locator("#promise-take").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#promise-active")).to_contain_text("200,00")
    summary = portal.summary(msisdn)
    assert summary["credit_limit_kopecks"] == 20_000 and summary["balance_kopecks"] == 4_000
    page.locator("#full-trust-switch").click()
    expect(page.locator("#money-credit")).to_have_text(format_rub(50_000))
    assert "full_trust" in portal.summary(msisdn)["options"]


def test_autopay_rule_runs_and_shows_its_history(portal, desktop_context):
    msisdn = portal.line("minimum", balance_kopecks=30_000)
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    money = MoneyPage(page, portal.url).open()
    money.top_up_with_new_card("10", "5555 5555 5555 4444")
    expect(page.locator("#money-balance")).to_have_text(format_rub(31_000))
    money.tab("autopay")
    page.locator("#autopay-threshold").fill("400")
    page.locator("#autopay-amount").fill("300")
    page.locator("#autopay-save").click()
    expect(page.locator(".autopay-rule")).to_contain_text("400,00")
    # the scheduler (every second in tests) sees 310 ₽ < 400 ₽ and tops up 300 ₽
    page.wait_for_timeout(2500)
    MoneyPage(page, portal.url).open("autopay")
    expect(page.locator(".autopay-run").first).to_contain_text("300,00")
    assert portal.summary(msisdn)["balance_kopecks"] == 61_000


def test_transfer_confirmed_by_code(portal, phone_context):
    sender = portal.line("minimum", balance_kopecks=50_000)
    receiver = portal.line("minimum", balance_kopecks=1_000)
    page = phone_context.new_page()
    LoginPage(page, portal.url).login_with_code(sender)
    money = MoneyPage(page, portal.url).open("transfer")
    page.locator("#transfer-to").fill(receiver)
    page.locator("#transfer-amount").fill("99999")
    page.locator("#transfer-send").click()
    expect(page.locator("#transfer-error")).to_contain_text("от 10 до 5 000")
    page.locator("#transfer-amount").fill("150")
    page.locator("#transfer-send").click()
    expect(page.locator("#transfer-summary")).to_contain_text("150,00")
    page.locator("#transfer-code").fill(money.code_from_phone(sender, "Код подтверждения перевода"))
    page.locator("#transfer-confirm").click()
    expect(page.locator("#money-balance")).to_have_text(format_rub(35_000))
    assert portal.summary(receiver)["balance_kopecks"] == 16_000


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
