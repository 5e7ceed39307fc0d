"""The home screen is live: a rated event shows up in every open session of that line,
without a reload, and in no other line's session."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mts_portal.core.money import format_amount, format_rub
from tests.e2e.pages.login import LoginPage

pytestmark = pytest.mark.e2e


def test_every_open_session_of_the_line_updates_by_itself(portal, browser):
    msisdn = portal.line("smart", balance_kopecks=100_000)
    other = portal.line("smart", balance_kopecks=100_000)
    sessions = []
    for viewport in ({"width": 390, "height": 844}, {"width": 1440, "height": 900}):
        ctx = browser.new_context(viewport=viewport)
        page = ctx.new_page()
        LoginPage(page, portal.url).login_with_code(msisdn)
        sessions.append(page)
    ctx_other = browser.new_context()
    other_page = ctx_other.new_page()
    LoginPage(other_page, portal.url).login_with_code(other)

    before = portal.summary(msisdn)
    voice = next(b for b in before["buckets"] if b["kind"] == "voice")
    now = portal.now().isoformat()
    portal.events([
        {"event_id": f"live-{msisdn}-1", "msisdn": msisdn, "kind": "voice", "direction": "out",
         "peer": "79031234567", "started_at": now, "duration_s": 125, "zone": "home"},   # 3 min from the bundle
        {"event_id": f"live-{msisdn}-2", "msisdn": msisdn, "kind": "sms", "direction": "out",
         "peer": "79031234567", "started_at": now, "zone": "TR"},                        # 19 ₽ abroad
    ])
    for page in sessions:  # no reload: the pushed summary changes the screen
        expect(page.locator("#balance")).to_have_text(format_rub(before["balance_kopecks"] - 1900), timeout=5000)
        expect(page.locator(f"#bucket-remaining-{voice['id']}")).to_have_text(
            format_amount(voice["remaining"] - 3, "min"), timeout=5000)
        expect(page.locator("#latest-charges")).to_contain_text("SMS")
    expect(other_page.locator("#balance")).to_have_text(format_rub(portal.summary(other)["balance_kopecks"]))
    for page in (*sessions, other_page):
        page.context.close()


def test_the_live_home_screen_pushes_in_the_language_switched_to(portal, desktop_context):
    """The live watcher reads the language at every push, not the one the page was opened in."""
    msisdn = portal.line("smart", balance_kopecks=100_000)
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    page.locator("#lang-toggle").click()
    expect(page.locator("#line-status")).to_have_text("Active")
    before = portal.summary(msisdn)
    voice = next(b for b in before["buckets"] if b["kind"] == "voice")
    now = portal.now().isoformat()
    portal.events([
        {"event_id": f"live-en-{msisdn}-1", "msisdn": msisdn, "kind": "voice", "direction": "out",
         "peer": "79031234567", "started_at": now, "duration_s": 125, "zone": "home"},
        {"event_id": f"live-en-{msisdn}-2", "msisdn": msisdn, "kind": "sms", "direction": "out",
         "peer": "79031234567", "started_at": now, "zone": "TR"},
    ])
    expect(page.locator("#balance")).to_have_text(format_rub(before["balance_kopecks"] - 1900, "en"), timeout=5000)
    expect(page.locator(f"#bucket-remaining-{voice['id']}")).to_have_text(
        format_amount(voice["remaining"] - 3, "min", "en"), timeout=5000)
    expect(page.locator("#line-status")).to_have_text("Active")
