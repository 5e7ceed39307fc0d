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
