"""Tariffs: compare, switch with a prorated preview that says what is charged now and what is not
refunded, the advisor (counts in words), and the family lines that cannot switch (disabled with the
reason; a member's card shows their share)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from mts_portal.core.clock import period_of, prorate_up
from mts_portal.core.money import format_rub
from mts_portal.i18n import count_text
from tests.e2e.pages.cabinet import TariffsPage
from tests.e2e.pages.family import FamilyPage
from tests.e2e.pages.login import LoginPage

pytestmark = pytest.mark.e2e

DAYS_RU, DAYS_EN = ("день", "дня", "дней"), ("day", "days")


def open_tariffs(portal, context, msisdn) -> TariffsPage:
    page = context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    return TariffsPage(page, portal.url).open()


def test_compare_and_switch_with_preview(portal, any_context):
    msisdn = portal.line("minimum", balance_kopecks=200_000)
    tariffs = open_tariffs(portal, any_context, msisdn)
    page = tariffs.page
    expect(page.locator("#current-tariff")).to_have_text("Минимум")
    expect(page.locator("#compare-table")).to_contain_text("550,00")
    expect(page.locator("#switch-blocked")).to_have_count(0)
    tariffs.open_switch("smart")
    now = portal.now()
    p = period_of(now)
    days = p.remaining_days(now)
    fee = prorate_up(55_000, days, p.days)
    expect(page.locator("#preview-fee")).to_have_text(format_rub(fee))
    expect(page.locator("#preview-charge")).to_contain_text(
        f"абонентская плата «Smart» за {count_text(days, 'ru', DAYS_RU, DAYS_EN)} из {p.days} до конца месяца")
    expect(page.locator("#preview-refund")).to_contain_text("возвращать нечего")  # Minimum has no fee
    expect(page.locator("#preview-next")).to_contain_text("550,00\u00a0₽ в начале каждого месяца")
    page.locator("#switch-confirm").dblclick()  # one switch, one charge
    expect(page.locator("#current-tariff")).to_have_text("Smart")
    summary = portal.summary(msisdn)
    assert summary["tariff"] == "smart" and summary["balance_kopecks"] == 200_000 - fee
    assert {b["kind"] for b in summary["buckets"]} == {"voice", "sms", "data"}
    page.wait_for_timeout(800)
    expect(tariffs.toasts("error")).to_have_count(0)
    tariffs.assert_fits()


def test_the_preview_says_the_fee_already_paid_is_not_refunded(portal, desktop_context):
    msisdn = portal.line("smart", balance_kopecks=200_000)
    tariffs = open_tariffs(portal, desktop_context, msisdn)
    page = tariffs.page
    now = portal.now()
    p = period_of(now)
    tariffs.open_switch("tarifische")
    # Smart's fee for this month was charged when the line was connected (for the rest of the month)
    paid = prorate_up(55_000, p.remaining_days(now), p.days)
    expect(page.locator("#preview-refund")).to_have_text(
        f"Уже списанная в этом месяце абонентская плата ({format_rub(paid)}) не возвращается.")
    expect(page.locator("#preview-fee")).to_have_text(format_rub(prorate_up(80_000, p.remaining_days(now), p.days)))
    page.keyboard.press("Escape")
    tariffs.to_english()
    tariffs.open()
    tariffs.open_switch("tarifische")
    expect(page.locator("#preview-charge")).to_contain_text(
        f"the Tarifische monthly fee for {count_text(p.remaining_days(now), 'en', DAYS_RU, DAYS_EN)} of {p.days}")
    expect(page.locator("#preview-refund")).to_have_text(
        f"The monthly fee already charged this month ({format_rub(paid, 'en')}) is not refunded.")
    assert portal.summary(msisdn)["tariff"] == "smart"


def test_switch_refused_without_money(portal, desktop_context):
    msisdn = portal.line("minimum", balance_kopecks=1_000)
    tariffs = open_tariffs(portal, desktop_context, msisdn)
    tariffs.page.locator("#switch-tarifische").click()
    expect(tariffs.page.locator("#preview-unaffordable")).to_be_visible()
    expect(tariffs.page.locator("#switch-confirm")).to_be_disabled()
    assert portal.summary(msisdn)["tariff"] == "minimum"


def test_advisor_recommends_from_real_usage(portal, desktop_context):
    msisdn = portal.line("minimum", balance_kopecks=1_500_000)
    portal.move_clock(hours=13)  # the line exists before the 12 hours of usage below
    now = portal.now()
    portal.events([{"event_id": f"adv-{msisdn}-{i}", "msisdn": msisdn, "kind": "data",
                    "started_at": (now - timedelta(hours=i)).isoformat(), "bytes": 200 * 1024 * 1024,
                    "zone": "home"} for i in range(12)])  # 2400 MB on Minimum: 12,000 ₽
    tariffs = open_tariffs(portal, desktop_context, msisdn)
    page = tariffs.page
    page.locator("#advisor-run").click()
    expect(page.locator("#advisor-summary")).to_contain_text("«Smart»")
    expect(page.locator("#advice-minimum")).to_contain_text("12\u00a0000,00")
    expect(page.locator("#advice-smart")).to_contain_text("Выгоднее всего")
    expect(page.locator("#advisor-records")).to_have_text("12\u00a0событий за 30 дней")
    tariffs.to_english()
    tariffs.open()
    page.locator("#advisor-run").click()
    expect(page.locator("#advisor-records")).to_have_text("12\u00a0events in 30 days")


def test_a_family_member_and_the_owner_cannot_switch_and_see_why(portal, browser):
    owner = portal.line("my_mts", balance_kopecks=1_500_000)
    member = portal.line("minimum", balance_kopecks=10_000)
    ctx_owner = browser.new_context(viewport={"width": 1440, "height": 900}, locale="ru-RU")
    ctx_member = browser.new_context(viewport={"width": 390, "height": 844}, locale="ru-RU")
    po = ctx_owner.new_page()
    LoginPage(po, portal.url).login_with_code(owner)
    family = FamilyPage(po, portal.url).open()
    family.invite(member)
    phone = ctx_owner.new_page()  # the member agrees from the demo phone
    phone.goto(f"{portal.url}/phone?n={member}")
    expect(phone.locator("#phone-inbox .sms-text").first).to_contain_text("Ответьте «Да»")
    phone.locator("#phone-reply-text").fill("Да")
    phone.locator("#phone-reply-send").click()
    expect(phone.locator("#phone-inbox .sms-text").first).to_contain_text("вы в группе")
    assert portal.summary(member)["tariff"] == "my_mts_member"

    # the member: no «Перейти» that could only fail; the reason is on the page; the card shows the share
    tariffs = open_tariffs(portal, ctx_member, member)
    page = tariffs.page
    expect(page.locator("#current-tariff")).to_have_text("МЫ МТС Участник")
    expect(page.locator("#switch-blocked")).to_contain_text("Вы участник «МЫ МТС»")
    expect(page.locator("#switch-blocked")).to_contain_text("выйдите из группы")
    buttons = tariffs.switch_buttons()
    expect(buttons).to_have_count(4)
    for i in range(4):
        expect(buttons.nth(i)).to_be_disabled()
    for kind in ("minutes", "sms", "data"):
        expect(page.locator(f"#current-{kind}")).to_contain_text("общий пакет, осталось")
        expect(page.locator(f"#current-{kind}")).not_to_have_text("—")
    expect(page.locator("#current-fee")).to_contain_text("платит владелец группы")
    tariffs.assert_fits()
    tariffs.to_english()
    tariffs.open()
    expect(page.locator("#switch-blocked")).to_contain_text("You are a MY MTS member")
    expect(page.locator("#current-data")).to_contain_text("shared bundle")

    # the owner, while the group has a member
    po.goto(portal.url + "/tariffs")
    owner_page = TariffsPage(po, portal.url)
    expect(po.locator("#switch-blocked")).to_contain_text("В вашей группе «МЫ МТС» 1 участник")
    buttons = owner_page.switch_buttons()
    expect(buttons).to_have_count(3)  # the current tariff has none
    for i in range(3):
        expect(buttons.nth(i)).to_be_disabled()
    ctx_owner.close()
    ctx_member.close()
