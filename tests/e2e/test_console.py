"""The product team's control room in Chromium: the presenter opens it with the one-time link, starts
«Поездка в Турцию», opens the traveller's cabinet in a second tab and watches the roaming charges
arrive live, then sees every expected outcome met; a subscriber's session reaches none of it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.pages.console import ConsolePage
from tests.e2e.pages.login import LoginPage

pytestmark = pytest.mark.e2e


def one_time_link(portal) -> str:
    from mts_portal.core import console
    from mts_portal.core.db import make_engine, transact

    eng = make_engine(f"sqlite:///{portal.db_path}")
    try:
        ticket = transact(eng, lambda s: console.create_link(session=s, now=portal.now()))
    finally:
        eng.dispose()
    return f"{portal.url}/api/v1/console/establish?ticket={ticket}"


def test_the_presenter_runs_the_turkey_trip_and_watches_it_live(portal, desktop_context, monkeypatch):
    from mts_portal.core.settings import get_settings

    monkeypatch.setattr(get_settings(), "demo", True)  # create_link is a demo-mode feature (as the portal is)
    room = ConsolePage(desktop_context.new_page(), portal.url).enter_with_link(one_time_link(portal))
    expect(room.page.locator("#engine-store")).to_contain_text("sqlite")
    room.start("turkey_trip", speed="5")
    cabinet = room.open_subscriber_from_timeline()
    expect(cabinet.locator("#balance")).to_contain_text("₽", timeout=20_000)
    first = cabinet.locator("#balance").inner_text()
    # the roaming charges arrive while the tab is open (no reload): the balance moves by itself
    expect(cabinet.locator("#balance")).not_to_have_text(first, timeout=40_000)
    assert room.wait_until_done() == "passed"
    outcomes = room.page.locator("#run-outcomes .outcome")
    expect(outcomes.first).to_be_visible()
    assert outcomes.count() >= 9
    assert room.page.locator('#run-outcomes .outcome[data-met="0"]').count() == 0
    expect(room.page.locator("#run-timeline")).to_contain_text("Забугорище")
    # the engine panel counted the scenario's events
    expect(room.page.locator("#engine-last-minute")).not_to_contain_text("оценено 0 ")


def test_the_control_room_refuses_a_subscriber_and_a_wrong_token(portal, phone_context):
    msisdn = portal.line()
    page = phone_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    page.goto(portal.url + "/console")
    expect(page.locator("#console-token")).to_be_visible(timeout=20_000)  # the login form, not the panels
    expect(page.locator("#console-engine")).to_have_count(0)
    page.locator("#console-token").fill("not-the-token")
    page.locator("#console-login").click()
    expect(page.locator("#console-login-error")).to_contain_text(re.compile("Неверный токен"))
    expect(page.locator("#console-engine")).to_have_count(0)
    # the right operator token opens it (outside demo mode the only way in)
    page.locator("#console-token").fill("e2e-operator-token")
    page.locator("#console-login").click()
    expect(page.locator("#console-title")).to_be_visible(timeout=20_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
