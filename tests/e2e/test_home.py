"""Foundation journey: log in with a seeded line, see its real balance and bundles."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.pages.home import HomePage
from tests.e2e.pages.login import LoginPage

pytestmark = pytest.mark.e2e


def _rub(kopecks: int) -> str:
    from mts_portal.core.money import format_rub

    return format_rub(kopecks)


def test_login_by_code_shows_real_balance_and_bundles(portal, any_context):
    msisdn = portal.line("smart", balance_kopecks=123_456)
    summary = portal.summary(msisdn)
    page = any_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    home = HomePage(page, portal.url)
    home.expect_balance(_rub(summary["balance_kopecks"]))
    expect(page.locator("#tariff-name")).to_have_text("Smart")
    buckets = {b["kind"]: b for b in summary["buckets"]}
    assert set(buckets) == {"voice", "sms", "data"}
    from mts_portal.core.money import format_amount

    for b in buckets.values():
        expect(page.locator(f"#bucket-remaining-{b['id']}")).to_have_text(format_amount(b["remaining"], b["unit"]))
        expect(page.locator(f"#bucket-total-{b['id']}")).to_contain_text(format_amount(b["total"], b["unit"]))
    expect(page.locator("#line-status")).to_have_text("Активен")
    expect(page.locator("#bonus-points")).to_have_text(str(summary["bonus_points"]))


def test_language_switch_rebuilds_the_home_screen_at_once(portal, phone_context):
    """The switch alone (no reload by the user) turns every server-formatted value into English:
    status, bundle names and amounts, valid-until, tariff name, money and number formats, the bonus
    word and the tab's title; and back."""
    from datetime import datetime, timedelta

    from mts_portal.core.clock import MSK
    from mts_portal.core.money import format_amount

    msisdn = portal.line("tarifische", balance_kopecks=123_456)
    summary = portal.summary(msisdn)
    page = phone_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    voice = next(b for b in summary["buckets"] if b["kind"] == "voice")
    data = next(b for b in summary["buckets"] if b["kind"] == "data")
    last_day = (datetime.fromisoformat(voice["valid_until"]).astimezone(MSK) - timedelta(days=1)).date()
    expect(page.locator("#line-status")).to_have_text("Активен")
    expect(page.locator("#tariff-name")).to_have_text("Тарифище")
    expect(page.locator("#balance")).to_have_text(_rub(summary["balance_kopecks"]))
    expect(page.locator(f"#bucket-voice-{voice['id']}")).to_contain_text("Минуты")
    expect(page.locator(f"#bucket-until-{voice['id']}")).to_have_text(f"по {last_day:%d.%m.%Y}")
    expect(page.locator("#bonus-word")).to_have_text("баллов")
    assert page.title() == "Мой МТС"

    page.locator("#lang-toggle").click()
    from mts_portal.core.money import format_rub

    expect(page.locator("#line-status")).to_have_text("Active")
    expect(page.locator("#tariff-name")).to_have_text("Tarifische")
    expect(page.locator("#balance")).to_have_text(format_rub(summary["balance_kopecks"], "en"))
    expect(page.locator(f"#bucket-voice-{voice['id']}")).to_contain_text("Minutes")
    expect(page.locator(f"#bucket-remaining-{voice['id']}")).to_have_text(
        format_amount(voice["remaining"], "min", "en"))
    expect(page.locator(f"#bucket-remaining-{data['id']}")).to_have_text(format_amount(data["remaining"], "KB", "en"))
    from babel.dates import format_date

    expect(page.locator(f"#bucket-until-{voice['id']}")).to_have_text(
        "until " + format_date(last_day, "d MMM y", locale="en_GB"))
    expect(page.locator("#tariff-fee")).to_contain_text("a month")
    expect(page.locator("#bonus-word")).to_have_text("points")
    expect(page).to_have_title("My MTS")
    assert "Активен" not in page.content() and "мин" not in page.locator("#bundles").inner_text()

    page.locator("#lang-toggle").click()
    expect(page.locator("#line-status")).to_have_text("Активен")
    expect(page.locator("#balance")).to_have_text(_rub(summary["balance_kopecks"]))
    expect(page.locator(f"#bucket-remaining-{voice['id']}")).to_have_text(format_amount(voice["remaining"], "min"))
    expect(page).to_have_title("Мой МТС")


def test_bonus_points_take_the_plural_form(portal, desktop_context):
    import sqlite3

    msisdn = portal.line("smart")
    with sqlite3.connect(portal.db_path) as db:  # 1, 3, 5 points: «1 балл», «3 балла», «5 баллов»
        db.execute("UPDATE lines SET bonus_points = 3 WHERE msisdn = ?", (msisdn,))
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    expect(page.locator("#bonus-points")).to_have_text("3")
    expect(page.locator("#bonus-word")).to_have_text("балла")
    page.locator("#lang-toggle").click()
    expect(page.locator("#bonus-word")).to_have_text("points")
