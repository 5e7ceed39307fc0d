"""Every cabinet page fits a 390 px phone (nothing wider than the screen) and a desktop,
in Russian and in English."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.pages.login import LoginPage

pytestmark = pytest.mark.e2e

ROUTES = ["/", "/money", "/tariffs", "/services", "/internet", "/roaming", "/bonus", "/detail", "/notifications",
          "/family", "/sms", "/numbers", "/settings", "/support"]


def test_no_page_is_wider_than_a_phone(portal, phone_context):
    msisdn = portal.line("tarifische", balance_kopecks=100_000)
    page = phone_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    for route in ROUTES:
        page.goto(portal.url + route)
        expect(page.locator("#page-loading")).to_have_count(0)
        width = page.evaluate("[document.documentElement.clientWidth, document.documentElement.scrollWidth]")
        assert width[1] <= width[0], f"{route} is {width[1]} px wide on a {width[0]} px screen"


def test_english_switch(portal, desktop_context):
    msisdn = portal.line("smart")
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    page.locator("#lang-toggle").click()
    expect(page.locator("#nav-money")).to_have_text("Money")
    page.goto(portal.url + "/tariffs")
    expect(page.locator("#page-title")).to_have_text("Tariffs")
    page.locator("#lang-toggle").click()
    expect(page.locator("#page-title")).to_have_text("Тарифы")
